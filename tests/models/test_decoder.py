"""The decoder generator's guidance over weighted targets, on a tiny random decoder (exact arithmetic)."""

from __future__ import annotations

import torch

from wavbrivl.configs import EmbeddingDecoderConfig
from wavbrivl.generation.sample import guidance_weights, guided_velocity
from wavbrivl.models import EmbeddingDecoder


def _decoder() -> EmbeddingDecoder:
    torch.manual_seed(0)
    config = EmbeddingDecoderConfig(embed_dim=16, latent_channels=4, latent_size=8, block_out_channels=[16, 32])
    return EmbeddingDecoder(config).eval()


def test_weights_put_the_positive_targets_at_one_and_keep_negatives_relative():
    assert guidance_weights(torch.tensor([2.0, 2.0, -1.0])).tolist() == [0.5, 0.5, -0.25]
    assert guidance_weights(torch.tensor([-1.0, -3.0])).tolist() == [-0.25, -0.75]  # no positive: by size


def test_guidance_is_the_null_prediction_plus_weighted_differences():
    decoder, x = _decoder(), torch.randn(2, 4, 8, 8)
    a, b = torch.nn.functional.normalize(torch.randn(2, 16), dim=-1)
    with torch.no_grad():
        v_null = decoder(x, torch.full((2,), 0.5), decoder.conditions(None, 2))
        v_a = decoder(x, torch.full((2,), 0.5), a.expand(2, -1))
        v_b = decoder(x, torch.full((2,), 0.5), b.expand(2, -1))
    conditions = torch.stack([a, b])[None].expand(2, -1, -1)
    mixed = guided_velocity(decoder, x, 0.5, conditions, guidance_weights(torch.tensor([1.0, -0.5])), 3.0)
    torch.testing.assert_close(mixed, v_null + 3.0 * ((v_a - v_null) - 0.5 * (v_b - v_null)), atol=1e-5, rtol=1e-5)
    same = torch.stack([a, a])[None].expand(2, -1, -1)
    cancelled = guided_velocity(decoder, x, 0.5, same, guidance_weights(torch.tensor([1.0, -1.0])), 3.0)
    torch.testing.assert_close(cancelled, v_null, atol=1e-5, rtol=1e-5)  # a target and its negation cancel out
    plain = guided_velocity(decoder, x, 0.5, a[None, None].expand(2, 1, -1), torch.ones(1), 1.0)
    torch.testing.assert_close(plain, v_a, atol=1e-5, rtol=1e-5)  # guidance 1: the conditional prediction
