"""What every part of the pipeline shares: folder names, the default device, AudioEmbeddings, the state's types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from wavbrivl.data.audio import AudioClip
from wavbrivl.volume import VolumeReport

if TYPE_CHECKING:
    from wavbrivl.factory import Provenance
    from wavbrivl.models import VQGAN, EmbeddingDecoder, ImageTower, TextTower, WavBriVLAudioTower
    from wavbrivl.ranking import EmbeddingCache

INDEX_NAME = "model_index.json"
FORMAT = "wavbrivl-pipeline"
COMPONENT_DIRS = ("audio_tower", "image_tower", "vqgan")
TEXT_DIR = "text_tower"  # optional: model sets without a text tower have no text features
DECODER_DIR = "decoder"  # optional: model sets without a decoder generate by optimisation only
UNCLIP_DIR = "unclip"  # optional: a diffusers StableUnCLIPImg2ImgPipeline folder (the unclip method)


def default_device() -> torch.device:
    """The first CUDA GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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


class PipelineState:
    """The attributes WavBriVLPipeline.__init__ sets, declared once so that each part's methods are typed."""

    device: torch.device
    audio_tower: WavBriVLAudioTower
    image_tower: ImageTower
    vqgan: VQGAN | None
    text_tower: TextTower | None
    decoder: EmbeddingDecoder | None
    unclip: Any  # a diffusers StableUnCLIPImg2ImgPipeline, or None
    provenance: dict[str, Provenance]
    preset: str
    max_audio_seconds: float
    clip_policy: str
    image_cache: EmbeddingCache
    generation_defaults: dict[str, float | int]
    class_names: list[str]
    text_unavailable: str
    training_record: dict
