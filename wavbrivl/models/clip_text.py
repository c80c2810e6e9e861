"""CLIP's text tower (transformers), so the `clip` preset has text prompts and zero-shot too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from wavbrivl.configs import CLIPTextTowerConfig, transformers_config_dict
from wavbrivl.models.text_tower import check_texts


class CLIPTextTower(nn.Module):
    """CLIPTextModelWithProjection: texts in, L2-normalised text embeddings (CLIP's joint space) out."""

    def __init__(self, config: CLIPTextTowerConfig, model: CLIPTextModelWithProjection | None = None) -> None:
        super().__init__()
        self.model = model if model is not None else CLIPTextModelWithProjection(CLIPTextConfig(**config.text))
        config.text = transformers_config_dict(self.model.config)
        self.config = config
        self.embed_dim = int(self.model.config.projection_dim)
        self.tokenizer: Any = None  # a transformers CLIP tokenizer; attached by the loader

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Embed (B, L) token ids with their attention mask."""
        return F.normalize(self.model(input_ids=input_ids, attention_mask=attention_mask).text_embeds, dim=-1)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Tokenise (padded to the batch's longest, at most max_length) and embed texts, (N, D)."""
        texts = check_texts(texts, self.tokenizer)
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt"
        )
        device = next(self.parameters()).device
        return self(tokens["input_ids"].to(device), tokens["attention_mask"].to(device))
