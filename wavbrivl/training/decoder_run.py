"""`wavbrivl train-decoder`: train a model set's decoder generator on the shards `prepare` / `embed-frames` wrote.

Each sample gives its frame (to the set's VQGAN codes) and two conditions: the frame's embedding (emb.npy, or
the set's image tower when a shard has none) and its clip's audio embedding from the set's audio tower, so the
decoder learns to draw from sounds' embeddings as well as from pictures'. Runs under torchrun like `train`
(each process embeds its share of the shards and draws its own batches; gradients are averaged), resumes from
the run folder's state, writes a log and checkpoints, and saves the decoder as a component folder.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.data.shards import list_shards, read_shard
from wavbrivl.distributed import atomic_save, init_distributed
from wavbrivl.errors import InputError
from wavbrivl.loading.folders import save_component
from wavbrivl.models.decoder import decoder_for
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.training.decoder import DecoderTrainConfig, DecoderTrainer, code_indices
from wavbrivl.training.distill import DistillConfig, distill_decoder

STATE_NAME = "decoder-state.pt"
LOG_NAME = "decoder-log.jsonl"
DECODER_OUT = "decoder"


@dataclass
class DecoderRunConfig:
    """One `train-decoder` run: where the data and the set are, where the run goes, and the training knobs."""

    shards: list[str]
    pretrained: str  # the model set (folder) whose VQGAN, image and audio towers the decoder serves
    out: str  # run folder: state, log, data cache and the finished decoder component
    train: DecoderTrainConfig = field(default_factory=DecoderTrainConfig)
    audio_conditions: bool = True  # also condition on each clip's audio embedding (closes the sound-picture gap)
    checkpoint_every: int = 500
    add_to_set: bool = False  # also save the decoder into the model set and make it the set's default method
    device: str | None = None
    distill: DistillConfig | None = None  # then distil a 1-2-step student (on the first process, after training)


def _frame_pixels(frames: list[Image.Image], side: int) -> torch.Tensor:
    """Frames centre-cropped to squares at the VQGAN's resolution, (N, 3, side, side) in [0, 1]."""
    squares = [ImageOps.fit(f.convert("RGB"), (side, side), Image.Resampling.BICUBIC) for f in frames]
    return torch.stack(pil_to_tensor(squares))


@torch.no_grad()
def shard_data(pipe, shards: list[Path], audio_conditions: bool, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """VQGAN codes (N, h, w) of every frame in the shards and conditions (N, K, D): frame, and clip if asked."""
    side = pipe.vqgan.config.ddconfig["resolution"]
    tokens, conditions = [], []
    for shard in shards:
        samples = [s for s in read_shard(shard) if s.frame is not None]
        for start in range(0, len(samples), batch):
            part = samples[start : start + batch]
            tokens.append(code_indices(pipe.vqgan, _frame_pixels([s.frame for s in part], side)))
            if all(s.embedding is not None for s in part):
                pictures = torch.from_numpy(np.stack([s.embedding for s in part])).float()
            else:
                pictures = pipe.embed_images([s.frame for s in part]).cpu()
            rows = [pictures]
            if audio_conditions:
                rows.append(pipe.embed_audio([(SAMPLE_RATE, s.audio) for s in part]).embeddings.cpu())
            conditions.append(torch.stack(rows, 1))
    if not tokens:
        raise InputError(f"no samples with frames in {len(shards)} shards; run `wavbrivl prepare` first")
    return torch.cat(tokens), torch.cat(conditions)


def _cached_data(pipe, config: DecoderRunConfig, shards: list[Path], rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's data, computed once per run folder (a resumed run does not embed again)."""
    path = Path(config.out) / f"decoder-data-rank{rank}.pt"
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        return cached["tokens"], cached["conditions"]
    tokens, conditions = shard_data(pipe, shards, config.audio_conditions)
    atomic_save({"tokens": tokens, "conditions": conditions.half()}, path)
    return tokens, conditions


def train_decoder_run(config: DecoderRunConfig, log=print) -> dict:
    """Train (or resume) the decoder; rank 0 writes the log, checkpoints and the decoder component."""
    from wavbrivl.loading.model_set import DECODER_DIR, INDEX_NAME
    from wavbrivl.pipeline import WavBriVLPipeline

    rank, world = init_distributed()
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and world > 1:
        device = f"cuda:{rank % torch.cuda.device_count()}"
    pipe = WavBriVLPipeline.from_pretrained(config.pretrained, device=device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    shards = list_shards(config.shards)
    mine = shards[rank::world] or shards  # more processes than shards: every process uses them all
    tokens, conditions = _cached_data(pipe, config, mine, rank)
    torch.manual_seed(config.train.seed)
    decoder = decoder_for(pipe.vqgan, pipe.image_tower.embed_dim).to(device)
    trainer = DecoderTrainer(decoder, tokens, pipe.vqgan.codebook, conditions, config.train, rank, world)
    state_path = out / STATE_NAME
    if state_path.is_file():
        trainer.load_state_dict(torch.load(state_path, map_location=device, weights_only=False))
        log(f"resuming at step {trainer.step}")
    total, count = 0.0, 0
    with (out / LOG_NAME).open("a") if rank == 0 else open("/dev/null", "w") as log_file:
        while trainer.step < config.train.steps:
            total, count = total + trainer.train_step(), count + 1
            step = trainer.step
            if step % config.train.log_every == 0 or step == config.train.steps:
                row = {"step": step, "loss": total / count, "examples": len(tokens) * world}
                log_file.write(json.dumps(row) + "\n")
                log_file.flush()
                log(f"decoder step {step}/{config.train.steps}: loss {row['loss']:.4f}")
                total, count = 0.0, 0
            if rank == 0 and (step % config.checkpoint_every == 0 or step == config.train.steps):
                atomic_save(trainer.state_dict(), state_path)
    result = {"step": trainer.step, "examples": len(tokens) * world, "out": str(out / DECODER_OUT)}
    if rank == 0:
        averaged = trainer.averaged()
        if config.distill is not None:
            log(f"distilling a {config.distill.student_steps}-step student: {config.distill.steps} steps")
            averaged, rows = distill_decoder(averaged, conditions, config.distill, log=log)
            result["student"] = rows[-1]
        averaged = averaged.cpu()
        save_component(averaged, out / DECODER_OUT)
        (out / "decoder-run.json").write_text(json.dumps({**result, "config": dataclasses.asdict(config)}, indent=2))
        if config.add_to_set:
            folder = Path(config.pretrained)
            save_component(averaged, folder / DECODER_DIR)
            index = json.loads((folder / INDEX_NAME).read_text())
            note = f"trained by `wavbrivl train-decoder` on {len(shards)} shards"
            index.setdefault("provenance", {})[DECODER_DIR] = {"source": str(out), "trained": True, "note": note}
            generation = index.setdefault("generation", {})
            generation["method"] = "decoder"
            if config.distill is not None:  # the student by default; more sampling steps run the full sampler
                generation.update(sample_steps=config.distill.student_steps, guidance_scale=config.distill.guidance)
            (folder / INDEX_NAME).write_text(json.dumps(index, indent=2))
    return result
