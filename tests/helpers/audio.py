"""Sounds made on the spot."""

from __future__ import annotations

import numpy as np

SR = 16000


def tone(freq: float = 440.0, seconds: float = 1.0, amp: float = 0.3, sr: int = SR) -> np.ndarray:
    """A sine tone with a little noise, float32."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(freq))
    return (amp * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
