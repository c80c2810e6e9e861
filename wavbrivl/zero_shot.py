"""Zero-shot classification: sounds scored against class-name prompts through the text tower."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from wavbrivl.errors import InputError


def readable(name: str) -> str:
    """A dataset label as words: 'chirping_birds' -> 'chirping birds', 'Dog' -> 'dog'."""
    return " ".join(name.replace("_", " ").replace("-", " ").split()).lower()


def class_prompts(class_names: Sequence[str], templates: Sequence[str] = ("{}",)) -> list[list[str]]:
    """For each class, its prompts: every template with '{}' replaced by the readable class name."""
    if not class_names:
        raise InputError("zero-shot classification needs at least one class name")
    if not templates or any("{}" not in t for t in templates):
        raise InputError(f"templates {list(templates)!r}: each must contain '{{}}' where the class name goes")
    return [[t.replace("{}", readable(name)) for t in templates] for name in class_names]


@dataclass
class ZeroShotResult:
    """Scores (N, C) of N sounds against C classes, with the class names."""

    classes: list[str]
    scores: torch.Tensor

    @property
    def predictions(self) -> list[int]:
        """The best class index per sound."""
        return self.scores.argmax(-1).tolist()

    def top(self, row: int = 0, k: int = 5) -> list[tuple[str, float]]:
        """The k best (class name, score) pairs of one sound."""
        values, indices = self.scores[row].topk(min(k, len(self.classes)))
        return [(self.classes[int(i)], float(v)) for v, i in zip(values, indices)]
