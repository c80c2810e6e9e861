"""GPU budgets of the app's handlers (ZeroGPU): how long a request may hold the GPU, and the model lane."""

from __future__ import annotations

import functools

import gradio as gr

from wavbrivl.hosting import (
    SHORT_CALL_SECONDS,
    ZEROGPU_MAX_SECONDS,
    generation_seconds,
    on_zero_gpu,
    unclip_seconds,
)

GPU_LANE = {"concurrency_id": "gpu", "concurrency_limit": 1}  # the handlers that take turns on the model


def _number_or(value, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def within_one_gpu_call(handler, seconds):
    """The streaming handler, refusing first (on ZeroGPU) a request whose declared GPU time is beyond one call."""

    @functools.wraps(handler)
    def run(*args):
        need = seconds(*args)
        if on_zero_gpu() and need > ZEROGPU_MAX_SECONDS:
            raise gr.Error(
                f"This request is estimated at {need} s of GPU time; a ZeroGPU call may last {ZEROGPU_MAX_SECONDS} s. "
                "Lower the steps, the size or the cutouts (or the number of volumes)."
            )
        yield from handler(*args)

    return run


def generation_gpu_seconds(
    audio, volume_db, steps, seed, size, lr, cutn, init, prompts="", method=None, sample_steps=None, guidance=None,
    noise=None,
):  # fmt: skip
    """Declared GPU seconds of one Generate request (same arguments as the handler, as `spaces.GPU` wants)."""
    if method == "decoder":
        return SHORT_CALL_SECONDS  # one sampling pass of a small network
    if method == "unclip":
        return unclip_seconds(_number_or(sample_steps, 20), _number_or(size, 768))
    return generation_seconds(_number_or(steps, 1), _number_or(size, 256), _number_or(cutn, 8))


def study_gpu_seconds(
    audio, volumes_text, steps, seed, size, cutn, method=None, sample_steps=None, guidance=None, noise=None
):
    """Declared GPU seconds of one Volume-study request: one image per volume."""
    images = max(1, len(str(volumes_text or "").replace(",", " ").split()))
    if method == "decoder":
        return SHORT_CALL_SECONDS
    if method == "unclip":
        return unclip_seconds(_number_or(sample_steps, 20), _number_or(size, 768), images)
    return generation_seconds(_number_or(steps, 1), _number_or(size, 256), _number_or(cutn, 8), images)


def pictures_gpu_seconds(steps: int, method, sample_steps, size, cutn, pictures: int) -> int:
    """Declared GPU seconds of `pictures` one-picture requests in a row (a blend, a long sound's segments); `steps`:
    the optimisation's steps (the set's default)."""
    pictures = max(1, int(pictures))
    if method == "decoder":
        return SHORT_CALL_SECONDS + pictures  # one small sampling pass each
    if method == "unclip":
        return unclip_seconds(_number_or(sample_steps, 20), _number_or(size, 768), pictures)
    return generation_seconds(steps, _number_or(size, 256), _number_or(cutn, 8), pictures)
