"""Reader for UrbanSound8K (metadata/UrbanSound8K.csv and audio/fold<k>/*.wav)."""

from __future__ import annotations

from pathlib import Path

from wavbrivl.evaluation.datasets.common import EvalDataset, read_labelled_folds, require_metadata

US8K_COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")


def read_us8k(root: str | Path, allow_missing: bool = False) -> EvalDataset:
    """Read UrbanSound8K from its official layout: metadata/UrbanSound8K.csv and audio/fold<k>/*.wav."""
    root = Path(root)
    meta = require_metadata(root / "metadata" / "UrbanSound8K.csv", root, "us8k")
    columns = ("slice_file_name", "classID", "class")

    def clip_path(name: str, fold: int) -> Path:
        return root / "audio" / f"fold{fold}" / name

    return read_labelled_folds("us8k", root, meta, US8K_COLUMNS, columns, clip_path, allow_missing)
