"""Embedding sounds and images, and ranking images against sounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from wavbrivl.data.audio import AudioClip, AudioSource, load_audio
from wavbrivl.data.image import ImageSource, load_images
from wavbrivl.errors import InputError
from wavbrivl.pipeline.common import AudioEmbeddings, PipelineState
from wavbrivl.ranking import RankResult, image_key, rank_embeddings
from wavbrivl.volume import apply_gain


class EmbeddingMixin(PipelineState):
    """embed_audio, embed_images and rank for WavBriVLPipeline."""

    # ------------------------------------------------------------------ audio
    def _pairs(
        self, audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float]
    ) -> tuple[list[AudioClip], list[float]]:
        sources = list(audio) if isinstance(audio, list) else [audio]
        volumes = [float(v) for v in volumes_db] if isinstance(volumes_db, (list, tuple)) else [float(volumes_db)]
        if not sources or not volumes:
            raise InputError("no audio or no volume was given")
        clips = [load_audio(s, max_seconds=self.max_audio_seconds) for s in sources]
        if len(clips) == 1:
            clips = clips * len(volumes)
        elif len(volumes) == 1:
            volumes = volumes * len(clips)
        elif len(volumes) != len(clips):
            raise InputError(f"{len(clips)} clips but {len(volumes)} volumes: give one volume, or one per clip")
        return clips, volumes

    @torch.no_grad()
    def embed_audio(
        self, audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float] = 0.0
    ) -> AudioEmbeddings:
        """Embed clip(s) at volume(s); clips of equal length share a batch, so results never depend on padding."""
        clips, volumes = self._pairs(audio, volumes_db)
        scaled, reports = zip(*(apply_gain(c.waveform, v, self.clip_policy) for c, v in zip(clips, volumes)))
        out = torch.empty(len(clips), self.audio_tower.embed_dim)
        by_length: dict[int, list[int]] = {}
        for i, wave in enumerate(scaled):
            by_length.setdefault(len(wave), []).append(i)
        for indices in by_length.values():
            batch = torch.from_numpy(np.stack([scaled[i] for i in indices])).to(self.device)
            out[indices] = self.audio_tower(batch).float().cpu()
        return AudioEmbeddings(out, clips, list(reports))

    # ------------------------------------------------------------------ images
    @torch.no_grad()
    def embed_images(
        self,
        images: Sequence[ImageSource],
        batch_size: int = 16,
        progress: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Embed images (N, D); images already seen (same pixels) come from the cache."""
        pil = load_images(images)
        keys = [image_key(im) for im in pil]
        # this call's own map: another request may evict cache entries meanwhile (the cache is shared and bounded)
        cached = {k: self.image_cache.get(k) for k in dict.fromkeys(keys)}
        found = {k: v for k, v in cached.items() if v is not None}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        first = {k: keys.index(k) for k in missing}
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            pixels = self.image_tower.preprocess([pil[first[k]] for k in chunk]).to(self.device)
            embeds = self.image_tower.encode_pixels(pixels)
            for key, emb in zip(chunk, embeds):
                found[key] = self.image_cache.put(key, emb)
            if progress is not None:
                progress(min(start + batch_size, len(missing)), len(missing))
        return torch.stack([found[k] for k in keys])

    def _embedded(
        self, audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings, volumes_db: float | Sequence[float] = 0.0
    ) -> AudioEmbeddings:
        """The sound(s) as AudioEmbeddings: given ones as they are, else embed_audio at the volume(s)."""
        return audio if isinstance(audio, AudioEmbeddings) else self.embed_audio(audio, volumes_db)

    def _image_embeddings(self, images: Sequence[ImageSource] | torch.Tensor) -> torch.Tensor:
        """The images as (N, D) embeddings: a given tensor as it is, else embed_images."""
        return images if isinstance(images, torch.Tensor) else self.embed_images(images)

    def rank(
        self,
        audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings,
        images: Sequence[ImageSource] | torch.Tensor,
        volumes_db: float | Sequence[float] = 0.0,
    ) -> RankResult:
        """Score images against the sound(s); either side may be given as precomputed embeddings."""
        image_embeds = self._image_embeddings(images)
        return rank_embeddings(self._embedded(audio, volumes_db).embeddings, image_embeds)
