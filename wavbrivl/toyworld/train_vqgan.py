"""Train the toy VQGAN (taming Encoder / Decoder / VectorQuantizer) to reconstruct toy pictures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
import torch.nn.functional as F

from wavbrivl.configs import VQGANConfig, small_vqgan_config
from wavbrivl.loading.presets import model_size
from wavbrivl.models import VQGAN
from wavbrivl.models.fixed_norm import calibrate_fixed_norms
from wavbrivl.toyworld.judge import FOREGROUND_THRESHOLD
from wavbrivl.toyworld.world import BACKGROUND
from wavbrivl.training.decoder import code_indices

# f8: a 64 px picture is 8 x 8 codes of 8 px, near the real f16 model's token geometry at 256 px (16 x 16 codes).
# Coarse codes are what keep generation to whole shapes; at f2 (2 px codes) it could paint any texture.
TOY_VQGAN_CONFIG = small_vqgan_config(**model_size("toy")["vqgan"])


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, for pixels in [0, 1]."""
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def train_vqgan(
    pixels: torch.Tensor,
    steps: int = 1500,
    batch: int = 8,
    lr: float = 2e-3,
    seed: int = 0,
    crop: int | None = None,
    progress: Callable[[int, float], None] | None = None,
    config: VQGANConfig | None = None,
) -> VQGAN:
    """Fit encoder, codebook and decoder on [0, 1] pictures (L1 + MSE + the quantiser's codebook loss).

    Dead codes are re-seeded from encoder outputs every 100 steps so the whole codebook stays in use.
    """
    torch.manual_seed(seed)
    config = config or TOY_VQGAN_CONFIG
    model = VQGAN(VQGANConfig(config.embed_dim, config.n_embed, dict(config.ddconfig)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.9))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    usage = torch.zeros(model.config.n_embed)
    model.train()
    for step in range(steps):
        x = pixels[torch.randint(len(pixels), (batch,), generator=gen)] * 2 - 1
        if crop and crop < x.shape[-1]:  # fully convolutional: train on crops, use on whole pictures
            top, left = (int(v) for v in torch.randint(x.shape[-1] - crop + 1, (2,), generator=gen))
            x = x[:, :, top : top + crop, left : left + crop]
        z = model.encode(x)
        z_q, vq_loss, (_, _, indices) = model.quantize(z)
        recon = model.decode(z_q)
        loss = F.l1_loss(recon, x) + F.mse_loss(recon, x) + vq_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        usage += torch.bincount(indices.flatten(), minlength=model.config.n_embed).float()
        if (step + 1) % 100 == 0 and step < steps * 0.8:
            dead = (usage == 0).nonzero().flatten()
            if len(dead):
                flat = z.detach().permute(0, 2, 3, 1).reshape(-1, model.config.embed_dim)
                pick = torch.randint(len(flat), (len(dead),), generator=gen)
                with torch.no_grad():
                    model.quantize.embedding.weight[dead] = flat[pick]
            usage.zero_()
        if progress:
            progress(step, float(loss))
    return model.eval()


NEAR_OBJECT_PX = (2, 8)  # the background band around the object where the droplet's ring and shadows sat


def near_object_weights(pixels: torch.Tensor, weight: float) -> torch.Tensor:
    """(N, 1, H, W) loss weights for [0, 1] world pictures: `weight` on background pixels 2-8 px from the object
    (square distance), 1 elsewhere."""
    background = torch.tensor(BACKGROUND, dtype=pixels.dtype).view(1, 3, 1, 1) / 255
    drawn = ((pixels - background).abs().amax(1, keepdim=True) > FOREGROUND_THRESHOLD).float()

    def grown(reach: int) -> torch.Tensor:
        return F.max_pool2d(drawn, 2 * reach + 1, stride=1, padding=reach) > 0

    near = grown(NEAR_OBJECT_PX[1]) & ~grown(NEAR_OBJECT_PX[0] - 1)
    return 1 + (weight - 1) * near.to(pixels.dtype)


def sharpen_decoder(
    model: VQGAN,
    pixels: torch.Tensor,
    steps: int = 800,
    batch: int = 12,
    lr: float = 5e-4,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
    near_weight: float = 1.0,
) -> VQGAN:
    """Train only the VQGAN's decoder further (L1 + MSE) on [0, 1] pictures, its encoder and codebook frozen.

    The codes of every picture stay what they were, so a decoder generator trained on them and the optimisation's
    latents still mean the same; only how the codes are drawn improves (small shapes above all). near_weight
    weighs the background just around the object (near_object_weights). Returns the model frozen, in eval mode.
    """
    if steps < 4:
        raise ValueError(f"sharpening a VQGAN's decoder takes at least 4 steps; got {steps}")
    torch.manual_seed(seed)
    with torch.no_grad():
        latents = model.tokens_to_latents(code_indices(model, pixels, batch=256))
    model.requires_grad_(False)
    parts = [*model.post_quant_conv.parameters(), *model.decoder.parameters()]
    for part in parts:
        part.requires_grad_(True)
    optimizer = torch.optim.Adam(parts, lr=lr, betas=(0.5, 0.9))
    # a 5 % warm-up, at least two steps of it (OneCycleLR cannot warm up over less than one)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=steps, pct_start=max(0.05, 2 / steps)
    )
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for step in range(steps):
        pick = torch.randint(len(pixels), (batch,), generator=gen)
        x = pixels[pick] * 2 - 1  # whole pictures: the decoder's GroupNorm sees a crop differently
        recon = model.decode(latents[pick])
        if near_weight == 1.0:
            loss = F.l1_loss(recon, x) + F.mse_loss(recon, x)
        else:
            weights = near_object_weights(pixels[pick], near_weight)
            loss = ((recon - x).abs() * weights).mean() + ((recon - x).square() * weights).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress:
            progress(step, float(loss))
    return model.eval().requires_grad_(False)


@torch.no_grad()
def fix_decoder_statistics(model: VQGAN, pixels: torch.Tensor, calibration: int = 256) -> VQGAN:
    """The same VQGAN with its decoder's GroupNorms fixed to per-channel statistics measured on the first
    `calibration` of the [0, 1] pictures (their codes' latents); train it further (sharpen_decoder) after, as the
    droplet's extreme pixels are still drawn until it is."""
    fixed = VQGAN(replace(model.config, decoder_norm="fixed"))
    missing, unexpected = fixed.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not k.endswith(("running_mean", "running_var")) for k in missing):
        raise ValueError(f"not a VQGAN of the same layout: missing {missing}, unexpected {unexpected}")
    latents = model.tokens_to_latents(code_indices(model, pixels[:calibration], batch=256))
    calibrate_fixed_norms(fixed.decoder, lambda: fixed.decode(latents))
    return fixed.eval().requires_grad_(False)
