"""Train the toy image tower (BriVL architecture, small timm backbone) to embed class and size."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from wavbrivl.configs import BriVLImageConfig
from wavbrivl.models import BriVLImageTower

TOY_IMAGE_CONFIG = BriVLImageConfig(
    backbone="test_efficientnet",
    image_size=64,
    hidden_dim=64,
    num_layers=1,
    num_heads=2,
    ffn_dim=128,
    embed_dim=64,
    dropout=0.0,
)


class Readouts(nn.Module):
    """Training-only heads on the embedding: class prototypes (cosine logits) and a linear size readout."""

    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.prototypes = nn.Parameter(torch.randn(classes, dim))
        self.size = nn.Linear(dim, 1)

    def forward(self, embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and predicted (standardised) size."""
        logits = 10.0 * embeds @ F.normalize(self.prototypes, dim=-1).T
        return logits, self.size(embeds).squeeze(-1)


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
) -> BriVLImageTower:
    """Fit the tower so that its embedding separates classes and orders sizes (pixels in [0, 1])."""
    torch.manual_seed(seed)
    tower = BriVLImageTower(BriVLImageConfig(**TOY_IMAGE_CONFIG.__dict__))
    heads = Readouts(tower.embed_dim, classes)
    params = list(tower.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    size_z = (sizes - sizes.mean()) / sizes.std()
    gen = torch.Generator().manual_seed(seed)
    tower.train()
    for step in range(steps):
        idx = torch.randint(len(pixels), (batch,), generator=gen)
        x = pixels[idx]
        flip = torch.rand(batch, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        x = (x + 0.03 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        logits, size_pred = heads(tower.encode_pixels(x))
        loss = F.cross_entropy(logits, labels[idx]) + F.mse_loss(size_pred, size_z[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress:
            progress(step, float(loss))
    return tower.eval()
