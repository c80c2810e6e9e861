"""The volume control: gain in dB or linear, applied to the waveform before the audio tower."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from wavbrivl.errors import InputError

CLIP_POLICIES = ("allow", "clip")


@dataclass
class VolumeReport:
    """What a gain did: the factor, the peaks, and whether samples went past full scale."""

    gain_db: float
    gain: float
    peak_in: float
    peak_out: float
    samples_over_full_scale: int
    policy: str

    @property
    def exceeds_full_scale(self) -> bool:
        """True when some scaled samples are beyond ±1.0."""
        return self.samples_over_full_scale > 0

    def message(self) -> str:
        """A one-line description for logs and the UI."""
        text = f"gain {self.gain_db:+.1f} dB (×{self.gain:.3g}), peak {self.peak_out:.3f}"
        if self.exceeds_full_scale:
            action = "hard-clipped to ±1" if self.policy == "clip" else "kept beyond full scale (policy 'allow')"
            text += f"; {self.samples_over_full_scale} samples exceed full scale, {action}"
        return text


def db_to_gain(gain_db: float) -> float:
    """Decibels to a linear amplitude factor."""
    return float(10.0 ** (gain_db / 20.0))


def gain_to_db(gain: float) -> float:
    """A linear amplitude factor to decibels."""
    if gain <= 0:
        raise InputError(f"volume factor must be positive, got {gain}")
    return float(20.0 * math.log10(gain))


def parse_volume(text: str | float) -> float:
    """Parse '6', '+6dB', '-12 db' (decibels) or '0.5x' (linear factor) into decibels."""
    if isinstance(text, (int, float)):
        return float(text)
    match = re.fullmatch(r"\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*(db|x)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise InputError(f"volume {text!r}: expected decibels like '-6', '+6dB' or a factor like '0.5x'")
    value = float(match.group(1))
    return gain_to_db(value) if (match.group(2) or "").lower() == "x" else value


def apply_gain(waveform: np.ndarray, gain_db: float = 0.0, policy: str = "allow") -> tuple[np.ndarray, VolumeReport]:
    """Scale a waveform by gain_db; 'allow' keeps samples beyond ±1, 'clip' hard-clips them."""
    if policy not in CLIP_POLICIES:
        raise InputError(f"clipping policy {policy!r}: expected one of {CLIP_POLICIES}")
    if not math.isfinite(gain_db):
        raise InputError(f"volume {gain_db} dB is not a finite number")
    gain = db_to_gain(gain_db)
    scaled = (waveform.astype(np.float32) * np.float32(gain)).astype(np.float32)
    over = int(np.count_nonzero(np.abs(scaled) > 1.0))
    if policy == "clip" and over:
        scaled = np.clip(scaled, -1.0, 1.0)
    peak_in = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    peak_out = float(np.max(np.abs(scaled))) if scaled.size else 0.0
    return scaled, VolumeReport(float(gain_db), gain, peak_in, peak_out, over, policy)
