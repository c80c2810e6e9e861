"""Reader for ESC-50 (meta/esc50.csv and audio/*.wav, 5 folds, 50 classes)."""

from __future__ import annotations

from pathlib import Path

from wavbrivl.evaluation.datasets.common import EvalDataset, read_labelled_folds, require_metadata

ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")


def read_esc50(root: str | Path, allow_missing: bool = False) -> EvalDataset:
    """Read ESC-50 from its official layout: meta/esc50.csv and audio/*.wav (5 folds, 50 classes)."""
    root = Path(root)
    meta = require_metadata(root / "meta" / "esc50.csv", root, "esc50")
    columns = ("filename", "target", "category")
    audio = root / "audio"
    return read_labelled_folds("esc50", root, meta, ESC50_COLUMNS, columns, lambda name, _: audio / name, allow_missing)
