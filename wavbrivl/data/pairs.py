"""Sounds paired with volumes: the (clip, volume) pairs a request names, and their embeddings with notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from wavbrivl.data.audio import AudioClip, AudioSource, load_audio
from wavbrivl.errors import InputError
from wavbrivl.volume import VolumeReport


@dataclass
class AudioEmbeddings:
    """Embeddings (N, D) of N (clip, volume) pairs, with the clips and what each gain did."""

    embeddings: torch.Tensor
    clips: list[AudioClip]
    volumes: list[VolumeReport]

    @property
    def notes(self) -> list[str]:
        """Everything worth telling the user: resampling, cropping, silence, clipping."""
        notes = [f"{c.name}: {n}" for c in self.clips for n in c.notes]
        notes += [f"{c.name}: {v.message()}" for c, v in zip(self.clips, self.volumes) if v.exceeds_full_scale]
        return list(dict.fromkeys(notes))


def pair_clips(
    audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float], max_seconds: float
) -> tuple[list[AudioClip], list[float]]:
    """Read the clip(s) and pair them with the volume(s): one clip at every volume, or one volume per clip."""
    sources, volumes = _listed(audio, volumes_db)
    if not sources or not volumes:
        raise InputError("no audio or no volume was given")
    clips = [load_audio(s, max_seconds=max_seconds) for s in sources]
    if len(clips) == 1:
        clips = clips * len(volumes)
    elif len(volumes) == 1:
        volumes = volumes * len(clips)
    elif len(volumes) != len(clips):
        raise InputError(f"{len(clips)} clips but {len(volumes)} volumes: give one volume, or one per clip")
    return clips, volumes


def _listed(
    audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float]
) -> tuple[list[AudioSource], list[float]]:
    """The sources and volumes as lists: a list of sources is several clips; anything else (a path, an array, a
    (rate, samples) tuple) is one."""
    sources = list(audio) if isinstance(audio, list) else [audio]
    volumes = [float(v) for v in volumes_db] if isinstance(volumes_db, (list, tuple)) else [float(volumes_db)]
    return sources, volumes
