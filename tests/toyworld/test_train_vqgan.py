"""The toy VQGAN's training and the further training of its decoder alone (codes unchanged)."""

from __future__ import annotations

import pytest
import torch

from wavbrivl.configs import small_vqgan_config
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.train_vqgan import psnr, sharpen_decoder, train_vqgan
from wavbrivl.toyworld.world import ToyWorld


def _reconstruct(model, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        tokens = model.encode_tokens(pixels * 2 - 1)
        return tokens, ((model.decode(model.tokens_to_latents(tokens)) + 1) / 2).clamp(0, 1)


@pytest.mark.slow  # about 5 s on 2 cores
def test_sharpening_the_decoder_keeps_every_code_and_draws_them_better():
    pixels = torch.stack(pil_to_tensor([e.image for e in ToyWorld(5).examples(0, 32)]))
    small = small_vqgan_config(embed_dim=8, n_embed=64, z_channels=8, ch=32, ch_mult=(1, 2), resolution=16)
    pixels = torch.nn.functional.avg_pool2d(pixels, 4)  # 16 px: bounded work, a few steps on a few pictures
    model = train_vqgan(pixels, steps=60, batch=8, seed=0, config=small)
    kept = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith(("decoder.", "post_quant_conv."))}
    tokens, before = _reconstruct(model, pixels)
    sharpen_decoder(model, pixels, steps=60, batch=8, lr=2e-3, seed=0)
    again, after = _reconstruct(model, pixels)
    assert torch.equal(tokens, again)  # the same codes for every picture: a decoder generator trained on them holds
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in kept.items())  # encoder and codebook untouched
    assert psnr(after, pixels).mean() > psnr(before, pixels).mean() + 0.5  # and the codes are drawn closer
    assert not model.training and not any(p.requires_grad for p in model.parameters())
