"""Blends: the slerp path, requests built from embeddings, and on the offline default (world sounds of two classes at
mid level) the pictures judged by the pixel judge: ends right, one object all the way, the colour changing once."""

from __future__ import annotations

import colorsys
import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from wavbrivl.blend import (
    blend,
    blend_picture,
    blend_positions,
    embedding_request,
    image_end,
    slerp,
    sound_end,
    text_end,
)
from wavbrivl.cli import main
from wavbrivl.errors import InputError
from wavbrivl.film import read_film
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB, class_sounds, grade
from wavbrivl.toyworld.judge import foreground, judge
from wavbrivl.toyworld.world import ToyWorld


def test_slerp_walks_the_great_circle_at_constant_speed():
    a, b = torch.nn.functional.normalize(torch.randn(2, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    omega = math.acos(float(a @ b))
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-6) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    for t in (0.1, 0.25, 0.5, 0.9):
        point = slerp(a, b, t)
        assert float(point.norm()) == pytest.approx(1.0, abs=1e-6)
        assert math.acos(min(1.0, float(point @ a))) == pytest.approx(t * omega, abs=1e-4)
        assert math.acos(min(1.0, float(point @ b))) == pytest.approx((1 - t) * omega, abs=1e-4)
    assert torch.allclose(slerp(a, 3 * a, 0.5), a)  # one direction: the point itself
    with pytest.raises(InputError, match="opposite"):
        slerp(a, -a, 0.5)


def test_positions_and_requests_are_checked(toy_pipeline):
    assert blend_positions(5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    for bad in (1, 65, 2.5, True):
        with pytest.raises(InputError, match="from 2 to 64"):
            blend_positions(bad)
    dim = toy_pipeline.image_tower.embed_dim
    request = embedding_request(toy_pipeline, torch.ones(dim), toy_pipeline.generation_config(seed=-1))
    assert request.targets.shape == (1, 1, dim) and request.weights.tolist() == [1.0] and request.config.seed >= 0
    assert embedding_request(toy_pipeline, torch.ones(3, dim)).pictures == 3
    with pytest.raises(InputError, match="embedding size"):
        embedding_request(toy_pipeline, torch.ones(dim + 1))
    with pytest.raises(InputError, match="weights"):
        embedding_request(toy_pipeline, torch.ones(1, 2, dim), weights=torch.ones(3))
    with pytest.raises(InputError, match="sampling steps"):
        embedding_request(toy_pipeline, torch.ones(dim), toy_pipeline.generation_config(sample_steps=0))


def _hue(picture) -> float:
    """The hue (degrees) of a picture's foreground, by its median colour."""
    pixels = np.asarray(picture, dtype=np.float32) / 255
    return colorsys.rgb_to_hsv(*np.median(pixels[foreground(pixels)], axis=0))[0] * 360


def _never_goes_back(sequence: list) -> bool:
    """Whether every value of the sequence comes in one run: once it changes, it never comes back."""
    runs = [v for k, v in enumerate(sequence) if k == 0 or v != sequence[k - 1]]
    return len(runs) == len(set(runs))


@pytest.fixture(scope="module")
def sounds():
    return class_sounds(777, MID_LEVEL_DB)


@pytest.mark.slow  # two blends of 8 pictures: over 5 s on 2 cores
@pytest.mark.parametrize("first, second", [(0, 4), (2, 6)])
def test_a_blend_of_two_classes_is_judged_right_at_both_ends_and_one_object_between(
    toy_pipeline, sounds, first, second
):
    a, b = sound_end(toy_pipeline, sounds[first]), sound_end(toy_pipeline, sounds[second])
    done = blend(toy_pipeline, a, b, 8, toy_pipeline.generation_config(method="decoder", seed=0))
    verdicts = [judge(p) for p in done.pictures]
    assert all(grade(done.pictures[0], first)[:3]) and all(grade(done.pictures[-1], second)[:3])
    assert all(v.one_object for v in verdicts), [v.largest_share for v in verdicts]
    assert _never_goes_back([v.colour for v in verdicts]), [v.colour for v in verdicts]
    hues = np.unwrap(np.radians([_hue(p) for p in done.pictures]))
    steps = np.diff(hues)
    assert (steps >= -np.radians(6)).all() or (steps <= np.radians(6)).all(), np.degrees(hues)  # one way
    assert done.ends[0][0] > done.ends[0][1] and done.ends[-1][1] > done.ends[-1][0]
    # one seed for every picture: the start is the sound's own picture, and a slider position repeats its picture
    # (the strip is one batch of 8, these are batches of 1: convolutions round a level apart here and there)
    own = toy_pipeline.generate_final(sounds[first], 0.0, done.config).images[0]
    again = blend_picture(toy_pipeline, a, b, done.positions[3], done.config).images[0]
    for picture, strip in ((own, done.pictures[0]), (again, done.pictures[3])):
        apart = np.abs(np.asarray(picture, np.int16) - np.asarray(strip, np.int16))
        assert apart.max() <= 2 and (apart.max(-1) > 0).mean() < 0.01, (apart.max(), (apart.max(-1) > 0).sum())


def test_a_sound_blends_with_a_text_or_a_picture(toy_pipeline, sounds):
    config = toy_pipeline.generation_config(method="decoder", seed=0)
    sound = sound_end(toy_pipeline, sounds[3])
    text = text_end(toy_pipeline, "a yellow bar")
    picture = image_end(toy_pipeline, ToyWorld(4242).example(0, label=4, level_db=MID_LEVEL_DB).image)
    assert (text.kind, picture.kind, picture.label) == ("text", "image", "image")
    for end, label in ((text, 6), (picture, 4)):
        done = blend(toy_pipeline, sound, end, 2, config)
        assert all(grade(done.pictures[0], 3)[:3]) and all(grade(done.pictures[1], label)[:3]), end.label
    with pytest.raises(InputError, match="empty"):
        text_end(toy_pipeline, "  ")


def test_the_blend_command_writes_pictures_a_strip_json_and_a_film(tmp_path, sounds, capsys):
    for name, (rate, wave) in (("a.wav", sounds[3]), ("b.wav", sounds[6])):
        sf.write(tmp_path / name, wave, rate)
    out, film = tmp_path / "blend", tmp_path / "blend.mp4"
    args = ["blend", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "--steps", "3", "--sample-steps", "4"]
    assert main([*args, "--out", str(out), "--film", str(film)]) == 0
    facts = json.loads((out / "blend.json").read_text())
    assert [p["t"] for p in facts["pictures"]] == [0.0, 0.5, 1.0] and facts["seed"] == 0
    assert [e["kind"] for e in facts["ends"]] == ["sound", "sound"] and facts["film"]["frames"] == 3
    assert all((out / f"blend_{k:02d}.png").is_file() for k in range(3)) and (out / "strip.png").is_file()
    assert len(read_film(film)) == 3
    assert main(["blend", str(tmp_path / "a.wav"), "--out", str(out)]) == 2
    assert "two ends" in capsys.readouterr().err
    assert main([*args, "--text", "a red cross", "--out", str(out)]) == 2
    assert main([*args, "--out", str(out), "--film", str(tmp_path / "b.avi")]) == 2


def test_a_sound_the_set_does_not_know_is_said_first(toy_pipeline, sounds):
    from tests.helpers.audio import tone

    assert "unlike any of the 8 sounds" in sound_end(toy_pipeline, (16000, tone())).notes[0]
    assert sound_end(toy_pipeline, sounds[0]).notes == ()
