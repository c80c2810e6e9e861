"""Distilling the decoder generator's guided sampler into a student that samples in 1 or 2 steps (reflow).

The teacher (the trained decoder, its classifier-free guidance at the set's scale, its full Euler sampler) turns
noise into latents; those (noise, latents) pairs define straight paths, and the student, started from the
teacher's weights, learns the velocity along them (Liu et al.'s reflow). Straight paths are what one Euler step
follows exactly, so the student lands in one or two steps where the teacher needed ten, with the guidance built
in (one network evaluation a step instead of two). The student is stored inside the decoder component
(`EmbeddingDecoder.student`), so a set keeps both samplers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from diffusers import FlowMatchEulerDiscreteScheduler

from wavbrivl.generation.sample import euler_steps
from wavbrivl.models import EmbeddingDecoder
from wavbrivl.training.decoder import EmaAdamW


@dataclass
class DistillConfig:
    """Knobs of one distillation: the teacher's sampler, the pairs it makes, the student's training."""

    student_steps: int = 2  # the student samples in this many steps or fewer (1 or 2)
    teacher_steps: int = 10
    guidance: float = 4.0  # the teacher's guidance scale, built into the student
    pairs: int = 8192  # (noise, latents) pairs drawn from the teacher
    pair_batch: int = 256
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    warmup: int = 100
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 100


@torch.no_grad()
def teacher_pairs(
    teacher: EmbeddingDecoder, conditions: torch.Tensor, config: DistillConfig, log: Callable[[str], None] = print
) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, latents) pairs (N, C, h, w) in the flow's standardised space: the teacher's guided Euler sampler
    from each noise under each condition (N, D), as the decoder method samples (before snapping to codes)."""
    generator = torch.Generator().manual_seed(config.seed)
    device = next(teacher.parameters()).device
    noises, cleans = [], []
    one = torch.ones(1)
    for start in range(0, len(conditions), config.pair_batch):
        cond = F.normalize(conditions[start : start + config.pair_batch].float(), dim=-1).to(device)[:, None]
        noise = torch.randn((len(cond), *teacher.latent_shape), generator=generator).to(device)
        scheduler = FlowMatchEulerDiscreteScheduler()
        scheduler.set_timesteps(config.teacher_steps, device=device)
        *_, last = euler_steps(teacher, noise, cond, one, config.guidance, scheduler)
        x = last[-1]  # the latents after the sampler's last step
        noises.append(noise.cpu())
        cleans.append(x.cpu())
        log(f"teacher pairs {min(start + config.pair_batch, len(conditions))}/{len(conditions)}")
    return torch.cat(noises), torch.cat(cleans)


def student_sigmas(count: int, student_steps: int, generator: torch.Generator) -> torch.Tensor:
    """Noise levels to train at: mostly the student's own grid (1, and 1/2 for two steps), a quarter anywhere."""
    grid = torch.tensor([1 - k / student_steps for k in range(student_steps)])
    on_grid = grid[torch.randint(len(grid), (count,), generator=generator)]
    anywhere = torch.rand(count, generator=generator)
    return torch.where(torch.rand(count, generator=generator) < 0.75, on_grid, anywhere)


def reflow_loss(
    student: EmbeddingDecoder,
    noise: torch.Tensor,
    clean: torch.Tensor,
    conditions: torch.Tensor,
    sigma: torch.Tensor,
) -> torch.Tensor:
    """The straight path's velocity (noise - clean) at sigma, for the point on it: MSE to the student's."""
    s = sigma.view(-1, 1, 1, 1)
    return (student((1 - s) * clean + s * noise, sigma, conditions) - (noise - clean)).pow(2).mean()


def distill_decoder(
    teacher: EmbeddingDecoder,
    conditions: torch.Tensor,
    config: DistillConfig,
    log: Callable[[str], None] = print,
) -> tuple[EmbeddingDecoder, list[dict]]:
    """The teacher with a distilled student inside (EMA weights), and the training log rows. The student starts
    from the teacher's weights, or from its own when the teacher has one already.

    conditions (N, D) or (N, K, D): the embeddings to draw pairs for (one of the K picked per pair); N is cycled
    or cut to config.pairs."""
    if config.student_steps not in (1, 2):
        raise ValueError(f"student_steps must be 1 or 2, got {config.student_steps}")
    generator = torch.Generator().manual_seed(config.seed)
    if conditions.dim() == 3:
        conditions = conditions[torch.arange(len(conditions)), torch.randint(conditions.shape[1], (len(conditions),),
                                                                               generator=generator)]  # fmt: skip
    picked = conditions[torch.arange(config.pairs) % len(conditions)]
    teacher = teacher.eval()
    noise, clean = teacher_pairs(teacher, picked, config, log)
    device = next(teacher.parameters()).device
    student = copy.deepcopy(teacher.student if teacher.student is not None else teacher).requires_grad_(True)
    student.student = None  # a decoder that has a student already: its training goes on from there
    student.config = replace(teacher.config, distilled_steps=0)
    training = EmaAdamW(student.parameters(), config.lr, config.warmup, config.ema_decay, config.grad_clip)
    units = F.normalize(picked.float(), dim=-1)
    rows, total = [], 0.0
    student.train()
    for step in range(1, config.steps + 1):
        index = torch.randint(len(noise), (config.batch_size,), generator=generator)
        sigma = student_sigmas(config.batch_size, config.student_steps, generator)
        loss = reflow_loss(student, noise[index].to(device), clean[index].to(device), units[index].to(device),
                           sigma.to(device))  # fmt: skip
        total += training.step(loss, "distillation", step)
        if step % config.log_every == 0 or step == config.steps:
            count = (step - 1) % config.log_every + 1
            rows.append({"step": step, "loss": total / count})
            log(f"distil step {step}/{config.steps}: loss {total / count:.4f}")
            total = 0.0
    training.ema.copy_to(student.parameters())
    return with_student(teacher, student.eval().requires_grad_(False), config), rows


def with_student(teacher: EmbeddingDecoder, student: EmbeddingDecoder, config: DistillConfig) -> EmbeddingDecoder:
    """A copy of the teacher that carries the student (its config records the student's steps and guidance)."""
    config_ = replace(teacher.config, distilled_steps=config.student_steps, distilled_guidance=config.guidance)
    combined = EmbeddingDecoder(config_).to(next(teacher.parameters()).device)
    state = {k: v for k, v in teacher.state_dict().items() if not k.startswith("student.")}
    state.update({f"student.{k}": v for k, v in student.state_dict().items()})
    combined.load_state_dict(state)
    return combined.eval().requires_grad_(False)
