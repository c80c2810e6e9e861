"""Reader for ESC-50 (meta/esc50.csv and audio/*.wav, 5 folds, 50 classes)."""

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

ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")


def read_esc50(root: str | Path, allow_missing: bool = False) -> EvalDataset:
    """Read ESC-50 from its official layout: meta/esc50.csv and audio/*.wav (5 folds, 50 classes)."""
    root = Path(root)
    meta = _require_metadata(root / "meta" / "esc50.csv", root, "esc50")
    table: dict[int, tuple[str, int]] = {}
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for line, row in _read_rows(meta, ESC50_COLUMNS):
        name = _require_cell(row["filename"], meta, line, "filename")
        fold = _parse_positive(row["fold"], meta, line, "fold")
        target = _parse_int(row["target"], meta, line, "target")
        _note_class(table, target, row["category"], meta, line, ("target", "category"))
        _add_clip(ClipItem(Path(name).stem, root / "audio" / name, label=target, fold=fold), items, missing)
    classes = _class_list(table, meta, "target")
    return _finish("esc50", root, classes, items, missing, meta, allow_missing)
