"""GroupNorm with per-channel statistics measured once (the toy VQGAN decoder's norm), in GroupNorm's key layout.

taming's decoder normalises every picture by its own statistics, one channel per group at the toy set's width.
Trained so, it learns to park a few pixels of very large activation beside the object to steer those statistics
(StyleGAN's "water droplet"), and the last layers draw them as a faint dark ring. With the statistics fixed there is
nothing to steer. `calibrating` measures them: each norm met in one forward pass takes the mean of its inputs'
per-picture group statistics, in order, so every layer is measured after the ones before it are fixed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class FixedGroupNorm(nn.GroupNorm):
    """An affine GroupNorm whose mean and variance per channel are buffers, the same for every picture."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_groups, num_channels, eps=eps, affine=True)
        self.register_buffer("running_mean", torch.zeros(num_channels))
        self.register_buffer("running_var", torch.ones(num_channels))
        self.calibrating = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise by the stored statistics (measuring them first while calibrating)."""
        if self.calibrating:
            groups = x.detach().flatten(2).view(x.shape[0], self.num_groups, -1)
            per_channel = self.num_channels // self.num_groups
            self.running_mean.copy_(groups.mean(-1).mean(0).repeat_interleave(per_channel))
            self.running_var.copy_(groups.var(-1, unbiased=False).mean(0).repeat_interleave(per_channel))
        scale = torch.rsqrt(self.running_var + self.eps) * self.weight
        shift = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + shift[None, :, None, None]


def fix_group_norms(module: nn.Module) -> int:
    """Replace every GroupNorm inside module by a FixedGroupNorm with its affine weights; returns how many."""
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.GroupNorm) and not isinstance(child, FixedGroupNorm):
            fixed = FixedGroupNorm(child.num_groups, child.num_channels, child.eps)
            fixed.weight.data.copy_(child.weight.data)
            fixed.bias.data.copy_(child.bias.data)
            setattr(module, name, fixed.to(child.weight.device))
            count += 1
        else:
            count += fix_group_norms(child)
    return count


@torch.no_grad()
def calibrate_fixed_norms(module: nn.Module, run: Callable[[], object]) -> None:
    """Measure every FixedGroupNorm's statistics in module during run() (one forward pass over a batch)."""
    norms = [m for m in module.modules() if isinstance(m, FixedGroupNorm)]
    for norm in norms:
        norm.calibrating = True
    try:
        run()
    finally:
        for norm in norms:
            norm.calibrating = False
