"""Readers for the official on-disk layouts of the audio benchmarks: ESC-50, UrbanSound8K, VGGSound, DESED, Clotho."""

from __future__ import annotations

from collections.abc import Callable

from wavbrivl.evaluation.datasets.clotho import read_clotho, read_clotho_captions
from wavbrivl.evaluation.datasets.common import ClipItem, DatasetError, EvalDataset
from wavbrivl.evaluation.datasets.desed import DESED_CLASSES, read_desed
from wavbrivl.evaluation.datasets.esc50 import read_esc50
from wavbrivl.evaluation.datasets.us8k import read_us8k
from wavbrivl.evaluation.datasets.vggsound import read_vggsound

READERS: dict[str, Callable[..., EvalDataset]] = {
    "esc50": read_esc50,
    "us8k": read_us8k,
    "vggsound": read_vggsound,
    "desed": read_desed,
    "clotho": read_clotho,
}

__all__ = [
    "DESED_CLASSES",
    "READERS",
    "ClipItem",
    "DatasetError",
    "EvalDataset",
    "read_clotho",
    "read_clotho_captions",
    "read_desed",
    "read_esc50",
    "read_us8k",
    "read_vggsound",
]
