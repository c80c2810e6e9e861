"""Helpers shared by the benchmarks: machine description, timing, matmul peak, a pipeline that keeps its pictures."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from wavbrivl import WavBriVLPipeline


def machine() -> str:
    """A one-line description of this machine."""
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of fn over repeat runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_flops(sizes: tuple[int, ...] = (2048, 4096), repeat: int = 5) -> float:
    """Measured fp32 matmul FLOP/s of this machine: the best over sizes of repeated n x n products."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        best = max(best, 2 * n**3 / timed(lambda a=a, b=b: a @ b, repeat))
    return best


class Keeping:
    """The pipeline, keeping every final picture it draws, in order (for contact sheets, or to look at the pictures
    a judge graded)."""

    def __init__(self, pipe: WavBriVLPipeline) -> None:
        self.pipe, self.pictures = pipe, []

    def __getattr__(self, name: str):
        return getattr(self.pipe, name)

    def generate_final(self, *args, **kwargs):
        """The pipeline's final step, its pictures kept."""
        final = self.pipe.generate_final(*args, **kwargs)
        self.pictures += list(final.pixels)
        return final
