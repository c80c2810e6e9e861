"""Test media made on the spot: small videos (PyAV), and toy-world shards with frame embeddings."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np


def make_video(
    path: Path, seconds: float = 2.0, audio: bool = True, freq: float = 440.0, fps: int = 10, size=(64, 48)
) -> Path:
    """An mpeg4 + aac video: a brightening grey picture (width x height) and a sine tone."""
    width, height = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=22050) if audio else None
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), (i * 10) % 255, np.uint8), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        if sound is not None:
            sr = 22050
            t = np.arange(int(seconds * sr)) / sr
            wave = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
            for start in range(0, len(t), 1024):
                chunk = np.ascontiguousarray(np.stack([wave[start : start + 1024]] * 2))
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = sr, start, fractions.Fraction(1, sr)
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
    return path
