"""What every generation method shares: its settings (GenerationConfig), the steps it streams (GenerationStep),
and the seed rules. Every refusal here is an InputError."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from wavbrivl.errors import InputError
from wavbrivl.generation.cutouts import AugmentConfig

RANDOM_SEED = -1  # asks for a fresh random seed (the seed used is reported)
MAX_SEED = 2**32 - 1  # the largest seed the app, the CLI and Python accept


def check_seed(seed: int | float | str) -> int:
    """The seed as given if it is a whole number from 0 to MAX_SEED or RANDOM_SEED, else an InputError."""
    try:
        value = int(seed)
        whole = float(seed) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or not RANDOM_SEED <= value <= MAX_SEED:
        raise InputError(
            f"the seed must be a whole number from 0 to {MAX_SEED}, or {RANDOM_SEED} for a random one; got {seed}"
        )
    return value


def resolve_seed(seed: int | float | str | None) -> int:
    """The seed to use: the one given (0 to MAX_SEED), or a fresh random one for None or RANDOM_SEED."""
    value = RANDOM_SEED if seed is None else check_seed(seed)
    return int(np.random.default_rng().integers(0, 2**31)) if value == RANDOM_SEED else value


@dataclass
class GenerationConfig:
    """Knobs of one generation run."""

    steps: int = 100
    size: int = 256
    lr: float = 0.1
    cutn: int = 16
    cut_batch: int = 4  # cutouts through the image tower at once (memory vs. speed)
    cut_pow: float = 1.0
    noise: float = 0.1
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # the cutouts' augmentation suite
    tv_weight: float = 0.0  # total-variation penalty on the pixels (0: off)
    init: str = "tokens"  # start: "tokens" (random codebook tokens) or "blob" (one blob, see initial_latents)
    starts: int = 1  # blob start: this many candidate blobs of evenly spaced hues per image...
    start_steps: int = 10  # ...optimised for this many steps, after which each image keeps its best candidate,
    start_similarity: float = 0.0  # ...unless its best candidate's cosine to its (first) target is under this: it
    start_steps_max: int = 0  # keeps them all until its best gets there or until this step
    fill: tuple[float, float, float] = (0.0, 0.0, 0.0)  # padding colour of geometric augmentation
    method: str = "vqgan"  # "vqgan": the paper's optimisation; "decoder" / "unclip": one sampling pass
    sample_steps: int = 10  # decoder / unclip: sampling steps
    guidance_scale: float = 4.0  # decoder / unclip: classifier-free guidance (1: none)
    noise_level: int = 0  # unclip: noise added to the image embedding (0: none; more: looser pictures)

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):  # from a model set's model_index.json
            self.augment = AugmentConfig(**self.augment)
        self.fill = tuple(self.fill)
        if self.init not in ("tokens", "blob"):
            raise InputError(f"init must be 'tokens' or 'blob'; got {self.init!r}")
        if self.starts < 1 or self.start_steps < 0 or self.start_steps_max < 0:
            raise InputError(
                "starts must be at least 1, start_steps and start_steps_max at least 0; got "
                f"{self.starts}, {self.start_steps}, {self.start_steps_max}"
            )


@dataclass
class GenerationStep:
    """One optimisation step's images (B, 3, H, W in [0, 1]) and per-image similarity and loss."""

    step: int
    total: int
    pixels: torch.Tensor
    similarity: list[float]
    loss: list[float]
    final: bool = False

    @property
    def images(self) -> list[Image.Image]:
        """The step's images as RGB PIL images."""
        arrays = (self.pixels.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        return [Image.fromarray(a) for a in arrays]
