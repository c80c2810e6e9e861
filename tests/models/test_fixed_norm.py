"""The VQGAN decoder with fixed norm statistics: nothing for a few pixels to steer, and it saves and loads."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from wavbrivl.configs import VQGANConfig, small_vqgan_config
from wavbrivl.loading.folders import load_component, save_component
from wavbrivl.models import VQGAN
from wavbrivl.models.fixed_norm import FixedGroupNorm, calibrate_fixed_norms, fix_group_norms

SMALL = small_vqgan_config(embed_dim=8, n_embed=32, z_channels=8, ch=32, ch_mult=(1, 2), resolution=64)


def _decoders() -> tuple[VQGAN, VQGAN]:
    torch.manual_seed(0)
    group = VQGAN(SMALL).eval()
    fixed = VQGAN(replace(SMALL, decoder_norm="fixed")).eval()
    fixed.load_state_dict(group.state_dict(), strict=False)
    latents = torch.randn(4, 8, 32, 32)
    calibrate_fixed_norms(fixed.decoder, lambda: fixed.decode(latents))
    return group, fixed


@pytest.mark.parametrize("group_size", [1, 4])
def test_a_calibrated_norm_on_one_picture_is_that_pictures_group_norm(group_size):
    torch.manual_seed(group_size)
    norm = nn.GroupNorm(8, 8 * group_size, eps=1e-6)
    nn.init.normal_(norm.weight), nn.init.normal_(norm.bias)
    holder = nn.Sequential(norm)
    assert fix_group_norms(holder) == 1 and isinstance(holder[0], FixedGroupNorm)
    x = torch.randn(1, 8 * group_size, 6, 6) * 3 + 1
    calibrate_fixed_norms(holder, lambda: holder(x))
    torch.testing.assert_close(holder(x), norm(x), atol=1e-5, rtol=1e-4)  # its statistics are that picture's
    y = torch.randn(1, 8 * group_size, 6, 6) * 5 - 2
    assert not torch.allclose(holder(y), norm(y), atol=1e-2)  # and they stay so for any other picture


def test_a_cell_changes_only_the_pixels_it_reaches_with_fixed_statistics():
    """The droplet's mechanism: with per-picture statistics, a few cells move every pixel of the picture.

    taming's decoder has one attention block in its middle, global by design; it is taken out here so that only
    the norms can carry a cell's change across the picture."""
    group, fixed = _decoders()
    for model in (group, fixed):
        model.decoder.mid.attn_1 = nn.Identity()
    latents = torch.randn(1, 8, 32, 32)
    moved = latents.clone()
    moved[:, :, :2, :2] += 8.0  # one corner's cells, strongly
    with torch.no_grad():
        far = [(m.decode(moved) - m.decode(latents))[..., 40:, 40:].abs().max().item() for m in (group, fixed)]
    assert far[0] > 1e-3  # GroupNorm: the far corner moves with the statistics
    assert far[1] == 0.0  # fixed: only the pixels the changed cells reach


def test_fixed_statistics_save_and_load_with_the_set(tmp_path):
    _, fixed = _decoders()
    loaded = load_component(save_component(fixed, tmp_path / "vqgan"))
    assert isinstance(loaded, VQGAN) and loaded.config.decoder_norm == "fixed"
    latents = torch.randn(2, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(latents), fixed.decode(latents))
    running = [k for k in loaded.state_dict() if k.endswith("running_mean")]
    assert running and all(k.startswith("decoder.") for k in running)  # the encoder keeps taming's GroupNorm


def test_official_layout_keeps_group_norm_and_a_bad_norm_is_refused():
    assert VQGANConfig().decoder_norm == "group"
    assert not any(k.endswith("running_mean") for k in VQGAN(SMALL).state_dict())
    with pytest.raises(ValueError, match="decoder_norm.*'group', 'fixed'"):
        replace(SMALL, decoder_norm="batch")
