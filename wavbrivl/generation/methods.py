"""The generation methods as objects a pipeline holds: each turns weighted targets into streamed pictures.

- `Optimisation` ("vqgan"): the paper's method, VQGAN latents optimised against the frozen image tower.
- `DecoderSampling` ("decoder"): a decoder trained to invert the image tower, sampled in a few flow steps.
- `UnclipSampling` ("unclip"): diffusers' Stable unCLIP conditioned on the embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from PIL import Image

from wavbrivl.generation.optimize import GenerationConfig, GenerationStep, generate_images
from wavbrivl.generation.sample import sample_images
from wavbrivl.generation.unclip import unclip_images

Stop = Callable[[], bool] | None


@dataclass
class Optimisation:
    """The paper's method: optimise VQGAN latents so the image tower's embedding approaches the targets."""

    vqgan: Any
    image_tower: Any
    name: ClassVar[str] = "vqgan"
    one_pass: ClassVar[bool] = False  # an init picture is its starting point, not one more target

    def run(
        self, targets: torch.Tensor, weights: torch.Tensor, config: GenerationConfig, init: Image.Image | None,
        should_stop: Stop,
    ) -> Iterator[GenerationStep]:  # fmt: skip
        """Yield each optimisation step's pictures."""
        return generate_images(self.vqgan, self.image_tower, targets, config, init, should_stop, weights)


@dataclass
class DecoderSampling:
    """One sampling pass of the set's decoder (a rectified flow over its VQGAN's latents)."""

    vqgan: Any
    decoder: Any
    image_tower: Any
    name: ClassVar[str] = "decoder"
    one_pass: ClassVar[bool] = True

    def run(
        self, targets: torch.Tensor, weights: torch.Tensor, config: GenerationConfig, init: Image.Image | None,
        should_stop: Stop,
    ) -> Iterator[GenerationStep]:  # fmt: skip
        """Yield each sampling step's picture."""
        return sample_images(self.vqgan, self.decoder, self.image_tower, targets, config, should_stop, weights)


@dataclass
class UnclipSampling:
    """One diffusion pass of a Stable unCLIP pipeline conditioned on the embedding."""

    unclip: Any
    image_tower: Any
    name: ClassVar[str] = "unclip"
    one_pass: ClassVar[bool] = True

    def run(
        self, targets: torch.Tensor, weights: torch.Tensor, config: GenerationConfig, init: Image.Image | None,
        should_stop: Stop,
    ) -> Iterator[GenerationStep]:  # fmt: skip
        """Yield each denoising step's picture."""
        return unclip_images(self.unclip, self.image_tower, targets, config, should_stop, weights)


GenerationMethod = Optimisation | DecoderSampling | UnclipSampling


def available_methods(
    image_tower: Any, vqgan: Any = None, decoder: Any = None, unclip: Any = None, default: str | None = None
) -> dict[str, GenerationMethod]:
    """The methods these parts make possible, the default first (then decoder, vqgan, unclip)."""
    found: list[GenerationMethod] = []
    if decoder is not None and vqgan is not None:
        found.append(DecoderSampling(vqgan, decoder, image_tower))
    if vqgan is not None:
        found.append(Optimisation(vqgan, image_tower))
    if unclip is not None:
        found.append(UnclipSampling(unclip, image_tower))
    return {m.name: m for m in sorted(found, key=lambda m: m.name != default)}
