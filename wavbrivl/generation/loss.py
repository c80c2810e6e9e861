"""The guidance loss between image and target embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def spherical_distance_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared great-circle distance 2·asin(|a−b|/2)² between L2-normalised vectors (last dim)."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    half_chord = (a - b).norm(dim=-1).div(2).clamp(max=1.0)
    return half_chord.arcsin().pow(2).mul(2)
