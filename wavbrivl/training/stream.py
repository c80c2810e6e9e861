"""Deterministic, resumable batches from embedded shards, split across processes."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from wavbrivl.data.shards import Sample, read_shard


def _crop(audio: np.ndarray, length: int, rng: random.Random | None) -> tuple[np.ndarray, int]:
    """A length-sample window (random offset when rng is given, else the start), zero-padded if short."""
    if len(audio) >= length:
        offset = rng.randint(0, len(audio) - length) if rng is not None else 0
        return audio[offset : offset + length], length
    return np.pad(audio, (0, length - len(audio))), len(audio)


def collate(samples: list[Sample], length: int, rngs: list[random.Random | None]) -> dict[str, torch.Tensor]:
    """Fixed-length audio (B, N), true lengths (B,) and target embeddings (B, D)."""
    crops = [_crop(s.audio, length, r) for s, r in zip(samples, rngs)]
    return {
        "audio": torch.from_numpy(np.stack([c for c, _ in crops]).astype(np.float32)),
        "lengths": torch.tensor([n for _, n in crops], dtype=torch.long),
        "target": torch.from_numpy(np.stack([s.embedding for s in samples]).astype(np.float32)),
    }


class ShardStream:
    """Epochs of shuffled global batches; each process takes its slice, so N processes see what one would."""

    def __init__(
        self,
        shards: list[Path],
        batch_size: int,
        clip_samples: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        buffer: int = 512,
    ) -> None:
        if batch_size % world:
            raise ValueError(f"global batch {batch_size} is not divisible by {world} processes")
        self.shards, self.batch_size, self.clip_samples = list(shards), batch_size, clip_samples
        self.seed, self.rank, self.world, self.buffer = seed, rank, world, buffer

    def _samples(self, epoch: int) -> Iterator[Sample]:
        rng = random.Random(self.seed * 7919 + epoch)
        order = self.shards[:]
        rng.shuffle(order)
        pool: list[Sample] = []
        for shard in order:
            for sample in read_shard(shard, frames=False):
                if sample.embedding is None:
                    raise ValueError(f"{shard}: sample {sample.key} has no frame embedding; run embed-frames")
                pool.append(sample)
                if len(pool) >= self.buffer:
                    yield pool.pop(rng.randrange(len(pool)))
        rng.shuffle(pool)
        yield from pool

    def batches(self, epoch: int, skip: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """This process's part of each global batch of an epoch, after skipping `skip` batches."""
        local = self.batch_size // self.world
        batch: list[Sample] = []
        index = 0
        for sample in self._samples(epoch):
            batch.append(sample)
            if len(batch) < self.batch_size:
                continue
            if index >= skip:
                mine = batch[self.rank * local : (self.rank + 1) * local]
                rngs = [random.Random(zlib.crc32(f"{self.seed}/{epoch}/{s.key}".encode())) for s in mine]
                yield collate(mine, self.clip_samples, rngs)
            index += 1
            batch = []


def load_eval_set(shards: list[Path], clip_samples: int) -> dict[str, torch.Tensor]:
    """All samples of held-out shards, cropped from the start (no randomness)."""
    samples = [s for shard in shards for s in read_shard(shard, frames=False)]
    return collate(samples, clip_samples, [None] * len(samples))
