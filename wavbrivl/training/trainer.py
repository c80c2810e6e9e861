"""`wavbrivl train`: the audio tower learns to predict frozen frame embeddings (InfoNCE + MoCo queue)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from wavbrivl.checkpoints import load_component, save_component
from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.data.shards import list_shards
from wavbrivl.metrics import retrieval_metrics
from wavbrivl.models import WavBriVLAudioTower
from wavbrivl.training.loss import ContrastiveLoss, EmbeddingQueue
from wavbrivl.training.record import (
    RECORD_KEY,
    data_summary,
    read_index,
    run_start,
    training_record,
    write_record,
)
from wavbrivl.training.stream import ShardStream, load_eval_set

STATE_NAME = "trainer-state.pt"
METRICS_NAME = "metrics.jsonl"


@dataclass
class TrainConfig:
    """Everything a training run needs; stored in the checkpoint and the output folder."""

    shards: list[str]
    out: str
    base: str  # a pipeline folder: its image tower and VQGAN are copied, its audio tower is the start
    val_shards: list[str] | None = None
    steps: int = 1000
    batch_size: int = 64  # global, across processes
    accumulate: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: int = 100
    queue_size: int = 9600
    temperature: float = 0.07
    learnable_temperature: bool = True
    cosine_weight: float = 0.0
    clip_seconds: float = 10.0
    trainable_layers: int | None = None  # None: keep the base tower's setting
    checkpoint_every: int = 500
    val_every: int = 500
    log_every: int = 10
    seed: int = 0
    stop_after: int | None = None  # end this invocation after N steps (checkpointed), e.g. on preemptible machines
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (autocast on GPU only)
    progress: bool = True
    data_description: str | None = None  # what the shards hold, in words: recorded for the model card


class TrainModule(nn.Module):
    """The audio tower and the loss's temperature, trained together."""

    def __init__(self, tower: WavBriVLAudioTower, loss: ContrastiveLoss) -> None:
        super().__init__()
        self.tower, self.loss = tower, loss

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Audio embeddings of a batch."""
        return self.tower(audio, lengths)


def _dist() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather(x: torch.Tensor, world: int, grad: bool) -> torch.Tensor:
    """Concatenate every process's tensor in rank order (keeping gradients for the local part if grad)."""
    if world == 1:
        return x
    if grad:
        import torch.distributed.nn.functional as dist_fn

        return torch.cat(dist_fn.all_gather(x), dim=0)
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def _average_gradients(params: list[nn.Parameter], world: int) -> None:
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


def _schedule(config: TrainConfig):
    def factor(step: int) -> float:
        if step < config.warmup:
            return (step + 1) / max(1, config.warmup)
        progress = (step - config.warmup) / max(1, config.steps - config.warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def _atomic_save(obj: object, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _prepare_output(config: TrainConfig, rank: int) -> None:
    """Copy the base pipeline into out once (image tower, VQGAN, starting audio tower)."""
    out = Path(config.out)
    if rank == 0 and not (out / "model_index.json").is_file():
        from wavbrivl.pipeline import WavBriVLPipeline

        WavBriVLPipeline.from_pretrained(config.base, device="cpu").save_pretrained(out)
    if dist.is_initialized():
        dist.barrier()


def evaluate(
    tower: WavBriVLAudioTower, data: dict[str, torch.Tensor], device: torch.device, batch: int = 64
) -> dict[str, float]:
    """Retrieval metrics of the tower on a held-out set."""
    was_training = tower.training
    tower.eval()
    with torch.no_grad():
        embeds = torch.cat(
            [
                tower(data["audio"][i : i + batch].to(device), data["lengths"][i : i + batch].to(device)).float().cpu()
                for i in range(0, len(data["audio"]), batch)
            ]
        )
    tower.train(was_training)
    return retrieval_metrics(embeds, data["target"])


def _numpy_state() -> dict:
    """numpy's global generator state in tensors and numbers (loadable with weights_only=True)."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    return {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos, "has_gauss": has_gauss, "cached": cached}


def _numpy_state_from(state: dict) -> tuple:
    """The inverse of _numpy_state."""
    keys = state["keys"].numpy().astype(np.uint32)
    return ("MT19937", keys, int(state["pos"]), int(state["has_gauss"]), float(state["cached"]))


def train(config: TrainConfig) -> dict[str, float]:
    """Run (or resume) training; returns the last logged metrics."""
    rank, world = _dist()
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    _prepare_output(config, rank)
    torch.manual_seed(config.seed)  # also seeds every CUDA device
    random.seed(config.seed)
    np.random.seed(config.seed)
    tower = load_component(out / "audio_tower")
    if config.trainable_layers is not None:
        tower.set_trainable_layers(config.trainable_layers)
    module = TrainModule(
        tower, ContrastiveLoss(config.temperature, config.learnable_temperature, config.cosine_weight)
    ).to(device)
    queue = EmbeddingQueue(config.queue_size, tower.embed_dim).to(device)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    step, epoch, batch_in_epoch = 0, 0, 0
    state_path = out / STATE_NAME
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        queue.load_state_dict(state["queue"])
        torch.set_rng_state(state["rng_torch"])
        random.setstate(state["rng_python"])
        np.random.set_state(_numpy_state_from(state["rng_numpy"]))
        if torch.cuda.is_available() and state.get("rng_cuda"):
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
    use_autocast = device.type == "cuda" and config.precision != "fp32"
    dtype = torch.float16 if config.precision == "fp16" else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=use_autocast and dtype == torch.float16)

    clip = int(config.clip_seconds * SAMPLE_RATE)
    stream = ShardStream(
        list_shards(config.shards), config.batch_size // config.accumulate, clip, config.seed, rank, world
    )
    val = load_eval_set(list_shards(config.val_shards), clip) if config.val_shards and rank == 0 else None
    if rank == 0:  # what the model card will say: the start, the data, the latest validation
        resuming = state_path.is_file()
        start = run_start(out, config.base, resuming)
        data = data_summary(config.shards, config.data_description)
        val_data = data_summary(config.val_shards) if val is not None else None
        validation = read_index(out).get(RECORD_KEY, {}).get("validation") if resuming else None
    log = open(out / METRICS_NAME, "a") if rank == 0 else None
    from tqdm import tqdm

    bar = tqdm(total=config.steps, initial=step, desc="training", disable=not config.progress or rank != 0)
    last: dict[str, float] = {}
    batches = stream.batches(epoch, batch_in_epoch)
    module.train()
    started = time.perf_counter()
    run_until = config.steps if config.stop_after is None else min(config.steps, step + config.stop_after)
    while step < run_until:
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(config.accumulate):
            batch = next(batches, None)
            while batch is None:  # end of the data: next epoch
                epoch, batch_in_epoch = epoch + 1, 0
                batches = stream.batches(epoch)
                batch = next(batches, None)
            batch_in_epoch += 1
            audio, lengths, target = (batch[k].to(device) for k in ("audio", "lengths", "target"))
            with torch.autocast(device.type, dtype=dtype, enabled=use_autocast):
                local = module(audio, lengths)
            embeds = _gather(local.float(), world, grad=True)
            targets = _gather(target, world, grad=False)
            loss = module.loss(embeds, targets, queue.negatives())
            scaler.scale(loss / config.accumulate).backward()
            queue.push(targets)
            total += float(loss.detach()) / config.accumulate
        if world > 1:
            _average_gradients(params, world)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        step += 1
        bar.update(1)
        if rank == 0 and (step % config.log_every == 0 or step == config.steps):
            last = {
                "step": step,
                "epoch": epoch,
                "loss": total,
                "lr": scheduler.get_last_lr()[0],
                "scale": float(module.loss.scale.detach()),
                "seconds": time.perf_counter() - started,
            }
            bar.set_postfix(loss=f"{total:.3f}")
            log.write(json.dumps(last) + "\n")
            log.flush()
        if val is not None and (step % config.val_every == 0 or step == config.steps):
            metrics = evaluate(tower, val, device)
            last.update(metrics)
            validation = {"step": step, "clips": len(val["audio"]), **metrics}
            log.write(json.dumps({"step": step, "val": metrics}) + "\n")
            log.flush()
        if rank == 0 and (step % config.checkpoint_every == 0 or step == run_until):
            state = {
                "model": module.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "queue": queue.state_dict(),
                "rng_torch": torch.get_rng_state(),
                "rng_python": random.getstate(),
                "rng_numpy": _numpy_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "step": step,
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "config": dataclasses.asdict(config),
            }
            save_component(tower, out / "audio_tower")
            write_record(out, training_record(config, step, epoch, start, data, val_data, validation))
            _atomic_save(state, state_path)
    bar.close()
    if log is not None:
        log.close()
    if dist.is_initialized():
        dist.barrier()
    return last
