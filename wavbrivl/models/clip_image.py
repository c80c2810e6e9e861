"""CLIP's vision tower (transformers) behind the same interface, as Wav2CLIP used it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from wavbrivl.configs import CLIPImageConfig, transformers_config_dict
from wavbrivl.models.image_tower import ImageTower


class CLIPImageTower(ImageTower):
    """CLIPVisionModelWithProjection: normalised pixels in, L2-normalised image embeddings out."""

    def __init__(self, config: CLIPImageConfig, model: CLIPVisionModelWithProjection | None = None) -> None:
        super().__init__()
        self.model = model if model is not None else CLIPVisionModelWithProjection(CLIPVisionConfig(**config.vision))
        config.vision = transformers_config_dict(self.model.config)
        self.config = config
        self.image_size = int(self.model.config.image_size)
        self.embed_dim = int(self.model.config.projection_dim)
        self._register_norm(config.mean, config.std)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Embed normalised (B, 3, S, S) pixels."""
        return F.normalize(self.model(pixel_values=pixel_values).image_embeds, dim=-1)
