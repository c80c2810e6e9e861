"""The first screen as a visitor sees it: two lines on what this is and which set is loaded, the components in the
Model tab, and only the controls the chosen method uses."""

from __future__ import annotations

import gradio as gr
import pytest

import app
from wavbrivl import WavBriVLPipeline


@pytest.fixture(scope="module")
def demo():
    return app.build_app(WavBriVLPipeline.from_preset(device="cpu"))


def _by_label(demo, kind, label: str):
    found = [b for b in demo.blocks.values() if isinstance(b, kind) and b.label == label]
    assert found, label
    return found


def test_the_header_says_what_this_is_and_which_set_in_two_lines(demo):
    header = next(b.value for b in demo.blocks.values() if isinstance(b, gr.Markdown) and b.elem_id == "banner")
    lines = [line for line in header.splitlines() if line.strip()]
    assert lines[0] == "# WavBriVL — sound to image" and len(lines) == 3
    assert "trained on 8 toy tones" in lines[2] and "parameters" not in header and "Limits" not in header
    texts = [b.value or "" for b in demo.blocks.values() if isinstance(b, gr.Markdown)]
    model = [text for text in texts if "Limits per request" in text]
    assert len(model) == 1 and "parameters" in model[0]  # the components and the limits: in the Model tab


def test_only_the_chosen_methods_controls_show(demo):
    method = _by_label(demo, gr.Radio, "Method")[0]
    assert method.value == "decoder"
    controls = ((gr.Slider, "Steps"), (gr.Number, "Learning rate"), (gr.Slider, "Cutouts"), (gr.Slider, "Size (px)"),
                (gr.Slider, "Sampling steps"), (gr.Number, "Guidance"))  # fmt: skip
    hidden = {label: all(c.visible is False for c in _by_label(demo, kind, label)) for kind, label in controls}
    assert hidden == {"Steps": True, "Learning rate": True, "Cutouts": True, "Size (px)": True,
                      "Sampling steps": False, "Guidance": False}  # fmt: skip
    assert len(_by_label(demo, gr.Slider, "Steps")) == 2  # Generate's and the Volume study's, both hidden
    changes = [d for d in demo.config["dependencies"] if (method._id, "change") in map(tuple, d["targets"])]
    assert len(changes) == 2 and all(d["api_visibility"] == "private" for d in changes)  # the tabs follow it; no API
    for dependency in changes:  # each answers with one update per output (a single output takes it bare)
        answer = demo.fns[dependency["id"]].fn("vqgan")
        answers = answer if len(dependency["outputs"]) > 1 else [answer]
        assert len(answers) == len(dependency["outputs"]) and all(a["__type__"] == "update" for a in answers)
