"""Training the decoder generator: rectified flow from (VQGAN latents, embedding) pairs, with CFG dropout and EMA."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from diffusers.training_utils import EMAModel

from wavbrivl.configs import EmbeddingDecoderConfig
from wavbrivl.models import VQGAN, EmbeddingDecoder


@dataclass
class DecoderTrainConfig:
    """Knobs of one decoder training run."""

    steps: int = 1500
    batch_size: int = 64
    lr: float = 1.5e-3
    warmup: int = 200
    null_prob: float = 0.1  # share of conditions replaced by the null condition (classifier-free guidance)
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 100


@torch.no_grad()
def quantised_latents(vqgan: VQGAN, pixels: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """The VQGAN's quantised latents (N, C, h, w) of pictures (N, 3, H, W) in [0, 1]."""
    device = next(vqgan.parameters()).device
    chunks = [
        vqgan.quantize_st(vqgan.encode(pixels[i : i + batch].to(device) * 2 - 1)).cpu()
        for i in range(0, len(pixels), batch)
    ]
    return torch.cat(chunks)


def decoder_for(vqgan: VQGAN, embed_dim: int, **overrides) -> EmbeddingDecoder:
    """A fresh decoder shaped for this VQGAN's latents at its training resolution and this embedding size."""
    cells = vqgan.config.ddconfig["resolution"] // vqgan.downsample
    config = EmbeddingDecoderConfig(embed_dim=embed_dim, latent_channels=vqgan.config.embed_dim, latent_size=cells)
    for key, value in overrides.items():
        setattr(config, key, value)
    return EmbeddingDecoder(config)


def flow_loss(
    decoder: EmbeddingDecoder, x: torch.Tensor, conditions: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Rectified-flow loss: noise level sigma = sigmoid(N(0, 1)), predict noise - x from the mixed sample."""
    noise = torch.randn(x.shape, generator=generator).to(x.device)
    sigma = torch.sigmoid(torch.randn(len(x), generator=generator)).to(x.device)
    mixed = (1 - sigma.view(-1, 1, 1, 1)) * x + sigma.view(-1, 1, 1, 1) * noise
    return (decoder(mixed, sigma, conditions) - (noise - x)).pow(2).mean()


def train_decoder(
    decoder: EmbeddingDecoder,
    latents: torch.Tensor,
    conditions: torch.Tensor,
    config: DecoderTrainConfig,
    log: Callable[[str], None] = print,
) -> tuple[EmbeddingDecoder, list[dict]]:
    """Train on latents (N, C, h, w) and conditions (N, K, D): each step takes one of each example's K conditions
    (e.g. its picture's embedding or its sound's), so the decoder serves every kind of target. Returns the EMA
    copy, ready to sample, and the log rows."""
    device = next(decoder.parameters()).device
    generator = torch.Generator().manual_seed(config.seed)
    flat = latents.permute(1, 0, 2, 3).flatten(1)
    decoder.latent_mean.copy_(flat.mean(1))
    decoder.latent_std.copy_(flat.std(1).clamp(min=1e-4))
    data = decoder.standardise(latents.to(device))
    conditions = torch.nn.functional.normalize(conditions.float(), dim=-1).to(device)
    decoder.train()
    ema = EMAModel(decoder.parameters(), decay=config.ema_decay, use_ema_warmup=False)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=config.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(config.warmup, 1)))
    rows, started, total = [], time.perf_counter(), 0.0
    for step in range(config.steps):
        index = torch.randint(len(data), (config.batch_size,), generator=generator).to(device)
        pick = torch.randint(conditions.shape[1], (config.batch_size,), generator=generator).to(device)
        cond = conditions[index, pick]
        drop = (torch.rand(config.batch_size, generator=generator) < config.null_prob).to(device)
        cond = torch.where(drop[:, None], decoder.null.expand_as(cond), cond)
        loss = flow_loss(decoder, data[index], cond, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), config.grad_clip)
        optimizer.step()
        schedule.step()
        ema.step(decoder.parameters())
        total += loss.item()
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            count = (step % config.log_every) + 1
            rows.append({"step": step + 1, "loss": total / count, "seconds": time.perf_counter() - started})
            log(f"decoder step {step + 1}/{config.steps}: loss {total / count:.4f} ({rows[-1]['seconds']:.0f} s)")
            total = 0.0
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"decoder training diverged at step {step + 1} (loss {loss.item()})")
    averaged = copy.deepcopy(decoder)
    ema.copy_to(averaged.parameters())
    return averaged.eval().requires_grad_(False), rows
