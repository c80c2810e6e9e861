"""Text features of the pipeline on the shipped toy set: text ranking, zero-shot, weighted prompts in generation."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.threads import TORCH_THREADS
from wavbrivl import WavBriVLPipeline
from wavbrivl.errors import InputError, WeightsError
from wavbrivl.generation import Prompt, parse_prompts
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.toyworld.classifier import load_judge
from wavbrivl.toyworld.judge import class_colour_index, judge
from wavbrivl.toyworld.world import CLASSES, ToyWorld
from wavbrivl.zero_shot import class_prompts, readable

NAMES = [c.name for c in CLASSES]


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(TORCH_THREADS)
    return WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu")


def test_prompt_notation():
    assert parse_prompts("a red circle:2 | blue triangle:-0.5|green") == [
        Prompt("a red circle", 2.0),
        Prompt("blue triangle", -0.5),
        Prompt("green", 1.0),
    ]
    assert parse_prompts(["time: noon"]) == [Prompt("time: noon", 1.0)]  # not a number: part of the text
    assert parse_prompts("a clock showing 12:30") == [Prompt("a clock showing 12:30", 1.0)]  # a time, not a weight
    with pytest.raises(InputError, match="weight 0"):
        parse_prompts("x:0")
    with pytest.raises(InputError, match="no text"):
        parse_prompts(":1")


def test_class_prompts_use_readable_names():
    assert readable("Alarm_bell_ringing") == "alarm bell ringing"
    expected = [["the sound of chirping birds", "chirping birds"]]
    assert class_prompts(["chirping_birds"], ["the sound of {}", "{}"]) == expected
    with pytest.raises(InputError, match="{}"):
        class_prompts(["dog"], ["no slot"])
    assert class_prompts(["dog"], ["{} in a {set} of sounds"]) == [["dog in a {set} of sounds"]]  # other braces kept


def test_zero_shot_classifies_unseen_sounds(toy):
    world = ToyWorld(4242)
    examples = world.examples(0, 80)
    result = toy.zero_shot([(16000, e.audio) for e in examples], NAMES, templates=("{}", "the sound of a {}"))
    accuracy = sum(p == e.label for p, e in zip(result.predictions, examples)) / len(examples)
    assert accuracy >= 0.8  # chance is 1/8
    assert result.top(0, 3)[0][0] == NAMES[result.predictions[0]]


def test_text_ranks_matching_pictures_first(toy):
    world = ToyWorld(99)
    pictures = [world.example(i, label=c).image for c in range(len(CLASSES)) for i in range(2)]
    result = toy.rank_text(NAMES, pictures)
    assert [i // 2 for i in result.order[:, 0].tolist()] == list(range(len(CLASSES)))


def _judged(pixels: torch.Tensor) -> tuple[str, int, int, float]:
    """What the two judges that guided nothing see in one picture: the pixel judge's shape and colour, the CNN
    judge's class and its probability of a red circle (never the image tower, whose score the optimisation raised)."""
    verdict = judge(pixels[0])
    with torch.no_grad():
        probabilities = load_judge()(pixels.float()).softmax(-1)[0]
    return verdict.shape, verdict.colour, int(probabilities.argmax()), float(probabilities[NAMES.index("red circle")])


@pytest.mark.slow
def test_text_only_generation_and_negative_prompts(toy):
    """The optimisation's negative prompts (the decoder's guidance arithmetic: tests/models/test_decoder.py)."""
    config = toy.generation_config(method="vqgan", steps=12, size=32, seed=1)
    toward = toy.generate_final(None, config=config, prompts="blue triangle")
    blue_triangle = NAMES.index("blue triangle")
    assert _judged(toward.pixels)[:3] == ("triangle", class_colour_index(blue_triangle), blue_triangle)
    sound = (16000, ToyWorld(5).example(0, label=0, level_db=-17).audio)  # a red circle's sound
    plain = toy.generate_final(sound, config=config)
    pushed = toy.generate_final(sound, config=config, prompts="red circle:-1")
    red = NAMES.index("red circle")
    shape, colour, cnn, red_circle = _judged(plain.pixels)
    assert (shape, colour, cnn) == ("circle", class_colour_index(red), red) and red_circle > 0.9
    shape, colour, cnn, pushed_red_circle = _judged(pushed.pixels)
    assert cnn != red and colour != class_colour_index(red)  # pushed away from a red circle, as a person sees it
    assert pushed_red_circle < red_circle - 0.5
    mixed = toy.generate_final(sound, [-6.0, 6.0], config=config, prompts=["red cross:0.5"])
    assert mixed.pixels.shape[0] == 2 and len(mixed.similarity) == 2


def test_generation_needs_something_and_text_needs_a_text_tower(toy, tiny_pipeline):
    with pytest.raises(InputError, match="nothing to generate"):
        toy.generate_final(None, config=toy.generation_config(steps=1, size=32))
    assert tiny_pipeline.text_tower is None
    with pytest.raises(WeightsError, match="no text tower"):
        tiny_pipeline.embed_text("a dog")


def test_text_tower_survives_save_and_load(tmp_path, toy):
    toy.save_pretrained(tmp_path / "set")
    again = WavBriVLPipeline.from_pretrained(tmp_path / "set", device="cpu")
    assert torch.allclose(again.embed_text(NAMES), toy.embed_text(NAMES), atol=1e-6)
    assert again.info()["components"]["text_tower"]["trained"]


def test_cli_text_commands(tmp_path, capsys):
    import json
    from pathlib import Path

    from wavbrivl.cli import main

    examples = Path(__file__).resolve().parents[1] / "assets" / "examples"
    sound = examples / "blue-triangle_-12dB.wav"
    assert main(["classify", "--audio", str(sound), "--classes", ",".join(NAMES), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["top"][0][0] == "blue triangle"
    assert main(["rank", "--text", "a large yellow triangle", "--images", str(examples / "gallery"), "--top", "1"]) == 0
    assert "yellow-triangle" in capsys.readouterr().out
    args = ["generate", "--prompt", "green bar|red circle:-0.5", "--steps", "2", "--size", "32", "--every", "0"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "text_final.png").is_file()
    assert main(["generate", "--steps", "2", "--out", str(tmp_path)]) == 2
    assert "nothing to generate from: give a sound, text prompts, or both" in capsys.readouterr().err  # as in Python
