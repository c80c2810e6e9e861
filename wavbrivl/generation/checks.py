"""One check of a generation request's settings, run before any model work (as diffusers' check_inputs)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from wavbrivl.errors import InputError, WeightsError
from wavbrivl.generation.config import GenerationConfig, resolve_seed
from wavbrivl.generation.registry import METHODS, REGISTRY

MAX_GUIDANCE = 50.0
MAX_WEIGHT = 1e6
MAX_TV_WEIGHT = 100.0  # the toy set's pictures are one flat blob by 4; far past that the loss is smoothness alone


@dataclass(frozen=True)
class Setting:
    """A request setting's accepted values, and the one sentence Python, the CLI and the app say for others."""

    name: str
    low: float
    high: float
    whole: bool = True
    low_open: bool = False  # low itself is refused ("above 0")

    def message(self, value: object) -> str:
        """Why `value` is refused, naming the setting and what it accepts."""
        kind = "a whole number" if self.whole else "a number"
        low, high = shown(self.low), shown(self.high)
        span = f"above {low} and at most {high}" if self.low_open else f"from {low} to {high}"
        return f"{self.name} must be {kind} {span}; got {shown(value)}"

    def check(self, value: object) -> float | int:
        """The value as a number of the setting's kind, or an InputError with `message`."""
        try:
            number = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            number = math.nan
        above = number > self.low if self.low_open else number >= self.low
        if not (above and number <= self.high and (not self.whole or number.is_integer())):  # NaN fails too
            raise InputError(self.message(value))
        return int(number) if self.whole else number


def shown(value: object) -> str:
    """A value as messages show it: whole floats without '.0', long texts cut."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


SETTINGS = {
    "steps": Setting("steps", 1, 1000),
    "size": Setting("size (px)", 8, 1024),
    "cutn": Setting("cutouts", 1, 64),
    "cut_batch": Setting("cut_batch", 1, 64),
    "lr": Setting("the learning rate", 0, 10, whole=False, low_open=True),
    "sample_steps": Setting("sampling steps", 1, 1000),
    "guidance_scale": Setting("the guidance scale", 0, MAX_GUIDANCE, whole=False),
    "noise_level": Setting("the noise level", 0, 999),
    "tv_weight": Setting("the total-variation weight", 0, MAX_TV_WEIGHT, whole=False),
    "start_similarity": Setting("start_similarity (a cosine)", -1, 1, whole=False),
    "start_steps_max": Setting("start_steps_max", 0, 1000),
}


def check_generation(
    config: GenerationConfig,
    available: Sequence[str],
    prompt_weights: Sequence[float],
    downsample: int | None = None,
    noise_levels: int | None = None,
) -> GenerationConfig:
    """The config with its seed resolved, or an InputError / WeightsError naming the bad setting and the range.

    Every setting is checked whatever the method (the app sends them all). available lists the methods the set
    offers; downsample is its VQGAN's factor, noise_levels its unCLIP's noise-level count; prompt_weights are
    every target's weight.
    """
    if config.method not in REGISTRY:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {config.method!r}")
    for key, setting in SETTINGS.items():
        setting.check(getattr(config, key))
    if config.method not in available:
        raise WeightsError(REGISTRY[config.method].missing)
    if config.method == "vqgan" and config.size < (downsample or 1):
        raise InputError(f"size (px) must be at least the VQGAN's {downsample} px; got {config.size}")
    if config.method == "unclip":
        if config.size % 8 or not 64 <= config.size <= 1024:
            raise InputError(f"size (px) must be a multiple of 8 from 64 to 1024 for unCLIP; got {config.size}")
        top = (noise_levels or 1000) - 1
        if config.noise_level > top:
            raise InputError(f"the noise level must be a whole number from 0 to {top} for this unCLIP; got "
                             f"{config.noise_level}")  # fmt: skip
    for weight in prompt_weights:
        if not abs(weight) <= MAX_WEIGHT:  # NaN fails this too
            raise InputError(f"a weight of {weight} is not a finite number within ±{MAX_WEIGHT:g}")
    return dataclasses.replace(config, seed=resolve_seed(config.seed))
