"""Stand-ins for the decoder's sampling loop, so every number can be checked by hand: a VQGAN whose codes are the
latents themselves and an image tower that is a fixed linear map."""

from __future__ import annotations

import torch

DIM = 16  # the stand-in tower's embedding size


class StandInVQGAN:
    """Codes are the latents themselves; a picture is the first three latent channels."""

    def __init__(self) -> None:
        self.quantized: list[torch.Tensor] = []

    def quantize_st(self, z: torch.Tensor) -> torch.Tensor:
        self.quantized.append(z)
        return z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :3]


class StandInTower:
    """A fixed linear map from 3 x 8 x 8 pixels to DIM numbers."""

    def __init__(self) -> None:
        self.weight = torch.randn(3 * 8 * 8, DIM, generator=torch.Generator().manual_seed(5))

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels.flatten(1) @ self.weight
