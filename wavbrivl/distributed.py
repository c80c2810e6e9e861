"""What every multi-process job shares: torchrun's process group, gradient averaging, atomic saves, a barrier and
one progress count for the whole job."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn


def init_distributed() -> tuple[int, int]:
    """(rank, world size), joining torchrun's process group when WORLD_SIZE > 1 (NCCL on GPUs, else gloo)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def average_gradients(params: list[nn.Parameter], world: int) -> None:
    """All-reduce the gradients as one flat buffer and divide by the process count (unused ones count as 0).

    Every process computes the loss of the whole gathered batch, and all_gather's backward sums the gradient
    of each local embedding over processes, so the average equals the one-process gradient of that batch.
    """
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def atomic_save(obj: object, path: Path) -> None:
    """torch.save under a temporary name, then rename it: a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data: object, **dumps: object) -> None:
    """Write JSON under a temporary name, then rename it: a crash, or a reader in another process, never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, **dumps))  # type: ignore[arg-type]
    os.replace(tmp, path)


def barrier(world: int) -> None:
    """Wait for every process of the job (nothing to wait for in a one-process run)."""
    if world > 1 and dist.is_initialized():
        dist.barrier()


class JobProgress:
    """A job's count of finished items across ranks, through one small file per rank: rank 0 shows the whole job.

    Files rather than collectives, so a rank never waits on another to report progress.
    """

    def __init__(self, folder: Path, rank: int, world: int, show: Callable[[int], None] | None = None) -> None:
        self.folder, self.rank, self.world, self.show = folder, rank, world, show
        self.count, self.others, self.last = 0, 0, 0.0
        folder.mkdir(parents=True, exist_ok=True)
        self._write({"count": 0})

    def add(self, n: int, every: float = 1.0) -> None:
        """Count n more items; write this rank's file, and on rank 0 read the others', at most every `every` s."""
        self.count += n
        now = time.monotonic()
        if now - self.last >= every:
            self.last = now
            self._write({"count": self.count})
            if self.rank == 0:
                self.others = sum(self.read(r).get("count", 0) for r in range(1, self.world))
        if self.rank == 0 and self.show is not None:
            self.show(self.count + self.others)

    def finish(self, **facts: object) -> None:
        """Write this rank's final count and facts (what rank 0 merges into the job's report)."""
        self._write({"count": self.count, **facts})

    def read(self, rank: int) -> dict:
        """What rank `rank` last wrote ({} before it wrote anything readable)."""
        try:
            return json.loads((self.folder / f"rank-{rank}.json").read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def _write(self, data: dict) -> None:
        atomic_write_json(self.folder / f"rank-{self.rank}.json", data)


def local_device() -> torch.device:
    """This process's device: its local rank's GPU under torchrun (GPU 0 alone), else the CPU."""
    if torch.cuda.is_available():
        return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    return torch.device("cpu")


def merged(values: dict, world: int) -> dict:
    """Every process's dict merged into one, the same on each (the dict itself in a one-process run)."""
    if world <= 1 or not dist.is_initialized():
        return dict(values)
    gathered: list[dict] = [{} for _ in range(world)]
    dist.all_gather_object(gathered, values)
    return {k: v for part in gathered for k, v in part.items()}
