"""Streamed outputs: passing steps' pictures go inside the messages as data: URLs, final pictures stay files, and
UNCHANGED leaves an output as the page shows it, on the wire as a skip, without Gradio replacing the component."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from wavbrivl.frontend.streaming import UNCHANGED, Inline, streamed


def _picture(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (24, 16, 3), dtype=np.uint8))


def _pixels(url: str) -> np.ndarray:
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def test_an_image_sends_inline_pictures_in_the_message_and_others_as_files():
    with gr.Blocks():
        view = streamed(gr.Image(format="png"))
    picture = _picture(0)
    sent = view.postprocess(Inline(picture))
    assert sent.path is None and np.array_equal(_pixels(sent.url), np.asarray(picture))  # lossless, same size
    kept = view.postprocess(picture)
    assert kept.path is not None and kept.path.endswith(".png")  # the final picture: a file to keep


def test_a_gallery_sends_inline_pictures_with_their_captions():
    with gr.Blocks():
        side = streamed(gr.Gallery(format="png"))
    pictures = [_picture(1), _picture(2)]
    sent = side.postprocess([(Inline(p), f"{v:+d} dB") for p, v in zip(pictures, (-6, 6))]).root
    assert [s.caption for s in sent] == ["-6 dB", "+6 dB"]
    assert all(np.array_equal(_pixels(s.image.url), np.asarray(p)) for s, p in zip(sent, pictures))
    kept = side.postprocess([(pictures[0], "final")]).root
    assert kept[0].image.path is not None and kept[0].caption == "final"


def test_unchanged_is_a_skip_on_the_wire_and_the_components_stay_wrapped():
    from gradio_client import Client

    pictures = [_picture(k) for k in range(3)]
    with gr.Blocks() as demo:
        view, note, strip = streamed(gr.Image(format="png")), streamed(gr.Markdown()), streamed(gr.Gallery())
        go = gr.Button()

        def run():
            yield Inline(pictures[0]), "first", [(Inline(pictures[0]), "s0")]
            yield Inline(pictures[1]), UNCHANGED, UNCHANGED
            yield pictures[2], "final", [(pictures[0], "s0"), (pictures[2], "final")]

        go.click(run, None, [view, note, strip], api_name="run")
    demo.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        for _ in range(2):  # a second run in the same session: still inline, so Gradio kept the wrapped components
            first, passing, final = list(client.submit(api_name="/run"))
            assert first[1] == "first" and first[2][0]["image"]["url"].startswith("data:image/png")
            assert passing[0]["url"].startswith("data:image/png")
            assert passing[1] == passing[2] == {"__type__": "update"}  # what gr.skip() sends: the page keeps its view
            assert final[1] == "final" and all(Path(shown["image"]).is_file() for shown in final[2])
    finally:
        demo.close()
