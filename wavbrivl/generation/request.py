"""A generation request, checked once and ready to run: what `WavBriVLPipeline.prepare` returns and `generate` runs.

It holds the checked config (seed resolved), the targets the picture is drawn toward (each sound's embedding and
the text and picture prompts, weighted), the init picture, and the notes a front end shows (how the sound was
read; settings the chosen method does not use).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from wavbrivl.data.pairs import AudioEmbeddings
from wavbrivl.generation.config import GenerationConfig


@dataclass(frozen=True)
class GenerationRequest:
    """A checked generation request: config, targets (B, P, D), their weights (P,), init picture, notes."""

    config: GenerationConfig
    targets: torch.Tensor
    weights: torch.Tensor
    init: Image.Image | None = None
    sound: AudioEmbeddings | None = None  # the sound(s) as embedded, one row per picture
    notes: tuple[str, ...] = ()

    @property
    def pictures(self) -> int:
        """How many pictures the request makes (one per sound and volume, or one from prompts alone)."""
        return int(self.targets.shape[0])
