"""A second judge of toy-world pictures: a tiny CNN classifier, trained apart from every tower and never a guide.

It names one of the world's classes, or OTHER for pictures that are none of them (scattered blobs, stripes,
shuffled tiles, several pieces). It is trained on a world seed of its own, with blur, noise and colour jitter so
that soft generated pictures are judged by their shape and colour rather than their sharpness. Its weights ship
in wavbrivl/assets/judge (`wavbrivl toyworld train-judge` rebuilds them); tests/toyworld/test_judge.py calibrates it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import kornia
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_model, save_model
from torch import nn

from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.negatives import negatives
from wavbrivl.toyworld.world import CLASSES, ToyWorld

OTHER = len(CLASSES)  # "none of the world's objects"
JUDGE_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "judge" / "cnn.safetensors"
JUDGE_WORLD_SEED = 8888  # a world of its own: no tower, decoder or evaluation uses it


class JudgeCNN(nn.Module):
    """Four conv blocks, global average pool, a linear layer over the classes and OTHER; input (B, 3, 64, 64)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width // 2, width, 2 * width, 2 * width):
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.GroupNorm(4, out), nn.ReLU(), nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, OTHER + 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Class logits (B, classes + 1) of pictures in [0, 1]."""
        x = F.interpolate(pixels, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
        return self.head(self.features(x * 2 - 1).mean((2, 3)))


def augment(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Blur (sigma 0.1-1.5), brightness/contrast jitter, pixel noise and horizontal flips, per picture."""
    batch = len(pixels)
    sigma = (torch.rand(batch, generator=generator) * 1.4 + 0.1)[:, None].expand(-1, 2)
    x = kornia.filters.gaussian_blur2d(pixels, (7, 7), sigma)
    gain = 1 + (torch.rand(batch, 1, 1, 1, generator=generator) - 0.5) * 0.2
    shift = (torch.rand(batch, 1, 1, 1, generator=generator) - 0.5) * 0.1
    x = x * gain + shift + torch.randn(x.shape, generator=generator) * 0.03
    flip = torch.rand(batch, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return x.clamp(0, 1)


def judge_data(seed: int, pictures: int, others: int) -> tuple[torch.Tensor, torch.Tensor]:
    """World pictures with their classes, and look-alikes labelled OTHER, from one world seed."""
    world = ToyWorld(seed)
    examples = world.examples(0, pictures)
    images = [e.image for e in examples] + negatives(world, 0, others)
    labels = [e.label for e in examples] + [OTHER] * others
    return torch.stack(pil_to_tensor(images)), torch.tensor(labels)


def train_judge(
    seed: int = JUDGE_WORLD_SEED, steps: int = 1500, pictures: int = 3200, others: int = 1600, log=print
) -> JudgeCNN:
    """Train the judge on its own world seed (cross-entropy, AdamW, augmentation every step)."""
    torch.manual_seed(seed)
    pixels, labels = judge_data(seed, pictures, others)
    model = JudgeCNN()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        index = torch.randint(len(pixels), (64,), generator=generator)
        loss = F.cross_entropy(model(augment(pixels[index], generator)), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % 250 == 0:
            log(f"judge step {step + 1}/{steps}: loss {loss.item():.4f}")
    return model.eval().requires_grad_(False)


def save_judge(model: JudgeCNN, path: Path = JUDGE_WEIGHTS) -> Path:
    """Write the judge's weights."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(path))
    return path


@lru_cache(maxsize=1)
def load_judge(path: Path = JUDGE_WEIGHTS) -> JudgeCNN:
    """The shipped judge."""
    model = JudgeCNN()
    load_model(model, str(path), strict=True)
    return model.eval().requires_grad_(False)


@torch.no_grad()
def classify(pictures: torch.Tensor | list[Image.Image]) -> torch.Tensor:
    """The judge's class per picture (OTHER: none of the world's objects), from (B, 3, H, W) in [0, 1] or PIL."""
    if not isinstance(pictures, torch.Tensor):
        pictures = torch.stack(pil_to_tensor(pictures))
    return load_judge()(pictures.float().cpu()).argmax(-1)
