"""The generation methods as objects a pipeline holds: each turns weighted targets into streamed pictures.

- "decoder": a decoder trained to invert the image tower, sampled in a few flow steps (the set's VQGAN decodes).
- "vqgan": the paper's method, VQGAN latents optimised against the frozen image tower.
- "unclip": diffusers' Stable unCLIP conditioned on the embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from wavbrivl.generation.config import GenerationConfig, GenerationStep
from wavbrivl.generation.optimize import generate_images
from wavbrivl.generation.registry import REGISTRY, MethodSpec
from wavbrivl.generation.sample import sample_images
from wavbrivl.generation.unclip import unclip_images

# run(targets (B, P, D), weights (P,), config, init picture or None, should_stop or None) -> the streamed steps
Run = Callable[[torch.Tensor, torch.Tensor, GenerationConfig, Image.Image | None, Callable[[], bool] | None],
               Iterator[GenerationStep]]  # fmt: skip


@dataclass(frozen=True)
class GenerationMethod:
    """One way to generate on this set's parts: its spec (registry.REGISTRY) and how it runs."""

    spec: MethodSpec
    run: Run

    @property
    def name(self) -> str:
        """The method's name."""
        return self.spec.name

    @property
    def one_pass(self) -> bool:
        """Whether an init picture is one more target (one pass) rather than a starting point."""
        return self.spec.one_pass


def available_methods(
    image_tower: Any, vqgan: Any = None, decoder: Any = None, unclip: Any = None, default: str | None = None
) -> dict[str, GenerationMethod]:
    """The methods these parts make possible, the default first (then in the registry's order)."""
    runs: dict[str, Run] = {}
    if decoder is not None and vqgan is not None:
        runs["decoder"] = lambda t, w, c, init, stop: sample_images(vqgan, decoder, image_tower, t, c, stop, w)
    if vqgan is not None:
        runs["vqgan"] = lambda t, w, c, init, stop: generate_images(vqgan, image_tower, t, c, init, stop, w)
    if unclip is not None:
        runs["unclip"] = lambda t, w, c, init, stop: unclip_images(unclip, image_tower, t, c, stop, w)
    found = [GenerationMethod(REGISTRY[name], runs[name]) for name in REGISTRY if name in runs]
    return {m.name: m for m in sorted(found, key=lambda m: m.name != default)}
