#!/usr/bin/env bash
# Set up (if needed) and start the Gradio app on the offline default at http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The network setting is the user's (HF_HUB_OFFLINE, HF_ENDPOINT, HF_TOKEN pass through): the offline default reads
# only files in the package; `--preset brivl` and the like download what they read on first use.
export GRADIO_ANALYTICS_ENABLED=False
# Few malloc arenas: a threaded server otherwise keeps growing its memory through fragmentation.
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec .venv/bin/python app.py "$@"
