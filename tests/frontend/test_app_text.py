"""The app's text features on the shipped toy set (gradio_client): rank by text, generate from weighted prompts."""

from __future__ import annotations

import pytest
from gradio_client import Client

from wavbrivl import WavBriVLPipeline
from wavbrivl.loading import TOYWORLD_DIR


@pytest.fixture(scope="module")
def client():
    import app

    demo = app.build_app(WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu"))
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def test_rank_by_text_needs_no_sound(client):
    gallery, bars = client.predict(None, None, True, 0, "a large yellow triangle", api_name="/rank")
    assert len(gallery) == 24
    assert bars["data"][0][0] == "#1 yellow-triangle_large"


@pytest.mark.parametrize("method", ["decoder", "vqgan"])
def test_generate_from_prompts_alone(client, method):
    prompts = "green bar | red circle:-0.5"
    outputs = list(client.submit(None, 0, 3, 1, 32, 0.3, 2, None, prompts, method, 3, 4.0, 0, api_name="/generate"))
    assert f"final, {method}" in outputs[-1][3] and len(outputs[-1][2]["data"]) == 4  # 3 steps and the final


def test_bad_prompt_is_a_message(client):
    with pytest.raises(Exception, match="weight 0"):
        client.predict(None, 0, 2, 1, 32, 0.3, 2, None, "green bar:0", api_name="/generate")


def test_zero_shot_classify_tab(client):
    from pathlib import Path

    from gradio_client import handle_file

    wav = Path(__file__).resolve().parents[2] / "assets" / "examples" / "red-cross_-12dB.wav"
    names = "blue circle, red cross, green bar"
    bars, best = client.predict(handle_file(str(wav)), 0, names, "{}", api_name="/classify")
    assert bars["data"][0][0] == "red cross" and "red cross" in best
    with pytest.raises(Exception, match="at least one class"):
        client.predict(handle_file(str(wav)), 0, " , ", "{}", api_name="/classify")
    with pytest.raises(Exception, match="must contain"):
        client.predict(handle_file(str(wav)), 0, "dog", "no slot", api_name="/classify")


def test_default_class_names_come_from_the_model_set(tmp_path):
    """The Classify tab starts with the set's own class names (from model_index.json), else a generic list."""
    import gradio as gr

    import app
    from wavbrivl.frontend.common import DEFAULT_CLASSES

    def shown(pipe) -> str:
        demo = app.build_app(pipe)
        (box,) = [b for b in demo.blocks.values() if isinstance(b, gr.Textbox) and b.label.startswith("Class names")]
        return box.value

    toy = WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu")
    assert shown(toy).startswith("red circle, red cross, blue triangle")
    toy.class_names = ["dog", "cat"]
    saved = WavBriVLPipeline.from_pretrained(toy.save_pretrained(tmp_path / "set"), device="cpu")
    assert saved.class_names == ["dog", "cat"] and shown(saved) == "dog, cat"
    saved.class_names = []
    assert shown(saved) == ", ".join(DEFAULT_CLASSES)
