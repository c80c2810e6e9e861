"""One check of a generation request's settings, run before any model work (as diffusers' check_inputs)."""

from __future__ import annotations

import dataclasses
import math

from wavbrivl.errors import InputError, WeightsError
from wavbrivl.generation.optimize import GenerationConfig, resolve_seed

METHODS = ("vqgan", "decoder")
MAX_GUIDANCE = 50.0
MAX_WEIGHT = 1e6


def check_generation(
    config: GenerationConfig, downsample: int | None, has_decoder: bool, prompt_weights: list[float]
) -> GenerationConfig:
    """The config with its seed resolved, or an InputError / WeightsError naming the bad setting and the range.

    downsample is the set's VQGAN factor (None: the set has no VQGAN); prompt_weights are every target's weight.
    """
    if config.method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {config.method!r}")
    if downsample is None:
        raise WeightsError("this pipeline was loaded without a VQGAN; generation needs one (--vqgan-weights)")
    if config.method == "decoder" and not has_decoder:
        raise WeightsError(
            "this model set has no decoder, so method 'decoder' is not available; use method 'vqgan' (the paper's "
            "optimisation) or train one with `wavbrivl train-decoder`"
        )
    if config.method == "vqgan":
        _check_optimisation(config, downsample)
    else:
        if not 1 <= config.sample_steps <= 1000:
            raise InputError(f"sampling steps must be from 1 to 1000, got {config.sample_steps}")
        if not (math.isfinite(config.guidance_scale) and 0 <= config.guidance_scale <= MAX_GUIDANCE):
            raise InputError(
                f"the guidance scale must be a number from 0 to {MAX_GUIDANCE:g}, got {config.guidance_scale}"
            )
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
