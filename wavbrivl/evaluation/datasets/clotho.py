"""Reader for Clotho (clotho_captions_<split>.csv and the split's audio folder)."""

from __future__ import annotations

from pathlib import Path

from wavbrivl.evaluation.datasets.common import (
    ClipItem,
    EvalDataset,
    finish,
    read_rows,
    require_cell,
    require_metadata,
)

CLOTHO_COLUMNS = ("file_name", "caption_1", "caption_2", "caption_3", "caption_4", "caption_5")


def _clotho_audio(root: Path, split: str, name: str) -> tuple[Path, ...]:
    """Where a Clotho clip may lie, in order of preference."""
    unpacked = root / f"clotho_audio_{split}"
    return root / split / name, unpacked / name, unpacked / split / name


def read_clotho(root: str | Path, split: str = "evaluation", allow_missing: bool = False) -> EvalDataset:
    """Read Clotho: clotho_captions_<split>.csv (5 captions per clip) and the split's audio folder."""
    root = Path(root)
    meta = require_metadata(root / f"clotho_captions_{split}.csv", root, "clotho")
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for line, row in read_rows(meta, CLOTHO_COLUMNS):
        name = require_cell(row["file_name"], meta, line, "file_name")
        captions = [row[column] for column in CLOTHO_COLUMNS[1:]]
        candidates = _clotho_audio(root, split, name)
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            missing.append((Path(name).stem, f"{candidates[0]} (or {candidates[1]}, {candidates[2]})"))
        else:
            items.append(ClipItem(Path(name).stem, found, split=split, captions=captions))
    return finish("clotho", root, [], items, missing, meta, allow_missing)


def read_clotho_captions(root: str | Path, split: str = "development") -> list[str]:
    """All captions of a Clotho split from its csv alone (no audio needed), e.g. as a caption pool."""
    root = Path(root)
    meta = require_metadata(root / f"clotho_captions_{split}.csv", root, "clotho")
    captions = [row[column] for _, row in read_rows(meta, CLOTHO_COLUMNS) for column in CLOTHO_COLUMNS[1:]]
    return list(dict.fromkeys(c.strip() for c in captions if c and c.strip()))
