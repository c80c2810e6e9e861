"""Media input for every path (pipeline, app, evaluation, prepare, training): decoding, resampling and windowing
files, arrays and gradio tuples into mono float32 at the one sample rate, 16 kHz."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from wavbrivl.errors import InputError

SAMPLE_RATE = 16000  # WavLM's rate; the only place the project states it
FILE_FORMATS = "wav, flac, ogg (Vorbis or Opus), mp3, m4a/aac, webm/opus, or the sound of an mp4 (or other) video"
ACCEPTED = f"a sound file ({FILE_FORMATS}), a numpy array with its sample rate, or a (sample_rate, array) tuple"
SILENCE_DBFS = -60.0
MIN_SAMPLE_RATE = 1000  # below 1 kHz a file is not a recording of sound (a broken or forged header)
MAX_SAMPLE_RATE = 768_000  # the highest rate that audio interfaces offer
MAX_AUDIO_SECONDS = 30  # a request's sound is cut to its first 30 s (the app, the CLI and the pipeline alike)
MAX_FULL_SCALE = 10.0  # float samples beyond 10x full scale are refused; between 1x and 10x they are noted

AudioSource = Union[str, os.PathLike, bytes, tuple, np.ndarray, "AudioClip"]


@dataclass
class AudioClip:
    """Mono float32 waveform at 16 kHz, with where it came from and what was done to it."""

    waveform: np.ndarray
    sample_rate: int = SAMPLE_RATE
    name: str = "audio"
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.waveform) / self.sample_rate


def _to_float(array: np.ndarray, name: str) -> np.ndarray:
    """Integer PCM to float in [-1, 1]; floats kept as they are."""
    if array.dtype.kind == "f":
        return array.astype(np.float32, copy=False)
    if array.dtype.kind == "i":
        return (array.astype(np.float64) / float(2 ** (8 * array.dtype.itemsize - 1))).astype(np.float32)
    if array.dtype.kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array.astype(np.float64) - half) / half).astype(np.float32)
    if array.dtype.kind == "b":
        return array.astype(np.float32)
    raise InputError(f"{name}: unsupported sample type {array.dtype}; expected int or float samples")


def _to_mono(array: np.ndarray, name: str) -> np.ndarray:
    """Average channels; a 2-D array's short axis (≤ 16) is taken as the channel axis."""
    if array.ndim == 1:
        return array
    if array.ndim != 2:
        raise InputError(f"{name}: audio array has {array.ndim} dimensions; expected (samples,) or (samples, channels)")
    channel_axis = 1 if array.shape[1] <= array.shape[0] else 0
    if array.shape[channel_axis] > 16:
        raise InputError(
            f"{name}: audio of shape {array.shape} has {array.shape[channel_axis]} channels; at most 16 are accepted"
        )
    return array.mean(axis=channel_axis)


def decode_with_av(source: Path | io.BytesIO, name: str, rate: int = SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """The first audio stream as mono float32 at `rate` Hz through PyAV's bundled FFmpeg libraries.

    No ffmpeg or ffprobe program is needed. Returns (samples, the stream's own sample rate). A file without sound
    is an InputError; FFmpeg's own errors are left to the caller.
    """
    import av

    with av.open(str(source) if isinstance(source, Path) else source) as container:
        if not container.streams.audio:
            raise InputError(f"{name}: has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks, source_rate = [], stream.rate
        for frame in container.decode(stream):
            source_rate = frame.sample_rate or source_rate
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        raise InputError(f"{name}: the audio stream holds no samples")
    return np.concatenate(chunks).astype(np.float32), int(source_rate or rate)


def _why(err: Exception, source: Path | io.BytesIO) -> str:
    """A decoder's complaint without the file's full path (which may be a server's temporary folder)."""
    text = str(getattr(err, "error_string", None) or getattr(err, "strerror", None) or str(err) or type(err).__name__)
    if text.startswith("File does not exist or is not a regular file"):  # libsndfile's words for unknown data
        text = "format not recognised"
    if isinstance(source, Path):
        text = text.replace(str(source), source.name)
    return text.strip().rstrip(".")


def _read_file(path: Path | io.BytesIO, name: str) -> tuple[np.ndarray, int, int]:
    """(samples, their rate, the file's own rate): libsndfile first, then PyAV's bundled FFmpeg (at 16 kHz)."""
    import soundfile as sf

    if isinstance(path, Path):
        if not path.exists():
            raise InputError(f"{name}: no such file")
        if path.is_dir():
            raise InputError(f"{name}: is a folder, not a sound file")
        if path.stat().st_size == 0:
            raise InputError(f"{name}: the file is empty (0 bytes); expected {ACCEPTED}")
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
        return data, int(sr), int(sr)
    except Exception as sf_error:  # noqa: BLE001 - libsndfile does not know every format; FFmpeg is tried next
        first = _why(sf_error, path)
    if isinstance(path, io.BytesIO):
        path.seek(0)
    try:
        data, source_rate = decode_with_av(path, name)
        return data, SAMPLE_RATE, source_rate
    except InputError:
        raise
    except Exception as av_error:  # noqa: BLE001 - FFmpeg errors come in many types
        why = f"FFmpeg: {_why(av_error, path)}; libsndfile: {first}"
        raise InputError(f"{name}: not a readable sound file ({why}); expected {ACCEPTED}") from None


def load_audio(
    source: AudioSource,
    sample_rate: int | None = None,
    max_seconds: float | None = None,
    name: str | None = None,
) -> AudioClip:
    """Load any accepted audio input as a mono float32 16 kHz clip (cropped to max_seconds if set)."""
    if isinstance(source, AudioClip):
        return source
    label = name or "audio"
    source_rate = None  # a file's own rate, when FFmpeg already resampled it
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        array, sr, source_rate = _read_file(path, label)
    elif isinstance(source, (bytes, bytearray)):
        array, sr, source_rate = _read_file(io.BytesIO(bytes(source)), label)
    elif isinstance(source, tuple):
        if len(source) != 2:
            raise InputError(f"{label}: a tuple must be (sample_rate, array); got {len(source)} items")
        first, second = source
        sr, array = (first, second) if np.isscalar(first) else (second, first)
        array = np.asarray(array)
    elif isinstance(source, np.ndarray) or hasattr(source, "numpy"):
        if sample_rate is None:
            raise InputError(f"{label}: an array needs its sample rate (sample_rate=...)")
        array = source.detach().cpu().numpy() if hasattr(source, "detach") else np.asarray(source)
        sr = sample_rate
    elif source is None:
        raise InputError(f"{label}: no audio was given; expected {ACCEPTED}")
    else:
        raise InputError(f"{label}: unsupported audio input of type {type(source).__name__}; expected {ACCEPTED}")
    try:
        sr = int(sr)
    except (TypeError, ValueError):
        raise InputError(f"{label}: sample rate {sr!r} is not a number") from None
    if sr <= 0:
        raise InputError(f"{label}: sample rate must be positive, got {sr}")
    own_rate = source_rate or sr
    if not MIN_SAMPLE_RATE <= own_rate <= MAX_SAMPLE_RATE:
        raise InputError(
            f"{label}: a sample rate of {own_rate} Hz is not a sound recording's; "
            f"expected {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz (16000, 44100 and 48000 are usual)"
        )
    array = np.asarray(array)
    if array.size == 0:
        raise InputError(f"{label}: the audio is empty (zero samples); expected at least a short sound")
    array = _to_mono(_to_float(array, label), label)
    if not np.all(np.isfinite(array)):
        bad = int((~np.isfinite(array)).sum())
        raise InputError(f"{label}: {bad} samples are NaN or infinite; audio must be finite numbers")
    notes: list[str] = []
    source_peak = float(np.max(np.abs(array)))
    if source_peak > MAX_FULL_SCALE:
        raise InputError(
            f"{label}: samples reach {source_peak:.3g}, {source_peak:.0f}x full scale (±1); float audio more than "
            f"{MAX_FULL_SCALE:g}x beyond full scale is refused (scale it to ±1, or use the volume control)"
        )
    if source_peak > 1.0:
        notes.append(
            f"the sound itself reaches {source_peak:.2f}x full scale (±1) before any gain; the clipping policy applies"
        )
    if sr != SAMPLE_RATE:
        import soxr  # librosa.resample's default ("soxr_hq"), called directly: same samples, without its
        # numba warm-up, which cost a fresh process 19 s on its first resampled sound

        array = soxr.resample(array.astype(np.float32), sr, SAMPLE_RATE, quality="soxr_hq").astype(np.float32)
    if (source_rate or sr) != SAMPLE_RATE:
        notes.append(f"resampled from {source_rate or sr} Hz to {SAMPLE_RATE} Hz")
    if max_seconds is not None and len(array) > max_seconds * SAMPLE_RATE:
        notes.append(f"cropped from {len(array) / SAMPLE_RATE:.1f} s to the first {max_seconds:g} s")
        array = array[: int(max_seconds * SAMPLE_RATE)]
    if len(array) < 400:
        raise InputError(f"{label}: only {len(array)} samples at 16 kHz; at least 400 (25 ms) are needed")
    peak = float(np.max(np.abs(array)))
    if peak == 0.0 or 20 * np.log10(peak) < SILENCE_DBFS:
        notes.append(f"the sound is silent or nearly so (peak below {SILENCE_DBFS:g} dBFS)")
    return AudioClip(np.ascontiguousarray(array, dtype=np.float32), SAMPLE_RATE, label, notes)


def clip_window(audio: np.ndarray, start: float | None, seconds: float | None) -> tuple[float, np.ndarray]:
    """[start, start+seconds) of 16 kHz audio, from 0 when start is unset or within 0.5 s of the end."""
    begin = start if start is not None and start + 0.5 < len(audio) / SAMPLE_RATE else 0.0
    end = len(audio) if seconds is None else int((begin + seconds) * SAMPLE_RATE)
    return begin, audio[int(begin * SAMPLE_RATE) : end]


def windows(waveform: np.ndarray, window: float) -> list[np.ndarray]:
    """Consecutive non-overlapping windows of `window` seconds; a last partial one is kept if at least half."""
    size = int(window * SAMPLE_RATE)
    starts = range(0, max(len(waveform) - size // 2 + 1, 1), size)
    return [np.pad(waveform[s : s + size], (0, max(0, size - len(waveform[s : s + size])))) for s in starts]
