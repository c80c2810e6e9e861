"""One check of a generation request's settings, run before any model work (as diffusers' check_inputs)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from wavbrivl.errors import InputError, WeightsError
from wavbrivl.generation.optimize import GenerationConfig, resolve_seed

METHODS = ("decoder", "vqgan", "unclip")
MAX_GUIDANCE = 50.0
MAX_WEIGHT = 1e6
MISSING = {
    "vqgan": "this pipeline was loaded without a VQGAN; method 'vqgan' needs one (--vqgan-weights)",
    "decoder": "this model set has no decoder, so method 'decoder' is not available; use method 'vqgan' (the "
    "paper's optimisation) or train one with `wavbrivl train-decoder`",
    "unclip": "this model set has no Stable unCLIP pipeline, so method 'unclip' is not available; use the 'unclip' "
    "preset or pass --unclip-weights",
}


def check_generation(
    config: GenerationConfig,
    available: Sequence[str],
    prompt_weights: Sequence[float],
    downsample: int | None = None,
    noise_levels: int | None = None,
) -> GenerationConfig:
    """The config with its seed resolved, or an InputError / WeightsError naming the bad setting and the range.

    available lists the methods the set offers; downsample is its VQGAN's factor, noise_levels its unCLIP's
    noise-level count; prompt_weights are every target's weight.
    """
    if config.method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {config.method!r}")
    if config.method not in available:
        raise WeightsError(MISSING[config.method])
    if config.method == "vqgan":
        _check_optimisation(config, downsample or 1)
    else:
        _check_sampling(config, noise_levels)
    for weight in prompt_weights:
        if not abs(weight) <= MAX_WEIGHT:  # NaN fails this too
            raise InputError(f"a weight of {weight} is not a finite number within ±{MAX_WEIGHT:g}")
    return dataclasses.replace(config, seed=resolve_seed(config.seed))


def _check_optimisation(config: GenerationConfig, downsample: int) -> None:
    if config.steps < 1:
        raise InputError(f"steps must be at least 1, got {config.steps}")
    if config.size < downsample:
        raise InputError(f"size must be at least {downsample} px, got {config.size}")
    if config.cutn < 1 or config.cut_batch < 1:
        raise InputError(f"cutouts and cut_batch must be at least 1, got {config.cutn} and {config.cut_batch}")
    if not (math.isfinite(config.lr) and config.lr > 0):
        raise InputError(f"the learning rate must be a positive finite number, got {config.lr}")


def _check_sampling(config: GenerationConfig, noise_levels: int | None) -> None:
    if not 1 <= config.sample_steps <= 1000:
        raise InputError(f"sampling steps must be from 1 to 1000, got {config.sample_steps}")
    if not (math.isfinite(config.guidance_scale) and 0 <= config.guidance_scale <= MAX_GUIDANCE):
        raise InputError(f"the guidance scale must be a number from 0 to {MAX_GUIDANCE:g}, got {config.guidance_scale}")
    if config.method == "unclip":
        if config.size % 8 or not 64 <= config.size <= 1024:
            raise InputError(f"size must be a multiple of 8 from 64 to 1024 px for unCLIP, got {config.size}")
        top = (noise_levels or 1000) - 1
        if not 0 <= config.noise_level <= top:
            raise InputError(f"the noise level must be a whole number from 0 to {top}, got {config.noise_level}")
