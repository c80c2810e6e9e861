"""Where a component's weights came from, and whether they were trained."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Provenance:
    """Where a component's weights came from and whether they were trained."""

    source: str
    trained: bool
    note: str = ""


def untrained_audio(provenance: dict[str, Provenance]) -> str:
    """One line saying the audio tower is untrained and how to get a trained one, or "" when it is trained."""
    part = provenance.get("audio_tower")
    if part is None or part.trained:
        return ""
    return (
        f"the audio tower ({part.source}) is UNTRAINED, so sounds would give meaningless results: train one "
        "(`wavbrivl train`, docs/training.md) and load it with --audio-weights or --pretrained, or allow it with "
        "--allow-untrained (Python: allow_untrained=True)"
    )
