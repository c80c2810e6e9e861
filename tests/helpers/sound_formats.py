"""One sound written in every format users bring (soundfile and PyAV only: no ffmpeg program)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.helpers.eval_layouts import encode_sound, write_toy_video

SR = 16000
# file name -> how it is written: soundfile (format, subtype) or PyAV (container format, codec, encoder rate)
FORMATS = {
    "toy.wav": ("sf", "WAV", "PCM_16"),
    "toy.flac": ("sf", "FLAC", "PCM_16"),
    "toy-vorbis.ogg": ("sf", "OGG", "VORBIS"),
    "toy-opus.ogg": ("sf", "OGG", "OPUS"),
    "toy.mp3": ("av", "mp3", "libmp3lame", SR),
    "toy.m4a": ("av", "ipod", "aac", SR),  # phone recordings
    "toy.webm": ("av", "webm", "libopus", 48000),  # Chrome's and Firefox's recordings
    "toy.mp4": ("av", "mp4", "aac", SR),  # Safari's recordings: sound only
    "toy-video.mp4": ("video",),  # a video's sound track
    "microphone.wav": ("mic",),  # what Gradio's recorder uploads: 48 kHz 16-bit wav
}


def write_sound(path: Path, name: str, audio: np.ndarray, image: Image.Image | None = None) -> Path:
    """Write a 16 kHz mono float sound at `path` the way FORMATS[name] says (a video also needs `image`)."""
    how = FORMATS[name]
    if how[0] == "sf":
        sf.write(path, audio, SR, format=how[1], subtype=how[2])
    elif how[0] == "av":
        with av.open(str(path), "w", format=how[1]) as out:
            encode_sound(out, out.add_stream(how[2], rate=how[3], layout="mono"), audio)
    elif how[0] == "video":
        if image is None:
            raise ValueError(f"{name} is a video: give the picture it shows")
        write_toy_video(path, image, audio)
    else:
        t48 = np.interp(np.arange(3 * len(audio)) / 3, np.arange(len(audio)), audio)
        sf.write(path, np.stack([t48, t48], axis=1), 48000, subtype="PCM_16")
    return path


def forbid_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    """No program can be found on PATH, and starting ffmpeg/ffprobe fails the test (CI machines have neither)."""
    real_popen = subprocess.Popen

    def guarded(args, *rest, **kwargs):
        if any(tool in str(args) for tool in ("ffmpeg", "ffprobe", "avconv", "avprobe")):
            raise AssertionError(f"an FFmpeg program was started: {args}")
        return real_popen(args, *rest, **kwargs)

    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(subprocess, "Popen", guarded)
    try:
        import pydub.utils  # Gradio's own decoding calls ffprobe through this
    except ImportError:
        return
    monkeypatch.setattr(pydub.utils, "Popen", guarded, raising=False)
