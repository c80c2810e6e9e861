"""`wavbrivl train`: the audio tower learns to predict frozen frame embeddings (InfoNCE + MoCo queue)."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.data.shards import list_shards
from wavbrivl.distributed import atomic_save, average_gradients, init_distributed
from wavbrivl.loading.folders import load_component, save_component
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


def _schedule(config: TrainConfig):
    def factor(step: int) -> float:
        if step < config.warmup:
            return (step + 1) / max(1, config.warmup)
        progress = (step - config.warmup) / max(1, config.steps - config.warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


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


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)  # also seeds every CUDA device
    random.seed(seed)
    np.random.seed(seed)


@dataclass
class _Parts:
    """What a run trains and with what: the tower, its loss, the negatives queue, the optimiser and schedule."""

    tower: WavBriVLAudioTower
    module: TrainModule
    queue: EmbeddingQueue
    params: list[nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def _build_parts(config: TrainConfig, tower_dir: Path, device: torch.device) -> _Parts:
    """The starting tower from tower_dir, with a fresh loss, queue, optimiser and learning-rate schedule."""
    tower = load_component(tower_dir)
    if config.trainable_layers is not None:
        tower.set_trainable_layers(config.trainable_layers)
    module = TrainModule(
        tower, ContrastiveLoss(config.temperature, config.learnable_temperature, config.cosine_weight)
    ).to(device)
    queue = EmbeddingQueue(config.queue_size, tower.embed_dim).to(device)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    return _Parts(tower, module, queue, params, optimizer, scheduler)


def _resume(state_path: Path, parts: _Parts) -> tuple[int, int, int]:
    """Restore a saved run's model, optimiser, queue and random generators; returns (step, epoch, batch_in_epoch)."""
    if not state_path.is_file():
        return 0, 0, 0
    state = torch.load(state_path, map_location="cpu", weights_only=True)
    parts.module.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    parts.queue.load_state_dict(state["queue"])
    torch.set_rng_state(state["rng_torch"])
    random.setstate(state["rng_python"])
    np.random.set_state(_numpy_state_from(state["rng_numpy"]))
    if torch.cuda.is_available() and state.get("rng_cuda"):
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    return state["step"], state["epoch"], state["batch_in_epoch"]


def _checkpoint_state(config: TrainConfig, parts: _Parts, step: int, epoch: int, batch_in_epoch: int) -> dict:
    """Everything _resume needs to continue exactly where the run is now."""
    return {
        "model": parts.module.state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "queue": parts.queue.state_dict(),
        "rng_torch": torch.get_rng_state(),
        "rng_python": random.getstate(),
        "rng_numpy": _numpy_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "step": step,
        "epoch": epoch,
        "batch_in_epoch": batch_in_epoch,
        "config": dataclasses.asdict(config),
    }


@dataclass
class _Precision:
    """Autocast on GPU unless fp32, with a gradient scaler for fp16."""

    use_autocast: bool
    dtype: torch.dtype
    scaler: torch.amp.GradScaler

    @classmethod
    def of(cls, config: TrainConfig, device: torch.device) -> _Precision:
        use_autocast = device.type == "cuda" and config.precision != "fp32"
        dtype = torch.float16 if config.precision == "fp16" else torch.bfloat16
        scaler = torch.amp.GradScaler("cuda", enabled=use_autocast and dtype == torch.float16)
        return cls(use_autocast, dtype, scaler)


class _Batches:
    """The training batches in order across epochs, remembering the position (epoch, batch_in_epoch)."""

    def __init__(self, stream: ShardStream, epoch: int, batch_in_epoch: int) -> None:
        self.stream, self.epoch, self.batch_in_epoch = stream, epoch, batch_in_epoch
        self._batches = stream.batches(epoch, batch_in_epoch)

    def next(self) -> dict[str, torch.Tensor]:
        """The next batch, starting the next epoch at the end of the data."""
        batch = next(self._batches, None)
        while batch is None:
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
            self._batches = self.stream.batches(self.epoch)
            batch = next(self._batches, None)
        self.batch_in_epoch += 1
        return batch


def _train_step(
    config: TrainConfig, parts: _Parts, precision: _Precision, batches: _Batches, device: torch.device, world: int
) -> float:
    """One optimiser step over config.accumulate batches; returns the mean loss."""
    parts.optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for _ in range(config.accumulate):
        batch = batches.next()
        audio, lengths, target = (batch[k].to(device) for k in ("audio", "lengths", "target"))
        with torch.autocast(device.type, dtype=precision.dtype, enabled=precision.use_autocast):
            local = parts.module(audio, lengths)
        embeds = _gather(local.float(), world, grad=True)
        targets = _gather(target, world, grad=False)
        loss = parts.module.loss(embeds, targets, parts.queue.negatives())
        precision.scaler.scale(loss / config.accumulate).backward()
        parts.queue.push(targets)
        total += float(loss.detach()) / config.accumulate
    if world > 1:
        average_gradients(parts.params, world)
    precision.scaler.step(parts.optimizer)
    precision.scaler.update()
    parts.scheduler.step()
    return total


@dataclass
class _CardFacts:
    """What the model card will say: the start, the data, the latest validation (kept by rank 0)."""

    start: dict | None
    data: dict | None
    val_data: dict | None
    validation: dict | None

    @classmethod
    def of(cls, config: TrainConfig, out: Path, resuming: bool, has_val: bool) -> _CardFacts:
        start = run_start(out, config.base, resuming)
        data = data_summary(config.shards, config.data_description)
        val_data = data_summary(config.val_shards) if has_val else None
        validation = read_index(out).get(RECORD_KEY, {}).get("validation") if resuming else None
        return cls(start, data, val_data, validation)


def _write_line(log, row: dict) -> None:
    log.write(json.dumps(row) + "\n")
    log.flush()


def _save_checkpoint(
    config: TrainConfig, out: Path, parts: _Parts, step: int, batches: _Batches, card: _CardFacts
) -> None:
    """The tower, the model card's training record and the trainer state (written last, atomically)."""
    state = _checkpoint_state(config, parts, step, batches.epoch, batches.batch_in_epoch)
    save_component(parts.tower, out / "audio_tower")
    record = training_record(config, step, batches.epoch, card.start, card.data, card.val_data, card.validation)
    write_record(out, record)
    atomic_save(state, out / STATE_NAME)


def train(config: TrainConfig) -> dict[str, float]:
    """Run (or resume) training; returns the last logged metrics."""
    rank, world = init_distributed()
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    _prepare_output(config, rank)
    _seed_everything(config.seed)
    parts = _build_parts(config, out / "audio_tower", device)
    step, epoch, batch_in_epoch = _resume(out / STATE_NAME, parts)
    precision = _Precision.of(config, device)

    clip = int(config.clip_seconds * SAMPLE_RATE)
    stream = ShardStream(
        list_shards(config.shards), config.batch_size // config.accumulate, clip, config.seed, rank, world
    )
    val = load_eval_set(list_shards(config.val_shards), clip) if config.val_shards and rank == 0 else None
    card = _CardFacts.of(config, out, (out / STATE_NAME).is_file(), val is not None) if rank == 0 else None
    log = open(out / METRICS_NAME, "a") if rank == 0 else None
    from tqdm import tqdm

    bar = tqdm(total=config.steps, initial=step, desc="training", disable=not config.progress or rank != 0)
    last: dict[str, float] = {}
    batches = _Batches(stream, epoch, batch_in_epoch)
    parts.module.train()
    started = time.perf_counter()
    run_until = config.steps if config.stop_after is None else min(config.steps, step + config.stop_after)
    while step < run_until:
        total = _train_step(config, parts, precision, batches, device, world)
        step += 1
        bar.update(1)
        if rank == 0 and (step % config.log_every == 0 or step == config.steps):
            last = {
                "step": step,
                "epoch": batches.epoch,
                "loss": total,
                "lr": parts.scheduler.get_last_lr()[0],
                "scale": float(parts.module.loss.scale.detach()),
                "seconds": time.perf_counter() - started,
            }
            bar.set_postfix(loss=f"{total:.3f}")
            _write_line(log, last)
        if val is not None and (step % config.val_every == 0 or step == config.steps):
            metrics = evaluate(parts.tower, val, device)
            last.update(metrics)
            card.validation = {"step": step, "clips": len(val["audio"]), **metrics}
            _write_line(log, {"step": step, "val": metrics})
        if rank == 0 and (step % config.checkpoint_every == 0 or step == run_until):
            _save_checkpoint(config, out, parts, step, batches, card)
    bar.close()
    if log is not None:
        log.close()
    if dist.is_initialized():
        dist.barrier()
    return last
