"""Ranking images by a sound, and a content-keyed cache so a gallery is embedded once."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


def image_key(image: Image.Image) -> str:
    """A content hash of an RGB image (pixels and size), independent of file name or format."""
    rgb = image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}".encode())
    digest.update(np.asarray(rgb).tobytes())
    return digest.hexdigest()


class EmbeddingCache:
    """A bounded LRU map from image content hash to embedding (CPU float32); safe to share between threads."""

    def __init__(self, max_items: int = 50_000) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()  # the app serves requests from several threads

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: str) -> torch.Tensor | None:
        """The cached embedding for key, marked as recently used, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """Store an embedding, evicting the least recently used beyond max_items; returns the stored copy."""
        stored = value.detach().to("cpu", torch.float32)
        with self._lock:
            self._items[key] = stored
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return stored

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()


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
