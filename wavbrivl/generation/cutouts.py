"""VQGAN-CLIP style cutouts: random crops of the generated image, resized to the tower's input and augmented."""

from __future__ import annotations

import math
from dataclasses import dataclass

import kornia.augmentation as K
import kornia.enhance as KE
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AugmentConfig:
    """The augmentation suite applied to every cutout (kornia); 0 switches a part off."""

    degrees: float = 15.0  # random rotation, in degrees either way
    translate: float = 0.1  # random shift, as a share of the side
    scale: float = 0.1  # random zoom, 1 ± this
    perspective: float = 0.2  # random perspective distortion scale
    brightness: float = 0.05  # colour jitter: small, since the toy world's classes differ by colour
    contrast: float = 0.05
    saturation: float = 0.05
    hue: float = 0.0
    flip: bool = True  # random horizontal flips


class MakeCutouts(nn.Module):
    """cutn views per image: a random square crop between min(side, cut_size) and the whole side, resized to
    cut_size, then random affine, perspective and colour jitter, flips and Gaussian noise.

    Geometric augmentation moves the picture relative to `fill` (the padding colour; the background of the
    world the towers were trained on, or black) so the border never smears the image's edge colour inward.
    Every random number comes from the caller's CPU generator, so a seed gives the same views on any device.
    """

    def __init__(
        self,
        cut_size: int,
        cutn: int,
        cut_pow: float = 1.0,
        noise: float = 0.1,
        augment: AugmentConfig | None = None,
        fill: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> None:
        super().__init__()
        self.cut_size, self.cutn, self.cut_pow, self.noise = cut_size, cutn, cut_pow, noise
        self.augment = augment if augment is not None else AugmentConfig()
        self.register_buffer("fill", torch.tensor(fill, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        a = self.augment
        parts: list[nn.Module] = []
        if a.flip:
            parts.append(K.RandomHorizontalFlip(p=0.5))
        if a.degrees or a.translate or a.scale:
            parts.append(
                K.RandomAffine(
                    a.degrees, (a.translate, a.translate), (1 - a.scale, 1 + a.scale), padding_mode="zeros", p=0.8
                )
            )
        if a.perspective:
            parts.append(K.RandomPerspective(a.perspective, p=0.5))
        self.geometric = nn.Sequential(*parts)

    def forward(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (cutn, B, 3, S, S); all randomness drawn from generator (CPU)."""
        batch, _, height, width = images.shape
        side_max = min(height, width)
        side_min = min(side_max, self.cut_size)
        draws = torch.rand(self.cutn, 3, generator=generator)
        views = []
        for k in range(self.cutn):
            size = int(side_min + (side_max - side_min) * float(draws[k, 0]) ** self.cut_pow)
            top = int(float(draws[k, 1]) * (height - size + 1))
            left = int(float(draws[k, 2]) * (width - size + 1))
            crop = images[:, :, top : top + size, left : left + size]
            views.append(F.interpolate(crop, size=(self.cut_size, self.cut_size), mode="bilinear", align_corners=False))
        # Batch members are stacked as channels, so every member sees the same views (a volume study compares
        # like with like).
        cutouts = torch.stack(views).flatten(1, 2)  # (cutn, B * 3, S, S)
        fill = self.fill.to(cutouts.device, cutouts.dtype).repeat(1, batch, 1, 1)
        seed = int(torch.randint(2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):  # kornia draws from torch's global CPU generator
            torch.manual_seed(seed)
            cutouts = self.geometric(cutouts - fill) + fill
        cutouts = self._jitter(cutouts.reshape(self.cutn * batch, 3, self.cut_size, self.cut_size), batch, generator)
        cutouts = cutouts.view(self.cutn, batch, 3, self.cut_size, self.cut_size)
        if self.noise > 0:
            scale = torch.rand(self.cutn, 1, 1, 1, 1, generator=generator) * self.noise
            noise = torch.randn(self.cutn, 1, *cutouts.shape[2:], generator=generator)
            cutouts = cutouts + (scale * noise).to(cutouts.device, cutouts.dtype)
        return cutouts

    def _jitter(self, views: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Brightness, contrast, saturation and hue jitter, one draw per view shared by the batch."""
        a = self.augment
        unclipped = {"clip_output": False}  # keep gradients where jitter leaves [0, 1]
        for amount, adjust, neutral, options in (
            (a.brightness, KE.adjust_brightness, 0.0, unclipped),
            (a.contrast, KE.adjust_contrast, 1.0, unclipped),
            (a.saturation, KE.adjust_saturation, 1.0, {}),
            (a.hue * math.pi, KE.adjust_hue, 0.0, {}),
        ):
            if amount:
                factor = neutral + (torch.rand(self.cutn, generator=generator) * 2 - 1) * amount
                views = adjust(views, factor.repeat_interleave(batch).to(views.device, views.dtype), **options)
        return views
