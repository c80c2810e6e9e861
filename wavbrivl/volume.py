"""The volume control: gain in dB or linear, applied to the waveform before the audio tower."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from wavbrivl.errors import InputError

CLIP_POLICIES = ("allow", "clip")
VOLUME_SYNTAX = re.compile(r"\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*(db|x)?\s*", re.IGNORECASE)  # -6, +6dB, 0.5x
MAX_VOLUME_DB = 120.0  # a gain beyond ±120 dB (a factor of a million) is not a volume setting


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


def check_volume_db(gain_db: float, shown: str | None = None) -> float:
    """The gain in dB if it is a finite number within ±MAX_VOLUME_DB, else an InputError naming it."""
    if not abs(gain_db) <= MAX_VOLUME_DB:  # NaN fails this too
        what = f"volume {shown!r} ({gain_db:g} dB)" if shown is not None else f"volume {gain_db:g} dB"
        reason = "is not a finite number" if not math.isfinite(gain_db) else f"is beyond ±{MAX_VOLUME_DB:g} dB"
        raise InputError(f"{what} {reason}; expected decibels like '-6', '+6dB' or a factor like '0.5x'")
    return float(gain_db)


def parse_volume(text: str | float) -> float:
    """Parse '6', '+6dB', '-12 db' (decibels) or '0.5x' (linear factor) into decibels (finite, within ±120 dB)."""
    if isinstance(text, (int, float)):
        return check_volume_db(float(text))
    shown = str(text) if len(str(text)) <= 40 else str(text)[:37] + "..."  # a huge text is not echoed whole
    match = VOLUME_SYNTAX.fullmatch(str(text))
    if not match:
        raise InputError(f"volume {shown!r}: expected decibels like '-6', '+6dB' or a factor like '0.5x'")
    value = float(match.group(1))
    if (match.group(2) or "").lower() != "x":
        return check_volume_db(value)  # decibels: said as a number gain is said everywhere
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"volume {shown!r}: a factor must be a positive finite number, like '0.5x' or '2x'")
    return check_volume_db(gain_to_db(value), shown)


def apply_gain(waveform: np.ndarray, gain_db: float = 0.0, policy: str = "allow") -> tuple[np.ndarray, VolumeReport]:
    """Scale a waveform by gain_db; 'allow' keeps samples beyond ±1, 'clip' hard-clips them."""
    if policy not in CLIP_POLICIES:
        raise InputError(f"clipping policy {policy!r}: expected one of {CLIP_POLICIES}")
    check_volume_db(gain_db)
    gain = db_to_gain(gain_db)
    scaled = (waveform.astype(np.float32) * np.float32(gain)).astype(np.float32)
    over = int(np.count_nonzero(np.abs(scaled) > 1.0))
    if policy == "clip" and over:
        scaled = np.clip(scaled, -1.0, 1.0)
    peak_in = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    peak_out = float(np.max(np.abs(scaled))) if scaled.size else 0.0
    return scaled, VolumeReport(float(gain_db), gain, peak_in, peak_out, over, policy)
