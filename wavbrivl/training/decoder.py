"""Training the decoder generator: rectified flow from (VQGAN codes, embedding) pairs, with CFG dropout and EMA.

The pictures are kept as VQGAN code indices (h x w integers each), so a VGGSound-sized set fits in memory; a
batch looks its codes up in the codebook. Under torchrun each process draws its own batches and the gradients
are averaged, as in `wavbrivl train`; on GPUs the forward pass runs under bf16 autocast.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.training_utils import EMAModel

from wavbrivl.distributed import average_gradients
from wavbrivl.models import VQGAN, EmbeddingDecoder


@dataclass
class DecoderTrainConfig:
    """Knobs of one decoder training run."""

    steps: int = 3000
    batch_size: int = 64  # per process
    lr: float = 1.5e-3
    warmup: int = 200
    null_prob: float = 0.1  # share of conditions replaced by the null condition (classifier-free guidance)
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 100
    precision: str = "auto"  # auto (bf16 autocast on GPUs) | fp32


class EmaAdamW:
    """AdamW with a linear warm-up and an EMA of the weights, stepped on a loss: the decoder's training and its
    distillation both train so."""

    def __init__(self, parameters, lr: float, warmup: int, ema_decay: float, grad_clip: float) -> None:
        self.parameters, self.grad_clip = list(parameters), grad_clip
        self.ema = EMAModel(self.parameters, decay=ema_decay, use_ema_warmup=False)
        self.optimizer = torch.optim.AdamW(self.parameters, lr=lr, weight_decay=0.0)
        warmup = max(warmup, 1)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: min(1.0, (s + 1) / warmup))

    def step(self, loss: torch.Tensor, what: str, step: int, reduce: Callable[[], None] | None = None) -> float:
        """Back-propagate the loss (reduce, e.g. averaging gradients over processes, runs before clipping), clip,
        step the optimiser, schedule and EMA; the loss's value, or a RuntimeError naming `what` if it is not finite."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if reduce is not None:
            reduce()
        torch.nn.utils.clip_grad_norm_(self.parameters, self.grad_clip)
        self.optimizer.step()
        self.schedule.step()
        self.ema.step(self.parameters)
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"{what} diverged at step {step} (loss {value})")
        return value


@torch.no_grad()
def code_indices(vqgan: VQGAN, pixels: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """The VQGAN's code indices (N, h, w) of pictures (N, 3, H, W) in [0, 1]."""
    device = next(vqgan.parameters()).device
    parts = [vqgan.encode_tokens(pixels[i : i + batch].to(device) * 2 - 1).cpu() for i in range(0, len(pixels), batch)]
    return torch.cat(parts)


def flow_loss(
    decoder: EmbeddingDecoder, x: torch.Tensor, conditions: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Rectified-flow loss: noise level sigma = sigmoid(N(0, 1)), predict noise - x from the mixed sample."""
    noise = torch.randn(x.shape, generator=generator).to(x.device)
    sigma = torch.sigmoid(torch.randn(len(x), generator=generator)).to(x.device)
    mixed = (1 - sigma.view(-1, 1, 1, 1)) * x + sigma.view(-1, 1, 1, 1) * noise
    return (decoder(mixed, sigma, conditions) - (noise - x)).pow(2).mean()


class DecoderTrainer:
    """The decoder, its optimiser, schedule and EMA over one data set of codes and conditions.

    tokens (N, h, w) are code indices into codebook (n_embed, C); conditions (N, K, D) hold K conditions per
    example (e.g. its picture's embedding and its sound's), one drawn at random each time the example is used.
    """

    def __init__(
        self,
        decoder: EmbeddingDecoder,
        tokens: torch.Tensor,
        codebook: torch.Tensor,
        conditions: torch.Tensor,
        config: DecoderTrainConfig,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.decoder, self.config, self.world, self.step = decoder, config, world, 0
        self.device = next(decoder.parameters()).device
        self.codebook = codebook.detach().float().to(self.device)
        self.tokens = tokens.long()
        self.conditions = F.normalize(conditions.float(), dim=-1)
        latents = self.codebook[self.tokens[: min(len(tokens), 4096)].to(self.device)]  # (n, h, w, C)
        decoder.latent_mean.copy_(latents.flatten(0, 2).mean(0))
        decoder.latent_std.copy_(latents.flatten(0, 2).std(0).clamp(min=1e-4))
        self.generator = torch.Generator().manual_seed(config.seed * 1000 + rank)  # each process its own batches
        self.training = EmaAdamW(decoder.parameters(), config.lr, config.warmup, config.ema_decay, config.grad_clip)
        self.autocast = self.device.type == "cuda" and config.precision != "fp32"

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch: standardised latents (B, C, h, w) and conditions (B, D), some replaced by the null one."""
        size, g = self.config.batch_size, self.generator
        index = torch.randint(len(self.tokens), (size,), generator=g)
        pick = torch.randint(self.conditions.shape[1], (size,), generator=g)
        cond = self.conditions[index, pick].to(self.device)
        drop = (torch.rand(size, generator=g) < self.config.null_prob).to(self.device)
        cond = torch.where(drop[:, None], self.decoder.null.expand_as(cond), cond)
        latents = self.codebook[self.tokens[index].to(self.device)].permute(0, 3, 1, 2)
        return self.decoder.standardise(latents), cond

    def train_step(self) -> float:
        """One optimisation step (gradients averaged over processes); returns the loss."""
        self.decoder.train()
        x, cond = self.batch()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss = flow_loss(self.decoder, x, cond, self.generator)
        trained = [p for p in self.decoder.parameters() if p.requires_grad]
        reduce = (lambda: average_gradients(trained, self.world)) if self.world > 1 else None
        self.step += 1
        return self.training.step(loss, "decoder training", self.step, reduce)

    def averaged(self) -> EmbeddingDecoder:
        """A copy of the decoder with the EMA weights, ready to sample."""
        copy_ = copy.deepcopy(self.decoder)
        self.training.ema.copy_to(copy_.parameters())
        return copy_.eval().requires_grad_(False)

    def state_dict(self) -> dict:
        """Everything needed to resume: weights, EMA, optimiser, schedule, step and the batch generator."""
        return {
            "decoder": self.decoder.state_dict(),
            "ema": self.training.ema.state_dict(),
            "optimizer": self.training.optimizer.state_dict(),
            "schedule": self.training.schedule.state_dict(),
            "step": self.step,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume from state_dict()'s output."""
        self.decoder.load_state_dict(state["decoder"])
        self.training.ema.load_state_dict(state["ema"])
        self.training.optimizer.load_state_dict(state["optimizer"])
        self.training.schedule.load_state_dict(state["schedule"])
        self.step = int(state["step"])
        self.generator.set_state(state["generator"])


def train_decoder(
    decoder: EmbeddingDecoder,
    tokens: torch.Tensor,
    codebook: torch.Tensor,
    conditions: torch.Tensor,
    config: DecoderTrainConfig,
    log: Callable[[str], None] = print,
) -> tuple[EmbeddingDecoder, list[dict]]:
    """Train in one process; returns the EMA decoder and the log rows (step, mean loss since the last row)."""
    trainer = DecoderTrainer(decoder, tokens, codebook, conditions, config)
    rows, total = [], 0.0
    while trainer.step < config.steps:
        total += trainer.train_step()
        if trainer.step % config.log_every == 0 or trainer.step == config.steps:
            count = (trainer.step - 1) % config.log_every + 1
            rows.append({"step": trainer.step, "loss": total / count})
            log(f"decoder step {trainer.step}/{config.steps}: loss {total / count:.4f}")
            total = 0.0
    return trainer.averaged(), rows
