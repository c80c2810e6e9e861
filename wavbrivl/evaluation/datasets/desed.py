"""Reader for DESED (metadata/<split>/<split>.tsv strong labels and audio/<split>/*.wav)."""

from __future__ import annotations

from pathlib import Path

from wavbrivl.evaluation.datasets.common import (
    ClipItem,
    DatasetError,
    EvalDataset,
    add_clip,
    finish,
    parse_seconds,
    read_rows,
    require_cell,
    require_metadata,
)

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
DESED_COLUMNS = ("filename", "onset", "offset", "event_label")


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
    onset = parse_seconds(cells[0], path, line, "onset")
    offset = parse_seconds(cells[1], path, line, "offset")
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
    meta = require_metadata(root / "metadata" / split / f"{split}.tsv", root, "desed")
    events: dict[str, list[tuple[float, float, int]]] = {}
    for line, row in read_rows(meta, DESED_COLUMNS, delimiter="\t", pad_short=True):
        file_events = events.setdefault(require_cell(row["filename"], meta, line, "filename"), [])
        event = _desed_event(row, meta, line)
        if event is not None:
            file_events.append(event)
    items: list[ClipItem] = []
    missing: list[tuple[str, str]] = []
    for name, file_events in events.items():
        item = ClipItem(Path(name).stem, root / "audio" / split / name, split=split, events=sorted(file_events))
        add_clip(item, items, missing)
    return finish("desed", root, list(DESED_CLASSES), items, missing, meta, allow_missing)
