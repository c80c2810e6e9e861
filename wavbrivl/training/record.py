"""The training record a run keeps in its model_index.json: data, steps, settings and validation metrics."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from wavbrivl.data.shards import list_shards
from wavbrivl.loading.model_set import TRAINING_KEY as RECORD_KEY  # carried through save_pretrained

SETTINGS = (
    "batch_size",
    "accumulate",
    "lr",
    "weight_decay",
    "warmup",
    "queue_size",
    "temperature",
    "learnable_temperature",
    "cosine_weight",
    "clip_seconds",
    "trainable_layers",
    "seed",
    "precision",
)


def count_clips(shards: list[Path]) -> int:
    """Samples in WebDataset shards, counted from the tar headers (nothing is decoded)."""
    total = 0
    for shard in shards:
        with tarfile.open(shard) as tar:
            total += sum(1 for member in tar if member.name.endswith(".audio.flac"))
    return total


def data_summary(specs: list[str] | None, description: str | None = None) -> dict[str, Any] | None:
    """What a run reads: the shard specs as given, the number of shard files and clips, and a description."""
    if not specs:
        return None
    shards = list_shards(specs)
    return {
        "description": description,
        "shards": [str(s) for s in specs],
        "shard_files": len(shards),
        "clips": count_clips(shards),
    }


def read_index(out: Path) -> dict[str, Any]:
    """The output folder's model_index.json."""
    return json.loads((Path(out) / "model_index.json").read_text())


def run_start(out: Path, base: str, resuming: bool) -> dict[str, Any] | None:
    """The audio tower a run started from (kept across resumes); None when a resumed run never recorded it."""
    index = read_index(out)
    if resuming:
        return index.get(RECORD_KEY, {}).get("start")
    return {
        "base": str(base),
        "audio_tower": index.get("provenance", {}).get("audio_tower"),
        "earlier_training": index.get(RECORD_KEY),  # the base set's own record, if it was trained with this tool
    }


def training_record(
    config: Any,
    step: int,
    epoch: int,
    start: dict[str, Any] | None,
    data: dict[str, Any] | None,
    val_data: dict[str, Any] | None,
    validation: dict[str, float] | None,
) -> dict[str, Any]:
    """The record of a run so far (config is a TrainConfig)."""
    return {
        "tool": "wavbrivl train",
        "steps": step,
        "planned_steps": config.steps,
        "epochs_started": epoch + 1,
        "clips_seen": step * config.batch_size,
        "settings": {k: getattr(config, k) for k in SETTINGS},
        "data": data,
        "validation_data": val_data,
        "validation": validation,
        "start": start,
    }


def write_record(out: Path, record: dict[str, Any]) -> None:
    """Mark the audio tower trained and store the record in the output folder's model_index.json."""
    index_path = Path(out) / "model_index.json"
    index = json.loads(index_path.read_text())
    index.setdefault("provenance", {})["audio_tower"] = {
        "source": str(Path(out) / "audio_tower"),
        "trained": True,
        "note": "trained with wavbrivl train",
    }
    index[RECORD_KEY] = record
    index_path.write_text(json.dumps(index, indent=2))
