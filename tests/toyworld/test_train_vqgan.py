"""The toy VQGAN's training and the further training of its decoder alone (codes unchanged)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from wavbrivl.configs import small_vqgan_config
from wavbrivl.models import VQGAN
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.train_vqgan import fix_decoder_statistics, psnr, sharpen_decoder, train_vqgan
from wavbrivl.toyworld.world import ToyWorld


def _reconstruct(model, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        tokens = model.encode_tokens(pixels * 2 - 1)
        return tokens, ((model.decode(model.tokens_to_latents(tokens)) + 1) / 2).clamp(0, 1)


def _tiny_trained() -> tuple[torch.Tensor, VQGAN]:
    """32 world pictures at 16 px and a small VQGAN trained 60 steps on them: bounded work that still learns."""
    pixels = torch.stack(pil_to_tensor([e.image for e in ToyWorld(5).examples(0, 32)]))
    small = small_vqgan_config(embed_dim=8, n_embed=64, z_channels=8, ch=32, ch_mult=(1, 2), resolution=16)
    pixels = torch.nn.functional.avg_pool2d(pixels, 4)  # 16 px: bounded work, a few steps on a few pictures
    return pixels, train_vqgan(pixels, steps=60, batch=8, seed=0, config=small)


@pytest.mark.slow  # about 5 s on 2 cores
def test_sharpening_the_decoder_keeps_every_code_and_draws_them_better():
    pixels, model = _tiny_trained()
    kept = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith(("decoder.", "post_quant_conv."))}
    tokens, before = _reconstruct(model, pixels)
    sharpen_decoder(model, pixels, steps=60, batch=8, lr=2e-3, seed=0)
    again, after = _reconstruct(model, pixels)
    assert torch.equal(tokens, again)  # the same codes for every picture: a decoder generator trained on them holds
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in kept.items())  # encoder and codebook untouched
    assert psnr(after, pixels).mean() > psnr(before, pixels).mean() + 0.5  # and the codes are drawn closer
    assert not model.training and not any(p.requires_grad for p in model.parameters())


@pytest.mark.slow  # about 8 s on 2 cores
def test_a_decoder_with_fixed_statistics_keeps_every_code_and_draws_about_as_well():
    """The build's path with vqgan_decoder_norm "fixed": statistics measured on the pictures, then sharpened."""
    import copy

    pixels, model = _tiny_trained()
    tokens, _ = _reconstruct(model, pixels)
    group = sharpen_decoder(copy.deepcopy(model), pixels, steps=120, batch=8, lr=2e-3, seed=0)
    fixed = fix_decoder_statistics(model, pixels)
    _, calibrated = _reconstruct(fixed, pixels)
    fixed = sharpen_decoder(fixed, pixels, steps=120, batch=8, lr=2e-3, seed=0)
    again, after = _reconstruct(fixed, pixels)
    assert fixed.config.decoder_norm == "fixed" and torch.equal(tokens, again)
    kept = [k for k in model.state_dict() if not k.startswith(("decoder.", "post_quant_conv."))]
    assert all(torch.equal(model.state_dict()[k], fixed.state_dict()[k]) for k in kept)
    scores = [psnr(p, pixels).mean().item() for p in (calibrated, after, _reconstruct(group, pixels)[1])]
    assert scores[1] > scores[0] + 0.5 and scores[1] > scores[2] - 1.0, scores


@pytest.mark.slow  # about 15 s on 2 cores: loads a copy of the shipped set and trains 4 steps
def test_sharpen_vqgan_fixes_a_sets_norms_keeps_its_codes_and_records_it(tmp_path, capsys):
    import json
    import shutil

    from wavbrivl.cli import main
    from wavbrivl.loading import TOYWORLD_DIR
    from wavbrivl.loading.folders import load_component, save_component

    folder = Path(shutil.copytree(TOYWORLD_DIR, tmp_path / "set"))
    shipped = load_component(folder / "vqgan")
    group = VQGAN(replace(shipped.config, decoder_norm="group"))  # as sets were before
    group.load_state_dict(shipped.state_dict(), strict=False)
    save_component(group, folder / "vqgan")
    pixels = torch.stack(pil_to_tensor([e.image for e in ToyWorld(5).examples(0, 8)]))
    before = group.encode_tokens(pixels * 2 - 1)
    command = ["toyworld", "sharpen-vqgan", "--dir", str(folder), "--steps", "4", "--examples", "8"]
    assert main([*command, "--norm", "fixed"]) == 0
    fixed = load_component(folder / "vqgan")
    assert fixed.config.decoder_norm == "fixed" and torch.equal(fixed.encode_tokens(pixels * 2 - 1), before)
    record = json.loads((folder / "build.json").read_text())
    revision = {k: v for k, v in record["revisions"][-1].items() if k != "seconds"}
    assert revision == {"command": "sharpen-vqgan", "steps": 4, "examples": 8, "norm": "fixed", "near_weight": 5.0}
    assert record["config"]["vqgan_decoder_norm"] == "fixed"
    capsys.readouterr()
    assert main([*command, "--norm", "group"]) == 2
    assert "fixed already" in capsys.readouterr().err  # one line, no traceback


@pytest.mark.parametrize("weight", [1.0, 5.0])
def test_near_object_weights_weigh_only_the_background_band_around_the_object(weight):
    from scipy import ndimage

    from wavbrivl.toyworld.judge import foreground, to_array
    from wavbrivl.toyworld.train_vqgan import NEAR_OBJECT_PX, near_object_weights

    pictures = ToyWorld(5).examples(0, 4)
    weights = near_object_weights(torch.stack(pil_to_tensor([e.image for e in pictures])), weight)
    for example, w in zip(pictures, weights[:, 0].numpy()):
        drawn = foreground(to_array(example.image))
        square = np.ones((3, 3), bool)
        inner = ndimage.binary_dilation(drawn, square, iterations=NEAR_OBJECT_PX[0] - 1)
        outer = ndimage.binary_dilation(drawn, square, iterations=NEAR_OBJECT_PX[1])
        band = outer & ~inner
        assert band.any() and np.all(w[band] == weight) and np.all(w[~band] == 1.0)
