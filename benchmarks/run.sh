#!/usr/bin/env bash
# Reproduce the README's figures: full training (both recipes), export, evaluation, benchmark.
# Needs the export extra: pip install -e ".[export]". About 25 minutes on 2 CPU cores.
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
