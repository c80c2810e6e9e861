"""Films to download from the app: a run's steps (Generate, the Volume study), kept as the run streams them, and a
strip of pictures (Blend); written as an animated WebP or an MP4 (wavbrivl.film) into a folder of the app's own."""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import gradio as gr
from PIL import Image

from wavbrivl.film import compose_frame, film_of_pictures, write_film
from wavbrivl.hosting import trimmed

from .inputs import guarded, user_error

FILM_FORMATS = [("Animated WebP", "webp"), ("MP4", "mp4")]
FILM_SECONDS = 3600  # a session keeps its last run's steps this long after the run, for its film
FILM_PIXELS = 40_000_000  # a run keeps its steps' pictures up to this many pixels, then every other one (and so on)
KEPT_FILES = 64  # the app's files to download (films, sheets, JSON) kept on disk; Gradio serves its own copies
_FOLDER = Path(tempfile.mkdtemp(prefix="wavbrivl-films-"))
_WRITTEN: deque[Path] = deque()
_LOCK = threading.Lock()
_COUNT = itertools.count()


class StepFrames:
    """A run's streamed steps as film frames to be: each step's pictures (kept by reference, never copied), one
    frame per step while they fit in FILM_PIXELS; past that only every second, fourth, … step (and the final one)."""

    def __init__(self, labels: Sequence[str] | None = None, budget: int = FILM_PIXELS) -> None:
        self.labels, self.budget = list(labels) if labels else None, budget
        self.steps: list[tuple[int, bool, list[Image.Image]]] = []  # (streamed index, final, pictures)
        self.stride, self.seen = 1, 0

    def add(self, pictures: Sequence[Image.Image], final: bool) -> None:
        """Keep a streamed step's pictures when it falls on the stride (the final step always)."""
        index, self.seen = self.seen, self.seen + 1
        if final or index % self.stride == 0:
            self.steps.append((index, final, list(pictures)))
        while len(self.steps) > 2 and self.pixels() > self.budget:
            self.stride *= 2
            self.steps = [kept for kept in self.steps if kept[0] % self.stride == 0 or kept[1]]

    def pixels(self) -> int:
        """The pixels kept."""
        return sum(p.width * p.height for *_, pictures in self.steps for p in pictures)

    def frames(self) -> Iterator[Image.Image]:
        """One frame per kept step, made as the writer takes it: its pictures side by side, captioned when there
        are several."""
        labels = self.labels if self.labels and len(self.labels) > 1 else None
        return (compose_frame(pictures, labels) for *_, pictures in self.steps)


def out_file(kind: str, suffix: str) -> Path:
    """A new file to download in the app's folder, the oldest beyond KEPT_FILES removed (Gradio serves its copies)."""
    with _LOCK:
        path = _FOLDER / f"{kind}-{next(_COUNT):05d}.{suffix}"
        _WRITTEN.append(path)
        while len(_WRITTEN) > KEPT_FILES:
            _WRITTEN.popleft().unlink(missing_ok=True)
    return path


def film_path(kind: str, film_format: str) -> Path:
    """A new film file of the chosen format ('webp' or 'mp4'), or the user's error naming the formats offered."""
    if film_format not in [value for _, value in FILM_FORMATS]:
        raise gr.Error(f"Film format: {film_format!r} is not offered; choose webp or mp4.")
    return out_file(kind, film_format)


def write_steps_film(frames: StepFrames | None, film_format: str, kind: str = "steps") -> str | None:
    """The kept steps as a film file (None when nothing was kept: no run yet, or a run that made no step)."""
    if frames is None or not frames.steps:
        return None
    path = film_path(kind, film_format)
    try:
        write_film(frames.frames(), path)
    except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
        raise user_error(err) from None
    return str(path)


def write_strip_film(pictures: Sequence[Image.Image], labels: Sequence[str], film_format: str) -> str | None:
    """A strip of pictures (a blend) as a film, one captioned picture per frame; None without pictures."""
    if not pictures:
        return None
    path = film_path("blend", film_format)
    try:
        film_of_pictures(list(pictures), path, list(labels))
    except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
        raise user_error(err) from None
    return str(path)


def strip_picture(pictures: Sequence[Image.Image], labels: Sequence[str]) -> Image.Image:
    """The pictures side by side, captioned, as one picture (a blend's strip)."""
    return compose_frame(list(pictures), list(labels), min_height=128)


def film_controls(label: str) -> tuple[gr.Radio, gr.File]:
    """The film's format choice and the file to download, empty until a run ends."""
    with gr.Row():
        film_format = guarded(gr.Radio(FILM_FORMATS, value="webp", label="Film format", scale=1))
        film = gr.File(label=label, interactive=False, scale=2)
    return film_format, film


def offer_film(go: gr.Button, job, frames: gr.State, film_format: gr.Radio, film: gr.File, api_name: str) -> None:
    """The film of a run's steps: emptied when the button starts a run, written when the run ends well (the final
    picture is shown first), written again in the other format when the choice changes."""

    @trimmed
    def write(kept: StepFrames | None, chosen: str) -> str | None:
        return write_steps_film(kept, chosen)

    go.click(lambda: None, None, film, queue=False, show_progress="hidden", api_name=False)
    job.success(write, [frames, film_format], film, api_name=api_name, show_progress="minimal")
    film_format.change(write, [frames, film_format], film, api_name=False, show_progress="minimal")
