"""Where a component's weights came from, and whether they were trained."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Provenance:
    """Where a component's weights came from and whether they were trained."""

    source: str
    trained: bool
    note: str = ""
