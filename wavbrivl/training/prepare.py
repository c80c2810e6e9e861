"""`wavbrivl prepare`: videos (and an optional VGGSound csv) into WebDataset shards of clip audio and one frame."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wavbrivl.data.shards import SHARD_PATTERN, Sample, write_shard
from wavbrivl.data.video import VIDEO_SUFFIXES, extract_clip
from wavbrivl.errors import InputError

REPORT_NAME = "prepare-report.json"


@dataclass
class VideoEntry:
    """A video file and what the csv says about it."""

    path: Path
    start: float | None = None
    label: str | None = None
    split: str | None = None


@dataclass
class PrepareReport:
    """What prepare did: shards written or skipped, samples written, files skipped and why."""

    shards_written: list[str] = field(default_factory=list)
    shards_skipped: list[str] = field(default_factory=list)
    samples: int = 0
    skipped_files: dict[str, str] = field(default_factory=dict)


def read_vggsound_csv(path: str | Path) -> dict[str, tuple[float, str, str]]:
    """VGGSound's csv rows (ytid, start seconds, label, split) keyed by ytid_start and by ytid."""
    rows: dict[str, tuple[float, str, str]] = {}
    with open(path, newline="") as handle:
        for n, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 4:
                raise InputError(f"{path}:{n}: expected ytid,start,label,split; got {row}")
            ytid, start, label, split = (c.strip() for c in row[:4])
            try:
                start_s = float(start)
            except ValueError:
                if n == 1:
                    continue  # a header line
                raise InputError(f"{path}:{n}: start {start!r} is not a number") from None
            rows[f"{ytid}_{int(start_s):06d}"] = (start_s, label, split)
            rows.setdefault(ytid, (start_s, label, split))
    return rows


def find_videos(folder: str | Path, csv_path: str | Path | None = None, split: str | None = None) -> list[VideoEntry]:
    """Videos under folder (recursive, sorted); with a csv, only those it lists, with start/label/split."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of videos")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    rows = read_vggsound_csv(csv_path) if csv_path else None
    entries = []
    for path in files:
        if rows is None:
            entries.append(VideoEntry(path))
            continue
        info = rows.get(path.stem) or rows.get(path.stem.rsplit("_", 1)[0])
        if info is not None and (split is None or info[2] == split):
            entries.append(VideoEntry(path, *info))
    return entries


def prepare(
    videos: str | Path,
    out: str | Path,
    csv_path: str | Path | None = None,
    split: str | None = None,
    seconds: float = 10.0,
    frame: str = "middle",
    max_side: int = 480,
    per_shard: int = 500,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> PrepareReport:
    """Write shards of per_shard videos each; finished shards are skipped on a re-run; bad videos are listed."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = find_videos(videos, csv_path, split)
    report_path = out / REPORT_NAME
    report = PrepareReport()
    if report_path.is_file():
        report.skipped_files = json.loads(report_path.read_text()).get("skipped_files", {})
    for index in range(0, len(entries), per_shard):
        shard = out / SHARD_PATTERN.format(index // per_shard)
        group = entries[index : index + per_shard]
        if shard.is_file():
            report.shards_skipped.append(shard.name)
            if progress:
                progress(len(group))
            continue
        rng = random.Random(seed * 1_000_003 + index)

        def samples(group: list[VideoEntry] = group, rng: random.Random = rng):
            for entry in group:
                try:
                    clip = extract_clip(entry.path, seconds, entry.start, frame, max_side, rng)
                except InputError as err:
                    report.skipped_files[str(entry.path)] = str(err)
                else:
                    meta = {
                        "video": entry.path.name,
                        "start": clip.start,
                        "frame_time": clip.frame_time,
                        "label": entry.label,
                        "split": entry.split,
                    }
                    report.samples += 1
                    yield Sample(entry.path.stem, clip.audio, clip.frame, meta)
                if progress:
                    progress(1)

        write_shard(shard, samples())
        report.shards_written.append(shard.name)
        report_path.write_text(json.dumps(report.__dict__, indent=2))
    report_path.write_text(json.dumps(report.__dict__, indent=2))
    return report
