#!/usr/bin/env bash
# Set up (if needed) and run the main job on the offline default: rank a gallery and generate from a sound.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
OUT=${OUT:-out/demo}
mkdir -p "$OUT"
.venv/bin/python scripts/make_demo_inputs.py "$OUT"
.venv/bin/wavbrivl info
.venv/bin/wavbrivl rank --audio "$OUT/tone.wav" --images "$OUT/gallery" --top 5
.venv/bin/wavbrivl generate --audio "$OUT/tone.wav" --volumes -12 0 12 --steps 20 --size 64 --cutn 4 \
  --every 5 --out "$OUT/generated"
echo "images written to $OUT/generated"
