"""WavBriVLPipeline: one object to embed sounds and images, rank, generate, and compare volumes."""

from __future__ import annotations

from typing import Any

import torch

from wavbrivl.data.audio import MAX_AUDIO_SECONDS
from wavbrivl.errors import WeightsError
from wavbrivl.factory import Provenance
from wavbrivl.models import VQGAN, EmbeddingDecoder, ImageTower, TextTower, WavBriVLAudioTower
from wavbrivl.pipeline.common import COMPONENT_DIRS, DECODER_DIR, TEXT_DIR, UNCLIP_DIR, default_device
from wavbrivl.pipeline.embedding import EmbeddingMixin
from wavbrivl.pipeline.generation import GenerationMixin
from wavbrivl.pipeline.loading import LoadingMixin
from wavbrivl.pipeline.text import TextMixin
from wavbrivl.presets import load_preset
from wavbrivl.ranking import EmbeddingCache


class WavBriVLPipeline(LoadingMixin, EmbeddingMixin, TextMixin, GenerationMixin):
    """Audio tower, frozen image tower, generators (VQGAN, decoder, unCLIP), text tower: what the CLI and app use."""

    def __init__(
        self,
        audio_tower: WavBriVLAudioTower,
        image_tower: ImageTower,
        vqgan: VQGAN | None,
        provenance: dict[str, Provenance] | None = None,
        preset: str = "custom",
        device: str | torch.device | None = None,
        max_audio_seconds: float = MAX_AUDIO_SECONDS,
        clip_policy: str = "allow",
        text_tower: TextTower | None = None,
        decoder: EmbeddingDecoder | None = None,
        unclip: Any = None,
    ) -> None:
        if audio_tower.embed_dim != image_tower.embed_dim:
            raise WeightsError(
                f"audio tower embeds to {audio_tower.embed_dim}-d but the image tower to {image_tower.embed_dim}-d"
            )
        self.device = torch.device(device) if device is not None else default_device()
        self.audio_tower = audio_tower.to(self.device).eval().requires_grad_(False)
        self.image_tower = image_tower.to(self.device).eval().requires_grad_(False)
        self.vqgan = vqgan.to(self.device).eval().requires_grad_(False) if vqgan is not None else None
        if text_tower is not None and text_tower.embed_dim != image_tower.embed_dim:
            raise WeightsError(
                f"text tower embeds to {text_tower.embed_dim}-d but the image tower to {image_tower.embed_dim}-d"
            )
        self.text_tower = text_tower.to(self.device).eval().requires_grad_(False) if text_tower else None
        if decoder is not None and decoder.config.embed_dim != image_tower.embed_dim:
            raise WeightsError(
                f"the decoder is conditioned on {decoder.config.embed_dim}-d embeddings but the image tower "
                f"embeds to {image_tower.embed_dim}-d"
            )
        self.decoder = decoder.to(self.device).eval().requires_grad_(False) if decoder is not None else None
        self.unclip = unclip.to(self.device) if unclip is not None else None  # a diffusers StableUnCLIP pipeline
        self.provenance = provenance or {k: Provenance("in memory", True) for k in self.components()}
        self.preset = preset
        self.max_audio_seconds = max_audio_seconds
        self.clip_policy = clip_policy
        self.image_cache = EmbeddingCache()
        self.generation_defaults = {}
        self.class_names = []  # the set's own classes, if it knows any (default zero-shot names)
        self.text_unavailable = ""  # why a preset came without its text tower, if it did
        self.training_record = {}  # the audio tower's training record (`wavbrivl train`), kept by save_pretrained

    # ------------------------------------------------------------------ facts
    def components(self) -> dict[str, torch.nn.Module]:
        """The model's parts by folder name (text_tower only when there is one)."""
        parts = dict(zip(COMPONENT_DIRS, (self.audio_tower, self.image_tower, self.vqgan)))
        if self.vqgan is None:
            del parts["vqgan"]
        if self.text_tower is not None:
            parts[TEXT_DIR] = self.text_tower
        if self.decoder is not None:
            parts[DECODER_DIR] = self.decoder
        return parts

    @property
    def untrained(self) -> list[str]:
        """Names of components whose weights are untrained."""
        return [name for name, p in self.provenance.items() if not p.trained]

    def info(self) -> dict:
        """Preset, device, and per component: class, parameter count, source, trained or not."""
        counted = {name: (type(m).__name__, list(m.parameters())) for name, m in self.components().items()}
        if self.unclip is not None:  # a diffusers pipeline: its modules together
            modules = [m for m in self.unclip.components.values() if isinstance(m, torch.nn.Module)]
            counted[UNCLIP_DIR] = (type(self.unclip).__name__, [p for m in modules for p in m.parameters()])
        parts = {}
        for name, (class_name, params) in counted.items():
            prov = self.provenance.get(name, Provenance("unknown", False))
            parts[name] = {
                "class": class_name,
                "parameters": sum(p.numel() for p in params),
                "source": prov.source,
                "trained": prov.trained,
                "note": prov.note,
            }
        try:
            description = load_preset(self.preset).description
        except WeightsError:  # a set saved under a preset name that is not installed here
            description = ""
        return {
            "preset": self.preset,
            "description": description,
            "device": str(self.device),
            "embed_dim": self.image_tower.embed_dim,
            "components": parts,
            "text": "available" if self.text_tower is not None else (self.text_unavailable or "no text tower"),
        }
