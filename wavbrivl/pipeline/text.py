"""Text features: embedding text, ranking images against text, zero-shot classification of sounds."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from wavbrivl.data.audio import AudioSource
from wavbrivl.data.image import ImageSource
from wavbrivl.errors import InputError, WeightsError
from wavbrivl.models import TextTower
from wavbrivl.pipeline.common import AudioEmbeddings, PipelineState
from wavbrivl.ranking import RankResult, rank_embeddings
from wavbrivl.zero_shot import ZeroShotResult, class_prompts


class TextMixin(PipelineState):
    """embed_text, rank_text and zero_shot for WavBriVLPipeline (they need a text tower)."""

    def _text(self) -> TextTower:
        if self.text_tower is None:
            note = f". Note: {self.text_unavailable}" if self.text_unavailable else ""
            raise WeightsError(
                f"the model set {self.preset!r} has no text tower; text prompts need BriVL's text encoder "
                f"(presets 'brivl', 'clip' and 'toyworld' have one, or pass --text-weights){note}"
            )
        return self.text_tower

    @torch.no_grad()
    def embed_text(self, texts: str | Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Embed text(s) with BriVL's text tower, (N, D) on the CPU."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        tower = self._text()
        if not texts:
            raise InputError("no text was given")
        return torch.cat(
            [tower.encode_text(texts[i : i + batch_size]).float().cpu() for i in range(0, len(texts), batch_size)]
        )

    def rank_text(self, texts: str | Sequence[str], images: Sequence[ImageSource] | torch.Tensor) -> RankResult:
        """Score images against text(s): the same ranking as for sounds, from the text tower."""
        image_embeds = self._image_embeddings(images)
        return rank_embeddings(self.embed_text(texts), image_embeds)

    def zero_shot(
        self,
        audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings | torch.Tensor,
        class_names: Sequence[str],
        templates: Sequence[str] = ("{}",),
    ) -> ZeroShotResult:
        """Classify sounds by their similarity to class-name prompts (no training): text tower vs audio tower."""
        prompts = class_prompts(class_names, templates)
        text = self.embed_text([p for group in prompts for p in group]).view(len(prompts), len(templates), -1)
        classes = torch.nn.functional.normalize(text.mean(1), dim=-1)
        embeds = audio if isinstance(audio, torch.Tensor) else self._embedded(audio).embeddings
        return ZeroShotResult(list(class_names), embeds.float().cpu() @ classes.T)
