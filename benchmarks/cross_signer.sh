#!/usr/bin/env bash
# Real-photo accuracy for a person the model has never seen (docs/real_world.md).
#
# The real-photo set has two signers. Each fold trains the shipped recipe with one signer's
# photos added (asl-train --photos ... --photos-skip) and scores the other signer, as photos and
# pasted into cluttered scenes, with the fixed centre box and with --roi auto; then the model
# that ships is trained on both. About 45 minutes on 2 CPU cores.
#
#   bash benchmarks/cross_signer.sh [OUT] [PHOTOS]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/cross_signer}
photos=${2:-../shared/data/real_photos/massey_dev}
epochs=${EPOCHS:-20}
recipe=(--recipe real --normalize standardize --epochs "$epochs")
[ -d "$out/scenes" ] || python3 benchmarks/hand_video.py "$photos" "$out/scenes" --stills
for fold in "hand1 hand2" "hand2 hand1"; do
  set -- $fold
  seen=$1 unseen=$2
  [ -f "$out/$seen/model.keras" ] ||
    asl-train "${recipe[@]}" --photos "$photos" --photos-skip "${unseen}_*" --out "$out/$seen"
  asl-export "$out/$seen/model.keras" --fp16 --int8 --out "$out/$seen/export"
  for roi in center auto; do
    asl-eval "$out/$seen/export"/asl_*.onnx --images "$photos" --skip "${seen}_*" \
      --roi $roi --out "$out/$seen/eval-photos"
    asl-eval "$out/$seen/export"/asl_*.onnx --images "$out/scenes" --skip "${seen}_*" \
      --roi $roi --out "$out/$seen/eval-scenes"
  done
done
python3 benchmarks/summarize_cross_signer.py "$out"
# the shipped model: both signers
if [ "${SHIP:-0}" = 1 ]; then
  asl-train "${recipe[@]}" --photos "$photos" --out "$out/both"
  asl-export "$out/both/model.keras" --fp16 --int8 --out src/asl_edge/models
fi
