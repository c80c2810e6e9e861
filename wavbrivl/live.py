"""Following a microphone: the rolling window of the last second at 16 kHz, when to draw a new picture, the timeline.

A live page sends the sound in short chunks (a sample rate and int16 or float samples, mono or several channels).
Each session keeps its own `LiveSession`: the window of the latest sound, the embedding its last picture was made
from, and what each moment looked like. A server busy drawing hears only the latest of the chunks that arrived
meanwhile, so the window also forgets chunks older than MAX_AGE_SECONDS: it stays the latest sound rather than the
last second heard, which may span several seconds (simulated with one chunk in three heard: the picture followed a
change of sound 0.8-1.4 s later rather than 1.4-2.9 s).

The labels, the matches and the novelty check read the whole window; the picture follows its newest
PICTURE_SECONDS. It is drawn from them, and drawn again only when their embedding has moved past MOVE_THRESHOLD (one
minus the cosine) since the last picture, or the seed changed: silence costs no drawing, and a steady tone none
once its short windows agree. Measured on the offline default, 0.5 s windows of one toy sound at different offsets
moved at most 0.09-0.16 (1 s windows: 0.063), 0.3 s windows up to 0.43 for a few of the sounds (their windows are
drawn again now and then, as the same class), windows of two different sounds at least 0.41. With the decoder's
2-step student in Chromium, the new class's picture came 0.67-0.79 s (median) after a change following the newest
0.3 s, 1.12 s following the newest 0.5 s (BENCHMARKS.md).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np
import soxr
import torch
from PIL import Image

from wavbrivl.data.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SAMPLE_RATE, SILENCE_DBFS
from wavbrivl.errors import InputError

WINDOW_SECONDS = 1.0  # the sounds the offline default was trained on are 1 s long
MIN_WINDOW_SECONDS = 0.3  # a window is read once it holds this much
MAX_AGE_SECONDS = 1.5  # the window holds only chunks that arrived this recently
PICTURE_SECONDS = 0.3  # the picture follows the window's newest 0.3 s (drawn from it, moves measured on it)
MOVE_THRESHOLD = 0.25  # draw again when 1 - cosine to the last picture's embedding exceeds this
MAX_TIMELINE = 500  # entries a session keeps (a change per update for two minutes at four updates a second)
THUMBNAIL = 32  # the timeline's pictures, in pixels


def chunk_samples(data: np.ndarray) -> np.ndarray:
    """One chunk as mono float32 in [-1, 1]: integer PCM scaled by its type, channels (the short axis) averaged."""
    array = np.asarray(data)
    if array.ndim not in (1, 2):
        raise InputError(
            f"a chunk of the sound has {array.ndim} dimensions; expected (samples,) or (samples, channels)"
        )
    samples = _scaled(array)
    if array.ndim == 2:
        axis = 1 if array.shape[1] <= array.shape[0] else 0
        if array.shape[axis] > 16:
            raise InputError(f"a chunk of the sound has {array.shape[axis]} channels; at most 16 are accepted")
        samples = samples.mean(axis=axis)
    if not np.all(np.isfinite(samples)):
        raise InputError("a chunk of the sound holds NaN or infinite samples")
    return samples.astype(np.float32)


def _scaled(array: np.ndarray) -> np.ndarray:
    """Integer or boolean samples as float64 in [-1, 1]."""
    if array.dtype.kind == "i":
        return array.astype(np.float64) / float(2 ** (8 * array.dtype.itemsize - 1))
    if array.dtype.kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        return (array.astype(np.float64) - half) / half
    if array.dtype.kind in "bf":
        return array.astype(np.float64)
    raise InputError(f"a chunk of the sound has samples of type {array.dtype}; expected int or float samples")


def wav_chunk(raw: bytes) -> tuple[int, np.ndarray]:
    """A browser's chunk as (rate, samples (n, channels)): a WAV whose data runs to the end of the bytes.

    A recording page sends the first chunk's 44-byte header before every later chunk, and several chunks behind one
    header when they queued up, so the header's data size is stale: every whole frame after it is read."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise InputError("a chunk of the sound is not a WAV file")
    pos, fmt = 12, None
    while pos + 8 <= len(raw):
        kind, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        if kind == b"fmt ":
            fmt = struct.unpack("<HHIIHH", raw[pos + 8 : pos + 24])
            if fmt[0] == 0xFFFE and size >= 26:  # WAVE_FORMAT_EXTENSIBLE: the format is the sub-format's
                fmt = (int.from_bytes(raw[pos + 32 : pos + 34], "little"), *fmt[1:])
        elif kind == b"data":
            if fmt is None:
                break
            code, channels, rate, _, align, bits = fmt
            dtype = {(1, 8): np.uint8, (1, 16): np.int16, (1, 32): np.int32, (3, 32): np.float32}.get((code, bits))
            if dtype is None or channels < 1 or align != channels * bits // 8:
                raise InputError(f"a chunk of the sound has WAV format {code} with {bits} bits; expected PCM or float")
            body = raw[pos + 8 :]
            frames = len(body) // align
            return rate, np.frombuffer(body[: frames * align], dtype).reshape(frames, channels)
        pos += 8 + size + (size & 1)
    raise InputError("a chunk of the sound is a WAV file without its format or data")


def peak_dbfs(samples: np.ndarray) -> float:
    """The peak level in dBFS (-inf for silence or no samples)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


@dataclass
class RollingWindow:
    """The last `seconds` of a stream at 16 kHz, and of those only what arrived in the last `max_age` seconds (when
    the caller says when each chunk arrived): a page whose chunks were skipped while the server was busy still gets
    a window of the latest sound. Chunks at another rate go through one streaming resampler."""

    seconds: float = WINDOW_SECONDS
    max_age: float = MAX_AGE_SECONDS
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    heard_seconds: float = 0.0  # everything appended so far, at the chunks' own rates
    rate: int = SAMPLE_RATE
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (arrival, samples) of each chunk in the window
    _resampler: soxr.ResampleStream | None = field(default=None, repr=False)

    def append(self, rate: int, data: np.ndarray, now: float | None = None) -> np.ndarray:
        """Add one chunk (at `rate`, arrived at `now` seconds on any steady clock; None: age unknown, kept by length
        alone); returns it at 16 kHz. The window keeps its last `seconds`, of what arrived within `max_age`."""
        rate = int(rate)
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise InputError(f"a chunk of the sound at {rate} Hz; expected {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz")
        samples = chunk_samples(data)
        self.heard_seconds += len(samples) / rate
        if rate != self.rate or (rate != SAMPLE_RATE and self._resampler is None):
            self.rate = rate  # a new rate (another microphone): a fresh resampler, the window kept
            self._resampler = (
                soxr.ResampleStream(rate, SAMPLE_RATE, 1, "float32", "HQ") if rate != SAMPLE_RATE else None
            )
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        self.arrivals.append((math.inf if now is None else now, len(samples)))
        drop = sum(n for t, n in self.arrivals if now is not None and t < now - self.max_age)
        self.arrivals = [(t, n) for t, n in self.arrivals if now is None or t >= now - self.max_age]
        window = np.concatenate([self.samples[drop:], samples])
        self._crop(window, int(round(self.seconds * SAMPLE_RATE)))
        return samples

    def _crop(self, window: np.ndarray, keep: int) -> None:
        """Keep the last `keep` samples, and the arrivals of the chunks they come from."""
        self.samples = window[-keep:].astype(np.float32, copy=False) if len(window) > keep else window
        extra = sum(n for _, n in self.arrivals) - len(self.samples)
        while extra > 0 and self.arrivals:
            t, n = self.arrivals[0]
            self.arrivals[0:1] = [(t, n - extra)] if n > extra else []
            extra -= min(n, extra)

    @property
    def ready(self) -> bool:
        """Whether the window holds enough sound for the audio tower."""
        return len(self.samples) >= min(MIN_WINDOW_SECONDS, self.seconds) * SAMPLE_RATE


def cosine_move(before: torch.Tensor, after: torch.Tensor) -> float:
    """How far an embedding moved: 1 - cosine (0 for the same direction, 2 for the opposite)."""
    a, b = before.float().flatten(), after.float().flatten()
    return 1.0 - float(torch.nn.functional.cosine_similarity(a, b, dim=0))


@dataclass(frozen=True)
class Drawn:
    """The last picture and what it was drawn from: the window's embedding, the seed, the label at the time."""

    embedding: torch.Tensor
    seed: int
    picture: Image.Image
    label: str


def should_draw(last: Drawn | None, embedding: torch.Tensor, seed: int, threshold: float = MOVE_THRESHOLD) -> bool:
    """A new picture when there is none yet, the seed changed, or the embedding moved past `threshold`."""
    return last is None or last.seed != seed or cosine_move(last.embedding, embedding) > threshold


@dataclass(frozen=True)
class Reading:
    """What one window's embedding says: its scores against the class names and the gallery, how far it moved
    since the last picture (None before the first), and whether to draw a new one."""

    embedding: torch.Tensor  # the one the picture follows (kept with a new picture, to measure the next move)
    class_scores: list[float]
    gallery_scores: list[float]
    move: float | None
    draw: bool


def read_window(
    embedding: torch.Tensor,
    classes: torch.Tensor,
    gallery: torch.Tensor,
    last: Drawn | None,
    seed: int,
    threshold: float = MOVE_THRESHOLD,
    follow: torch.Tensor | None = None,
) -> Reading:
    """Score a window's (D,) embedding against (D, C) class directions and (G, D) gallery embeddings (cosines, as
    the pipeline's zero_shot and rank score them), and decide whether it needs a new picture (`should_draw`) by the
    embedding the picture follows: `follow` (the window's newest part), else the window's own."""
    embedding = embedding.detach().float().cpu().flatten()
    followed = follow.detach().float().cpu().flatten() if follow is not None else embedding
    gallery_scores = (gallery.float() @ embedding).tolist() if len(gallery) else []
    move = cosine_move(last.embedding, followed) if last is not None else None
    draw = should_draw(last, followed, seed, threshold)
    return Reading(followed, (embedding @ classes.float()).tolist(), gallery_scores, move, draw)


@dataclass(frozen=True)
class Moment:
    """One timeline entry: when (seconds of sound heard), what the sound was taken for, the picture shown then."""

    seconds: float
    label: str
    thumbnail: Image.Image | None

    @property
    def caption(self) -> str:
        """The entry's caption, e.g. '2.5 s red circle'."""
        return f"{self.seconds:.1f} s {self.label}"


def thumbnail(picture: Image.Image, size: int = THUMBNAIL) -> Image.Image:
    """A small copy of a picture for the timeline."""
    return picture.convert("RGB").resize((size, size), Image.Resampling.NEAREST)


@dataclass
class LiveSession:
    """One visitor's live state: the window, the last picture, the timeline and counters. Never shared."""

    window: RollingWindow = field(default_factory=RollingWindow)
    drawn: Drawn | None = None
    timeline: list[Moment] = field(default_factory=list)
    updates: int = 0
    pictures: int = 0
    shown: dict[str, object] = field(default_factory=dict)  # what the page was last sent, by output (front ends)

    def note(self, label: str, picture: Image.Image | None = None) -> bool:
        """Add a moment when the label changed or a new picture came; returns whether the timeline grew."""
        last = self.timeline[-1] if self.timeline else None
        if last is not None and last.label == label and picture is None:
            return False
        shown = thumbnail(picture) if picture is not None else (last.thumbnail if last is not None else None)
        self.timeline.append(Moment(round(self.window.heard_seconds, 2), label, shown))
        del self.timeline[:-MAX_TIMELINE]
        return True

    def silent(self, gain: float = 1.0) -> bool:
        """Whether the window, at this gain, is below the silence floor (or too short to embed)."""
        return not self.window.ready or peak_dbfs(self.window.samples * np.float32(gain)) < SILENCE_DBFS

    def drew(self, embedding: torch.Tensor, seed: int, picture: Image.Image, label: str) -> None:
        """Keep a new picture and what it was drawn from."""
        self.drawn = Drawn(embedding.detach().float().cpu().flatten(), seed, picture, label)
        self.pictures += 1


def level_bar(db: float, low: float = SILENCE_DBFS, cells: int = 12) -> str:
    """A text meter of a level in dBFS from `low` to 0: filled cells, then empty ones."""
    filled = 0 if not math.isfinite(db) else int(round(cells * min(max((db - low) / -low, 0.0), 1.0)))
    return "▮" * filled + "▯" * (cells - filled)
