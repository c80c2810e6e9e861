"""Train the toy image tower (BriVL architecture, small timm backbone) to embed class and size."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from wavbrivl.configs import BriVLImageConfig
from wavbrivl.loading.presets import model_size
from wavbrivl.models import BriVLImageTower

TOY_IMAGE_CONFIG = BriVLImageConfig(**model_size("toy")["image"])


class Readouts(nn.Module):
    """Training-only heads on the embedding: class prototypes (cosine logits) and a linear size readout.

    With hard negatives there is one more prototype, "not one of the world's objects", where they belong.
    """

    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.prototypes = nn.Parameter(torch.randn(classes, dim))
        self.size = nn.Linear(dim, 1)

    def forward(self, embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and predicted (standardised) size."""
        logits = 10.0 * embeds @ F.normalize(self.prototypes, dim=-1).T
        return logits, self.size(embeds).squeeze(-1)


def _loss(tower, heads, x, labels, size_z, positive) -> torch.Tensor:
    logits, size_pred = heads(tower.encode_pixels(x))
    size_loss = (F.mse_loss(size_pred, size_z, reduction="none") * positive).sum() / positive.sum().clamp_min(1)
    return F.cross_entropy(logits, labels) + size_loss


def perturb(tower, heads, x, labels, size_z, positive, eps: float, steps: int, gen: torch.Generator) -> torch.Tensor:
    """PGD in the L-infinity ball of radius eps around x (pixels in [0, 1]): the training loss's worst case."""
    delta = (torch.rand(x.shape, generator=gen) * 2 - 1) * eps
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = _loss(tower, heads, (x + delta).clamp(0, 1), labels, size_z, positive)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + 2.5 * eps / steps * grad.sign()).clamp(-eps, eps)
    return (x + delta).clamp(0, 1).detach()


def train_image_tower(
    pixels: torch.Tensor,
    labels: torch.Tensor,
    sizes: torch.Tensor,
    classes: int,
    steps: int = 400,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
    negatives: torch.Tensor | None = None,
    negative_share: float = 0.25,
    adversarial_eps: float = 0.0,
    adversarial_steps: int = 2,
) -> BriVLImageTower:
    """Fit the tower so that its embedding separates classes and orders sizes (pixels in [0, 1]).

    negatives: pictures that are none of the classes (a share of every batch, pushed to their own prototype);
    adversarial_eps > 0 trains on PGD-perturbed pictures, for gradients that change what a person sees.
    """
    torch.manual_seed(seed)
    tower = BriVLImageTower(BriVLImageConfig(**TOY_IMAGE_CONFIG.__dict__))
    heads = Readouts(tower.embed_dim, classes + (negatives is not None))
    params = list(tower.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    size_z = (sizes - sizes.mean()) / sizes.std()
    gen = torch.Generator().manual_seed(seed)
    n_neg = int(round(batch * negative_share)) if negatives is not None else 0
    tower.train()
    for step in range(steps):
        idx = torch.randint(len(pixels), (batch - n_neg,), generator=gen)
        x, y, z = pixels[idx], labels[idx], size_z[idx]
        positive = torch.ones(len(idx))
        if n_neg:
            neg = negatives[torch.randint(len(negatives), (n_neg,), generator=gen)]
            x = torch.cat([x, neg])
            y = torch.cat([y, torch.full((n_neg,), classes)])
            z = torch.cat([z, torch.zeros(n_neg)])
            positive = torch.cat([positive, torch.zeros(n_neg)])
        flip = torch.rand(len(x), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        x = (x + 0.03 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        if adversarial_eps > 0:
            x = perturb(tower, heads, x, y, z, positive, adversarial_eps, adversarial_steps, gen)
        loss = _loss(tower, heads, x, y, z, positive)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress:
            progress(step, float(loss))
    return tower.eval()
