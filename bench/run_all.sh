#!/usr/bin/env bash
# Run every benchmark one after the other on an idle machine; output to bench/results.txt
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
{
  .venv/bin/python -m bench.bench_rank_cache
  .venv/bin/python -m bench.bench_generation --cut-batch 1
  .venv/bin/python -m bench.bench_generation --cut-batch 4 --skip-c
  .venv/bin/python -m bench.bench_generation --cut-batch 1 --channels-last --skip-c
  .venv/bin/python -m bench.bench_memory --cut-batch 1
  .venv/bin/python -m bench.bench_memory --cut-batch 4
  .venv/bin/python -m bench.bench_training
  .venv/bin/python -m bench.bench_evaluation
} 2>&1 | grep -v -E "Warning|_canonical_mask|key_padding_mask" | tee bench/results.txt
