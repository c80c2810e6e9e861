"""The generation loop: straight-through VQ, decode, cutouts, spherical loss, Adam on the latents."""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from PIL import Image

from wavbrivl.generation.candidates import Candidates
from wavbrivl.generation.config import GenerationConfig, GenerationStep
from wavbrivl.generation.cutouts import MakeCutouts
from wavbrivl.generation.loss import spherical_distance_sq
from wavbrivl.models import VQGAN, ImageTower
from wavbrivl.models.image_tower import pil_to_tensor


class _ClampWithGrad(torch.autograd.Function):
    """Clamp to [0, 1]; backward passes a gradient only where following it moves the value back into range."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(0, 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (grad * (x - x.clamp(0, 1)) >= 0)


def clamp_with_grad(x: torch.Tensor) -> torch.Tensor:
    """VQGAN-CLIP's ClampWithGrad: [0, 1] forward; no gradient that would push a clamped value further out."""
    return _ClampWithGrad.apply(x)


def total_variation(pixels: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, per image (B,)."""
    dx = (pixels[..., :, 1:] - pixels[..., :, :-1]).abs().flatten(1).mean(1)
    dy = (pixels[..., 1:, :] - pixels[..., :-1, :]).abs().flatten(1).mean(1)
    return dx + dy


def ellipse_mask(cells: int, generator: torch.Generator) -> torch.Tensor:
    """A (cells, cells) float mask of one ellipse at a seeded place near the centre, 0.3 to 0.6 of the side."""
    cx, cy, rx, ry = (
        torch.rand(4, generator=generator) * torch.tensor([0.3, 0.3, 0.15, 0.15])
        + torch.tensor([0.35, 0.35, 0.15, 0.15])
    ).tolist()
    grid = (torch.arange(cells) + 0.5) / cells
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    return (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2).le(1).float()


def initial_latents(
    vqgan: VQGAN,
    batch: int,
    size: int,
    generator: torch.Generator,
    init_image: Image.Image | None,
    device: torch.device,
    init: str = "tokens",
    fill: tuple[float, float, float] = (0.0, 0.0, 0.0),
    starts: int = 1,
) -> torch.Tensor:
    """Start latents (starts * batch, ...), candidate-major, shared by the batch members: random codebook
    tokens, an encoded init image, or blobs.

    A blob start is the encoded picture of the background (`fill`) with one ellipse at a seeded place: one place
    where something is, with no shape given in advance. One start is mid-grey; several take evenly spaced hues,
    because the optimisation rarely changes an object's colour much (a VQGAN trained on a few colours has no
    grey, and moving between its colours crosses codes that please no tower), so the colour must be among the
    candidates, and the loop keeps the best one.
    """
    cells = max(size // vqgan.downsample, 1)
    side = cells * vqgan.downsample
    if init_image is not None:
        pixels = pil_to_tensor([init_image])[0][None]
        pixels = F.interpolate(pixels, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
        with torch.no_grad():
            z = vqgan.encode(pixels.to(device) * 2 - 1)
    elif init == "blob":
        inside = ellipse_mask(side, generator)[None, None]
        hues = [(0.5, 0.5, 0.5)] if starts == 1 else [colorsys.hsv_to_rgb(k / starts, 0.75, 0.9) for k in range(starts)]
        colours = torch.tensor(hues, dtype=torch.float32).view(-1, 3, 1, 1)
        pixels = torch.tensor(fill, dtype=torch.float32).view(1, 3, 1, 1) * (1 - inside) + colours * inside
        with torch.no_grad():
            z = vqgan.encode(pixels.to(device) * 2 - 1)
        return z.repeat_interleave(batch, dim=0)
    else:
        tokens = torch.randint(vqgan.config.n_embed, (1, cells, cells), generator=generator).to(device)
        z = vqgan.tokens_to_latents(tokens).detach()
    return z.expand(batch, -1, -1, -1).clone()


def generate_images(
    vqgan: VQGAN,
    tower: ImageTower,
    targets: torch.Tensor,
    config: GenerationConfig,
    init_image: Image.Image | None = None,
    should_stop: Callable[[], bool] | None = None,
    weights: torch.Tensor | None = None,
) -> Iterator[GenerationStep]:
    """Yield every step's images while pulling each image's embedding toward its targets.

    targets is (B, D), one target per image, or (B, P, D) with P weighted prompts per image; weights (P,)
    default to 1 and a negative weight pushes the image away from that prompt. The similarity each step
    reports is the cosine to the first prompt of each image.
    """
    device = targets.device
    generator = torch.Generator().manual_seed(int(config.seed))
    targets = F.normalize(targets.detach(), dim=-1)
    if targets.dim() == 2:
        targets = targets[:, None]
    batch, n_prompts = targets.shape[:2]
    weights = torch.ones(n_prompts, device=device) if weights is None else weights.to(device, targets.dtype)
    if weights.shape != (n_prompts,):
        raise ValueError(f"weights must have shape ({n_prompts},), got {tuple(weights.shape)}")
    starts = config.starts if config.init == "blob" and init_image is None else 1
    z = initial_latents(vqgan, batch, config.size, generator, init_image, device, config.init, config.fill, starts)
    candidates = Candidates(z, starts, config.lr)
    codebook = vqgan.codebook.detach()
    z_min = codebook.min(0).values.view(1, -1, 1, 1)
    z_max = codebook.max(0).values.view(1, -1, 1, 1)
    cutouts = MakeCutouts(tower.image_size, config.cutn, config.cut_pow, config.noise, config.augment, config.fill)
    step = -1
    per_row = similarity = torch.zeros(starts * batch, device=device)
    for step in range(config.steps):
        if candidates.pending and step >= config.start_steps:  # images keep their best candidate start...
            best = candidates.best_rows(per_row)  # ...unless still far from their sound, when the config says
            near = similarity[best.to(similarity.device)].tolist()  # one transfer, not one per image
            ready = [i for i in candidates.pending if step >= config.start_steps_max or
                     near[i] >= config.start_similarity]  # fmt: skip
            if ready:
                candidates.keep_best(ready, best)
        candidates.zero_grad()
        per_row, similarity, pixels = _step(vqgan, tower, cutouts, candidates, targets, weights, config, generator)
        candidates.step(z_min, z_max)
        shown = candidates.best_rows(per_row)
        shown_pixels = pixels[shown.to(pixels.device)].cpu()  # only the shown rows leave the device
        yield GenerationStep(step, config.steps, shown_pixels, similarity[shown].tolist(), per_row[shown].tolist())
        if should_stop is not None and should_stop():
            break
    if candidates.pending:  # stopped (or ran out of steps) before the candidates were pruned: keep each image's best
        candidates.keep_best(candidates.pending, candidates.best_rows(per_row))
    with torch.no_grad():
        pixels = (vqgan.decode(vqgan.quantize_st(candidates.latents())) + 1).div(2).clamp(0, 1)
        embeds = tower.encode_pixels(pixels)
        similarity = (embeds * targets[:, 0]).sum(-1)
        loss = (spherical_distance_sq(embeds[:, None], targets) * weights).sum(-1)
    yield GenerationStep(step + 1, config.steps, pixels.cpu(), similarity.tolist(), loss.tolist(), final=True)


def _step(
    vqgan: VQGAN,
    tower: ImageTower,
    cutouts: MakeCutouts,
    candidates: Candidates,
    targets: torch.Tensor,
    weights: torch.Tensor,
    config: GenerationConfig,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decode every candidate, back-propagate its loss (cutouts through the tower, and total variation) to the
    latents, and return each row's loss, its similarity to its first prompt, and its pixels (detached)."""
    z = candidates.latents()
    device, rows = z.device, z.shape[0]
    all_targets = targets[candidates.owner.to(device)]
    pixels = clamp_with_grad((vqgan.decode(vqgan.quantize_st(z)) + 1) / 2)
    # The tower runs on cut_batch cutouts at a time, each chunk back-propagated to the pixels at once,
    # so its activations never exist for all cutouts together; the decoder is back-propagated once.
    leaf = pixels.detach().requires_grad_(True)
    views = cutouts(leaf, generator)  # (cutn, rows, 3, S, S)
    per_row = torch.zeros(rows, device=device)
    similarity = torch.zeros(rows, device=device)
    for start in range(0, config.cutn, config.cut_batch):
        chunk = views[start : start + config.cut_batch]
        embeds = tower.encode_pixels(chunk.flatten(0, 1)).view(chunk.shape[0], rows, 1, -1)
        distances = spherical_distance_sq(embeds, all_targets[None])  # (cuts, rows, P)
        loss = (distances * weights).sum((0, 2)) / config.cutn  # (rows,)
        loss.sum().backward(retain_graph=start + config.cut_batch < config.cutn)
        per_row += loss.detach()
        first = F.normalize(embeds[:, :, 0].detach(), dim=-1) * all_targets[None, :, 0]
        similarity += first.sum((-1, 0)) / config.cutn
    if config.tv_weight > 0:
        tv = config.tv_weight * total_variation(leaf)
        tv.sum().backward()
        per_row += tv.detach()
    pixels.backward(leaf.grad)
    return per_row, similarity, pixels.detach()
