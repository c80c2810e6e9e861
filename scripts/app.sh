#!/usr/bin/env bash
# Set up (if needed) and start the Gradio app on the offline default at http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} GRADIO_ANALYTICS_ENABLED=False
# Few malloc arenas: a threaded server otherwise keeps growing its memory through fragmentation.
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec .venv/bin/python app.py "$@"
