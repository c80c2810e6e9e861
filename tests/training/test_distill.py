"""Distilling the decoder's guided sampler into a 1-2-step student: it lands nearer the teacher's pictures in one
step than the teacher itself does, it travels inside the decoder component, and the sampler uses it only at the
steps it was distilled for (the full sampler stays at more steps). Whether the toy set's student draws the right
pictures is judged by pixels in tests/toyworld and bench/bench_decoder.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from tests.helpers.sampling import DIM, StandInTower, StandInVQGAN
from wavbrivl.configs import EmbeddingDecoderConfig
from wavbrivl.generation.config import GenerationConfig
from wavbrivl.generation.sample import guided_velocity, sample_images, student_notes
from wavbrivl.loading.folders import load_component, save_component
from wavbrivl.models import EmbeddingDecoder
from wavbrivl.training.distill import DistillConfig, distill_decoder, student_sigmas, teacher_pairs, with_student


def _teacher(curve: float = 1.0) -> EmbeddingDecoder:
    """A random decoder; curve scales its velocity, so that its paths bend and one Euler step misses their end."""
    torch.manual_seed(0)
    config = EmbeddingDecoderConfig(embed_dim=DIM, latent_channels=4, latent_size=8, block_out_channels=[16, 32])
    model = EmbeddingDecoder(config).eval()
    with torch.no_grad():
        model.unet.conv_out.weight.mul_(curve)
        model.unet.conv_out.bias.mul_(curve)
    return model


CONFIG = DistillConfig(student_steps=1, teacher_steps=6, guidance=3.0, pairs=64, pair_batch=32, steps=60,
                       batch_size=32, lr=2e-3, warmup=10, ema_decay=0.9, log_every=20)  # fmt: skip


@pytest.fixture(scope="module")
def distilled() -> tuple[EmbeddingDecoder, EmbeddingDecoder, torch.Tensor, list[dict]]:
    teacher = _teacher(curve=10.0)
    conditions = F.normalize(torch.randn(8, DIM, generator=torch.Generator().manual_seed(1)), dim=-1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a UNet this small runs many times faster on one thread of a busy machine
    try:
        combined, rows = distill_decoder(teacher, conditions, CONFIG, log=lambda _: None)
    finally:
        torch.set_num_threads(threads)
    return teacher, combined, conditions, rows


def _one_step(net: EmbeddingDecoder, noise: torch.Tensor, cond: torch.Tensor, scale: float) -> torch.Tensor:
    return noise - guided_velocity(net, noise, 1.0, cond[:, None], torch.ones(1), scale)


def test_the_student_lands_nearer_the_teachers_pictures_in_one_step_than_the_teacher(distilled):
    teacher, combined, conditions, rows = distilled
    cond = conditions[torch.arange(CONFIG.pairs) % len(conditions)]
    errors = {}
    for seed in (CONFIG.seed, 7):  # the noise it was trained on, and new noise
        noise, target = teacher_pairs(teacher, cond, replace(CONFIG, seed=seed), log=lambda _: None)
        errors[seed] = [
            float((_one_step(net, noise, cond, scale) - target).pow(2).mean())
            for net, scale in ((combined.student, 1.0), (teacher, CONFIG.guidance))
        ]
    assert errors[CONFIG.seed][0] < 0.25 * errors[CONFIG.seed][1]
    assert errors[7][0] < 0.8 * errors[7][1]
    assert rows[-1]["loss"] < rows[0]["loss"] and [r["step"] for r in rows] == [20, 40, 60]


def test_the_student_travels_in_the_decoder_component(distilled, tmp_path):
    teacher, combined, _, _ = distilled
    save_component(combined, tmp_path / "decoder")
    loaded = load_component(tmp_path / "decoder")
    assert loaded.config.distilled_steps == 1 and loaded.config.distilled_guidance == CONFIG.guidance
    for name, value in combined.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)
    for name, value in teacher.state_dict().items():  # the teacher's own weights are kept as they were
        torch.testing.assert_close(loaded.state_dict()[name], value)
    assert loaded.sampler_for(1) is loaded.student and loaded.sampler_for(2) is None
    assert teacher.sampler_for(1) is None and teacher.student is None


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_the_sampler_uses_the_student_only_at_its_steps(distilled, steps):
    _, combined, conditions, _ = distilled
    combined = load_component_copy(combined, distilled_steps=2)
    calls = {"teacher": 0, "student": 0}
    hooks = [
        combined.unet.register_forward_hook(lambda *_: calls.__setitem__("teacher", calls["teacher"] + 1)),
        combined.student.unet.register_forward_hook(lambda *_: calls.__setitem__("student", calls["student"] + 1)),
    ]
    config = GenerationConfig(method="decoder", sample_steps=steps, guidance_scale=4.0, seed=3)
    stream = list(sample_images(StandInVQGAN(), combined, StandInTower(), conditions[:2], config))
    for hook in hooks:
        hook.remove()
    assert [s.step for s in stream] == [*range(steps), steps] and [s.final for s in stream][-2:] == [False, True]
    torch.testing.assert_close(stream[-1].pixels, stream[-2].pixels)  # the last step lands where it headed
    distilled_run = steps <= 2
    assert calls == ({"teacher": 0, "student": steps} if distilled_run else {"teacher": steps, "student": 0})


def load_component_copy(decoder: EmbeddingDecoder, **config) -> EmbeddingDecoder:
    """The same decoder with its config changed (the student's steps), its weights kept."""
    copy_ = EmbeddingDecoder(replace(decoder.config, **config))
    copy_.load_state_dict(decoder.state_dict())
    return copy_.eval()


def test_training_noise_levels_sit_mostly_on_the_students_grid():
    sigma = student_sigmas(4000, 2, torch.Generator().manual_seed(0))
    on_grid = (sigma == 1.0) | (sigma == 0.5)
    assert 0.7 < float(on_grid.float().mean()) < 0.85 and float(sigma.min()) >= 0 and float(sigma.max()) <= 1
    assert abs(float((sigma == 1.0).float().mean()) - float((sigma == 0.5).float().mean())) < 0.05


def test_only_one_or_two_student_steps():
    with pytest.raises(ValueError, match="student_steps must be 1 or 2"):
        distill_decoder(_teacher(), torch.randn(4, DIM), replace(CONFIG, student_steps=3))
    with pytest.raises(ValueError, match="student_steps must be 1 or 2"):
        distill_decoder(_teacher(), torch.randn(4, DIM), replace(CONFIG, student_steps=0))


def test_with_student_keeps_the_teacher_and_records_the_distillation():
    teacher = _teacher()
    student = load_component_copy(teacher)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    combined = with_student(teacher, student, replace(CONFIG, student_steps=2, guidance=5.0))
    assert (combined.config.distilled_steps, combined.config.distilled_guidance) == (2, 5.0)
    torch.testing.assert_close(combined.student.null, teacher.null + 1.0)
    torch.testing.assert_close(combined.null, teacher.null)


def test_a_guidance_the_student_ignores_is_said(distilled):
    _, combined, _, _ = distilled  # a one-step student, distilled at guidance 3
    config = GenerationConfig(method="decoder", sample_steps=1, guidance_scale=6.0)
    (note,) = student_notes(combined, config, {"guidance_scale"})
    assert note == ("guidance_scale is built into the decoder's 1-step sampler (distilled at 3); ignored at 1 step(s): "
                    "2 or more sampling steps run the full guided sampler")  # fmt: skip
    assert student_notes(combined, config, set()) == []  # the set's own default: nothing to say
    assert student_notes(combined, replace(config, sample_steps=2), {"guidance_scale"}) == []  # the full sampler
    assert student_notes(combined, replace(config, method="vqgan"), {"guidance_scale"}) == []
    assert student_notes(_teacher(), config, {"guidance_scale"}) == [] and student_notes(None, config, set()) == []
