#!/usr/bin/env bash
# Create .venv and install WavBriVL with its test tools at the exact versions of requirements-dev-lock.txt (made by
# scripts/lock.sh from requirements-dev.txt and requirements-pinned.txt). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
# uv installs the lock (several times faster than pip once its cache is warm), itself at the locked version.
.venv/bin/pip install -q "$(grep -o '^uv==[^ ]*' requirements-dev-lock.txt)"
# uv reads no pip configuration: hand it the extra indexes and wheel folders pip is set up with (taking each locked
# version from the first index that has it).
sources=()
for url in ${PIP_EXTRA_INDEX_URL:-$(.venv/bin/pip config get global.extra-index-url 2>/dev/null || true)}; do
  sources+=(--index "$url")
done
for dir in ${PIP_FIND_LINKS:-$(.venv/bin/pip config get global.find-links 2>/dev/null || true)}; do
  sources+=(--find-links "$dir")
done
.venv/bin/uv pip install -q --python .venv/bin/python --index-strategy unsafe-best-match ${sources[@]+"${sources[@]}"} \
  -r requirements-dev-lock.txt
# uv takes a locked version's files from the first index that has it. Where that is soundfile's pure wheel (no
# libsndfile inside) and the system has no libsndfile, pip puts in the platform wheel, which carries the library.
if ! .venv/bin/python -c "import soundfile" 2>/dev/null; then
  .venv/bin/pip install -q --force-reinstall --no-deps --only-binary :all: \
    "$(grep -o '^soundfile==[^ ]*' requirements-dev-lock.txt)"
fi
.venv/bin/pip install -q --no-deps -e .
