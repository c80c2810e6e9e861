#!/usr/bin/env bash
# Set up (if needed) and run the main job on the command line with the offline default:
# rank the example gallery by an example sound, then generate from it at three volumes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
OUT=${OUT:-out/demo}
SOUND=${SOUND:-assets/examples/blue-triangle_-24dB.wav}
mkdir -p "$OUT"
.venv/bin/wavbrivl info
.venv/bin/wavbrivl rank --audio "$SOUND" --images assets/examples/gallery --top 5
.venv/bin/wavbrivl generate --audio "$SOUND" --volumes -6 0 6 12 --every 10 --out "$OUT/generated"
echo "images written to $OUT/generated"
