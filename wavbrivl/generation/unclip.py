"""The unclip method: the target embedding into diffusers' Stable unCLIP, which draws a picture from a CLIP image
embedding in one diffusion pass (stabilityai/stable-diffusion-2-1-unclip-small conditions on CLIP ViT-L/14's).

A sound's embedding (and any weighted text or picture targets, mixed as the decoder mixes them) lands on the unit
sphere of the shared CLIP space; the pipeline wants raw image embeddings, so the mix is scaled to their typical
length, read from the pipeline's own normaliser statistics (|mean|^2 + sum std^2). Each denoising step's latents
are decoded by the pipeline's VAE and streamed every few steps (UNCLIP_PREVIEWS on the way: at 768 px one VAE
decode is more work than one guided denoising step, bench/bench_unclip_flops.py).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from wavbrivl.generation.config import GenerationConfig, GenerationStep
from wavbrivl.generation.sample import guidance_weights, step_report, weighted_targets
from wavbrivl.hosting import UNCLIP_PREVIEWS
from wavbrivl.models import ImageTower


def embedding_scale(unclip) -> float:
    """The typical length of the image embeddings the pipeline was trained on, from its normaliser's statistics."""
    norm = unclip.image_normalizer
    return float(torch.sqrt(norm.mean.float().pow(2).sum() + norm.std.float().pow(2).sum()))


def unclip_embeddings(unclip, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """One image embedding (B, D) per picture: the weighted mix of its targets, at the pipeline's scale."""
    mixed = (targets * guidance_weights(weights).to(targets.device).view(1, -1, 1)).sum(1)
    return F.normalize(mixed, dim=-1) * embedding_scale(unclip)


def unclip_images(
    unclip,
    tower: ImageTower,
    targets: torch.Tensor,
    config: GenerationConfig,
    should_stop: Callable[[], bool] | None = None,
    weights: torch.Tensor | None = None,
) -> Iterator[GenerationStep]:
    """Yield a few denoising steps' pictures (their latents through the VAE), then the final picture.

    targets is (B, D) or (B, P, D) in the image tower's (CLIP's) space; the similarity reported is the image
    tower's cosine between each picture and its first target.
    """
    targets, weights = weighted_targets(targets, weights)
    batch = len(targets)
    device = unclip.device
    embeds = unclip_embeddings(unclip, targets.to(device), weights).to(unclip.unet.dtype)
    steps: queue.Queue = queue.Queue()
    stop = threading.Event()

    every = max(1, config.sample_steps // UNCLIP_PREVIEWS)

    def on_step(step: int, timestep: int, latents: torch.Tensor) -> None:
        if step % every == 0 and step + 1 < config.sample_steps:  # a VAE decode costs more than a step: a few
            steps.put(("step", step, latents.detach().clone()))
        if stop.is_set():
            raise _Stopped

    def run() -> None:
        try:
            out = unclip(
                prompt=[""] * batch,
                image_embeds=embeds,
                height=config.size,
                width=config.size,
                num_inference_steps=config.sample_steps,
                guidance_scale=config.guidance_scale,
                noise_level=config.noise_level,
                generator=torch.Generator(device="cpu").manual_seed(int(config.seed)),
                output_type="pt",
                callback=on_step,
                callback_steps=1,
            )
            steps.put(("final", config.sample_steps, out.images))
        except _Stopped:
            steps.put(("stopped", 0, None))
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            steps.put(("error", 0, err))

    def report(step: int, pixels: torch.Tensor, final: bool = False) -> GenerationStep:
        return step_report(tower, targets, weights, step, config.sample_steps, pixels, final)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    last = None
    try:
        while True:
            kind, step, value = steps.get()
            if kind == "step":
                last = report(step, _latents_to_pixels(unclip, value))
                yield last
                if should_stop is not None and should_stop():
                    stop.set()
            elif kind == "final":
                yield report(step, value, final=True)
                return
            elif kind == "stopped":
                if last is not None:
                    yield GenerationStep(last.step + 1, last.total, last.pixels, last.similarity, last.loss, True)
                return
            else:
                raise value
    finally:
        stop.set()
        worker.join(timeout=60)


class _Stopped(Exception):
    """Raised inside the pipeline's step callback when the caller asked to stop."""


@torch.no_grad()
def _latents_to_pixels(unclip, latents: torch.Tensor) -> torch.Tensor:
    """A step's latents decoded by the pipeline's VAE, (B, 3, H, W) in [0, 1]."""
    vae = unclip.vae
    images = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor).sample
    return (images.float() / 2 + 0.5).clamp(0, 1)
