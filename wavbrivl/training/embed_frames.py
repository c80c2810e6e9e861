"""`wavbrivl embed-frames`: run the frozen image tower once over every shard's frames and store the embeddings.

Under torchrun, rank r embeds the shards k with k % world == r on its own device; DataLoader workers decode and
preprocess the JPEG frames while the tower runs (bf16 autocast on GPUs, fp32 on the CPU). A shard is embedded
whole by one process in fixed batches, so its vectors do not depend on how many processes ran. Done shards are
skipped, so a crashed run resumes.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from wavbrivl.data.shards import Sample, list_shards, read_shard, write_shard
from wavbrivl.distributed import JobProgress, barrier, init_distributed
from wavbrivl.models import ImageTower


class ShardFrames(torch.utils.data.IterableDataset):
    """The samples of some shards in stored order, with their frames preprocessed for the tower. Worker w of n takes
    every n-th sample, so the DataLoader (which takes from its workers in turn) gives them back in that order; one
    DataLoader serves all of a rank's shards, so its workers start once."""

    def __init__(self, shards: list[Path], preprocess: Callable) -> None:
        self.shards, self.preprocess = shards, preprocess

    def __iter__(self) -> Iterator[tuple[int, Sample, torch.Tensor | None]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        i = 0
        for k, shard in enumerate(self.shards):
            for sample in read_shard(shard):
                if i % workers == worker:  # a frame-less sample keeps its turn (None), so the order holds
                    yield k, sample, (self.preprocess([sample.frame])[0] if sample.frame is not None else None)
                i += 1


def _as_is(item):
    return item


def _embedded(
    shards: list[Path], tower: ImageTower, batch_size: int, workers: int, tower_name: str
) -> Iterator[tuple[int, list[Sample]]]:
    """(shard number, its samples with frames, each with its frame's embedding) for each shard, in order; a shard's
    batches never mix with the next one's, so its vectors do not depend on which shards a process was given."""
    device = next(tower.parameters()).device
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    loader = torch.utils.data.DataLoader(ShardFrames(shards, tower.preprocess), batch_size=None,
                                         num_workers=workers, collate_fn=_as_is)  # fmt: skip

    def embedded(items: list[tuple[Sample, torch.Tensor]]) -> list[Sample]:
        """The samples of one shard with their frames' embeddings, in batches of batch_size within the shard."""
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            with torch.no_grad(), autocast:
                embeds = tower.encode_pixels(torch.stack([p for _, p in batch]).to(device)).float().cpu().numpy()
            for (sample, _), emb in zip(batch, embeds):
                sample.embedding = emb.astype(np.float32)
                sample.meta["image_tower"] = tower_name
        return [sample for sample, _ in items]

    current = 0
    for k, group in itertools.groupby(loader, key=lambda item: item[0]):
        yield from ((empty, []) for empty in range(current, k))  # shards with nothing to read
        yield k, embedded([(sample, pixels) for _, sample, pixels in group if pixels is not None])
        current = k + 1
    yield from ((empty, []) for empty in range(current, len(shards)))


def _done(shard: Path, target: Path) -> bool:
    """Whether the target already holds this shard with embeddings (a copy elsewhere, or the shard itself)."""
    if target != shard:
        return target.is_file()
    first = next(read_shard(shard, frames=False), None)
    return first is not None and first.embedding is not None


def embed_frames(
    shards: str | Path | list,
    tower: ImageTower,
    out: str | Path | None = None,
    batch_size: int = 32,
    tower_name: str = "image_tower",
    progress: Callable[[int], None] | None = None,
    workers: int = 0,
) -> list[Path]:
    """Write this process's shards again with emb.npy per sample (into out, or in place); done shards are skipped.

    Returns every shard of the job (all ranks'). progress(n) is told the whole job's count of shards done so far
    (every rank's), on rank 0.
    """
    rank, world = init_distributed()
    tower.eval()
    found = list_shards(shards)
    targets = [Path(out) / shard.name if out else shard for shard in found]
    job = JobProgress((Path(out) if out else found[0].parent) / ".embed-frames", rank, world, progress)
    mine = [k for k in range(len(found)) if k % world == rank]
    todo = [k for k in mine if not _done(found[k], targets[k])]
    job.add(len(mine) - len(todo))
    for n, samples in _embedded([found[k] for k in todo], tower, batch_size, workers, tower_name):
        write_shard(targets[todo[n]], samples)
        job.add(1)
    job.finish()
    barrier(world)
    return targets
