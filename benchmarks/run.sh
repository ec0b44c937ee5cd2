#!/usr/bin/env bash
# Reproduce the README's figures: full training (both recipes), export, evaluation, benchmark.
# Needs the export extra: pip install -e ".[export]". About 90 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs}
asl-train --out "$out/train"                         # augmentation on, cosine schedule
asl-train --no-augment --out "$out/train-noaug"      # the same without augmentation
asl-export "$out/train/model.keras" --fp16 --int8 --out "$out/export"
asl-eval "$out/export"/asl_*.onnx --out "$out/eval"
asl-live --demo --model "$out/export/asl_fp32.onnx" --output "$out/live/demo.avi" \
    --jsonl "$out/live/demo.jsonl"
asl-bench --models "$out/export" --keras-model "$out/train/model.keras" --out "$out/bench"
# Real cameras (docs/real_world.md): the shipped recipe, real photos before/after, hands in
# scenes, per-frame pipeline with hand localisation on a video (tracked) and on stills.
asl-train --recipe real --normalize standardize --out "$out/train-real"
asl-export "$out/train-real/model.keras" --fp16 --int8 --out "$out/export-real"
photos=../shared/data/real_photos/massey_dev
for roi in center auto; do
  asl-eval "$out/export"/asl_fp32.onnx --images "$photos" --roi $roi --out "$out/eval-real/before"
  asl-eval "$out/export-real"/asl_*.onnx --images "$photos" --roi $roi --out "$out/eval-real/after"
done
python3 benchmarks/hand_video.py "$photos" "$out/scenes" --stills
python3 benchmarks/hand_video.py "$photos" "$out/hand_video.avi" --limit 100
asl-eval "$out/export-real"/asl_fp32.onnx --images "$out/scenes" --roi auto --out "$out/eval-real/scenes"
asl-live --video "$out/hand_video.avi" --roi auto --model "$out/export-real/asl_fp32.onnx" \
    --headless --jsonl "$out/live/video_auto.jsonl"
asl-live --demo --roi auto --model "$out/export-real/asl_fp32.onnx" \
    --output "$out/live/demo_auto.avi" --jsonl "$out/live/demo_auto.jsonl"
# A signer the model has never seen, and the shipped model (trained on both signers' photos)
SHIP=1 bash benchmarks/cross_signer.sh "$out/cross_signer" "$photos"
