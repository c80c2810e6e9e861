"""Passing steps' pictures go inside the stream's messages as data: URLs; final pictures stay files."""

from __future__ import annotations

import base64
import io

import gradio as gr
import numpy as np
from PIL import Image

from wavbrivl.frontend.common import Inline, inline_pictures


def _picture(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (24, 16, 3), dtype=np.uint8))


def _pixels(url: str) -> np.ndarray:
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def test_an_image_sends_inline_pictures_in_the_message_and_others_as_files():
    with gr.Blocks():
        view = inline_pictures(gr.Image(format="png"))
    picture = _picture(0)
    sent = view.postprocess(Inline(picture))
    assert sent.path is None and np.array_equal(_pixels(sent.url), np.asarray(picture))  # lossless, same size
    kept = view.postprocess(picture)
    assert kept.path is not None and kept.path.endswith(".png")  # the final picture: a file to keep


def test_a_gallery_sends_inline_pictures_with_their_captions():
    with gr.Blocks():
        side = inline_pictures(gr.Gallery(format="png"))
    pictures = [_picture(1), _picture(2)]
    sent = side.postprocess([(Inline(p), f"{v:+d} dB") for p, v in zip(pictures, (-6, 6))]).root
    assert [s.caption for s in sent] == ["-6 dB", "+6 dB"]
    assert all(np.array_equal(_pixels(s.image.url), np.asarray(p)) for s, p in zip(sent, pictures))
    kept = side.postprocess([(pictures[0], "final")]).root
    assert kept[0].image.path is not None and kept[0].caption == "final"
