"""Error types shown to users: each message says what, where, and what is accepted."""

from __future__ import annotations


class WavBriVLError(Exception):
    """Base class for errors meant to be shown to a user as plain words."""


class InputError(WavBriVLError, ValueError):
    """Bad audio or image input (which input, what is wrong, what is accepted)."""


class WeightsError(WavBriVLError, RuntimeError):
    """A checkpoint could not be found, read or matched to a model."""
