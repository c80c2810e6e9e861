"""The decoder generator: a conditional rectified-flow UNet (diffusers) from an embedding to VQGAN latents.

It inverts the frozen image tower in one sampling pass, as unCLIP's decoder does: trained on (picture's VQGAN
latents, embedding) pairs, it turns the embedding of a sound, a text or a picture into latents that the set's
VQGAN decodes. The flow follows diffusers' convention (x_sigma = (1 - sigma) x + sigma noise, the network predicts
noise - x) so that `FlowMatchEulerDiscreteScheduler` samples it as it is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from diffusers import UNet2DModel
from torch import nn

from wavbrivl.configs import EmbeddingDecoderConfig

if TYPE_CHECKING:
    from wavbrivl.models.vqgan import VQGAN

TIMESTEP_SCALE = 1000.0  # sigma in [0, 1] is passed to the UNet as sigma * 1000, the schedulers' timesteps


class EmbeddingDecoder(nn.Module):
    """UNet over standardised VQGAN latents, conditioned by an MLP of the embedding (FiLM via its class embedding)."""

    def __init__(self, config: EmbeddingDecoderConfig) -> None:
        super().__init__()
        self.config = config
        width = config.block_out_channels[0] * 4  # the UNet's time-embedding width
        self.unet = UNet2DModel(
            sample_size=config.latent_size,
            in_channels=config.latent_channels,
            out_channels=config.latent_channels,
            block_out_channels=tuple(config.block_out_channels),
            layers_per_block=config.layers_per_block,
            down_block_types=tuple(config.down_block_types),
            up_block_types=tuple(config.up_block_types),
            norm_num_groups=config.norm_num_groups,
            resnet_time_scale_shift="scale_shift",
            class_embed_type="identity",
        )
        self.condition = nn.Sequential(
            nn.Linear(config.embed_dim, config.condition_hidden),
            nn.SiLU(),
            nn.Linear(config.condition_hidden, width),
        )
        self.null = nn.Parameter(torch.zeros(config.embed_dim))  # the "no condition" of classifier-free guidance
        self.register_buffer("latent_mean", torch.zeros(config.latent_channels))
        self.register_buffer("latent_std", torch.ones(config.latent_channels))
        # A student distilled from this network's guided sampler (training/distill.py): it draws the same pictures
        # in 1 or 2 steps, its guidance built in. The full sampler stays available at more steps.
        self.student = EmbeddingDecoder(replace(config, distilled_steps=0)) if config.distilled_steps else None

    def sampler_for(self, steps: int) -> EmbeddingDecoder | None:
        """The distilled student when it samples this many steps (at most its distilled steps), else None."""
        if self.student is not None and 1 <= steps <= self.config.distilled_steps:
            return self.student
        return None

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(channels, cells, cells) of one latent."""
        c = self.config
        return (c.latent_channels, c.latent_size, c.latent_size)

    def standardise(self, latents: torch.Tensor) -> torch.Tensor:
        """VQGAN latents to the per-channel standardised space the flow runs in."""
        return (latents - self.latent_mean.view(1, -1, 1, 1)) / self.latent_std.view(1, -1, 1, 1)

    def destandardise(self, x: torch.Tensor) -> torch.Tensor:
        """Back from the flow's space to VQGAN latents."""
        return x * self.latent_std.view(1, -1, 1, 1) + self.latent_mean.view(1, -1, 1, 1)

    def conditions(self, embeddings: torch.Tensor | None, batch: int) -> torch.Tensor:
        """Unit-length conditions (B, D), or the learned null condition repeated when embeddings is None."""
        if embeddings is None:
            return self.null.expand(batch, -1)
        return F.normalize(embeddings.to(self.null.dtype), dim=-1)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Predicted velocity (noise - x) at noise level sigma (B,) in [0, 1] for conditions (B, D)."""
        cond = self.condition(condition * self.config.condition_scale)
        return self.unet(x, sigma * TIMESTEP_SCALE, class_labels=cond).sample


def decoder_for(vqgan: VQGAN, embed_dim: int, **overrides) -> EmbeddingDecoder:
    """A fresh decoder shaped for this VQGAN's latents at its training resolution and this embedding size."""
    cells = vqgan.config.ddconfig["resolution"] // vqgan.downsample
    config = EmbeddingDecoderConfig(embed_dim=embed_dim, latent_channels=vqgan.config.embed_dim, latent_size=cells)
    for key, value in overrides.items():
        setattr(config, key, value)
    return EmbeddingDecoder(config)
