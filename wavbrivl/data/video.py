"""Read a video's sound (16 kHz mono) and one frame with PyAV (FFmpeg)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from wavbrivl.data.audio import SAMPLE_RATE, clip_window, decode_with_av
from wavbrivl.errors import InputError

VIDEO_SUFFIXES = {".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".flv"}
CONTAINER_AUDIO_SUFFIXES = {".m4a", ".aac", ".opus"}  # audio that only FFmpeg (PyAV) decodes


@dataclass
class VideoClip:
    """A clip's audio, its chosen frame and where they were taken from."""

    audio: np.ndarray
    frame: Image.Image
    start: float
    frame_time: float


def _decode_audio(path: Path, what: str) -> np.ndarray:
    """The whole sound track, with file and decoding problems as InputError."""
    if not path.is_file():
        raise InputError(f"{path}: no such {what}")
    try:
        return decode_with_av(path, str(path), rate=SAMPLE_RATE)[0]
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - FFmpeg errors come in many types
        raise InputError(f"{path}: cannot be decoded ({type(err).__name__}: {err})") from None


def read_audio_track(path: str | Path, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """16 kHz mono sound of a video or FFmpeg-only audio file from start, at most seconds long (no frames)."""
    return clip_window(_decode_audio(Path(path), "file"), start, seconds)[1]


def _seek_before(container, stream, at: float) -> None:
    """Jump to the last keyframe at or before `at` (decoding from there gives the same frames as from the start,
    without decoding the half of a video before its middle); where the file cannot seek, stay at the start."""
    if at <= 0 or not stream.time_base:
        return
    try:
        container.seek(int(at / stream.time_base), stream=stream, backward=True, any_frame=False)
    except Exception:  # noqa: BLE001 - FFmpeg's seek errors come in many types; decoding from the start still works
        container.seek(0, stream=stream)


def _read_frame(path: Path, at: float, max_side: int) -> tuple[Image.Image, float]:
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        _seek_before(container, stream, at)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= at:
                break
        if chosen is None:
            raise InputError(f"{path}: the video stream holds no frames")
        image = chosen.to_image().convert("RGB")
        time = float(chosen.time or 0.0)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image, time


def extract_clip(
    path: str | Path,
    seconds: float = 10.0,
    start: float | None = None,
    frame: str = "middle",
    max_side: int = 480,
    rng: random.Random | None = None,
) -> VideoClip:
    """Audio of [start, start+seconds) (start 0 if the file is shorter) and one frame in that window."""
    path = Path(path)
    begin, clip = clip_window(_decode_audio(path, "video file"), start, seconds)
    if len(clip) < SAMPLE_RATE // 10:
        raise InputError(f"{path}: audio shorter than 0.1 s")
    span = len(clip) / SAMPLE_RATE
    if frame == "middle":
        at = begin + span / 2
    elif frame == "random":
        at = begin + (rng or random.Random(0)).uniform(0, span)
    else:
        raise InputError(f"frame choice {frame!r}: expected 'middle' or 'random'")
    try:
        image, time = _read_frame(path, at, max_side)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001
        raise InputError(f"{path}: video frames cannot be decoded ({type(err).__name__}: {err})") from None
    return VideoClip(clip, image, begin, time)
