"""WavBriVL audio tower: WavLM, a learned weighted average of all layers, masked mean pool, MLP."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import WavLMConfig, WavLMModel

from wavbrivl.configs import AudioTowerConfig, transformers_config_dict

LEVEL_FLOOR_DB = -100.0
LEVEL_SCALE_DB = 20.0


def clip_level_features(waveforms: torch.Tensor, lengths: torch.Tensor, frame: int = 320) -> torch.Tensor:
    """Per-clip mean and peak frame level in dBFS (divided by 20) over the valid samples."""
    batch, total = waveforms.shape
    n_frames = max(total // frame, 1)
    padded = F.pad(waveforms, (0, n_frames * frame - total)) if total < frame else waveforms[:, : n_frames * frame]
    rms = padded.reshape(batch, n_frames, -1).pow(2).mean(-1).sqrt()
    level = (20.0 * torch.log10(rms.clamp_min(1e-12))).clamp_min(LEVEL_FLOOR_DB)
    valid = torch.arange(n_frames, device=waveforms.device)[None, :] < (lengths[:, None] // frame).clamp_min(1)
    mean = (level * valid).sum(-1) / valid.sum(-1)
    peak = level.masked_fill(~valid, LEVEL_FLOOR_DB).amax(-1)
    return torch.stack([mean, peak], dim=-1) / LEVEL_SCALE_DB


class WavBriVLAudioTower(nn.Module):
    """Raw 16 kHz mono waveforms in, L2-normalised embeddings in the image tower's space out."""

    def __init__(self, config: AudioTowerConfig, wavlm: WavLMModel | None = None) -> None:
        super().__init__()
        self.config = config
        self.wavlm = wavlm if wavlm is not None else WavLMModel(WavLMConfig(**config.wavlm))
        self.wavlm.config.layerdrop = 0.0  # every layer's output is weighted, so none may be skipped
        self.config.wavlm = transformers_config_dict(self.wavlm.config)
        n_states = self.wavlm.config.num_hidden_layers + 1
        hidden = self.wavlm.config.hidden_size
        self.layer_weights = nn.Parameter(torch.zeros(n_states))
        extra = 2 if config.loudness_features else 0
        self.head = nn.Sequential(
            nn.Linear(hidden + extra, config.mlp_hidden), nn.ReLU(), nn.Linear(config.mlp_hidden, config.embed_dim)
        )
        self.set_trainable_layers(config.trainable_layers)

    @property
    def embed_dim(self) -> int:
        """Size of the output embedding."""
        return self.config.embed_dim

    def set_trainable_layers(self, n: int) -> None:
        """Freeze WavLM (0), train its top-n transformer layers (n), or all of it (-1)."""
        self.config.trainable_layers = n
        self.wavlm.requires_grad_(n < 0)
        if n > 0:
            for layer in self.wavlm.encoder.layers[-n:]:
                layer.requires_grad_(True)

    def train(self, mode: bool = True) -> "WavBriVLAudioTower":
        """Train mode for the head and, where asked, the trainable WavLM layers; frozen layers stay in eval mode.

        WavLM's own train mode would switch on its config's dropout and time masking everywhere (masking drawn
        from numpy's unseeded global generator), so a frozen backbone would give different outputs per call.
        """
        super().train(mode)
        self.wavlm.eval()
        n = self.config.trainable_layers
        if mode and self.config.train_dropout and n != 0:
            trainable = list(self.wavlm.children()) if n < 0 else list(self.wavlm.encoder.layers[-n:])
            for module in trainable:
                module.train()
        return self

    def time_mask(self, batch: int, n_frames: int, device: torch.device) -> torch.Tensor | None:
        """Boolean (B, T) frames to mask in training (config.time_mask_prob), drawn from torch's generator."""
        prob = self.config.time_mask_prob
        if not (self.training and prob > 0 and self.config.trainable_layers != 0):
            return None
        span = int(self.wavlm.config.mask_time_length)
        starts = (torch.rand(batch, n_frames, device=device) < prob / span).float()
        return F.max_pool1d(F.pad(starts, (span - 1, 0))[:, None], span, stride=1)[:, 0].bool()

    def frame_mask(self, lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
        """Boolean (B, T) mask of the WavLM frames that come from real (unpadded) samples."""
        frames = self.wavlm._get_feat_extract_output_lengths(lengths).to(torch.long).clamp(1, n_frames)
        return torch.arange(n_frames, device=lengths.device)[None, :] < frames[:, None]

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Embed a (B, N) batch of zero-padded waveforms; lengths gives each clip's sample count."""
        if waveforms.dim() == 1:
            waveforms = waveforms[None]
        batch, total = waveforms.shape
        if lengths is None:
            lengths = torch.full((batch,), total, dtype=torch.long, device=waveforms.device)
        sample_mask = torch.arange(total, device=waveforms.device)[None, :] < lengths[:, None]
        backbone_grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.wavlm.parameters())
        n_frames = int(self.wavlm._get_feat_extract_output_lengths(total))
        masked = self.time_mask(batch, n_frames, waveforms.device)
        # No mask when no clip is padded: WavLM turns a mask into a boolean key mask beside its float position
        # bias, a mix that torch warns about on every call; without padding the mask changes nothing.
        attention_mask = None if bool(sample_mask.all()) else sample_mask.long()
        with torch.set_grad_enabled(backbone_grad):  # a frozen WavLM needs no autograd graph
            out = self.wavlm(
                waveforms, attention_mask=attention_mask, mask_time_indices=masked, output_hidden_states=True
            )
        states = torch.stack(out.hidden_states, dim=0)  # (L+1, B, T, H)
        weights = torch.softmax(self.layer_weights, dim=0).to(states.dtype)
        mixed = (weights[:, None, None, None] * states).sum(0)
        mask = self.frame_mask(lengths, mixed.shape[1]).to(mixed.dtype)
        pooled = (mixed * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        if self.config.loudness_features:
            pooled = torch.cat([pooled, clip_level_features(waveforms, lengths).to(pooled.dtype)], dim=-1)
        return F.normalize(self.head(pooled), dim=-1)
