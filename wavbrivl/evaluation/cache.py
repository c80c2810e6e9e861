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

from wavbrivl.distributed import barrier


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
    """id -> vector, persisted as chunk-NNNNN.npz files (written atomically) in one folder per model and kind.

    Under torchrun each rank computes its share of what is missing and writes chunk-rR-NNNNN.npz files of its own;
    after a barrier every rank reads the others' chunks (`reload`), so all end with the same vectors.
    """

    def __init__(self, folder: str | Path, rank: int = 0, world: int = 1) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rank, self.world = rank, world
        self.prefix = f"chunk-r{rank}-" if world > 1 else "chunk-"
        self._vectors: dict[str, np.ndarray] = {}
        self._read: set[Path] = set()
        self._chunks = 0
        self.reload()
        # Every rank takes its view before any rank writes here: each computes its share of what is missing from
        # that view, and a rank that saw another's first chunks would split a different list (items left undone).
        barrier(world)

    def reload(self) -> None:
        """Read the chunks written since (by this or another process); a damaged one is dropped, never trusted."""
        for path in sorted(self.folder.glob("chunk-*.npz")):
            if path in self._read or path.name.endswith(".tmp.npz"):
                continue
            try:
                with np.load(path, allow_pickle=False) as data:
                    self._vectors.update(zip(data["ids"].tolist(), data["embeddings"]))
            except Exception:  # noqa: BLE001 - a damaged chunk is recomputed, never trusted
                if path.name.startswith(self.prefix):
                    path.unlink(missing_ok=True)
                continue
            self._read.add(path)

    def share(self, todo: Sequence[str]) -> list[str]:
        """This process's share of the ids to compute: every world-th, from its rank."""
        return list(todo)[self.rank :: self.world]

    def sync(self) -> None:
        """Wait for every process, then read what they stored (nothing to do in a one-process run)."""
        barrier(self.world)
        if self.world > 1:
            self.reload()

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def add(self, ids: Sequence[str], embeddings: np.ndarray) -> None:
        """Store a chunk of vectors (one new file)."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        path = self.folder / f"{self.prefix}{self._chunks:05d}.npz"
        while path.exists():
            self._chunks += 1
            path = self.folder / f"{self.prefix}{self._chunks:05d}.npz"
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.array(list(ids)), embeddings=embeddings)
        os.replace(tmp, path)
        self._chunks += 1
        self._read.add(path)
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
        them again) and come back as NaN rows. Under torchrun each rank computes its share, then all sync.
        """
        todo = self.share([i for i in dict.fromkeys(ids) if i not in self._vectors])
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
        self.sync()
        stored = [i for i in ids if i in self._vectors]
        dim = len(self._vectors[stored[0]]) if stored else (dim or 1)  # nothing stored: NaN rows of any width
        return self.get_or_nan(ids, dim)
