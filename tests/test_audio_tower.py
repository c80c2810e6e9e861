"""The audio tower: layer weighting, masked pooling, gain sensitivity, trainable layers."""

from __future__ import annotations

import torch

from tests.conftest import tone
from wavbrivl.configs import AudioTowerConfig
from wavbrivl.factory import tiny_components
from wavbrivl.models import WavBriVLAudioTower


def _tower():
    audio, _, _ = tiny_components(seed=1)
    return audio


def test_output_is_normalised_and_sized():
    tower = _tower()
    out = tower(torch.from_numpy(tone())[None].repeat(2, 1))
    assert out.shape == (2, 64)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(2))


def test_gain_reaches_the_model():
    """0.25x and 4x of one clip must embed differently."""
    tower = _tower()
    wave = torch.from_numpy(tone(amp=0.2))[None]
    assert (tower(wave * 0.25) - tower(wave * 4.0)).norm() > 0.05


def test_level_input_is_what_carries_gain():
    """WavLM's feature normalisation nearly erases gain; the level input makes it count (>=10x larger change)."""
    tower = _tower()
    blind_config = AudioTowerConfig(wavlm=tower.config.wavlm, embed_dim=64, mlp_hidden=64, loudness_features=False)
    torch.manual_seed(1)
    blind = WavBriVLAudioTower(blind_config).eval()
    wave = torch.from_numpy(tone(amp=0.2))[None]
    with_level = (tower(wave * 0.25) - tower(wave * 4.0)).norm()
    without = (blind(wave * 0.25) - blind(wave * 4.0)).norm()
    assert with_level > 10 * without


def test_padding_is_masked_out():
    tower = _tower()
    short = torch.from_numpy(tone(seconds=0.5))
    alone = tower(short[None])
    padded = torch.zeros(1, 16000)
    padded[0, : short.numel()] = short
    masked = tower(padded, lengths=torch.tensor([short.numel()]))
    unmasked = tower(padded)
    assert (masked - alone).norm() < (unmasked - alone).norm()


def test_every_layer_has_a_learned_weight():
    tower = _tower()
    assert tower.layer_weights.numel() == tower.wavlm.config.num_hidden_layers + 1
    tower.train()
    tower(torch.from_numpy(tone())[None]).sum().backward()
    assert tower.layer_weights.grad is not None and torch.all(tower.layer_weights.grad != 0)


def test_trainable_layers():
    tower = _tower()
    assert not any(p.requires_grad for p in tower.wavlm.parameters())
    assert all(p.requires_grad for p in tower.head.parameters()) and tower.layer_weights.requires_grad
    tower.set_trainable_layers(1)
    top = set(map(id, tower.wavlm.encoder.layers[-1].parameters()))
    for p in tower.wavlm.parameters():
        assert p.requires_grad == (id(p) in top)
    tower.set_trainable_layers(-1)
    assert all(p.requires_grad for p in tower.wavlm.parameters())
