"""The synthetic world, the shipped offline model set (acceptance bars), and a shortened build that must learn."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from wavbrivl import WavBriVLPipeline
from wavbrivl.errors import WeightsError
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.metrics import retrieval_metrics
from wavbrivl.toyworld import CLASSES, ToyWorld
from wavbrivl.toyworld.build import ToyBuildConfig, build_toyworld
from wavbrivl.toyworld.classifier import classify
from wavbrivl.toyworld.evaluate import (
    JUDGE_WORLD,
    evaluate_text,
    evaluate_toyworld,
    judge_class_pictures,
    judge_generations,
    judge_volume_study,
    spearman,
)
from wavbrivl.toyworld.judge import class_colour_index, foreground, judge
from wavbrivl.toyworld.rings import RING_THRESHOLD
from wavbrivl.toyworld.world import level_to_size


def test_world_is_deterministic_and_structured():
    a, b = ToyWorld(3).example(5), ToyWorld(3).example(5)
    assert np.array_equal(a.audio, b.audio) and np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert len(CLASSES) >= 8 and len({(c.colour, c.shape) for c in CLASSES}) == len(CLASSES)
    assert len({(c.pitch_hz, c.timbre) for c in CLASSES}) == len(CLASSES)
    for a in CLASSES:  # pitch names the shape and timbre the colour, as the world says
        for b in CLASSES:
            assert (a.pitch_hz == b.pitch_hz) == (a.shape == b.shape)
            assert (a.timbre == b.timbre) == (a.colour == b.colour)
    quiet, loud = ToyWorld(0).example(1, label=2, level_db=-28), ToyWorld(0).example(1, label=2, level_db=-6)
    assert np.abs(loud.audio).max() > 10 * np.abs(quiet.audio).max()
    area = [judge(e.image).object_area for e in (quiet, loud)]
    assert area[1] > 3 * area[0] and level_to_size(-6) > level_to_size(-28)


def test_metric_helpers_on_hand_computed_cases():
    assert spearman(np.array([1, 2, 3, 4]), np.array([10, 20, 15, 40])) == pytest.approx(0.8)
    assert spearman(np.array([1, 2, 3]), np.array([5, 5, 5])) == 0.0  # no order at all is no correlation
    audio = torch.eye(3)
    image = torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]])
    m = retrieval_metrics(audio, image)
    # rows 0 and 1: one image above the truth and one tied with it; ties count against the truth -> rank 3
    assert m["a2i_r1"] == pytest.approx(1 / 3) and m["a2i_mrr"] == pytest.approx((1 / 3 + 1 / 3 + 1) / 3)


@pytest.fixture(scope="module")
def shipped():
    if not (TOYWORLD_DIR / "model_index.json").is_file():
        pytest.fail(f"the offline default model set is missing at {TOYWORLD_DIR}")
    return WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu")


def test_shipped_set_is_small_trained_and_default(shipped):
    size = sum(p.stat().st_size for p in TOYWORLD_DIR.rglob("*.safetensors"))
    assert size <= 20 * 2**20
    assert shipped.untrained == [] and shipped.preset == "toyworld"
    assert WavBriVLPipeline.from_preset(device="cpu").preset == "toyworld"


# Issue 16's bars for the set's decoder: class (colour and shape) and one object in >= 0.95 of the pictures, mean
# silhouette IoU >= 0.8, and in the volume study (-12 .. +12 dB) a larger object for every louder sound of every class
# and the class right at every volume.
DECODER_BARS = {
    "judge_all_three_rate": 0.95,
    "judge_one_object_rate": 0.95,
    "judge_shape_iou_mean": 0.8,
    "cnn_class_rate": 0.95,
    "volume_area_spearman_min_class": 0.9,
    "volume_study_class_rate_min_volume": 0.9,
}


def assert_no_ring(metrics: dict, prefix: str = "") -> None:
    """Issue 30's bar: no judged picture (class pictures, volume study) carries the droplet's dark ring."""
    for key in ("ring_score_max", "volume_study_ring_score_max"):
        assert metrics[prefix + key] < RING_THRESHOLD, (key, metrics[prefix + key])


@pytest.mark.slow
def test_shipped_decoder_meets_its_bars(shipped):
    """The decoder's pictures judged: every class x seeds 0-2, and the volume study with seeds 0-2.

    Issue 16's bar is read by the second judge too: the class right in >= 0.9 of the study's pictures at every
    volume. The quietest volume's small crosses once came out as four-pointed stars (the VQGAN's decoder drew them
    so even from a world picture's own codes) until that decoder was trained further on small shapes."""
    metrics = judge_generations(shipped, config=shipped.generation_config(method="decoder"), study_seeds=(0, 1, 2))
    print(metrics)
    for key, bar in DECODER_BARS.items():
        assert metrics[key] >= bar, (key, metrics[key])
    assert metrics["volume_study_cnn_class_rate_min_volume"] >= 0.9
    assert_no_ring(metrics)


@pytest.mark.slow
@pytest.mark.parametrize("world", [777, 778], ids=["judged-world", "acceptance-world"])
def test_shipped_student_meets_the_decoder_bars(shipped, world):
    """Issue 30's bar for the 1-2-step decoder: the 2-step student (the Live tab's) meets every judged bar of the
    decoder on both worlds' sounds (every class x seeds 0-2, the volume study with seeds 0-2), both judges."""
    config = shipped.generation_config(method="decoder", sample_steps=2)
    assert shipped.decoder.sampler_for(config.sample_steps) is shipped.decoder.student
    metrics = judge_generations(shipped, world, config=config, study_seeds=(0, 1, 2))
    print(metrics)
    for key, bar in DECODER_BARS.items():
        assert metrics[key] >= bar, (key, metrics[key])
    assert metrics["volume_study_cnn_class_rate_min_volume"] >= 0.9
    assert_no_ring(metrics)


def test_shipped_decoder_varies_with_the_seed_and_repeats_with_it(shipped):
    clip = [(16000, ToyWorld(777).example(0, label=3, level_db=-17).audio)]
    config = shipped.generation_config(method="decoder")
    pictures = [shipped.generate_final(clip, 0.0, replace(config, seed=seed)).pixels[0] for seed in (0, 1, 2, 0)]
    assert torch.equal(pictures[0], pictures[3])  # one seed, one picture
    centres = []
    for picture in pictures[:3]:
        ys, xs = np.nonzero(foreground(picture.permute(1, 2, 0).numpy()))
        centres.append((xs.mean(), ys.mean()))
    moved = [np.hypot(a[0] - b[0], a[1] - b[1]) for a, b in zip(centres, centres[1:] + centres[:1])]
    assert min(moved) >= 2.0, centres  # another seed puts the object elsewhere (pixels, 64 px pictures)
    assert all(judge(p).shape == "circle" and judge(p).colour == class_colour_index(3) for p in pictures)


@pytest.mark.slow
def test_text_prompts_through_the_decoder(shipped):
    config = shipped.generation_config(method="decoder")
    areas = {}
    for word in ("small", "large"):
        pictures = [
            shipped.generate_final(None, prompts=f"a {word} {c.name}", config=config).pixels[0] for c in CLASSES
        ]
        verdicts = [judge(p) for p in pictures]
        right = [
            v.shape == c.shape and v.colour == class_colour_index(i) for i, (v, c) in enumerate(zip(verdicts, CLASSES))
        ]
        assert np.mean(right) >= 0.95, (word, right)
        assert (classify(torch.stack(pictures)) == torch.arange(len(CLASSES))).float().mean() >= 0.95
        areas[word] = [v.object_area for v in verdicts]
    assert all(large > small for large, small in zip(areas["large"], areas["small"])), areas


def test_a_set_without_a_decoder_refuses_the_decoder_method(shipped, tmp_path):
    shipped.save_pretrained(tmp_path / "set")
    shutil.rmtree(tmp_path / "set" / "decoder")
    pipe = WavBriVLPipeline.from_pretrained(tmp_path / "set", device="cpu")
    assert pipe.decoder is None and pipe.generation_config().method == "vqgan"  # the set's default falls back
    with pytest.raises(WeightsError, match="no decoder.*'vqgan'"):
        pipe.generate_final(None, prompts="a red circle", config=pipe.generation_config(method="decoder"))


ACCEPTANCE_WORLD = 4242  # examples the build never saw
ACCEPTANCE_SEED = 1  # evaluate_toyworld judges generations from the world seed ACCEPTANCE_SEED + JUDGE_WORLD


@pytest.mark.slow
def test_shipped_set_meets_its_acceptance_bars(shipped):
    world = ToyWorld(ACCEPTANCE_WORLD)
    metrics = evaluate_toyworld(
        shipped, world.examples(0, 400), world.examples(10_000, 200), seed=ACCEPTANCE_SEED, methods=("decoder",)
    )
    print(metrics)
    assert metrics["image_class_accuracy"] >= 0.95
    assert metrics["image_size_correlation"] >= 0.9
    assert metrics["vqgan_psnr_db"] >= 25.0
    assert metrics["audio_to_image_class_r1"] >= 0.9
    for key, bar in DECODER_BARS.items():  # the decoder meets its bars on another world's sounds too
        assert metrics[f"decoder_{key}"] >= bar, (key, metrics[f"decoder_{key}"])
    assert_no_ring(metrics, "decoder_")
    text = evaluate_text(shipped, world.examples(20_000, 200))
    print(text)
    assert text["zero_shot_audio_class_accuracy"] >= 0.8  # chance 1/8
    assert text["text_to_image_class_r1"] >= 0.9
    assert text["size_word_spearman"] >= 0.8  # "a large X" prefers bigger shapes than "a small X"


# The optimisation's generations, as evaluate_toyworld judges them, at the set's (the app's) settings, graded by the
# pixel judge and the CNN judge that no tower guided (tests/toyworld/test_judge.py calibrates both). They are the
# acceptance run's costliest part, so they are tests of their own that parallel runs (pytest -n) spread.
@pytest.mark.slow
def test_shipped_vqgan_pictures_keep_their_bars(shipped):
    config = shipped.generation_config(method="vqgan")
    metrics = judge_class_pictures(shipped, ACCEPTANCE_SEED + JUDGE_WORLD, config=config)  # every class x seeds 0-2
    print(metrics)
    assert metrics["judge_colour_rate"] >= 0.9
    assert metrics["judge_one_object_rate"] >= 0.75
    assert metrics["judge_all_three_rate"] >= 0.7  # colour and shape: the class a person would name
    # The optimisation's own dark specks and rims (ring_score >= 3): about half its pictures before the set's
    # total-variation weight, 1 of these 24 with it. A guard against their return, not issue 30's bar of none,
    # which the decoder meets (test_shipped_decoder_meets_its_bars) and the optimisation does not yet.
    assert config.tv_weight > 0 and metrics["ring_rate"] <= 0.1, (config.tv_weight, metrics["ring_rate"])


@pytest.mark.slow
@pytest.mark.parametrize("label", range(len(CLASSES)), ids=[c.name.replace(" ", "-") for c in CLASSES])
def test_shipped_vqgan_draws_louder_sounds_bigger(shipped, label):
    """The volume study's bar, class by class (it is a minimum over classes): louder sound, bigger object."""
    config = shipped.generation_config(method="vqgan")
    metrics = judge_volume_study(shipped, ACCEPTANCE_SEED + JUDGE_WORLD, config=config, classes=(label,))
    print(metrics)
    assert metrics["volume_area_spearman_min_class"] >= 0.8


@pytest.mark.slow
def test_shortened_build_learns(tmp_path):
    config = ToyBuildConfig.quick(str(tmp_path / "toy"))  # bounded work (steps and examples), never seconds
    result = build_toyworld(config, log=lambda _: None)
    assert (
        result["training"]["step"] == config.audio_steps and result["decoder_training"]["step"] == config.decoder_steps
    )
    pipe = WavBriVLPipeline.from_pretrained(tmp_path / "toy", device="cpu")
    held_out = ToyWorld(99).examples(0, 96)
    audio = pipe.embed_audio([(16000, e.audio) for e in held_out]).embeddings
    with torch.no_grad():
        images = pipe.image_tower.encode_pixels(pipe.image_tower.preprocess([e.image for e in held_out]))
    labels = torch.tensor([e.label for e in held_out])
    assert retrieval_metrics(audio, images, labels)["a2i_r1"] >= 0.5  # chance is 1/8
    assert pipe.text_tower is not None
    zero_shot = torch.tensor(pipe.zero_shot(audio, [c.name for c in CLASSES]).predictions)
    assert (zero_shot == labels).float().mean() >= 0.4  # the 60-step text tower has to learn too
    assert pipe.decoder is not None and pipe.generation_config().method == "decoder"
    final = pipe.generate_final([(16000, e.audio) for e in held_out[:4]], 0.0, pipe.generation_config())
    assert final.pixels.shape[0] == 4  # the quick build's decoder is in the set and draws one picture per sound
    assert result["decoder_student"]["step"] == config.distill_steps and pipe.decoder.student is not None
    assert pipe.decoder.sampler_for(2) is pipe.decoder.student and pipe.decoder.sampler_for(10) is None
