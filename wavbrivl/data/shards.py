"""WebDataset tar shards of (audio.flac, frame.jpg, meta.json[, emb.npy]) samples."""

from __future__ import annotations

import glob
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from PIL import Image

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.errors import InputError

SHARD_PATTERN = "shard-{:06d}.tar"


@dataclass
class Sample:
    """One training example: 16 kHz mono audio, the frame, metadata, and (once embedded) the frame's embedding."""

    key: str
    audio: np.ndarray
    frame: Image.Image | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    embedding: np.ndarray | None = None


def encode_sample(sample: Sample) -> dict[str, Any]:
    """A Sample as the byte fields of a WebDataset record."""
    record: dict[str, Any] = {"__key__": sample.key}
    buf = io.BytesIO()
    sf.write(buf, sample.audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    record["audio.flac"] = buf.getvalue()
    if sample.frame is not None:
        buf = io.BytesIO()
        sample.frame.convert("RGB").save(buf, format="JPEG", quality=95)
        record["frame.jpg"] = buf.getvalue()
    record["meta.json"] = json.dumps(sample.meta).encode()
    if sample.embedding is not None:
        buf = io.BytesIO()
        np.save(buf, sample.embedding.astype(np.float32))
        record["emb.npy"] = buf.getvalue()
    return record


def decode_record(record: dict[str, Any], frames: bool = True) -> Sample:
    """A WebDataset record (bytes fields) back into a Sample."""
    audio, _ = sf.read(io.BytesIO(record["audio.flac"]), dtype="float32")
    frame = Image.open(io.BytesIO(record["frame.jpg"])).convert("RGB") if frames and "frame.jpg" in record else None
    meta = json.loads(record["meta.json"]) if "meta.json" in record else {}
    embedding = np.load(io.BytesIO(record["emb.npy"])) if "emb.npy" in record else None
    return Sample(record["__key__"], audio, frame, meta, embedding)


def write_shard(path: str | Path, samples: Iterable[Sample]) -> int:
    """Write samples to one tar shard atomically (a temp file renamed at the end); returns the count."""
    return write_records(path, (encode_sample(sample) for sample in samples))


def write_records(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write encoded samples (encode_sample's records) to one tar shard atomically; returns the count."""
    import webdataset as wds

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    count = 0
    with wds.TarWriter(str(tmp), mtime=0) as sink:  # a fixed time: the same samples give the same bytes
        for record in records:
            sink.write(record)
            count += 1
    os.replace(tmp, path)
    return count


def list_shards(spec: str | Path | Iterable[str | Path]) -> list[Path]:
    """Shard paths from a folder, a glob, a single tar, or a list of those (sorted, de-duplicated)."""
    specs = [spec] if isinstance(spec, (str, Path)) else list(spec)
    found: list[Path] = []
    for item in specs:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(path.glob("*.tar")))
        else:
            found.extend(sorted(Path(p) for p in glob.glob(str(path))))  # a file, or a pattern like dir/*.tar
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InputError(f"no .tar shards found at {', '.join(map(str, specs))}")
    return unique


def _all_shards(urls):
    return urls


def read_shard(path: str | Path, frames: bool = True) -> Iterator[Sample]:
    """Iterate the samples of one shard in stored order."""
    import webdataset as wds

    # every process (and DataLoader worker) reads the shard it is given: splitting the work is the caller's job
    dataset = wds.WebDataset(
        str(path), shardshuffle=False, empty_check=False, nodesplitter=_all_shards, workersplitter=_all_shards
    )
    for record in dataset:
        yield decode_record(record, frames)
