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

from wavbrivl.generation.optimize import GenerationConfig, GenerationStep, generate_images
from wavbrivl.generation.sample import sample_images
from wavbrivl.generation.unclip import unclip_images

# run(targets (B, P, D), weights (P,), config, init picture or None, should_stop or None) -> the streamed steps
Run = Callable[[torch.Tensor, torch.Tensor, GenerationConfig, Image.Image | None, Callable[[], bool] | None],
               Iterator[GenerationStep]]  # fmt: skip


@dataclass(frozen=True)
class GenerationMethod:
    """One way to generate: its name, whether it is one pass (an init picture is then one more target, not a
    starting point), and how it runs on this set's parts."""

    name: str
    one_pass: bool
    run: Run


def available_methods(
    image_tower: Any, vqgan: Any = None, decoder: Any = None, unclip: Any = None, default: str | None = None
) -> dict[str, GenerationMethod]:
    """The methods these parts make possible, the default first (then decoder, vqgan, unclip)."""
    found: list[GenerationMethod] = []
    if decoder is not None and vqgan is not None:
        found.append(GenerationMethod("decoder", True, lambda t, w, c, init, stop: sample_images(
            vqgan, decoder, image_tower, t, c, stop, w)))  # fmt: skip
    if vqgan is not None:
        found.append(GenerationMethod("vqgan", False, lambda t, w, c, init, stop: generate_images(
            vqgan, image_tower, t, c, init, stop, w)))  # fmt: skip
    if unclip is not None:
        found.append(GenerationMethod("unclip", True, lambda t, w, c, init, stop: unclip_images(
            unclip, image_tower, t, c, stop, w)))  # fmt: skip
    return {m.name: m for m in sorted(found, key=lambda m: m.name != default)}
