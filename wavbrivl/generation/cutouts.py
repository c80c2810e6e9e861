"""Random cutouts of generated images, resized to the image tower's input, with augmentations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MakeCutouts(nn.Module):
    """cutn random square crops per image, shared across the batch so every batch member sees the same views."""

    def __init__(self, cut_size: int, cutn: int, cut_pow: float = 1.0, noise: float = 0.1, flip: bool = True) -> None:
        super().__init__()
        self.cut_size, self.cutn, self.cut_pow, self.noise, self.flip = cut_size, cutn, cut_pow, noise, flip

    def forward(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (cutn, B, 3, S, S); randomness drawn from generator (CPU)."""
        _, _, height, width = images.shape
        side_max = min(height, width)
        side_min = min(side_max, max(self.cut_size // 4, side_max // 4, 1))
        draws = torch.rand(self.cutn, 4, generator=generator)
        views = []
        for k in range(self.cutn):
            size = int(side_min + (side_max - side_min) * float(draws[k, 0]) ** self.cut_pow)
            top = int(float(draws[k, 1]) * (height - size + 1))
            left = int(float(draws[k, 2]) * (width - size + 1))
            crop = images[:, :, top : top + size, left : left + size]
            crop = F.interpolate(crop, size=(self.cut_size, self.cut_size), mode="bilinear", align_corners=False)
            if self.flip and float(draws[k, 3]) < 0.5:
                crop = crop.flip(-1)
            views.append(crop)
        cutouts = torch.stack(views)
        if self.noise > 0:
            scale = torch.rand(self.cutn, 1, 1, 1, 1, generator=generator) * self.noise
            noise = torch.randn(cutouts.shape[0], 1, *cutouts.shape[2:], generator=generator)
            cutouts = cutouts + (scale * noise).to(cutouts.device, cutouts.dtype)
        return cutouts
