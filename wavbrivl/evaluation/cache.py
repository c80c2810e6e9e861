"""Embeddings computed once and kept on disk in chunks, so an interrupted extraction resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn


def model_fingerprint(*modules: nn.Module | None, extra: dict | None = None) -> str:
    """A short hash of the modules' configs and weights (per tensor: name, shape, sum, abs-sum) plus settings."""
    digest = hashlib.sha256(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    for module in modules:
        if module is None:
            continue
        config = getattr(module, "config", None)
        digest.update(type(module).__name__.encode())
        digest.update(json.dumps(getattr(config, "__dict__", {}), sort_keys=True, default=str).encode())
        with torch.no_grad():
            for name, tensor in module.state_dict().items():
                t = tensor.detach().double()
                digest.update(f"{name}{tuple(t.shape)}{float(t.sum()):.10e}{float(t.abs().sum()):.10e}".encode())
    return digest.hexdigest()[:16]


class EmbeddingStore:
    """id -> vector, persisted as chunk-NNNNN.npz files (written atomically) in one folder per model and kind."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        self._chunks = 0
        for path in sorted(self.folder.glob("chunk-*.npz")):
            try:
                with np.load(path, allow_pickle=False) as data:
                    self._vectors.update(zip(data["ids"].tolist(), data["embeddings"]))
            except Exception:  # noqa: BLE001 - a damaged chunk is recomputed, never trusted
                path.unlink(missing_ok=True)
                continue
            self._chunks += 1

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def add(self, ids: Sequence[str], embeddings: np.ndarray) -> None:
        """Store a chunk of vectors (one new file)."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        path = self.folder / f"chunk-{self._chunks:05d}.npz"
        while path.exists():
            self._chunks += 1
            path = self.folder / f"chunk-{self._chunks:05d}.npz"
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.array(list(ids)), embeddings=embeddings)
        os.replace(tmp, path)
        self._chunks += 1
        self._vectors.update(zip(ids, embeddings))

    def get(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ids, stacked (N, D)."""
        return np.stack([self._vectors[i] for i in ids])

    def get_or_nan(self, ids: Sequence[str], dim: int) -> np.ndarray:
        """Like get, with a NaN row for each id that has no vector."""
        empty = np.full(dim, np.nan, dtype=np.float32)
        return np.stack([self._vectors.get(i, empty) for i in ids]) if ids else np.zeros((0, dim), np.float32)

    def fill(
        self,
        ids: Sequence[str],
        compute: Callable[[list[str]], np.ndarray],
        chunk: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Compute the vectors not stored yet (chunk by chunk, each saved at once) and return all of ids'.

        compute may return NaN rows for ids it could not embed: those are not stored (a later run tries
        them again) and come back as NaN rows.
        """
        todo = [i for i in dict.fromkeys(ids) if i not in self._vectors]
        dim = None
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            vectors = np.asarray(compute(part), dtype=np.float32)
            dim = vectors.shape[1]
            good = np.isfinite(vectors).all(1)
            if good.any():
                self.add([i for i, ok in zip(part, good) if ok], vectors[good])
            if progress is not None:
                progress(min(start + chunk, len(todo)), len(todo))
        if dim is None:
            return self.get(ids)
        return self.get_or_nan(ids, dim)
