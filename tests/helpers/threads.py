"""torch's intra-op threads for in-process model work in tests: two in a serial run (the machine's two cores), one
in each worker of a parallel run (`pytest -n 2`: two single-threaded processes share the cores, where two threads
each would ask for four)."""

from __future__ import annotations

import os

TORCH_THREADS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2
