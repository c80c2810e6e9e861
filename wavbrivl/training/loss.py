"""Symmetric InfoNCE with a learnable temperature and a MoCo-style queue of earlier image embeddings."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EmbeddingQueue(nn.Module):
    """A FIFO of the most recent image embeddings, used as extra negatives for audio→image."""

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("items", torch.zeros(size, dim))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def negatives(self) -> torch.Tensor:
        """The filled part of the queue (count x dim)."""
        return self.items[: int(self.count)]

    @torch.no_grad()
    def push(self, embeddings: torch.Tensor) -> None:
        """Add embeddings, overwriting the oldest."""
        if self.size == 0:
            return
        embeddings = embeddings.detach()[-self.size :].to(self.items.dtype)
        n = embeddings.shape[0]
        idx = (int(self.ptr) + torch.arange(n)) % self.size
        self.items[idx.to(self.items.device)] = embeddings
        self.ptr.fill_((int(self.ptr) + n) % self.size)
        self.count.fill_(min(int(self.count) + n, self.size))


class ContrastiveLoss(nn.Module):
    """Audio↔image InfoNCE; logits scaled by a learnable 1/temperature (capped at 100)."""

    def __init__(self, temperature: float = 0.07, learnable: bool = True, cosine_weight: float = 0.0) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / temperature)), requires_grad=learnable)
        self.cosine_weight = cosine_weight

    @property
    def scale(self) -> torch.Tensor:
        """The current logit scale (1/temperature)."""
        return self.log_scale.exp().clamp(max=100.0)

    def forward(self, audio: torch.Tensor, image: torch.Tensor, queue: torch.Tensor | None = None) -> torch.Tensor:
        """Mean of audio→image (in-batch + queue negatives) and image→audio cross-entropies."""
        audio, image = F.normalize(audio, dim=-1), F.normalize(image, dim=-1)
        keys = image if queue is None or queue.numel() == 0 else torch.cat([image, queue.to(image.dtype)])
        targets = torch.arange(audio.shape[0], device=audio.device)
        a2i = F.cross_entropy(self.scale * audio @ keys.T, targets)
        i2a = F.cross_entropy(self.scale * image @ audio.T, targets)
        loss = (a2i + i2a) / 2
        if self.cosine_weight:
            loss = loss + self.cosine_weight * (1 - (audio * image).sum(-1)).mean()
        return loss
