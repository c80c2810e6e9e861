"""`wavbrivl embed-frames`: run the frozen image tower once over every shard's frames and store the embeddings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from wavbrivl.data.shards import Sample, list_shards, read_shard, write_shard
from wavbrivl.models import ImageTower


def _embedded(
    samples: Iterator[Sample], tower: ImageTower, batch_size: int, device: torch.device, tower_name: str
) -> Iterator[Sample]:
    batch: list[Sample] = []

    def flush() -> Iterator[Sample]:
        with torch.no_grad():
            pixels = tower.preprocess([s.frame for s in batch]).to(device)
            embeds = tower.encode_pixels(pixels).float().cpu().numpy()
        for sample, emb in zip(batch, embeds):
            sample.embedding = emb.astype(np.float32)
            sample.meta["image_tower"] = tower_name
            yield sample
        batch.clear()

    for sample in samples:
        if sample.frame is None:
            continue
        batch.append(sample)
        if len(batch) == batch_size:
            yield from flush()
    if batch:
        yield from flush()


def embed_frames(
    shards: str | Path | list,
    tower: ImageTower,
    out: str | Path | None = None,
    batch_size: int = 32,
    tower_name: str = "image_tower",
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write each shard again with emb.npy per sample (into out, or in place); done shards are skipped."""
    device = next(tower.parameters()).device
    tower.eval()
    written = []
    for shard in list_shards(shards):
        target = Path(out) / shard.name if out else shard
        if target.is_file() and target != shard:
            written.append(target)
            continue
        first = next(read_shard(shard, frames=False), None)
        if target == shard and first is not None and first.embedding is not None:
            written.append(target)
            continue
        samples = list(_embedded(read_shard(shard), tower, batch_size, device, tower_name))
        write_shard(target, samples)
        written.append(target)
        if progress:
            progress(len(samples))
    return written
