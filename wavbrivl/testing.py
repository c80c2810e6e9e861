"""Builders for tests and benchmarks only: the real architectures with random weights, at a size."""

from __future__ import annotations

import torch

from wavbrivl.configs import AudioTowerConfig, BriVLImageConfig, VQGANConfig
from wavbrivl.loading.presets import model_size
from wavbrivl.models import VQGAN, BriVLImageTower, ImageTower, WavBriVLAudioTower

TINY_WAVLM = model_size("tiny")["audio"]["wavlm"]  # tests build WavLM backbones of this size


def full_size_components(seed: int = 0) -> tuple[WavBriVLAudioTower, ImageTower, VQGAN]:
    """Full-size architectures with random weights (benchmarks: same cost as the real ones)."""
    torch.manual_seed(seed)
    audio = WavBriVLAudioTower(AudioTowerConfig())
    image = BriVLImageTower(BriVLImageConfig())
    return audio.eval(), image.eval(), VQGAN(VQGANConfig()).eval()
