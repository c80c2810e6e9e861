"""The interface every frozen image tower offers: preprocessing and differentiable encoding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn


def pil_to_tensor(images: Sequence[Image.Image]) -> list[torch.Tensor]:
    """RGB PIL images to (3, H, W) float tensors in [0, 1]."""
    return [torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1) for im in images]


class ImageTower(nn.Module):
    """Base for image towers: [0, 1] pixels in, L2-normalised embeddings out."""

    image_size: int
    embed_dim: int

    def _register_norm(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def resize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Resize (B, 3, H, W) pixels to the tower's square input (bilinear, no antialias; differentiable)."""
        if pixels.shape[-2:] == (self.image_size, self.image_size):
            return pixels
        return F.interpolate(pixels, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images to a (B, 3, S, S) batch in [0, 1] at the tower's input size."""
        return torch.cat([self.resize(t[None]) for t in pil_to_tensor(images)], dim=0)

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Embed (B, 3, H, W) pixels in [0, 1]: resize, normalise, encode (differentiable)."""
        x = self.resize(pixels.to(self.pixel_mean.dtype))
        return self((x - self.pixel_mean) / self.pixel_std)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Embed normalised pixel values of the tower's input size."""
        raise NotImplementedError
