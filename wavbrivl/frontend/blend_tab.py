"""The Blend tab: N pictures along the spherical interpolation (slerp) of two ends' embeddings, each end a sound, a
text (the text tower) or an image, one seed for every picture; a slider shows the picture at any position between.

The ends' embeddings and the strip's settings (its seed drawn once) are kept per session in a gr.State, so the
slider embeds nothing again and its pictures at 0 and 1 are the strip's ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import torch.nn.functional as F
from PIL import Image

from wavbrivl.blend import Endpoint, blend_picture, blend_positions, image_end, slerp, sound_end, text_end
from wavbrivl.errors import InputError
from wavbrivl.generation import GenerationConfig
from wavbrivl.hosting import gpu, trimmed

from .common import LIMITS
from .films import film_controls, write_strip_film
from .gpu import GPU_LANE, pictures_gpu_seconds, within_one_gpu_call
from .inputs import check_image, guarded, load_sound, number_check, user_error
from .model_thread import model_call, sampling_threads
from .notices import sound_notice
from .settings import picture_config, resolved
from .streaming import Inline, streamed
from .tabs import Shared

KINDS = [("A sound", "sound"), ("A text", "text"), ("An image", "image")]


@dataclass
class BlendState:
    """A session's blend: the ends' embeddings by what they were made from, the strip's settings and pictures."""

    ends: dict[tuple, Endpoint] = field(default_factory=dict)
    settings: tuple = ()
    config: GenerationConfig | None = None
    pictures: list[Image.Image] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def _file_key(path) -> tuple:
    """A file by its path and version (an upload is a new file)."""
    try:
        stat = os.stat(path)
    except OSError:
        return (str(path),)
    return str(path), stat.st_mtime_ns, stat.st_size


def _count(value) -> int:
    """The number of pictures: a whole number from 2 to this app's limit per request."""
    top = LIMITS["blend_pictures"]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number.is_integer() and 2 <= number <= top):
        raise InputError(f"Pictures (N): a blend needs a whole number of pictures from 2 to {top} in this app; "
                         f"got {value}")  # fmt: skip
    return int(number)


class Ends:
    """Reads the two ends from the form, each checked in the page's words, embedded once per session (BlendState)."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def key(self, side: str, kind: str, audio, text: str, image, volume_db) -> tuple:
        """What the end is made from, checked: a refused or missing sound, an empty text, no image are said."""
        where = "the Sound box above" if side == "A" else "the End B sound box"
        if kind == "sound":
            if self.shared.refusal:
                raise gr.Error(f"End {side}: {sound_notice(self.shared.refusal, markdown=False)} Choose a text or an "
                               "image for this end.")  # fmt: skip
            if audio is None:
                raise gr.Error(f"End {side} is a sound: record or upload one in {where} (or choose a text or an "
                               "image).")  # fmt: skip
            return "sound", *_file_key(audio), float(volume_db)
        if kind == "text":
            if self.shared.pipe.text_tower is None:
                raise gr.Error(f"End {side}: this model set has no text tower; choose a sound or an image.")
            if not str(text or "").strip():
                raise gr.Error(f"End {side} is a text: write some words, e.g. 'a large red circle'.")
            return "text", str(text).strip()
        if kind == "image":
            if image is None:
                raise gr.Error(f"End {side} is an image: upload one (png, jpeg, webp, …).")
            return "image", *_file_key(image)
        raise gr.Error(f"End {side}: {kind!r} is not a kind of end; choose a sound, a text or an image.")

    def embed(self, key: tuple, audio, text: str, image) -> Endpoint:
        """The end's unit embedding, on the model thread; its notes (how the sound was read) said."""
        pipe = self.shared.pipe
        try:
            if key[0] == "sound":
                end = model_call(pipe, sound_end, load_sound(audio, self.shared.max_seconds), key[-1])
            elif key[0] == "text":
                end = model_call(pipe, text_end, str(text))
            else:
                end = model_call(pipe, image_end, image, Path(image).name)
        except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
            raise user_error(err, audio, image) from None
        self.shared.tell(end.notes)
        return end

    def both(self, state: BlendState | None, form: tuple) -> tuple[BlendState, Endpoint, Endpoint]:
        """The two ends from the form (kind_a, text_a, image_a, audio, volume, kind_b, audio_b, text_b, image_b),
        from the session's state when it has them."""
        kind_a, text_a, image_a, audio, volume_db, kind_b, audio_b, text_b, image_b = form
        keys = (self.key("A", kind_a, audio, text_a, image_a, volume_db),
                self.key("B", kind_b, audio_b, text_b, image_b, volume_db))  # fmt: skip
        state = state if isinstance(state, BlendState) else BlendState()
        sources = ((audio, text_a, image_a), (audio_b, text_b, image_b))
        ends = {key: state.ends.get(key) or self.embed(key, *source) for key, source in zip(keys, sources)}
        state.ends = ends
        return state, ends[keys[0]], ends[keys[1]]


def _config(shared: Shared, state: BlendState, a: Endpoint, b: Endpoint, settings: tuple) -> GenerationConfig:
    """The pictures' settings: the strip's (its seed drawn once) while the form's settings are the same."""
    if state.config is not None and state.settings == settings:
        return state.config
    pipe = shared.pipe
    try:
        model_call(pipe, lambda _, x, y: slerp(x, y, 0.5), a.embedding, b.embedding)  # opposite ends are said
        state.config = model_call(pipe, resolved, a.embedding, picture_config(pipe, *settings))
    except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
        raise user_error(err) from None
    state.settings = settings
    return state.config


def _picture(pipe, a: Endpoint, b: Endpoint, t: float, config: GenerationConfig) -> Image.Image:
    """The picture at position t (run on the model thread)."""
    with sampling_threads(pipe, config.method):
        return blend_picture(pipe, a, b, t, config).images[0]


def _to_ends(pipe, pictures: list[Image.Image], a: Endpoint, b: Endpoint) -> list[tuple[float, float]]:
    """Each picture's cosine to end a and to end b, through the image tower (run on the model thread)."""
    seen = F.normalize(pipe.embed_images(pictures).float().cpu(), dim=-1)
    ends = [F.normalize(end.embedding.float().cpu(), dim=-1) for end in (a, b)]
    return [(float(row @ ends[0]), float(row @ ends[1])) for row in seen]


def _cosine_rows(positions: list[float], cosines: list[tuple[float, float]]) -> str:
    """Each picture's image-tower cosine to end A and to end B, as a Markdown table with one column per picture."""
    rows = [
        "| t | " + " | ".join(f"{t:.2f}" for t in positions) + " |",
        "|---|" + "---|" * len(positions),
        "| cosine to A | " + " | ".join(f"{a:+.2f}" for a, _ in cosines) + " |",
        "| cosine to B | " + " | ".join(f"{b:+.2f}" for _, b in cosines) + " |",
    ]
    return "\n".join(rows)


def _handlers(shared: Shared) -> tuple[Callable, Callable, Callable]:
    """The strip (streamed picture by picture), the picture at one position, and the strip's film."""
    pipe, ends, steps = shared.pipe, Ends(shared), shared.defaults.steps

    def strip_seconds(*args) -> int:
        count, size, cutn, method, sample_steps = args[9], args[11], args[12], args[13], args[14]
        try:
            pictures = int(count)
        except (TypeError, ValueError):
            pictures = LIMITS["blend_pictures"]
        return pictures_gpu_seconds(steps, method, sample_steps, size, cutn, pictures)

    def one_seconds(*args) -> int:
        return pictures_gpu_seconds(steps, args[13], args[14], args[11], args[12], 1)

    @trimmed
    @gpu(strip_seconds)
    def make_strip(*args):
        form, count, settings, film_format, state = args[:9], args[9], args[10:17], args[17], args[18]
        try:
            count = _count(count)
        except InputError as err:
            raise gr.Error(str(err)) from None
        state, a, b = ends.both(state, form)
        config = _config(shared, state, a, b, tuple(settings))
        positions, pictures, labels = blend_positions(count), [], []
        for k, t in enumerate(positions, 1):
            try:
                pictures.append(model_call(pipe, _picture, a, b, t, config))
            except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
                raise user_error(err) from None
            labels.append(f"t={t:.2f}")
            shown = [(Inline(p), label) for p, label in zip(pictures, labels)]
            yield shown, f"seed {config.seed}, {config.method} — picture {k}/{count}", None, state
        cosines = model_call(pipe, _to_ends, pictures, a, b)
        state.pictures, state.labels = pictures, labels
        status = (f"seed {config.seed}, {config.method}: {count} pictures from {a.kind} '{a.label}' (t=0) to "
                  f"{b.kind} '{b.label}' (t=1)\n\n{_cosine_rows(positions, cosines)}")  # fmt: skip
        yield list(zip(pictures, labels)), status, write_strip_film(pictures, labels, film_format), state

    @trimmed
    @gpu(one_seconds)
    def picture_at(*args):
        form, position, settings, state = args[:9], args[9], args[10:17], args[17]
        try:
            t = float(position)
        except (TypeError, ValueError):
            t = float("nan")
        if not 0.0 <= t <= 1.0:
            raise gr.Error(f"Position: {position!r} is not a number from 0 (end A) to 1 (end B).")
        state, a, b = ends.both(state, form)
        config = _config(shared, state, a, b, tuple(settings))
        try:
            picture = model_call(pipe, _picture, a, b, t, config)
        except Exception as err:  # noqa: BLE001 - shown to the user, the server keeps running
            raise user_error(err) from None
        return picture, f"t={t:.2f}, seed {config.seed}, {config.method}", state

    @trimmed
    def film(state: BlendState | None, film_format: str) -> str | None:
        if not isinstance(state, BlendState):
            return None
        return write_strip_film(state.pictures, state.labels, film_format)

    return make_strip, picture_at, film


def _end_inputs(shared: Shared, side: str) -> tuple[gr.Radio, gr.Audio | None, gr.Textbox, gr.Image]:
    """One end's kind and its inputs (end A's sound is the page's Sound box), showing the chosen kind's only."""
    has_text, off = shared.pipe.text_tower is not None, bool(shared.refusal)
    kinds = [(label, kind) for label, kind in KINDS if kind != "text" or has_text]
    chosen = "sound" if not off else ("text" if has_text and side == "A" else "image")
    with gr.Column():
        kind = guarded(gr.Radio(kinds, value=chosen, label=f"End {side}"))
        audio = None
        if side == "A":
            hint = gr.Markdown("End A's sound is the Sound box above, at its Volume.", visible=chosen == "sound")
        else:
            audio = guarded(gr.Audio(sources=["upload", "microphone"], type="filepath", format=None,
                                     label="End B sound (at the Volume above)", interactive=not off,
                                     visible=chosen == "sound"))  # fmt: skip
        text = gr.Textbox("", label=f"End {side} text", placeholder="a large red circle", visible=chosen == "text")
        image = guarded(gr.Image(type="filepath", label=f"End {side} image", height=160, visible=chosen == "image"),
                        check_image)  # fmt: skip
    shown = [hint if audio is None else audio, text, image]
    kind.change(lambda k: [gr.update(visible=k == v) for v in ("sound", "text", "image")], kind, shown,
                queue=False, show_progress="hidden", api_name=False)  # fmt: skip
    return kind, audio, text, image


def blend_tab(shared: Shared, seed: gr.Number, size: gr.Slider, cutn: gr.Slider, methods: tuple) -> None:
    """The Blend tab: two ends, a strip of N pictures between them, a position slider, the strip as a film."""
    make_strip, picture_at, film = _handlers(shared)
    with gr.Tab("Blend"):
        shared.notice("A text or an image still works as either end." if shared.pipe.text_tower is not None else
                      "An image still works as either end.")  # fmt: skip
        gr.Markdown("Pictures along the great circle between two ends' embeddings, one seed for all. Uses the "
                    "Generate tab's method, seed, size and cutouts.")  # fmt: skip
        with gr.Row():
            kind_a, _, text_a, image_a = _end_inputs(shared, "A")
            kind_b, audio_b, text_b, image_b = _end_inputs(shared, "B")
        count = guarded(gr.Slider(2, LIMITS["blend_pictures"], value=8, step=1, label="Pictures (N)"),
                        number_check(_count))  # fmt: skip
        go = gr.Button("Blend", variant="primary")
        strip = streamed(gr.Gallery(label="From end A (t=0) to end B (t=1)", columns=8, height="auto",
                                    format="png", elem_classes=["pixelated"]))  # fmt: skip
        status = gr.Markdown()
        with gr.Row():
            position = guarded(gr.Slider(0, 1, value=0.5, step=0.01, label="Position (0: end A, 1: end B)"),
                               number_check())  # fmt: skip
            picture = gr.Image(label="The picture at the position", format="png", height=256,
                               elem_classes=["pixelated", "large-picture"], interactive=False)  # fmt: skip
        where = gr.Markdown()
        film_format, film_file = film_controls("The strip as a film")
        state = gr.State(None)
        form = [kind_a, text_a, image_a, shared.audio, shared.volume, kind_b, audio_b, text_b, image_b]
        settings = [seed, size, cutn, *methods]
        go.click(within_one_gpu_call(make_strip, make_strip.gpu_duration),
                 [*form, count, *settings, film_format, state], [strip, status, film_file, state], api_name="blend",
                 **GPU_LANE)  # fmt: skip
        position.release(picture_at, [*form, position, *settings, state], [picture, where, state],
                         api_name="blend_at", **shared.model_lane)  # fmt: skip
        film_format.change(film, [state, film_format], film_file, api_name=False, show_progress="minimal")
