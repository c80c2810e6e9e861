"""`wavbrivl prepare`: videos (and an optional VGGSound csv) into WebDataset shards of clip audio and one frame.

Shard k holds the videos k * per_shard ... (k + 1) * per_shard - 1 of the sorted list, whoever writes it: under
torchrun, rank r writes the shards k with k % world == r, and `--workers N` DataLoader workers decode its videos
in parallel, so the shards do not depend on how many processes ran. A finished shard (its tar and its record in
`.prepare/`) is never redone; rank 0 merges every shard's record into one `prepare-report.json`.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from wavbrivl.data.shards import SHARD_PATTERN, Sample, encode_sample, write_records
from wavbrivl.data.video import VIDEO_SUFFIXES, extract_clip
from wavbrivl.distributed import JobProgress, atomic_write_json, barrier, init_distributed
from wavbrivl.errors import InputError

REPORT_NAME = "prepare-report.json"
RECORDS = ".prepare"  # one record per finished shard: its sample count and its skipped videos
# Videos a worker decodes and sends back together: fewer messages between processes. On 2 cores with 2 workers,
# 64x48 4 s videos went from 1.66x to 1.74x one process over a run (4 per message) and 1.82x (8); 320x240 10 s ones
# stayed at 1.7-1.8x (best of 3, interleaved). A run's last message waits for at most this many videos.
VIDEOS_PER_MESSAGE = 4


@dataclass
class VideoEntry:
    """A video file and what the csv says about it."""

    path: Path
    start: float | None = None
    label: str | None = None
    split: str | None = None


@dataclass
class ClipSettings:
    """How each video becomes a sample: clip length, which frame, the frame's size, the seed of random choices."""

    seconds: float = 10.0
    frame: str = "middle"
    max_side: int = 480
    seed: int = 0


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


class VideoClips(torch.utils.data.Dataset):
    """Numbered videos, each decoded and encoded (in a DataLoader worker) into a shard record, or the reason it
    was skipped: the writing process only writes bytes."""

    def __init__(self, items: list[tuple[int, VideoEntry]], settings: ClipSettings) -> None:
        self.items, self.settings = items, settings

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[int, dict | str]:
        index, entry = self.items[i]
        s = self.settings
        rng = random.Random(s.seed * 1_000_003 + index)  # the video's own: the same whichever process decodes it
        try:
            clip = extract_clip(entry.path, s.seconds, entry.start, s.frame, s.max_side, rng)
        except InputError as err:
            return index, str(err)
        meta = {"video": entry.path.name, "start": clip.start, "frame_time": clip.frame_time, "label": entry.label,
                "split": entry.split}  # fmt: skip
        return index, encode_sample(Sample(entry.path.stem, clip.audio, clip.frame, meta))


def prepare(
    videos: str | Path,
    out: str | Path,
    csv_path: str | Path | None = None,
    split: str | None = None,
    settings: ClipSettings | None = None,
    per_shard: int = 500,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
) -> PrepareReport:
    """Write this process's shards (all of them without torchrun); finished shards are skipped; bad videos listed.

    workers > 0 decodes videos in that many DataLoader worker processes. progress(n) is told the whole job's
    count of videos done so far (every rank's), on rank 0.
    """
    settings = settings or ClipSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rank, world = init_distributed()
    entries = find_videos(videos, csv_path, split)
    shards = range((len(entries) + per_shard - 1) // per_shard)
    mine = [k for k in shards if k % world == rank]
    done = {k for k in mine if (out / SHARD_PATTERN.format(k)).is_file() and _record(out, k).is_file()}
    todo = [k for k in mine if k not in done]
    job = JobProgress(out / RECORDS, rank, world, progress)
    job.add(sum(len(entries[k * per_shard : (k + 1) * per_shard]) for k in done))
    items = [(i, entries[i]) for k in todo for i in range(k * per_shard, min((k + 1) * per_shard, len(entries)))]
    loader = torch.utils.data.DataLoader(VideoClips(items, settings), batch_size=VIDEOS_PER_MESSAGE,
                                         num_workers=workers, collate_fn=list)  # fmt: skip
    results = itertools.chain.from_iterable(loader)  # the videos in their order, whichever worker decoded them
    for k in todo:
        records: list[dict] = []
        skipped: dict[str, str] = {}
        for _ in range(min(per_shard, len(entries) - k * per_shard)):
            index, result = next(results)
            if isinstance(result, str):
                skipped[str(entries[index].path)] = result
            else:
                records.append(result)
            job.add(1)
        write_records(out / SHARD_PATTERN.format(k), records)
        atomic_write_json(_record(out, k), {"samples": len(records), "skipped_files": skipped, "written": True},
                          indent=2, sort_keys=True)  # fmt: skip
    job.finish(skipped_shards=sorted(done))
    barrier(world)
    report = _merge(out, shards, {k for r in range(world) for k in job.read(r).get("skipped_shards", [])})
    if rank == 0:
        atomic_write_json(out / REPORT_NAME, asdict(report), indent=2, sort_keys=True)
    return report


def _record(out: Path, shard: int) -> Path:
    return out / RECORDS / (Path(SHARD_PATTERN.format(shard)).stem + ".json")


def _merge(out: Path, shards: range, skipped_here: set[int]) -> PrepareReport:
    """The whole job's report from every shard's record (shards some rank found finished count as skipped)."""
    report = PrepareReport()
    for k in shards:
        path = _record(out, k)
        if not path.is_file():  # another rank's shard that failed to finish
            continue
        record = json.loads(path.read_text())
        name = SHARD_PATTERN.format(k)
        (report.shards_skipped if k in skipped_here else report.shards_written).append(name)
        report.samples += record["samples"]
        report.skipped_files.update(record["skipped_files"])
    return report
