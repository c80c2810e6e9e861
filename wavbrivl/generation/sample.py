"""The decoder method: sample VQGAN latents from target embeddings in a few flow steps, streaming each step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import torch
import torch.nn.functional as F
from diffusers import FlowMatchEulerDiscreteScheduler

from wavbrivl.generation.config import GenerationConfig, GenerationStep
from wavbrivl.generation.loss import spherical_distance_sq
from wavbrivl.models import VQGAN, EmbeddingDecoder, ImageTower


def guidance_weights(weights: torch.Tensor) -> torch.Tensor:
    """Prompt weights for guidance: scaled so the positive ones sum to 1 (all of them by size when none is)."""
    positive = weights.clamp(min=0).sum()
    return weights / (positive if positive > 0 else weights.abs().sum())


@torch.no_grad()
def guided_velocity(
    decoder: EmbeddingDecoder,
    x: torch.Tensor,
    sigma: float,
    conditions: torch.Tensor,
    weights: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Classifier-free guidance over weighted prompts: v_null + scale * sum_p w_p (v_p - v_null).

    x is (B, C, h, w), conditions (B, P, D) unit vectors, weights (P,) from guidance_weights; a negative
    weight pushes the sample away from that prompt. The B * (P + 1) evaluations run as one batch; at scale 1 with
    weights summing to 1, v_null cancels and only the B * P run (a distilled student samples so).
    """
    batch, prompts = conditions.shape[:2]
    w = weights.to(x.device, x.dtype).view(1, prompts, 1, 1, 1)
    if scale == 1 and torch.isclose(weights.sum(), torch.tensor(1.0)):
        sigmas = torch.full((batch * prompts,), float(sigma), device=x.device)
        v = decoder(x.repeat_interleave(prompts, 0), sigmas, conditions.flatten(0, 1))
        return (v.view(batch, prompts, *x.shape[1:]) * w).sum(1)
    inputs = torch.cat([x.repeat_interleave(prompts, 0), x])
    conds = torch.cat([conditions.flatten(0, 1), decoder.conditions(None, batch)])
    sigmas = torch.full((len(inputs),), float(sigma), device=x.device)
    v = decoder(inputs, sigmas, conds)
    v_prompt, v_null = v[: batch * prompts].view(batch, prompts, *x.shape[1:]), v[batch * prompts :]
    return v_null + scale * ((v_prompt - v_null[:, None]) * w).sum(1)


@torch.no_grad()
def euler_steps(
    net: EmbeddingDecoder,
    x: torch.Tensor,
    conditions: torch.Tensor,
    weights: torch.Tensor,
    scale: float,
    scheduler: FlowMatchEulerDiscreteScheduler,
) -> Iterator[tuple[int, float, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The flow's guided Euler sampler over the scheduler's steps, one at a time: (step, sigma, x there, the guided
    velocity there, the next x). The decoder method and the distillation's teacher both sample with it."""
    for step, t in enumerate(scheduler.timesteps):
        sigma = float(scheduler.sigmas[step])
        v = guided_velocity(net, x, sigma, conditions, weights, scale)
        following = scheduler.step(v, t, x).prev_sample
        yield step, sigma, x, v, following
        x = following


def latents_to_pixels(vqgan: VQGAN, decoder: EmbeddingDecoder, x: torch.Tensor) -> torch.Tensor:
    """Flow-space latents to pictures (B, 3, H, W) in [0, 1]: destandardise, snap to the nearest codes, decode."""
    z = vqgan.quantize_st(decoder.destandardise(x))
    return (vqgan.decode(z) + 1).div(2).clamp(0, 1)


def weighted_targets(targets: torch.Tensor, weights: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit targets (B, P, D) from (B, D) or (B, P, D), and their weights (P,) on the CPU (1 each by default)."""
    targets = F.normalize(targets.detach().float(), dim=-1)
    if targets.dim() == 2:
        targets = targets[:, None]
    prompts = targets.shape[1]
    weights = torch.ones(prompts) if weights is None else weights.float().cpu()
    if weights.shape != (prompts,):
        raise ValueError(f"weights must have shape ({prompts},), got {tuple(weights.shape)}")
    return targets, weights


@torch.no_grad()
def step_report(
    tower: ImageTower,
    targets: torch.Tensor,
    weights: torch.Tensor,
    step: int,
    total: int,
    pixels: torch.Tensor,
    final: bool = False,
) -> GenerationStep:
    """A one-pass method's step: its pictures, with the image tower's cosine to each picture's first target and the
    weighted spherical loss over all of them."""
    pixels = pixels.float().clamp(0, 1)
    embeds = tower.encode_pixels(pixels.to(targets.device))
    similarity = (F.normalize(embeds, dim=-1) * targets[:, 0]).sum(-1)
    loss = (spherical_distance_sq(embeds[:, None], targets) * weights.to(targets.device)).sum(-1)
    return GenerationStep(step, total, pixels.cpu(), similarity.tolist(), loss.tolist(), final)


def student_notes(decoder: EmbeddingDecoder | None, config: GenerationConfig, given: set[str]) -> list[str]:
    """A note when the user set the guidance and the decoder's distilled student (which has its own built in)
    samples at these steps."""
    if decoder is None or config.method != "decoder" or "guidance_scale" not in given:
        return []
    if decoder.sampler_for(config.sample_steps) is None:
        return []
    built_in, most = decoder.config.distilled_guidance, decoder.config.distilled_steps
    return [
        f"guidance_scale is built into the decoder's {most}-step sampler (distilled at {built_in:g}); ignored at "
        f"{config.sample_steps} step(s): {most + 1} or more sampling steps run the full guided sampler"
    ]


@torch.no_grad()
def sample_images(
    vqgan: VQGAN,
    decoder: EmbeddingDecoder,
    tower: ImageTower,
    targets: torch.Tensor,
    config: GenerationConfig,
    should_stop: Callable[[], bool] | None = None,
    weights: torch.Tensor | None = None,
) -> Iterator[GenerationStep]:
    """Yield each sampling step's picture (the clean latents it predicts, decoded), then the final picture.

    targets is (B, D) or (B, P, D) with P weighted prompts per picture, as in generate_images. The noise is drawn
    from the seed, so one seed gives one picture; the similarity reported is the cosine to each picture's first
    prompt, measured by the image tower on the decoded picture.
    """
    device = targets.device
    targets, weights = weighted_targets(targets, weights)
    generator = torch.Generator().manual_seed(int(config.seed))
    x = torch.randn((len(targets), *decoder.latent_shape), generator=generator).to(device)
    scheduler = FlowMatchEulerDiscreteScheduler()
    student = decoder.sampler_for(config.sample_steps)
    if student is not None:  # evenly spaced steps, its guidance built in: it was distilled on that grid
        net, scale = student, 1.0
        scheduler.set_timesteps(sigmas=[1 - k / config.sample_steps for k in range(config.sample_steps)], device=device)
    else:
        net, scale = decoder, config.guidance_scale
        scheduler.set_timesteps(config.sample_steps, device=device)
    mixed = guidance_weights(weights)

    def report(step: int, pixels: torch.Tensor, final: bool = False) -> GenerationStep:
        return step_report(tower, targets, weights, step, config.sample_steps, pixels, final)

    last = len(scheduler.timesteps) - 1
    step, landed = -1, None
    for step, sigma, here, v, following in euler_steps(net, x, targets, mixed, scale, scheduler):
        landed = report(step, latents_to_pixels(vqgan, decoder, here - sigma * v))  # the clean picture it heads for
        yield landed
        x = following
        if should_stop is not None and should_stop():
            break
    if step == last and landed is not None:  # the last step lands on sigma 0, on the picture it headed for
        yield replace(landed, step=step + 1, final=True)
    else:
        yield report(step + 1, latents_to_pixels(vqgan, decoder, x), final=True)
