"""The app over a set whose audio tower is untrained: the sound-driven controls are built unavailable with the reason
shown (header, tabs, Model tab), the text-driven paths keep working, and a sound sent anyway through the HTTP API is
answered with the reason, the server answering on. The offline default (trained) keeps every control available."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file

from wavbrivl import WavBriVLPipeline
from wavbrivl.film import read_film
from wavbrivl.loading import Provenance

SOUND = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "red-cross_-12dB.wav")
SOUND_BUTTONS = ("Rank images by the sound", "Generate side by side (one batch, one seed)", "Classify the sound")
FORBIDDEN = ("Traceback", "Something went wrong", "unexpected")


@pytest.fixture(scope="module")
def untrained(toy_pipeline: WavBriVLPipeline) -> WavBriVLPipeline:
    """The offline default's models with its audio tower marked as an untrained WavLM backbone (sounds refused)."""
    audio = Provenance("microsoft/wavlm-base-plus", False, "WavLM backbone only: its projection head is UNTRAINED")
    model_set = dataclasses.replace(
        toy_pipeline.model_set, provenance={**toy_pipeline.provenance, "audio_tower": audio}
    )
    pipe = WavBriVLPipeline(model_set, device="cpu")
    assert pipe.sound_refusal() and not toy_pipeline.sound_refusal()
    return pipe


def _build(pipe: WavBriVLPipeline) -> gr.Blocks:
    """The app as `python app.py` builds it over `pipe`."""
    import app

    return app.build_app(pipe)


def _buttons(demo: gr.Blocks) -> dict[str, bool]:
    """Each button of the page by its text, with whether it is interactive (None, Gradio's default, counts as so)."""
    return {b.value: b.interactive is not False for b in demo.blocks.values() if isinstance(b, gr.Button)}


def _sound_inputs(demo: gr.Blocks) -> list[gr.Component]:
    """The Sound box, its upload button and the Volume slider."""
    found = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) in ("sound", "sound-file")]
    return found + [b for b in demo.blocks.values() if getattr(b, "label", None) == "Volume (dB)"]


def test_sound_driven_controls_are_unavailable_with_the_reason_shown(untrained):
    demo = _build(untrained)
    buttons = _buttons(demo)
    assert "Rank images by the sound" not in buttons and buttons["Rank images by the text"]  # the text ranks
    assert buttons["Generate"]  # text prompts alone
    assert not buttons["Generate side by side (one batch, one seed)"] and not buttons["Classify the sound"]
    assert buttons["Blend"] and not buttons["Picture each segment"]  # a blend of a text and an image needs no sound
    ends = {b.label: b for b in demo.blocks.values() if (getattr(b, "label", None) or "").startswith("End ")}
    assert (ends["End A"].value, ends["End B"].value) == ("text", "image")  # the ends start on what works
    assert ends["End B sound (at the Volume above)"].interactive is False
    assert len(_sound_inputs(demo)) == 3 and all(c.interactive is False for c in _sound_inputs(demo))
    config = json.dumps(demo.get_config_file(), ensure_ascii=False, default=str)
    assert untrained.sound_refusal() in config
    notices = [
        b.value for b in demo.blocks.values() if isinstance(b, gr.Markdown) and "Sounds are off" in (b.value or "")
    ]
    assert len(notices) == 9  # the header, Rank, Generate, Volume study, Blend, Segments, Classify, Live, Model
    header, model = notices[0], notices[-1]
    assert header.startswith("# WavBriVL") and header.index("Sounds are off") < header.index("Loaded:")
    assert "**Trained:** `image_tower`, `vqgan`, `text_tower`, `decoder` — ⚠️ **UNTRAINED:** `audio_tower`" in header
    assert "plumbing only" not in header  # the untrained part is not in use: sounds are refused
    assert "audio_tower: WavBriVLAudioTower" in model and "⚠️ **UNTRAINED** (WavLM backbone only" in model
    assert "Example sounds" not in config


def test_a_trained_set_keeps_every_control_available(toy_pipeline):
    demo = _build(toy_pipeline)
    buttons = _buttons(demo)
    assert all(buttons[name] for name in (*SOUND_BUTTONS, "Generate"))
    assert len(_sound_inputs(demo)) == 3 and all(c.interactive is not False for c in _sound_inputs(demo))
    config = json.dumps(demo.get_config_file(), ensure_ascii=False, default=str)
    assert "Sounds are off" not in config and "UNTRAINED" not in config and "Example sounds" in config


@pytest.fixture(scope="module")
def client(untrained):
    """The app over the untrained-audio set, served on loopback, through gradio_client."""
    demo = _build(untrained)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def _rank_by_text(client: Client) -> None:
    gallery, bars = client.predict(None, None, True, 0, "a large yellow triangle", api_name="/rank")
    assert len(gallery) == 24 and bars["data"][0][0] == "#1 yellow-triangle_large"


@pytest.mark.slow
def test_text_paths_work_and_a_sound_gets_the_reason(client, untrained):
    reason = untrained.sound_refusal()
    _rank_by_text(client)
    job = client.submit(None, 0, 3, 1, 32, 0.3, 2, None, "green bar", "decoder", 3, 4.0, 0, api_name="/generate")
    assert "final, decoder" in list(job)[-1][3]  # text prompts alone

    for prompts in ("", "green bar"):  # a sound, with or without prompts: the status line says why, nothing is made
        job = client.submit(handle_file(SOUND), 0, 3, 1, 32, 0.3, 2, None, prompts, "decoder", api_name="/generate")
        outputs = list(job)
        assert len(outputs) == 1 and reason in outputs[0][3] and "Sounds are off" in outputs[0][3]
        assert outputs[0][:3] == ({"__type__": "update"},) * 3
    (status,) = [o[3] for o in client.submit(None, 0, 3, 1, 32, 0.3, 2, None, "", api_name="/generate")]
    assert reason in status and "Write text prompts" in status

    gallery, status, table = client.predict(handle_file(SOUND), "-6 0 6", 2, 1, 32, 2, api_name="/volume_study")
    assert gallery == [] and reason in status and table == ""
    bars, best = client.predict(handle_file(SOUND), 0, "red cross, green bar", "{}", api_name="/classify")
    assert reason in best
    with pytest.raises(Exception, match=re.escape(f"Sounds are off for this model set: {reason}")):
        client.predict(handle_file(SOUND), None, True, 0, "", api_name="/rank")
    assert not any(word in f"{status} {best}" for word in FORBIDDEN)
    _rank_by_text(client)  # the server answers on


def test_blend_and_segments_say_why_a_sound_is_refused(client, untrained):
    reason, settings = untrained.sound_refusal(), (0, 64, 1, "decoder", 3, 4.0, 0)
    text_b = ("text", None, "a red circle", None, 2, *settings, "webp")
    with pytest.raises(Exception, match=re.escape(f"End A: Sounds are off for this model set: {reason}")):
        client.predict("sound", "", None, handle_file(SOUND), 0, *text_b, api_name="/blend")
    strip, status, film = client.predict("text", "a green bar", None, None, 0, *text_b, api_name="/blend")
    assert len(strip) == 2 and len(read_film(film, fps=4)) == 2  # two texts still blend
    timeline, status, *_ = client.predict(handle_file(SOUND), 0, 1.0, [], True, 3, *settings, api_name="/segments")
    assert timeline == [] and reason in status and not any(word in status for word in FORBIDDEN)
