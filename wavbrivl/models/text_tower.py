"""What every text tower shares: a tokenizer attached by the loader, and checked input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

from wavbrivl.errors import InputError, WeightsError


class TextTower(Protocol):
    """The interface the pipeline uses: embed_dim, an attached tokenizer, encode_text (an nn.Module)."""

    embed_dim: int
    tokenizer: Any

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings (N, D) of texts."""


def check_texts(texts: Sequence[str], tokenizer: Any) -> list[str]:
    """The texts as a list, refusing a missing tokenizer or empty / non-string prompts with a clear message."""
    if tokenizer is None:
        raise WeightsError("this text tower has no tokenizer attached; load it with its tokenizer folder or id")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if not texts or bad:
        raise InputError(f"text prompts must be non-empty strings (empty at positions {bad or [0]})")
    return texts
