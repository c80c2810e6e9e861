"""Reader for UrbanSound8K (metadata/UrbanSound8K.csv and audio/fold<k>/*.wav)."""

from __future__ import annotations

from pathlib import Path

from wavbrivl.evaluation.datasets.common import (
    ClipItem,
    EvalDataset,
    _add_clip,
    _class_list,
    _finish,
    _note_class,
    _parse_int,
    _parse_positive,
    _read_rows,
    _require_cell,
    _require_metadata,
)

US8K_COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")


def read_us8k(root: str | Path, allow_missing: bool = False) -> EvalDataset:
    """Read UrbanSound8K from its official layout: metadata/UrbanSound8K.csv and audio/fold<k>/*.wav."""
    root = Path(root)
    meta = _require_metadata(root / "metadata" / "UrbanSound8K.csv", root, "us8k")
    table: dict[int, tuple[str, int]] = {}
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for line, row in _read_rows(meta, US8K_COLUMNS):
        name = _require_cell(row["slice_file_name"], meta, line, "slice_file_name")
        fold = _parse_positive(row["fold"], meta, line, "fold")
        class_id = _parse_int(row["classID"], meta, line, "classID")
        _note_class(table, class_id, row["class"], meta, line, ("classID", "class"))
        path = root / "audio" / f"fold{fold}" / name
        _add_clip(ClipItem(Path(name).stem, path, label=class_id, fold=fold), items, missing)
    classes = _class_list(table, meta, "classID")
    return _finish("us8k", root, classes, items, missing, meta, allow_missing)
