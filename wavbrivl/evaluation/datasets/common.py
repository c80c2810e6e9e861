"""Shared pieces of the benchmark readers: clip and dataset records, errors, table parsing, results."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from wavbrivl.data.video import CONTAINER_AUDIO_SUFFIXES, VIDEO_SUFFIXES
from wavbrivl.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
MEDIA_EXTENSIONS = tuple(sorted(VIDEO_SUFFIXES | CONTAINER_AUDIO_SUFFIXES)) + AUDIO_EXTENSIONS
SHOWN = 3  # how many example paths an error message lists

DISPLAY_NAMES = {
    "esc50": "ESC-50",
    "us8k": "UrbanSound8K",
    "vggsound": "VGGSound",
    "desed": "DESED",
    "clotho": "Clotho",
}
ARCHIVE_LAYOUTS = {
    "esc50": "The ESC-50 archive (ESC-50-master) holds meta/esc50.csv and audio/*.wav; pass the folder holding both",
    "us8k": "The UrbanSound8K archive holds metadata/UrbanSound8K.csv and audio/fold1 ... audio/fold10; "
    "pass the UrbanSound8K folder",
    "vggsound": "The official vggsound.csv has no header and rows youtube_id,start_seconds,label,split; "
    "the clips are fetched separately and may lie anywhere under the root as "
    + " ".join(ext[1:] for ext in MEDIA_EXTENSIONS)
    + " files named <youtube_id>_<start:06d>",
    "desed": "The DESED archive holds metadata/<split>/<split>.tsv and audio/<split>/*.wav "
    "(e.g. metadata/validation/validation.tsv); pass the folder holding metadata/ and audio/",
    "clotho": "Clotho (Zenodo) ships clotho_captions_<split>.csv and clotho_audio_<split>.7z, which unpacks to "
    "<split>/*.wav; put both in the root folder",
}


class DatasetError(InputError):
    """A benchmark's files are missing or malformed (which file, what is wrong, what is accepted)."""


@dataclass
class ClipItem:
    """One clip of a benchmark: its media file and its annotations."""

    id: str
    path: Path
    label: int | None = None
    fold: int | None = None
    split: str | None = None
    start: float = 0.0  # seconds into the file where the clip begins (a whole VGGSound video named by its id)
    events: list[tuple[float, float, int]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)


@dataclass
class EvalDataset:
    """A benchmark read from disk: class names and clips (missing holds ids of listed clips with no media file)."""

    name: str
    root: Path
    classes: list[str]
    items: list[ClipItem]
    missing: list[str] = field(default_factory=list)

    def folds(self) -> list[int]:
        """The sorted distinct official folds of the items."""
        return sorted({item.fold for item in self.items if item.fold is not None})

    def split(self, name: str) -> list[ClipItem]:
        """The items of one split."""
        return [item for item in self.items if item.split == name]


# ---------------------------------------------------------------- files and tables


def _nested_hint(expected: Path, root: Path) -> str:
    """A hint when the expected file lies one folder deeper (an archive unpacked into its own folder)."""
    if not root.is_dir():
        return ""
    relative = expected.relative_to(root)
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if (sub / relative).is_file():
            return f" Found {sub / relative}: pass {sub} as the root instead."
    return ""


def require_metadata(path: Path, root: Path, dataset: str) -> Path:
    """Return path if it is a file, else raise an error naming the expected path and the archive's layout."""
    if path.is_file():
        return path
    where = f"the folder {root} does not exist" if not root.is_dir() else f"{path} does not exist"
    raise DatasetError(
        f"{DISPLAY_NAMES[dataset]} metadata not found: expected {path}, but {where}. "
        f"{ARCHIVE_LAYOUTS[dataset]}.{_nested_hint(path, root)}"
    )


@contextmanager
def open_table(path: Path) -> Iterator[TextIO]:
    """Open a UTF-8 (optionally BOM-prefixed) text table, turning decode and csv errors into DatasetError."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield handle
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}: cannot be parsed as a table ({exc})") from None


def _check_header(path: Path, header: list[str], required: Sequence[str]) -> None:
    """Raise unless the header holds exactly the required columns (in any order)."""
    absent = [c for c in required if c not in header]
    extra = [c for c in header if c not in required]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if absent or extra or duplicated:
        problems = [f"missing {absent}" if absent else "", f"unexpected {extra}" if extra else ""]
        problems.append(f"repeated {duplicated}" if duplicated else "")
        raise DatasetError(
            f"{path}: the header has columns {header}, but {list(required)} are required "
            f"({'; '.join(p for p in problems if p)})"
        )


def read_rows(
    path: Path, required: Sequence[str], delimiter: str = ",", pad_short: bool = False
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row as column -> stripped text) for each non-blank row of a table with a header."""
    with open_table(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise DatasetError(f"{path}: is empty; expected a header with columns {list(required)}")
        header = [c.strip() for c in header]
        _check_header(path, header, required)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header) and pad_short:
                row = row + [""] * (len(header) - len(row))
            if len(row) != len(header):
                raise DatasetError(
                    f"{path}, line {reader.line_num}: {len(row)} fields, but the header has {len(header)} "
                    f"({delimiter!r}-separated columns {header})"
                )
            yield reader.line_num, {c: cell.strip() for c, cell in zip(header, row)}


def parse_int(value: str, path: Path, line: int, column: str) -> int:
    """An integer cell (also '30.0'), or an error naming the file, line and value."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and number.is_integer():
        return int(number)
    raise DatasetError(f"{path}, line {line}: {column} {value!r} is not an integer")


def _parse_positive(value: str, path: Path, line: int, column: str) -> int:
    """An integer cell that must be >= 1 (a fold)."""
    number = parse_int(value, path, line, column)
    if number < 1:
        raise DatasetError(f"{path}, line {line}: {column} {value!r} must be a positive integer")
    return number


def parse_seconds(value: str, path: Path, line: int, column: str) -> float:
    """A time in seconds (finite, >= 0)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise DatasetError(f"{path}, line {line}: {column} {value!r} is not a time in seconds (a number >= 0)")
    return seconds


def require_cell(value: str, path: Path, line: int, column: str) -> str:
    """A non-empty cell."""
    if not value:
        raise DatasetError(f"{path}, line {line}: {column} is empty")
    return value


# ---------------------------------------------------------------- class tables and results


def _note_class(
    table: dict[int, tuple[str, int]], index: int, name: str, path: Path, line: int, columns: tuple[str, str]
) -> None:
    """Record that class index has this name, checking one index names one class."""
    index_col, name_col = columns
    if index < 0:
        raise DatasetError(f"{path}, line {line}: {index_col} {index} is negative; class indices start at 0")
    if not name:
        raise DatasetError(f"{path}, line {line}: {name_col} is empty")
    known = table.setdefault(index, (name, line))
    if known[0] != name:
        raise DatasetError(
            f"{path}, line {line}: {index_col} {index} is {name!r} here but {known[0]!r} on line {known[1]}; "
            f"each {index_col} must name a single {name_col}"
        )


def _class_list(table: dict[int, tuple[str, int]], path: Path, index_col: str) -> list[str]:
    """Class names by index, checking the indices are 0 .. n-1."""
    gaps = [i for i in range(max(table, default=-1) + 1) if i not in table]
    if gaps:
        raise DatasetError(f"{path}: {index_col} values skip {gaps[:10]}; class indices must run 0 .. n-1 without gaps")
    return [table[i][0] for i in range(len(table))]


def _check_unique(items: list[ClipItem], path: Path) -> None:
    """Raise if two items share an id."""
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(f"{path}: clip {item.id!r} is listed more than once; each clip must appear once")
        seen.add(item.id)


def finish(
    dataset: str,
    root: Path,
    classes: list[str],
    items: list[ClipItem],
    missing: list[tuple[str, str]],
    metadata: Path,
    allow_missing: bool,
) -> EvalDataset:
    """Build the dataset, raising on missing media (unless allowed) and on zero items."""
    display, total = DISPLAY_NAMES[dataset], len(items) + len(missing)
    examples = ", ".join(where for _, where in missing[:SHOWN]) + (" ..." if len(missing) > SHOWN else "")
    if not items:
        if not missing:
            raise DatasetError(f"{display}: {metadata} lists no clips")
        raise DatasetError(
            f"{display}: none of the {total} media files listed in {metadata} were found, e.g. {examples}. "
            f"{ARCHIVE_LAYOUTS[dataset]}."
        )
    if missing and not allow_missing:
        raise DatasetError(
            f"{display}: {len(missing)} of the {total} media files listed in {metadata} are missing, e.g. {examples}; "
            "unpack the complete archive there, or pass allow_missing=True to skip them"
        )
    _check_unique(items, metadata)
    return EvalDataset(dataset, root, classes, items, [clip_id for clip_id, _ in missing])


def add_clip(item: ClipItem, items: list[ClipItem], missing: list[tuple[str, str]]) -> None:
    """Keep the item if its file exists, else note it as missing."""
    if item.path.is_file():
        items.append(item)
    else:
        missing.append((item.id, str(item.path)))


def read_labelled_folds(
    dataset: str,
    root: Path,
    meta: Path,
    required: Sequence[str],
    columns: tuple[str, str, str],
    clip_path: Callable[[str, int], Path],
    allow_missing: bool,
) -> EvalDataset:
    """Read a one-label-per-clip table with official folds (ESC-50, UrbanSound8K).

    columns names the file, class index and class name columns; clip_path maps (file name, fold) to the media path.
    """
    file_col, index_col, name_col = columns
    table: dict[int, tuple[str, int]] = {}
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for line, row in read_rows(meta, required):
        name = require_cell(row[file_col], meta, line, file_col)
        fold = _parse_positive(row["fold"], meta, line, "fold")
        index = parse_int(row[index_col], meta, line, index_col)
        _note_class(table, index, row[name_col], meta, line, (index_col, name_col))
        add_clip(ClipItem(Path(name).stem, clip_path(name, fold), label=index, fold=fold), items, missing)
    classes = _class_list(table, meta, index_col)
    return finish(dataset, root, classes, items, missing, meta, allow_missing)
