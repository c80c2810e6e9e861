"""Ranking images by a sound, and a content-keyed cache so a gallery is embedded once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from wavbrivl.lru import LRUCache


def image_key(image: Image.Image) -> str:
    """A content hash of an RGB image (pixels and size), independent of file name or format."""
    rgb = image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}".encode())
    digest.update(np.asarray(rgb).tobytes())
    return digest.hexdigest()


class EmbeddingCache(LRUCache[torch.Tensor]):
    """A bounded LRU map from image content hash to embedding (kept as CPU float32); safe to share between threads."""

    def __init__(self, max_items: int = 50_000) -> None:
        super().__init__(max_items)

    def put(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """Store a CPU float32 copy of an embedding, evicting the least recently used; returns the stored copy."""
        return super().put(key, value.detach().to("cpu", torch.float32))


@dataclass
class RankResult:
    """Audio x image similarities (A, N) and, per audio row, image indices from best to worst."""

    scores: torch.Tensor
    order: torch.Tensor

    def ranked(self, row: int = 0) -> list[tuple[int, float]]:
        """(image index, score) pairs of one audio row, best first."""
        return [(int(i), float(self.scores[row, i])) for i in self.order[row]]


def rank_embeddings(audio: torch.Tensor, images: torch.Tensor) -> RankResult:
    """Cosine similarity matrix of normalised embeddings and the descending order per audio row."""
    scores = audio.float() @ images.float().T
    return RankResult(scores, torch.argsort(scores, dim=1, descending=True, stable=True))
