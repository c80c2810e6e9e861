"""The decoder's sampling loop in worked values (issue 31: mutation testing of wavbrivl/generation/sample.py), on a
tiny random decoder with a stand-in VQGAN (its decode is the identity on three latent channels) and a stand-in image
tower (a fixed linear map), so every number can be checked by hand. Whether a trained decoder draws what a sound
means is judged by pixels in tests/frontend/test_app_volume.py and tests/toyworld/test_toyworld.py."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.helpers.sampling import DIM, StandInTower, StandInVQGAN
from wavbrivl.configs import EmbeddingDecoderConfig
from wavbrivl.generation.config import GenerationConfig
from wavbrivl.generation.sample import (
    guidance_weights,
    latents_to_pixels,
    sample_images,
    step_report,
    weighted_targets,
)
from wavbrivl.models import EmbeddingDecoder


@pytest.fixture(scope="module")
def decoder() -> EmbeddingDecoder:
    torch.manual_seed(0)
    config = EmbeddingDecoderConfig(embed_dim=DIM, latent_channels=4, latent_size=8, block_out_channels=[16, 32])
    model = EmbeddingDecoder(config).eval()
    model.latent_mean.copy_(torch.tensor([0.1, -0.2, 0.0, 0.3]))
    model.latent_std.copy_(torch.tensor([0.5, 2.0, 1.0, 1.5]))
    return model


def targets(batch: int = 2) -> torch.Tensor:
    return F.normalize(torch.randn(batch, DIM, generator=torch.Generator().manual_seed(3)), dim=-1)


def run(decoder, config, target=None, **kwargs) -> list:
    return list(sample_images(StandInVQGAN(), decoder, StandInTower(), targets() if target is None else target,
                              config, **kwargs))  # fmt: skip


CONFIG = GenerationConfig(method="decoder", sample_steps=3, guidance_scale=4.0, seed=11)


def test_weights_in_worked_values():
    assert guidance_weights(torch.tensor([0.5, -1.0])).tolist() == [1.0, -2.0]
    assert guidance_weights(torch.tensor([4.0])).tolist() == [1.0]
    assert guidance_weights(torch.tensor([-2.0, -2.0])).tolist() == [-0.5, -0.5]


def test_targets_become_unit_prompts_with_their_weights():
    flat, weights = weighted_targets(torch.tensor([[3.0, 4.0]], dtype=torch.float64), None)
    assert flat.shape == (1, 1, 2) and flat.dtype == torch.float32 and weights.tolist() == [1.0]
    torch.testing.assert_close(flat[0, 0], torch.tensor([0.6, 0.8]))
    several, weights = weighted_targets(torch.ones(2, 3, 4), torch.tensor([1, 2, -1], dtype=torch.int64))
    assert several.shape == (2, 3, 4) and weights.dtype == torch.float32 and weights.tolist() == [1.0, 2.0, -1.0]
    torch.testing.assert_close(several, torch.full((2, 3, 4), 0.5))  # each prompt to unit length, not across them
    with pytest.raises(ValueError) as wrong:
        weighted_targets(torch.ones(2, 3, 4), torch.ones(2))
    assert str(wrong.value) == "weights must have shape (3,), got (2,)"


def test_latents_become_pixels_from_zero_to_one(decoder):
    vqgan = StandInVQGAN()
    latents = torch.tensor([-3.0, -1.0, 0.0, 0.5, 1.0, 3.0]).view(1, 1, 1, 6).expand(1, 4, 8, 6)
    pixels = latents_to_pixels(vqgan, decoder, decoder.standardise(latents))
    torch.testing.assert_close(pixels[0, :, 0], torch.tensor([0.0, 0.0, 0.5, 0.75, 1.0, 1.0]).expand(3, 6))
    torch.testing.assert_close(vqgan.quantized[0], latents)  # the codes are looked up in the VQGAN's own space


def test_a_step_reports_the_towers_cosine_and_the_weighted_loss():
    tower = StandInTower()
    pixels = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    own = F.normalize(tower.encode_pixels(pixels), dim=-1)
    both = torch.stack([own, -own], dim=1)  # the picture's own embedding, and its opposite
    report = step_report(tower, both, torch.tensor([1.0, 0.5]), 4, 9, pixels * 1.5 - 0.25, final=True)
    shown = (pixels * 1.5 - 0.25).clamp(0, 1)
    torch.testing.assert_close(report.pixels, shown)
    expected = F.normalize(tower.encode_pixels(shown), dim=-1)
    assert report.similarity == pytest.approx([float((expected * own).sum())], abs=1e-6)
    exact = step_report(tower, both, torch.tensor([1.0, 0.5]), 4, 9, pixels)
    assert exact.similarity == pytest.approx([1.0], abs=1e-5)
    assert exact.loss == pytest.approx([0.5 * math.pi**2 / 2], abs=1e-4)  # 0 to itself, 2 (pi/2)^2 to its opposite
    assert (report.step, report.total, report.final, exact.final) == (4, 9, True, False)


def test_each_sampling_step_then_the_final_picture(decoder):
    steps = run(decoder, CONFIG)
    assert [s.step for s in steps] == [0, 1, 2, 3] and [s.final for s in steps] == [False, False, False, True]
    assert all(s.total == 3 and s.pixels.shape == (2, 3, 8, 8) for s in steps)
    assert all(float(s.pixels.min()) >= 0 and float(s.pixels.max()) <= 1 for s in steps)
    assert not torch.equal(steps[0].pixels, steps[-1].pixels)


def test_one_seed_one_picture_whatever_the_global_generator(decoder):
    torch.manual_seed(1)
    first = run(decoder, CONFIG)[-1].pixels
    torch.manual_seed(2)
    again = run(decoder, CONFIG)[-1].pixels
    other = run(decoder, GenerationConfig(method="decoder", sample_steps=3, guidance_scale=4.0, seed=12))[-1].pixels
    assert torch.equal(first, again) and not torch.allclose(first, other, atol=1e-3)


def test_the_guidance_scale_and_the_prompts_matter(decoder):
    plain = run(decoder, CONFIG)[-1].pixels
    unguided = run(decoder, GenerationConfig(method="decoder", sample_steps=3, guidance_scale=1.0, seed=11))[-1].pixels
    assert not torch.allclose(plain, unguided, atol=1e-3)
    other = run(decoder, CONFIG, target=-targets())[-1].pixels
    assert not torch.allclose(plain, other, atol=1e-3)
    as_prompts = run(decoder, CONFIG, target=targets()[:, None], weights=torch.ones(1))[-1].pixels
    torch.testing.assert_close(as_prompts, plain)  # (B, D) is one prompt of weight 1 per picture
    weighted = run(decoder, CONFIG, target=torch.stack([targets(), -targets()], 1), weights=torch.tensor([1.0, -1.0]))
    assert not torch.allclose(weighted[-1].pixels, plain, atol=1e-3)  # the negative prompt is not dropped


def test_stop_after_the_first_step_still_gives_a_final_picture(decoder):
    calls = []
    steps = run(decoder, CONFIG, should_stop=lambda: calls.append(1) or True)
    assert [s.step for s in steps] == [0, 1] and steps[-1].final and len(calls) == 1
    never = run(decoder, CONFIG, should_stop=lambda: False)
    assert len(never) == 4
    torch.testing.assert_close(never[-1].pixels, run(decoder, CONFIG)[-1].pixels)
