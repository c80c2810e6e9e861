#!/usr/bin/env bash
# Set up (if needed) and run the checks and the whole test suite offline; extra arguments go to pytest
# (`bash scripts/test.sh -m "not slow"`: the fast tests only; `-n 0`: in one process).
# The suite runs in TEST_WORKERS pytest-xdist processes (default 2, one per core of a 2-core machine), each with
# one torch thread (tests/helpers/threads.py), the slow tests first (tests/conftest.py), handed out one at a time
# to whichever worker is free (--maxschedchunk 1), so the longest start early and the quick ones fill the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The real-browser test drives Debian's Chromium (never a downloaded browser build); the unknown-sound test
# speaks with espeak-ng. Both come from the system's packages when they are missing.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver fonts-dejavu-core)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; } || echo "note: could not install ${missing[*]}; the tests that need them will be skipped"
  else
    echo "note: ${missing[*]} not installed (sudo apt-get install ${missing[*]}); the tests that need them will be skipped"
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/numba-cache}
.venv/bin/ruff check wavbrivl tests bench app.py
.venv/bin/ruff format --check wavbrivl tests bench app.py
.venv/bin/python -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-2}" --dist load --maxschedchunk 1 \
  tests "$@"
