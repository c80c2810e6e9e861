"""Readers for the official on-disk layouts of the audio benchmarks: ESC-50, UrbanSound8K, VGGSound, DESED, Clotho."""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from wavbrivl.data.video import CONTAINER_AUDIO_SUFFIXES, VIDEO_SUFFIXES
from wavbrivl.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
MEDIA_EXTENSIONS = tuple(sorted(VIDEO_SUFFIXES | CONTAINER_AUDIO_SUFFIXES)) + AUDIO_EXTENSIONS
DESED_CLASSES = (
    "Alarm_bell_ringing",
    "Blender",
    "Cat",
    "Dishes",
    "Dog",
    "Electric_shaver_toothbrush",
    "Frying",
    "Running_water",
    "Speech",
    "Vacuum_cleaner",
)
VGGSOUND_SPLITS = ("train", "test")
ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
US8K_COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
DESED_COLUMNS = ("filename", "onset", "offset", "event_label")
CLOTHO_COLUMNS = ("file_name", "caption_1", "caption_2", "caption_3", "caption_4", "caption_5")
VGGSOUND_CLIP_SECONDS = 10
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


def _require_metadata(path: Path, root: Path, dataset: str) -> Path:
    """Return path if it is a file, else raise an error naming the expected path and the archive's layout."""
    if path.is_file():
        return path
    where = f"the folder {root} does not exist" if not root.is_dir() else f"{path} does not exist"
    raise DatasetError(
        f"{DISPLAY_NAMES[dataset]} metadata not found: expected {path}, but {where}. "
        f"{ARCHIVE_LAYOUTS[dataset]}.{_nested_hint(path, root)}"
    )


@contextmanager
def _open_table(path: Path) -> Iterator[TextIO]:
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


def _read_rows(
    path: Path, required: Sequence[str], delimiter: str = ",", pad_short: bool = False
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row as column -> stripped text) for each non-blank row of a table with a header."""
    with _open_table(path) as handle:
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


def _parse_int(value: str, path: Path, line: int, column: str) -> int:
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
    number = _parse_int(value, path, line, column)
    if number < 1:
        raise DatasetError(f"{path}, line {line}: {column} {value!r} must be a positive integer")
    return number


def _parse_seconds(value: str, path: Path, line: int, column: str) -> float:
    """A time in seconds (finite, >= 0)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise DatasetError(f"{path}, line {line}: {column} {value!r} is not a time in seconds (a number >= 0)")
    return seconds


def _require_cell(value: str, path: Path, line: int, column: str) -> str:
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


def _finish(
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


def _add_clip(item: ClipItem, items: list[ClipItem], missing: list[tuple[str, str]]) -> None:
    """Keep the item if its file exists, else note it as missing."""
    if item.path.is_file():
        items.append(item)
    else:
        missing.append((item.id, str(item.path)))


# ---------------------------------------------------------------- ESC-50 and UrbanSound8K


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


# ---------------------------------------------------------------- VGGSound


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
    _require_cell(ytid, path, line, "youtube_id")
    _require_cell(label, path, line, "label")
    try:
        start = _parse_int(start_text, path, line, "start_seconds")
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
    with _open_table(path) as handle:
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
    return _finish("vggsound", root, classes, items, missing, meta, allow_missing)


# ---------------------------------------------------------------- DESED


def _desed_event(row: dict[str, str], path: Path, line: int) -> tuple[float, float, int] | None:
    """One event (onset, offset, class index), or None for a row marking a file with no event."""
    cells = (row["onset"], row["offset"], row["event_label"])
    if not any(cells):
        return None
    if not all(cells):
        raise DatasetError(
            f"{path}, line {line}: onset {cells[0]!r}, offset {cells[1]!r}, event_label {cells[2]!r}: an event needs "
            "all three (or none, for a file with no event)"
        )
    onset = _parse_seconds(cells[0], path, line, "onset")
    offset = _parse_seconds(cells[1], path, line, "offset")
    if onset > offset:
        raise DatasetError(f"{path}, line {line}: onset {onset:g} s is after offset {offset:g} s")
    if cells[2] not in DESED_CLASSES:
        raise DatasetError(
            f"{path}, line {line}: event_label {cells[2]!r} is not a DESED class; accepted: {', '.join(DESED_CLASSES)}"
        )
    return onset, offset, DESED_CLASSES.index(cells[2])


def read_desed(root: str | Path, split: str = "validation", allow_missing: bool = False) -> EvalDataset:
    """Read DESED: metadata/<split>/<split>.tsv (strong labels) and audio/<split>/*.wav, one item per file."""
    root = Path(root)
    meta = _require_metadata(root / "metadata" / split / f"{split}.tsv", root, "desed")
    events: dict[str, list[tuple[float, float, int]]] = {}
    for line, row in _read_rows(meta, DESED_COLUMNS, delimiter="\t", pad_short=True):
        file_events = events.setdefault(_require_cell(row["filename"], meta, line, "filename"), [])
        event = _desed_event(row, meta, line)
        if event is not None:
            file_events.append(event)
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for name, file_events in events.items():
        item = ClipItem(Path(name).stem, root / "audio" / split / name, split=split, events=sorted(file_events))
        _add_clip(item, items, missing)
    return _finish("desed", root, list(DESED_CLASSES), items, missing, meta, allow_missing)


# ---------------------------------------------------------------- Clotho


def _clotho_audio(root: Path, split: str, name: str) -> tuple[Path, ...]:
    """Where a Clotho clip may lie, in order of preference."""
    unpacked = root / f"clotho_audio_{split}"
    return root / split / name, unpacked / name, unpacked / split / name


def read_clotho(root: str | Path, split: str = "evaluation", allow_missing: bool = False) -> EvalDataset:
    """Read Clotho: clotho_captions_<split>.csv (5 captions per clip) and the split's audio folder."""
    root = Path(root)
    meta = _require_metadata(root / f"clotho_captions_{split}.csv", root, "clotho")
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for line, row in _read_rows(meta, CLOTHO_COLUMNS):
        name = _require_cell(row["file_name"], meta, line, "file_name")
        captions = [row[column] for column in CLOTHO_COLUMNS[1:]]
        candidates = _clotho_audio(root, split, name)
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            missing.append((Path(name).stem, f"{candidates[0]} (or {candidates[1]}, {candidates[2]})"))
        else:
            items.append(ClipItem(Path(name).stem, found, split=split, captions=captions))
    return _finish("clotho", root, [], items, missing, meta, allow_missing)


READERS: dict[str, Callable[..., EvalDataset]] = {
    "esc50": read_esc50,
    "us8k": read_us8k,
    "vggsound": read_vggsound,
    "desed": read_desed,
    "clotho": read_clotho,
}


def read_clotho_captions(root: str | Path, split: str = "development") -> list[str]:
    """All captions of a Clotho split from its csv alone (no audio needed), e.g. as a caption pool."""
    root = Path(root)
    meta = _require_metadata(root / f"clotho_captions_{split}.csv", root, "clotho")
    captions = [row[column] for _, row in _read_rows(meta, CLOTHO_COLUMNS) for column in CLOTHO_COLUMNS[1:]]
    return list(dict.fromkeys(c.strip() for c in captions if c and c.strip()))
