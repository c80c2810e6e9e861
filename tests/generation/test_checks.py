"""Every bad generation setting gets one sentence, the same from Python, from the CLI (exit 2, one line) and from
the app (its field's check, as a request through the API meets it)."""

from __future__ import annotations

import gradio as gr
import pytest

from wavbrivl.cli import main
from wavbrivl.errors import InputError

# (GenerationConfig field, CLI flag, the app's field label, a value every front end refuses)
CASES = [
    ("steps", "--steps", "Steps", 0),
    ("steps", "--steps", "Steps", 5000),
    ("size", "--size", "Size (px)", 4),
    ("size", "--size", "Size (px)", 5000),
    ("cutn", "--cutn", "Cutouts", 0),
    ("cutn", "--cutn", "Cutouts", 100),
    ("lr", "--lr", "Learning rate", 0.0),
    ("lr", "--lr", "Learning rate", -1.0),
    ("lr", "--lr", "Learning rate", 50.0),
    ("sample_steps", "--sample-steps", "Sampling steps", 0),
    ("sample_steps", "--sample-steps", "Sampling steps", 5000),
    ("guidance_scale", "--guidance", "Guidance", -1.0),
    ("guidance_scale", "--guidance", "Guidance", 60.0),
    ("noise_level", "--noise-level", "Noise level (unCLIP)", -1),
    ("noise_level", "--noise-level", "Noise level (unCLIP)", 1000),
    ("seed", "--seed", "Seed (-1: random)", -2),
    ("seed", "--seed", "Seed (-1: random)", 2**32),
]


@pytest.fixture(scope="module")
def fields(tiny_pipeline):
    """The app's input fields by label (built over the tiny set; nothing is served)."""
    import app

    demo = app.build_app(tiny_pipeline)
    found: dict[str, gr.components.Component] = {}
    for block in demo.blocks.values():
        label = getattr(block, "label", None)
        if isinstance(block, (gr.Number, gr.Slider)) and label:
            found.setdefault(label, block)
    return found


def app_message(field: gr.components.Component, value) -> str:
    """What the app answers when this value reaches the field (its preprocessing, which every request passes)."""
    with pytest.raises(gr.Error) as refused:
        field.preprocess(value)
    return refused.value.message


def cli_message(args: list[str], capsys) -> str:
    """The CLI's one error line on stderr for these arguments (besides its warnings about the tiny set's untrained
    weights), after checking it exits 2 without a traceback."""
    assert main(args) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("WARNING: ")]
    assert len(lines) == 1 and "Traceback" not in lines[0]
    return lines[0]


@pytest.mark.parametrize("key, flag, label, value", CASES, ids=[f"{c[0]}={c[3]}" for c in CASES])
def test_a_bad_setting_reads_the_same_in_python_the_cli_and_the_app(
    tiny_pipeline, fields, wav_file, tmp_path, capsys, key, flag, label, value
):
    with pytest.raises(InputError) as python:
        tiny_pipeline.check_inputs(tiny_pipeline.generation_config(**{key: value}))
    said = str(python.value)
    args = ["generate", "--preset", "tiny-random", "--audio", str(wav_file), flag, str(value), "--out", str(tmp_path)]
    assert cli_message(args, capsys) == f"error: {said}"
    assert app_message(fields[label], value) == said


@pytest.mark.parametrize("volume", [200, -500])
def test_a_bad_volume_reads_the_same_in_python_the_cli_and_the_app(
    tiny_pipeline, fields, wav_file, tmp_path, capsys, volume
):
    with pytest.raises(InputError) as python:
        tiny_pipeline.embed_audio(str(wav_file), volume)
    said = str(python.value)
    args = [
        "generate",
        "--preset",
        "tiny-random",
        "--audio",
        str(wav_file),
        "--volume",
        str(volume),
        "--out",
        str(tmp_path),
    ]
    assert cli_message(args, capsys) == f"error: {said}"
    assert app_message(fields["Volume (dB)"], volume) == said


def test_the_app_says_its_own_narrower_limits_as_its_own(fields):
    """A value the library takes but this app does not serve per request is refused as the app's limit."""
    assert app_message(fields["Steps"], 500) == (
        "Steps: 500 is beyond this app's limit per request; give a number from 1 to 300"
    )


@pytest.mark.parametrize("value", [-0.5, 500.0, float("nan")])
def test_a_bad_total_variation_weight_reads_the_same_in_python_and_the_cli(
    tiny_pipeline, wav_file, tmp_path, capsys, value
):
    """The optimisation's total-variation weight (a CLI flag and the set's default; the app uses the set's)."""
    with pytest.raises(InputError) as python:
        tiny_pipeline.check_inputs(tiny_pipeline.generation_config(tv_weight=value))
    said = str(python.value)
    assert said.startswith("the total-variation weight must be a number from 0 to 100; got")
    args = ["generate", "--preset", "tiny-random", "--audio", str(wav_file), "--tv-weight", str(value)]
    assert cli_message([*args, "--out", str(tmp_path)], capsys) == f"error: {said}"
