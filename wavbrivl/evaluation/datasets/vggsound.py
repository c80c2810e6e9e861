"""Reader for VGGSound (the official header-less vggsound.csv and clips found anywhere under the root)."""

from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from wavbrivl.evaluation.datasets.common import (
    ARCHIVE_LAYOUTS,
    MEDIA_EXTENSIONS,
    ClipItem,
    DatasetError,
    EvalDataset,
    finish,
    open_table,
    parse_int,
    require_cell,
)

VGGSOUND_SPLITS = ("train", "test")
VGGSOUND_CLIP_SECONDS = 10


@dataclass(frozen=True)
class _VggRow:
    """One row of vggsound.csv."""

    line: int
    ytid: str
    start: int
    label: str
    split: str

    @property
    def id(self) -> str:
        """The clip id: youtube id and zero-padded start second."""
        return f"{self.ytid}_{self.start:06d}"


def _vggsound_csv(root: Path, csv_path: str | Path | None) -> Path:
    """The metadata file: csv_path if given, else root/vggsound.csv or root/metadata/vggsound.csv."""
    if csv_path is not None:
        path = Path(csv_path)
        if not path.is_file():
            raise DatasetError(f"VGGSound metadata not found: {path} does not exist. {ARCHIVE_LAYOUTS['vggsound']}.")
        return path
    candidates = (root / "vggsound.csv", root / "metadata" / "vggsound.csv")
    for path in candidates:
        if path.is_file():
            return path
    where = f"the folder {root} does not exist" if not root.is_dir() else "neither exists"
    raise DatasetError(
        f"VGGSound metadata not found: expected {candidates[0]} or {candidates[1]}, but {where} "
        f"(or pass csv_path). {ARCHIVE_LAYOUTS['vggsound']}."
    )


def _vggsound_row(row: list[str], path: Path, line: int) -> _VggRow:
    """Parse one row; a label with an unquoted comma is rejoined from the middle fields."""
    if len(row) < 4:
        raise DatasetError(
            f"{path}, line {line}: {len(row)} fields {row}; each row must be youtube_id,start_seconds,label,split "
            "(no header; labels with commas in double quotes)"
        )
    ytid, start_text, split = row[0].strip(), row[1].strip(), row[-1].strip()
    label = ",".join(row[2:-1]).strip()
    require_cell(ytid, path, line, "youtube_id")
    require_cell(label, path, line, "label")
    try:
        start = parse_int(start_text, path, line, "start_seconds")
    except DatasetError as exc:
        hint = " (the official file has no header; a first line starting with # is skipped)" if line == 1 else ""
        raise DatasetError(f"{exc}{hint}") from None
    if start < 0:
        raise DatasetError(f"{path}, line {line}: start_seconds {start_text!r} is negative")
    if split not in VGGSOUND_SPLITS:
        raise DatasetError(f"{path}, line {line}: split {split!r} is not one of {list(VGGSOUND_SPLITS)}")
    return _VggRow(line, ytid, start, label, split)


def _vggsound_rows(path: Path) -> list[_VggRow]:
    """All rows of vggsound.csv, skipping blank lines, a leading '#' line and exact duplicates."""
    rows: dict[str, _VggRow] = {}
    with open_table(path) as handle:
        reader = csv.reader(handle)
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if line == 1 and cells[0].lstrip().startswith("#"):
                continue
            row = _vggsound_row(cells, path, line)
            known = rows.setdefault(row.id, row)
            if (known.label, known.split) != (row.label, row.split):
                warnings.warn(
                    f"{path}, line {line}: clip {row.id} is ({row.label!r}, {row.split}) here but "
                    f"({known.label!r}, {known.split}) on line {known.line}; keeping line {known.line}",
                    stacklevel=2,
                )
    return list(rows.values())


def _index_media(root: Path) -> dict[str, Path]:
    """Media files under root (recursively, following no links), by file stem; the first in sorted order wins."""
    index: dict[str, Path] = {}
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix.lower() in MEDIA_EXTENSIONS:
                index.setdefault(path.stem, path)
    return index


def _vggsound_stems(ytid: str, start: int) -> tuple[str, ...]:
    """File stems a downloaded clip may have, most specific first."""
    end = start + VGGSOUND_CLIP_SECONDS
    return (
        f"{ytid}_{start:06d}",
        f"{ytid}_{start}",
        f"{ytid}_{start * 1000}_{end * 1000}",
        f"{ytid}_{start:06d}_{end:06d}",
        ytid,
    )


def read_vggsound(root: str | Path, csv_path: str | Path | None = None, allow_missing: bool = True) -> EvalDataset:
    """Read VGGSound: the official header-less vggsound.csv and its clips found anywhere under root by name."""
    root = Path(root)
    meta = _vggsound_csv(root, csv_path)
    rows = _vggsound_rows(meta)
    classes = sorted({row.label for row in rows})
    label_of = {name: index for index, name in enumerate(classes)}
    index = _index_media(root) if root.is_dir() else {}
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for row in rows:
        stems = _vggsound_stems(row.ytid, row.start)
        stem = next((stem for stem in stems if stem in index), None)
        if stem is None:
            missing.append((row.id, f"{root}/**/{row.id}.<{'|'.join(e[1:] for e in MEDIA_EXTENSIONS)}>"))
        else:
            start = float(row.start) if stem == row.ytid else 0.0  # a whole video: the clip starts inside it
            items.append(ClipItem(row.id, index[stem], label=label_of[row.label], split=row.split, start=start))
    return finish("vggsound", root, classes, items, missing, meta, allow_missing)
