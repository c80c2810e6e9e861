"""Presets are data: a JSON file adds one with no Python change; one precedence for every component."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers.audio import tone
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main
from wavbrivl.errors import WeightsError
from wavbrivl.loading import argument_choice, load_preset, preset_names
from wavbrivl.loading.presets import model_size


@pytest.fixture
def parts(tiny_pipeline, tmp_path):
    """Each component of the tiny set saved as its own folder, as a user's weights would be."""
    return tiny_pipeline.save_pretrained(tmp_path / "set")


def _write_preset(folder, name: str, **fields) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"description": f"{name}, written by a test", **fields}))


def test_a_preset_added_as_a_json_file_loads_through_the_api_and_the_cli(parts, tmp_path, monkeypatch, capsys):
    presets = tmp_path / "presets"
    _write_preset(
        presets,
        "mine",
        embed_dim=64,
        audio=str(parts / "audio_tower"),
        image=str(parts / "image_tower"),
        vqgan=str(parts / "vqgan"),
        generation={"steps": 3, "size": 32},
    )
    monkeypatch.setenv("WAVBRIVL_PRESETS", str(presets))
    assert "mine" in preset_names() and "brivl" in preset_names()
    pipe = WavBriVLPipeline.from_preset("mine", device="cpu")
    assert pipe.preset == "mine" and pipe.info()["description"] == "mine, written by a test"
    assert (pipe.generation_config().steps, pipe.generation_config().size) == (3, 32)
    reference = WavBriVLPipeline.from_pretrained(parts, device="cpu")
    sound = (16000, tone(440.0))
    assert torch.allclose(pipe.embed_audio(sound).embeddings, reference.embed_audio(sound).embeddings)
    main(["info", "--preset", "mine"])  # the CLI lists and loads it too
    assert "mine, written by a test" in capsys.readouterr().out


def test_argument_beats_variable_beats_preset_for_every_component(parts, tmp_path, monkeypatch):
    _write_preset(tmp_path / "p", "layered", embed_dim=64, audio="owner/preset-audio", text="image", image="x/y")
    monkeypatch.setenv("WAVBRIVL_PRESETS", str(tmp_path / "p"))
    preset = load_preset("layered")
    for env in ("WAVBRIVL_AUDIO", "WAVBRIVL_IMAGE", "WAVBRIVL_TEXT"):
        monkeypatch.delenv(env, raising=False)

    def specs(**arguments):  # (audio, text) as the loader resolves them: argument_choice, then the preset
        choice = argument_choice("layered", **arguments)
        return preset.spec("audio", choice.audio), preset.text_spec(choice.text, choice.image)

    assert specs() == ("owner/preset-audio", "x/y")  # "image": the text tower comes from the image tower's weights
    monkeypatch.setenv("WAVBRIVL_AUDIO", "owner/env-audio")
    monkeypatch.setenv("WAVBRIVL_IMAGE", "owner/env-image")
    assert specs() == ("owner/env-audio", "owner/env-image")
    assert specs(audio="owner/arg", image="owner/arg-image") == ("owner/arg", "owner/arg-image")
    monkeypatch.setenv("WAVBRIVL_TEXT", "owner/env-text")
    assert specs(image="owner/arg-image")[1] == "owner/env-text"
    assert specs(text="owner/arg-text")[1] == "owner/arg-text"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not readable JSON"),
        ('{"embed_dim": 64}', "at least a 'description'"),
        ('{"description": "d", "audi": "x"}', "unknown keys \\['audi'\\]"),
        ('{"description": "d", "image_kind": "vit"}', "image_kind must be"),
    ],
)
def test_a_broken_preset_file_is_named(tmp_path, monkeypatch, content, message):
    (tmp_path / "bad.json").write_text(content)
    monkeypatch.setenv("WAVBRIVL_PRESETS", str(tmp_path))
    with pytest.raises(WeightsError, match=message) as info:
        load_preset("bad")
    assert "bad.json" in str(info.value)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(WeightsError, match="unknown preset 'nope'.*'brivl'"):
        load_preset("nope")


def test_model_sizes_are_data_and_copies():
    tiny = model_size("tiny")
    tiny["audio"]["wavlm"]["hidden_size"] = 1  # a caller's change does not leak into the next reader
    assert model_size("tiny")["audio"]["wavlm"]["hidden_size"] == 32
    assert np.prod(model_size("toy")["vqgan"]["ch_mult"]) == 16
