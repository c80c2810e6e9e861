#!/usr/bin/env bash
# Remake the locks, the exact version of every package (direct and transitive) for Python 3.11 on Linux x86_64,
# from the hand-written requirement files, with uv's resolver:
#   requirements-dev.txt (the test tools, and requirements-pinned.txt through -r)  ->  requirements-dev-lock.txt
#   requirements-pinned.txt (what the app, training and evaluation need)          ->  requirements-lock.txt
# scripts/setup.sh and CI install requirements-dev-lock.txt, the Dockerfile requirements-lock.txt; the second takes
# its versions from the first, so the two never disagree. Versions already locked are kept while the inputs allow
# them; extra arguments go to uv, e.g. `bash scripts/lock.sh --upgrade` (everything to the newest allowed) or
# `bash scripts/lock.sh --upgrade-package transformers`. tests/test_lock.py checks the locks against the inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-$(command -v .venv/bin/uv || command -v uv || true)}
if [ -z "$UV" ]; then
  echo "uv not found: run scripts/setup.sh (requirements-dev.txt installs it) or set UV" >&2
  exit 1
fi
TARGET=(--python-version 3.11 --python-platform x86_64-manylinux_2_28)

lock() {  # lock OUTPUT INPUT [uv arguments...]
  local out=$1 input=$2 tmp
  shift 2
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' RETURN
  [ -f "$out" ] && cp "$out" "$tmp"  # uv keeps the versions in its output file unless told to upgrade
  "$UV" pip compile --quiet --no-header --annotation-style line "${TARGET[@]}" "$@" "$input" -o "$tmp"
  {
    echo "# Exact versions of every package for Python 3.11 on Linux x86_64, resolved from $input by"
    echo "# uv pip compile $("$UV" --version | cut -d' ' -f2) (${TARGET[*]})."
    echo "# Made by scripts/lock.sh; do not edit by hand. Remake with: bash scripts/lock.sh"
    cat "$tmp"
  } >"$out"
}

lock requirements-dev-lock.txt requirements-dev.txt "$@"
lock requirements-lock.txt requirements-pinned.txt -c requirements-dev-lock.txt
echo "wrote requirements-dev-lock.txt ($(grep -c '==' requirements-dev-lock.txt) packages)" \
  "and requirements-lock.txt ($(grep -c '==' requirements-lock.txt) packages)"
