"""The Live tab: the microphone followed as it plays, with its level, best gallery matches, zero-shot labels, a
picture drawn again only when the sound has moved (wavbrivl.live), and a timeline of what each moment looked like.

Each session's window and pictures live in its own gr.State. Every model call goes through the pipeline the page
holds (on the CPU an OnModelThread, so it runs on the model thread). On ZeroGPU the sound is embedded on the CPU, by
a copy of the audio tower kept there, and the GPU is asked for only to draw a picture, one short call each (and once,
at the first update, for the class names' and the gallery's embeddings).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image

from wavbrivl import AudioClip, load_audio
from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.data.pairs import AudioEmbeddings
from wavbrivl.errors import WavBriVLError
from wavbrivl.generation.config import MAX_SEED, check_seed
from wavbrivl.hosting import SHORT_CALL_SECONDS, gpu, on_zero_gpu
from wavbrivl.live import (
    MOVE_THRESHOLD,
    PICTURE_SECONDS,
    THUMBNAIL,
    WINDOW_SECONDS,
    LiveSession,
    level_bar,
    peak_dbfs,
    read_window,
    wav_chunk,
)
from wavbrivl.toyworld.world import BACKGROUND
from wavbrivl.volume import apply_gain, db_to_gain

from .common import DEFAULT_CLASSES
from .inputs import guarded, number_check
from .model_thread import MODEL_THREAD, OnModelThread
from .notices import sound_notice
from .streaming import UNCHANGED, Inline, streamed
from .tabs import Shared

STREAM_EVERY = 0.1  # seconds of sound per chunk (Gradio 6.31's recorder sends 0.1 s chunks whatever is asked)
TIME_LIMIT = 120  # seconds one recording streams before the page stops it
LIVE_SESSIONS = 16  # recordings served at once (each holds its stream for the whole recording)
SESSION_SECONDS = 600  # a session's window, picture and timeline are kept this long after its last update
TOP_MATCHES = 3
BLANK = Image.new("RGB", (THUMBNAIL, THUMBNAIL), BACKGROUND)  # the timeline's picture before the first one


class LiveModels:
    """What the Live tab asks of the model set: a window's embedding, the class names' and gallery's embeddings
    (made once), and a picture. `twin`: embed with a CPU copy of the audio tower (ZeroGPU; default: when there)."""

    def __init__(self, pipe: Any, gallery_files: list[str], twin: bool | None = None) -> None:
        self.pipe, self.gallery_files = pipe, gallery_files
        self.names = list(pipe.class_names or DEFAULT_CLASSES) if pipe.text_tower is not None else []
        twin = on_zero_gpu() if twin is None else twin
        self.twin = copy.deepcopy(pipe.audio_tower).cpu().eval() if twin else None
        self._references: tuple[torch.Tensor, torch.Tensor] | None = None
        self._lock = threading.Lock()
        self.references_call, self.picture_call = _gpu_calls(self)

    def embed(self, clip: AudioClip, volume_db: float) -> AudioEmbeddings:
        """The window's embedding at the volume, on the CPU copy when there is one, else by the pipeline."""
        if self.twin is None:
            return self.pipe.embed_audio(clip, volume_db)
        scaled, report = apply_gain(clip.waveform, volume_db, self.pipe.clip_policy)
        with torch.no_grad():
            embedding = self.twin(torch.from_numpy(scaled)[None]).float()
        return AudioEmbeddings(embedding, [clip], [report])

    def references(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(D, C) class-name directions (zero-shot scores are embedding @ these) and (G, D) gallery embeddings."""
        with self._lock:
            if self._references is None:
                self._references = self.references_call()
            return self._references

    def make_references(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the references (see `references`) with the pipeline, as CPU tensors."""
        pipe, dim = self.pipe, self.pipe.audio_tower.embed_dim
        # zero_shot scores its sounds against the names' unit directions; the identity's scores are those directions
        classes = pipe.zero_shot(torch.eye(dim), self.names).scores.float().cpu() if self.names else torch.zeros(dim, 0)
        gallery = pipe.embed_images(self.gallery_files).float().cpu() if self.gallery_files else torch.zeros(0, dim)
        return classes, gallery

    def draw(self, clip: AudioClip, volume_db: float, seed: int) -> Image.Image:
        """One picture for the window at the volume with the seed, by the set's default method and settings; a
        decoder with a distilled student draws with it (its 1-2 steps), so a picture keeps up with the sound."""
        config = self.pipe.generation_config(seed=seed)
        student_steps = getattr(getattr(self.pipe.decoder, "config", None), "distilled_steps", 0)
        if config.method == "decoder" and student_steps:
            config = replace(config, sample_steps=student_steps)
        return self.pipe.generate_final(self.pipe.prepare(clip, volume_db, config)).images[0]


def _gpu_calls(models: LiveModels) -> tuple[Callable, Callable]:
    """The two calls that may use the GPU, each declared short (ZeroGPU's decorator)."""

    @gpu(SHORT_CALL_SECONDS)
    def live_references() -> tuple[torch.Tensor, torch.Tensor]:
        """The class names' and the gallery's embeddings, once (LiveModels.references)."""
        return models.make_references()

    @gpu(SHORT_CALL_SECONDS)
    def live_picture(clip: AudioClip, volume_db: float, seed: int) -> Image.Image:
        """One picture (LiveModels.draw)."""
        return models.draw(clip, volume_db, seed)

    return live_references, live_picture


def _labels_text(names: list[str], scores: list[float]) -> str:
    """The zero-shot labels, best first, with their scores."""
    if not names:
        return "No text tower in this set: no zero-shot labels."
    order = sorted(range(len(names)), key=lambda i: -scores[i])
    return " · ".join(f"**{names[i]}** {scores[i]:+.2f}" if n == 0 else f"{names[i]} {scores[i]:+.2f}"
                      for n, i in enumerate(order))  # fmt: skip


def _matches(session: LiveSession, files: list[str], scores: list[float]):
    """The best gallery pictures with their scores, or UNCHANGED when the same pictures lead as last time."""
    if not files:
        return UNCHANGED
    top = sorted(range(len(files)), key=lambda i: -scores[i])[:TOP_MATCHES]
    if session.shown.get("matches") == top:
        return UNCHANGED
    session.shown["matches"] = top
    return [(files[i], f"{Path(files[i]).stem} {scores[i]:+.3f}") for i in top]


def _changed(session: LiveSession, output: str, value: str):
    """The value, or UNCHANGED when the page shows it already (each changed output costs the page a render)."""
    if session.shown.get(output) == value:
        return UNCHANGED
    session.shown[output] = value
    return value


def _timeline(session: LiveSession) -> list:
    return [(Inline(m.thumbnail or BLANK), m.caption) for m in session.timeline]


def _on_model_thread(pipe: Any) -> Callable:
    """How to run tensor work of the handler's own: on the model thread when the pipeline's calls go there (the CPU:
    model_thread.py says why nothing else should touch torch), else here."""
    if isinstance(pipe, OnModelThread):
        return MODEL_THREAD.call
    return lambda fn, *args: fn(*args)


def live_handler(shared: Shared, models: LiveModels, clock: Callable[[], float] = time.monotonic) -> Callable:
    """The stream's handler: (chunk, session, volume, seed) -> level, matches, labels, picture, status, timeline,
    session. A chunk is the page's WAV file (its header's size may be stale: wav_chunk) or (rate, samples); a session
    starts as None. `clock` times the chunks' arrival (the window keeps only the latest: RollingWindow)."""
    run = _on_model_thread(shared.pipe)

    def live(chunk, session: LiveSession | None, volume_db, seed) -> tuple:
        """One update of one recording (see live_handler)."""
        session = session if isinstance(session, LiveSession) else LiveSession()
        if shared.refusal:  # the page builds the recorder off; a chunk through the API gets the reason
            return UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, sound_notice(shared.refusal), UNCHANGED, session
        if chunk is None:
            return UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, session
        try:
            chunk = wav_chunk(Path(chunk).read_bytes()) if isinstance(chunk, (str, Path)) else chunk
            session.window.append(*chunk, now=clock())
            return _update(shared, models, run, session, float(volume_db or 0.0), int(seed or 0))
        except WavBriVLError as err:  # a bad chunk or setting: said, and the recording goes on
            return UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, f"⚠️ {err}", UNCHANGED, session

    return live


def _update(shared: Shared, models: LiveModels, run: Callable, session: LiveSession, volume_db: float,
            seed: int) -> tuple:  # fmt: skip
    """One update of a window with a new chunk: the level, labels, matches, maybe a picture, and the timeline."""
    window = session.window
    session.updates += 1
    gain = db_to_gain(volume_db)
    db = peak_dbfs(window.samples * np.float32(gain))
    level = f"{level_bar(db)} peak {db:.0f} dBFS" if np.isfinite(db) else f"{level_bar(db)} silent"
    head = f"update {session.updates} · {window.heard_seconds:.1f} s heard · "
    if session.silent(gain):  # nothing to embed: the picture stays and nothing is computed
        grown = session.note("silence") if window.ready else False
        status = head + ("silence: the picture stays" if window.ready else "listening")
        level = _changed(session, "level", level)
        return level, UNCHANGED, UNCHANGED, UNCHANGED, status, _timeline(session) if grown else UNCHANGED, session
    clip = load_audio((SAMPLE_RATE, window.samples), name="microphone")
    embedded = models.embed(clip, volume_db)
    newest = load_audio((SAMPLE_RATE, window.samples[-int(PICTURE_SECONDS * SAMPLE_RATE) :]), name="microphone")
    follow = models.embed(newest, volume_db).embeddings[0] if len(newest.waveform) < len(clip.waveform) else None
    reading = run(read_window, embedded.embeddings[0], *models.references(), session.drawn, seed, MOVE_THRESHOLD,
                  follow)  # fmt: skip
    novelty = shared.pipe.novelty
    verdict = run(novelty.check, embedded)[0] if novelty is not None else None
    best = max(range(len(models.names)), key=lambda i: reading.class_scores[i]) if models.names else None
    label = models.names[best] if best is not None else "sound"
    if verdict is not None and not verdict.known:  # the status says why
        label += "?"
    picture = None
    if reading.draw:
        last = session.drawn
        picture = models.picture_call(newest, volume_db, seed)
        session.drew(reading.embedding, seed, picture, label)
        why = "first picture" if last is None else ("new seed" if last.seed != seed else f"moved {reading.move:.2f}")
        status = head + f"picture {session.pictures} drawn ({why})"
    else:
        status = head + f"picture {session.pictures} stays (moved {reading.move:.2f} ≤ {MOVE_THRESHOLD:g})"
    if verdict is not None and not verdict.known:
        status += f"\n\n⚠️ **A sound this set does not know**: {verdict.sentence}."
    grown = session.note(label, picture)
    matches = _matches(session, models.gallery_files, reading.gallery_scores)
    shown = Inline(picture) if picture is not None else UNCHANGED
    labels = _changed(session, "labels", _labels_text(models.names, reading.class_scores))
    level = _changed(session, "level", level)
    return level, matches, labels, shown, status, _timeline(session) if grown else UNCHANGED, session


def live_tab(shared: Shared, gallery_files: list[str]) -> None:
    """The Live tab: a streaming microphone, the page's Volume slider and a seed of its own, applied as it plays."""
    models = LiveModels(shared.pipe, gallery_files)
    live = live_handler(shared, models)
    with gr.Tab("Live"):
        shared.notice()
        gr.Markdown(
            f"Play a sound to the microphone. The page sends it in {STREAM_EVERY:g} s chunks; each update embeds "
            f"the last {WINDOW_SECONDS:g} s heard for the labels and matches, and draws a new picture of the newest "
            f"{PICTURE_SECONDS:g} s only when they have moved (cosine distance over {MOVE_THRESHOLD:g}) since the "
            "last picture. Of the chunks that arrive while a "
            "picture is drawn, only the latest is heard. The Volume slider above and the seed apply as it plays; a "
            f"recording lasts at most {TIME_LIMIT} s."
        )
        with gr.Row():
            mic = gr.Audio(sources=["microphone"], streaming=True, type="filepath", format=None, label="Microphone",
                           elem_id="live-mic", interactive=not shared.refusal)  # fmt: skip
            seed = guarded(gr.Number(0, precision=0, minimum=-1, maximum=MAX_SEED, label="Seed (-1: random)",
                                     elem_id="live-seed"), number_check(check_seed))  # fmt: skip
        level = streamed(gr.Markdown(elem_id="live-level"))
        status = streamed(gr.Markdown(elem_id="live-status"))
        with gr.Row():
            picture = streamed(gr.Image(label="Picture", format="png", height=256, elem_id="live-picture",
                                        elem_classes=["pixelated", "large-picture"], scale=1))  # fmt: skip
            with gr.Column(scale=2):
                labels = streamed(gr.Markdown(elem_id="live-labels"))
                matches = streamed(gr.Gallery(label="Best matches in the example gallery", columns=TOP_MATCHES,
                                              height=180, elem_id="live-matches"))  # fmt: skip
        timeline = streamed(gr.Gallery(label="Timeline (a '?': a sound this set does not know)", columns=10, height=200,
                                       format="png", object_fit="contain",
                                       elem_id="live-timeline", elem_classes=["pixelated"]))  # fmt: skip
        session = gr.State(None, time_to_live=SESSION_SECONDS)  # a closed page's state goes, not after an hour
        mic.start_recording(lambda: (None, []), None, [session, timeline], queue=False, api_name=False)
        mic.stream(live, [mic, session, shared.volume, seed],
                   [level, matches, labels, picture, status, timeline, session], stream_every=STREAM_EVERY,
                   time_limit=TIME_LIMIT, concurrency_limit=LIVE_SESSIONS, concurrency_id="live",
                   show_progress="hidden", api_name="live")  # fmt: skip
