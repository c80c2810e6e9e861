"""VQGAN from taming modules (official .ckpt and .yaml), and the CLIP tower behind the same interface."""

from __future__ import annotations

import pytest
import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from wavbrivl.configs import CLIPImageConfig, VQGANConfig
from wavbrivl.errors import WeightsError
from wavbrivl.loading.folders import load_component, save_component
from wavbrivl.loading.official import load_taming_vqgan
from wavbrivl.loading.towers import load_image_tower, random_components
from wavbrivl.models import VQGAN, CLIPImageTower

TAMING_YAML = """model:
  base_learning_rate: 4.5e-06
  target: taming.models.vqgan.VQModel
  params:
    embed_dim: 16
    n_embed: 64
    ddconfig:
      double_z: false
      z_channels: 16
      resolution: 64
      in_channels: 3
      out_ch: 3
      ch: 32
      ch_mult: [1, 2]
      num_res_blocks: 1
      attn_resolutions: []
      dropout: 0.0
    lossconfig:
      target: taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator
      params: {disc_start: 0}
"""


def _fake_taming_ckpt(model: VQGAN) -> dict:
    """What a taming Lightning checkpoint holds: state_dict with loss.* training keys, plus counters."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["loss.discriminator.main.0.weight"] = torch.zeros(4, 3, 4, 4)
    state["loss.logvar"] = torch.zeros(())
    return {"epoch": 3, "global_step": 1234, "pytorch-lightning_version": "1.0.8", "state_dict": state}


def test_taming_ckpt_and_yaml_load_strictly(tmp_path):
    _, _, vqgan = random_components(seed=3)
    ckpt, yaml = tmp_path / "last.ckpt", tmp_path / "model.yaml"
    torch.save(_fake_taming_ckpt(vqgan), ckpt)
    yaml.write_text(TAMING_YAML)
    loaded = load_taming_vqgan(ckpt, yaml)
    for key, value in vqgan.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), vqgan(x))


def test_taming_ckpt_with_wrong_layout_is_refused(tmp_path):
    _, _, vqgan = random_components(seed=3)
    bad = _fake_taming_ckpt(vqgan)
    del bad["state_dict"]["quantize.embedding.weight"]
    torch.save(bad, tmp_path / "bad.ckpt")
    (tmp_path / "model.yaml").write_text(TAMING_YAML)
    with pytest.raises(WeightsError, match="missing.*quantize.embedding.weight"):
        load_taming_vqgan(tmp_path / "bad.ckpt", tmp_path / "model.yaml")


def test_pickled_code_is_never_loaded(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "obj": torch.nn.Linear(1, 1)}, path)
    with pytest.raises(WeightsError, match="weights-only"):
        load_taming_vqgan(path)


def test_full_size_config_is_f16_16384():
    config = VQGANConfig()
    assert (config.embed_dim, config.n_embed, config.ddconfig["ch_mult"]) == (256, 16384, [1, 1, 2, 2, 4])
    assert VQGAN(config).downsample == 16


def test_straight_through_quantisation_passes_gradients_to_latents():
    _, _, vqgan = random_components()
    z = torch.randn(1, 16, 4, 4, requires_grad=True)
    z_q = vqgan.quantize_st(z)
    codes = vqgan.codebook
    nearest = ((z.detach().permute(0, 2, 3, 1)[..., None, :] - codes).pow(2).sum(-1)).argmin(-1)
    torch.testing.assert_close(z_q.detach(), vqgan.tokens_to_latents(nearest))
    vqgan.decode(z_q).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def _tiny_clip() -> CLIPVisionModelWithProjection:
    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=24,
    )
    torch.manual_seed(0)
    return CLIPVisionModelWithProjection(config).eval()


def test_clip_tower_from_a_transformers_folder_and_component_round_trip(tmp_path):
    model = _tiny_clip()
    model.save_pretrained(tmp_path / "clip")
    tower, provenance = load_image_tower(str(tmp_path / "clip"), kind="clip")
    assert isinstance(tower, CLIPImageTower) and tower.embed_dim == 24 and tower.image_size == 32
    pixels = torch.rand(2, 3, 50, 40)
    with torch.no_grad():
        out = tower.encode_pixels(pixels)
        reloaded = load_component(save_component(tower, tmp_path / "component"))
        torch.testing.assert_close(reloaded.encode_pixels(pixels), out)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(2))
    assert provenance.trained


def test_clip_tower_is_differentiable():
    tower = CLIPImageTower(CLIPImageConfig(), model=_tiny_clip())
    pixels = torch.rand(1, 3, 32, 32, requires_grad=True)
    tower.encode_pixels(pixels).sum().backward()
    assert pixels.grad.abs().sum() > 0
