"""BriVL's text encoder, re-implemented from the published facts; loads the official weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel

from wavbrivl.configs import BriVLTextConfig
from wavbrivl.models.text_tower import check_texts


class BertBackbone(nn.Module):
    """Holds the BertModel under the name `bert`, as the official checkpoint's keys expect."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.bert = BertModel(BertConfig(**config), add_pooling_layer=True)


class BriVLTextTower(nn.Module):
    """Token ids -> BERT -> per-token L2 -> self-attention -> masked mean -> MLP -> L2 norm."""

    def __init__(self, config: BriVLTextConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_dim = config.embed_dim
        self.backbone = BertBackbone(config.bert)
        hidden = self.backbone.bert.config.hidden_size
        layer = nn.TransformerEncoderLayer(hidden, config.num_heads, config.ffn_dim, config.dropout, activation="relu")
        self.learnable = nn.ModuleDict(
            {
                "textAtt": nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False),
                "textFC": nn.ModuleDict(
                    {"fc1": nn.Linear(hidden, config.embed_dim), "fc2": nn.Linear(config.embed_dim, config.embed_dim)}
                ),
            }
        )
        self.tokenizer: Any = None  # a transformers BERT tokenizer; attached by the loader

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids padded to max_length (80) and each text's length (its attention-mask sum)."""
        texts = check_texts(texts, self.tokenizer)
        tokens = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.config.max_length, return_tensors="pt"
        )
        return tokens["input_ids"], tokens["attention_mask"].sum(-1)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embed (B, L) token ids whose first lengths[b] tokens are real; BERT sees ids only, like BriVL."""
        hidden = self.backbone.bert(input_ids=input_ids).last_hidden_state
        tokens = F.normalize(hidden, dim=-1)
        valid = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :] < lengths[:, None]
        attended = self.learnable["textAtt"](tokens.transpose(0, 1), src_key_padding_mask=~valid).transpose(0, 1)
        weights = valid.to(attended.dtype)[..., None]
        pooled = (attended * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        fc = self.learnable["textFC"]
        return F.normalize(fc["fc2"](F.relu(fc["fc1"](pooled))), dim=-1)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Tokenise and embed texts, (N, D)."""
        ids, lengths = self.tokenize(texts)
        device = next(self.parameters()).device
        return self(ids.to(device), lengths.to(device))
