"""Hosting on Hugging Face Spaces: ZeroGPU's `@spaces.GPU` on the GPU work, and how long that work may take."""

from __future__ import annotations

import ctypes
import functools
import inspect
import math
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ZEROGPU_MAX_SECONDS = 300  # the per-call ceiling Hugging Face staff have described for ZeroGPU
# One full-size generation step (VQGAN f16 decode at 256 px + the BriVL tower on 8 cutouts at 380 px, forward and
# backward), counted by torch.utils.flop_counter: BENCHMARKS.md, core pipeline, row b.
STEP_GFLOP_256PX_8CUTS = 929.5
# Sustained throughput assumed for a ZeroGPU slice (an H200 MIG 3g.71gb, about 3/7 of an H200: some 29 TFLOP/s of
# fp32 without tensor cores). 5 TFLOP/s is a deliberate under-estimate (17 % of that), since no GPU figure has been
# measured on this project's machines yet; see BENCHMARKS.md.
ASSUMED_GPU_GFLOPS = 5000.0
CALL_OVERHEAD_SECONDS = 20  # moving the model set onto the GPU slice and embedding the sound
# Stable unCLIP (SD 2.1 unclip-small) at 768 px, counted on its configs by bench/bench_unclip_flops.py: one denoising
# step with guidance (a batch of 2) and one VAE decode (the streamed previews and the final picture).
UNCLIP_STEP_GFLOP_768 = 4298.2
UNCLIP_DECODE_GFLOP_768 = 5754.3
UNCLIP_PREVIEWS = 4  # the unclip method decodes this many previews on the way, besides the final picture
SHORT_CALL_SECONDS = 30  # ranking or classifying one sound


def on_zero_gpu() -> bool:
    """Whether this process runs on a ZeroGPU Space (the `spaces` package's own switch)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def step_gflop(size: int, cutn: int) -> float:
    """An upper bound of one step's work: decoding grows with the pixels, the tower with the cutouts."""
    return STEP_GFLOP_256PX_8CUTS * max(1.0, (size / 256) ** 2) * max(1.0, cutn / 8)


def generation_seconds(steps: int, size: int, cutn: int, images: int = 1) -> int:
    """GPU seconds a generation is declared to need (a pessimistic estimate, see ASSUMED_GPU_GFLOPS)."""
    work = max(1, int(steps)) * step_gflop(int(size), int(cutn)) * max(1, int(images))
    return CALL_OVERHEAD_SECONDS + math.ceil(work / ASSUMED_GPU_GFLOPS)


def unclip_seconds(steps: int, size: int, images: int = 1) -> int:
    """GPU seconds a Stable unCLIP generation is declared to need (counted work at ASSUMED_GPU_GFLOPS)."""
    scale = (max(int(size), 64) / 768) ** 2 * max(1, int(images))
    work = (max(1, int(steps)) * UNCLIP_STEP_GFLOP_768 + (UNCLIP_PREVIEWS + 1) * UNCLIP_DECODE_GFLOP_768) * scale
    return CALL_OVERHEAD_SECONDS + math.ceil(work / ASSUMED_GPU_GFLOPS)


def gpu(duration: int | Callable[..., int]) -> Callable[[F], F]:
    """`spaces.GPU(duration=...)` when the `spaces` package is installed (a no-op off ZeroGPU), else nothing.

    The duration is kept on the function as `gpu_duration`, so tests and the app can see what was declared.
    """

    def decorate(fn: F) -> F:
        try:
            import spaces
        except ImportError:
            wrapped = fn
        else:
            wrapped = spaces.GPU(duration=duration)(fn)
        for target in {id(fn): fn, id(wrapped): wrapped}.values():
            try:
                target.gpu_duration = duration  # type: ignore[attr-defined]
            except AttributeError:
                pass
        return wrapped

    return decorate


def _malloc_trim() -> Callable[[], Any] | None:
    """glibc's malloc_trim, where the C library has it (Linux with glibc), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # another C library (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return functools.partial(trim, 0)


_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Hand the heap's free pages back to the system; returns whether this C library can."""
    if _TRIM is None:
        return False
    _TRIM()
    return True


def trimmed(fn: F) -> F:
    """Run `trim_heap` after every call (a generator's: after its last item), so a server's memory follows its load.

    A request's tensors are freed when it ends, but glibc keeps the pages in its arenas, scattered among live
    blocks of other threads' requests; without trimming, a busy server's resident size keeps creeping up.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            finally:
                trim_heap()

        return stream  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            trim_heap()

    return call  # type: ignore[return-value]
