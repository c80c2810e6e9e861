"""Streaming a run's steps to the page: pictures sent inline, outputs left unchanged between throttled updates."""

from __future__ import annotations

import base64
import functools
import io
import time
from dataclasses import dataclass

import gradio as gr
from gradio.components.gallery import GalleryData, GalleryImage
from gradio.data_classes import ImageData
from PIL import Image

HEAVY_UPDATE_SECONDS = 0.5  # the status line, strip and curve are sent at most this often while a run streams


class Throttle:
    """Says when a streamed output is due: `seconds` after the start, at most once per `seconds` then, and always
    for the last update (a run shorter than `seconds` sends it once, with its final picture)."""

    def __init__(self, seconds: float = HEAVY_UPDATE_SECONDS) -> None:
        self.seconds, self.last = seconds, time.monotonic()

    def due(self, final: bool = False) -> bool:
        """True (and the clock restarted) when `seconds` have passed since the last True, or when final."""
        now = time.monotonic()
        if final or now - self.last >= self.seconds:
            self.last = now
            return True
        return False


@dataclass(frozen=True)
class Inline:
    """A picture for a component made by `streamed`: sent inside the message as a data: URL, not as a file."""

    image: Image.Image

    @functools.cached_property
    def data_url(self) -> ImageData:
        """The picture as a lossless PNG data: URL, encoded once however often it is sent."""
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", compress_level=1)
        url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        return ImageData(url=url, orig_name="step.png", mime_type="image/png")


class Unchanged:
    """A streamed output that stays as the page shows it: sent as the skip's own wire form (see `streamed`)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()


_SKIP = {"__type__": "update"}  # what a gr.skip() becomes on the wire: an update with no properties, a no-op


def streamed(component: gr.Component) -> gr.Component:
    """The output of a streaming handler, made cheap to send at every step. It also takes:

    - `Inline` pictures (a gallery: a list of (Inline, caption)): a run's passing steps go inside the stream's
      messages as data: URLs, with no file written, served and fetched per step; other values (a run's final
      pictures) are files, as before;
    - UNCHANGED: the page keeps what it shows. A gr.skip() says the same on the wire, but Gradio first builds a fresh
      component for every skipped output of every message (its props, its config, its JSON schema): 0.5 to 4 ms each
      on this 2-core machine, on the cores the model runs on. A repeated value instead costs the page an update.

    The wrapper is on this instance: a gr.skip() or gr.update() sent to the component makes Gradio replace it, in
    that session, by a fresh instance without it, so the handlers never send one to these outputs (tested)."""
    original = component.postprocess

    def postprocess(value):
        if value is UNCHANGED:
            return dict(_SKIP)
        if isinstance(value, Inline):
            return value.data_url
        if isinstance(value, list) and value and all(isinstance(v, tuple) and isinstance(v[0], Inline) for v in value):
            return GalleryData(root=[GalleryImage(image=image.data_url, caption=caption) for image, caption in value])
        return original(value)

    component.postprocess = postprocess
    return component
