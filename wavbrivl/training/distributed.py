"""What every multi-process training job shares: torchrun's process group, gradient averaging, atomic saves."""

from __future__ import annotations

import os
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
