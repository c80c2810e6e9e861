"""The audio tower: layer weighting, masked pooling, gain sensitivity, trainable layers."""

from __future__ import annotations

import torch

from tests.helpers.audio import tone
from wavbrivl.configs import AudioTowerConfig
from wavbrivl.loading.towers import random_components
from wavbrivl.models import WavBriVLAudioTower


def _tower():
    audio, _, _ = random_components(seed=1)
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


def _shipped_tower(**kw) -> WavBriVLAudioTower:
    """Tiny sizes, but WavLM's shipped regularisation (dropout 0.1, layerdrop, time masking) left on."""
    from wavbrivl.testing import TINY_WAVLM

    wavlm = {k: v for k, v in TINY_WAVLM.items() if k != "apply_spec_augment"}
    torch.manual_seed(0)
    return WavBriVLAudioTower(AudioTowerConfig(wavlm=wavlm, embed_dim=16, mlp_hidden=16, **kw))


def test_frozen_wavlm_is_bit_identical_across_calls_in_train_mode():
    tower = _shipped_tower(trainable_layers=0).train()
    assert tower.wavlm.config.hidden_dropout > 0 and tower.wavlm.config.mask_time_prob > 0
    x = torch.from_numpy(tone(0.5)).float()[None].repeat(3, 1)
    assert torch.equal(tower(x), tower(x))
    assert tower.training and not tower.wavlm.training and tower.head.training


def test_only_trainable_layers_train_with_dropout_and_masking_is_explicit():
    tower = _shipped_tower(trainable_layers=1, train_dropout=True, time_mask_prob=0.3).train()
    x = torch.from_numpy(tone(0.5)).float()[None].repeat(2, 1)
    a = tower.wavlm(x, output_hidden_states=True).hidden_states
    b = tower.wavlm(x, output_hidden_states=True).hidden_states
    for frozen_a, frozen_b in zip(a[:-1], b[:-1]):
        assert torch.equal(frozen_a, frozen_b)  # everything below the trainable layer is frozen and exact
    assert not torch.equal(a[-1], b[-1])  # the trainable top layer trains with its dropout
    torch.manual_seed(5)
    first = tower.time_mask(4, 200, x.device)
    torch.manual_seed(5)
    assert torch.equal(first, tower.time_mask(4, 200, x.device))  # masking draws from torch's seeded generator
    assert 0.1 < first.float().mean() < 0.5
    assert tower.eval().time_mask(2, 40, x.device) is None
    quiet = _shipped_tower(trainable_layers=1).train()  # dropout and masking are off unless asked for
    assert torch.equal(quiet(x), quiet(x))
