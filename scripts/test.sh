#!/usr/bin/env bash
# Set up (if needed) and run the checks and the whole test suite offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/numba-cache}
.venv/bin/ruff check wavbrivl tests bench
.venv/bin/python -m pytest -q -p no:cacheprovider tests
