"""BriVL's image encoder, re-implemented from the published facts; loads the official weights."""

from __future__ import annotations

import timm
import torch
import torch.nn.functional as F
from torch import nn

from wavbrivl.configs import BriVLImageConfig
from wavbrivl.models.image_tower import ImageTower


def grid_boxes(image_size: int, grid: int = 6) -> torch.Tensor:
    """The detector-free boxes: a grid x grid tiling (column-major) then the whole image, (grid²+1, 4)."""
    step = image_size / grid
    boxes = [(i * step, j * step, (i + 1) * step, (j + 1) * step) for i in range(grid) for j in range(grid)]
    boxes.append((0.0, 0.0, float(image_size), float(image_size)))
    return torch.tensor(boxes, dtype=torch.float32)


def roi_affine(boxes: torch.Tensor, image_size: int, height: int, width: int) -> torch.Tensor:
    """Affine matrices (N, 2, 3) that make affine_grid sample each box of a (H, W) feature map."""
    x1, y1, x2, y2 = (boxes * torch.tensor([width, height, width, height], dtype=boxes.dtype) / image_size).unbind(-1)
    theta = boxes.new_zeros(boxes.shape[0], 2, 3)
    theta[:, 0, 0] = (x2 - x1) / (width - 1)
    theta[:, 0, 2] = (x1 + x2 - width + 1) / (width - 1)
    theta[:, 1, 1] = (y2 - y1) / (height - 1)
    theta[:, 1, 2] = (y1 + y2 - height + 1) / (height - 1)
    return theta


def roi_grid_pool(features: torch.Tensor, boxes: torch.Tensor, image_size: int, size: int) -> torch.Tensor:
    """Bilinearly sample a size x size grid inside each box: (B, C, H, W), (B, R, 4) -> (B*R, C, size, size)."""
    batch, channels, height, width = features.shape
    regions = boxes.shape[1]
    theta = roi_affine(boxes.reshape(-1, 4).to(features.dtype), image_size, height, width)
    grid = F.affine_grid(theta, [batch * regions, channels, size, size], align_corners=False)
    expanded = features[:, None].expand(batch, regions, channels, height, width).reshape(-1, channels, height, width)
    return F.grid_sample(expanded, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class BriVLImageTower(ImageTower):
    """timm EfficientNet map -> 37 RoI vectors -> self-attention -> masked mean -> MLP -> L2 norm."""

    def __init__(self, config: BriVLImageConfig) -> None:
        super().__init__()
        self.config = config
        self.image_size = config.image_size
        self.embed_dim = config.embed_dim
        self.backbone = timm.create_model(config.backbone, pretrained=False)
        channels = self.backbone.num_features
        config.backbone_channels = channels
        layer = nn.TransformerEncoderLayer(
            config.hidden_dim, config.num_heads, config.ffn_dim, config.dropout, activation="relu"
        )
        self.learnable = nn.ModuleDict(
            {
                "max_pool": nn.Sequential(
                    nn.Conv2d(channels, config.hidden_dim, kernel_size=1), nn.AvgPool2d(config.roi_size, stride=1)
                ),
                "imgAtt": nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False),
                "imgFC": nn.ModuleDict(
                    {
                        "fc1": nn.Linear(config.hidden_dim, config.embed_dim),
                        "fc2": nn.Linear(config.embed_dim, config.embed_dim),
                    }
                ),
            }
        )
        self.register_buffer("default_boxes", grid_boxes(config.image_size, config.grid), persistent=False)
        self._register_norm(config.mean, config.std)

    def region_features(self, pixel_values: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Per-box vectors (B, R, D) from the backbone map, before normalisation."""
        fmap = self.backbone.forward_features(pixel_values)
        pooled = roi_grid_pool(fmap, boxes, self.image_size, self.config.roi_size)
        return self.learnable["max_pool"](pooled).flatten(1).view(boxes.shape[0], boxes.shape[1], -1)

    def forward(
        self, pixel_values: torch.Tensor, boxes: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Embed normalised (B, 3, S, S) pixels; optional detector boxes (B, R, 4) with a validity mask (B, R)."""
        batch = pixel_values.shape[0]
        if boxes is None:
            boxes = self.default_boxes[None].expand(batch, -1, -1)
        if mask is None:
            mask = torch.ones(boxes.shape[:2], dtype=torch.bool, device=pixel_values.device)
        mask = mask.bool()
        regions = F.normalize(self.region_features(pixel_values, boxes), dim=-1)
        attended = self.learnable["imgAtt"](regions.transpose(0, 1), src_key_padding_mask=~mask).transpose(0, 1)
        weights = mask.to(attended.dtype)[..., None]
        pooled = (attended * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        fc = self.learnable["imgFC"]
        return F.normalize(fc["fc2"](F.relu(fc["fc1"](pooled))), dim=-1)
