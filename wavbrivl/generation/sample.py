"""The decoder method: sample VQGAN latents from target embeddings in a few flow steps, streaming each step."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
    weight pushes the sample away from that prompt. The B * (P + 1) evaluations run as one batch.
    """
    batch, prompts = conditions.shape[:2]
    inputs = torch.cat([x.repeat_interleave(prompts, 0), x])
    conds = torch.cat([conditions.flatten(0, 1), decoder.conditions(None, batch)])
    sigmas = torch.full((len(inputs),), float(sigma), device=x.device)
    v = decoder(inputs, sigmas, conds)
    v_prompt, v_null = v[: batch * prompts].view(batch, prompts, *x.shape[1:]), v[batch * prompts :]
    w = weights.to(x.device, x.dtype).view(1, prompts, 1, 1, 1)
    return v_null + scale * ((v_prompt - v_null[:, None]) * w).sum(1)


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
    scheduler.set_timesteps(config.sample_steps, device=device)
    mixed = guidance_weights(weights)

    def report(step: int, pixels: torch.Tensor, final: bool = False) -> GenerationStep:
        return step_report(tower, targets, weights, step, config.sample_steps, pixels, final)

    step = -1
    for step, t in enumerate(scheduler.timesteps):
        sigma = float(scheduler.sigmas[step])
        v = guided_velocity(decoder, x, sigma, targets, mixed, config.guidance_scale)
        yield report(step, latents_to_pixels(vqgan, decoder, x - sigma * v))  # the clean picture it heads for
        x = scheduler.step(v, t, x).prev_sample
        if should_stop is not None and should_stop():
            break
    yield report(step + 1, latents_to_pixels(vqgan, decoder, x), final=True)
