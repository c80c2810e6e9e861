"""VQGAN generator from taming-transformers modules, in the official config and key layout."""

from __future__ import annotations

import contextlib
import io

import torch
from taming.modules.diffusionmodules.model import Decoder, Encoder
from taming.modules.vqvae.quantize import VectorQuantizer
from torch import nn

from wavbrivl.configs import VQGANConfig
from wavbrivl.models.fixed_norm import fix_group_norms


class VQGAN(nn.Module):
    """Encoder, quantiser and decoder with the official module names (loads taming checkpoints by key)."""

    def __init__(self, config: VQGANConfig) -> None:
        super().__init__()
        self.config = config
        dd = dict(config.ddconfig)
        with contextlib.redirect_stdout(io.StringIO()):  # taming's Decoder prints the z shape
            self.encoder = Encoder(**dd)
            self.decoder = Decoder(**dd)
        if config.decoder_norm == "fixed":  # the toy set's decoder: statistics measured once, not per picture
            fix_group_norms(self.decoder)
        self.quantize = VectorQuantizer(config.n_embed, config.embed_dim, beta=0.25)
        self.quant_conv = nn.Conv2d(dd["z_channels"], config.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(config.embed_dim, dd["z_channels"], 1)

    @property
    def downsample(self) -> int:
        """Pixels per latent cell along each side (16 for f16 models)."""
        return 2 ** (len(self.config.ddconfig["ch_mult"]) - 1)

    @property
    def codebook(self) -> torch.Tensor:
        """The (n_embed, embed_dim) code vectors."""
        return self.quantize.embedding.weight

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Pre-quantisation latents (B, embed_dim, h, w) of images in [-1, 1]."""
        return self.quant_conv(self.encoder(images))

    def quantize_st(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest code per cell, with a straight-through gradient to z."""
        z_q, _, _ = self.quantize(z)
        return z_q

    def encode_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Code indices (B, h, w) of images in [-1, 1]: the nearest code per latent cell."""
        z = self.encode(images)
        _, _, (_, _, indices) = self.quantize(z)
        return indices.view(z.shape[0], z.shape[2], z.shape[3])

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """Images in about [-1, 1] from quantised latents."""
        return self.decoder(self.post_quant_conv(z_q))

    def tokens_to_latents(self, tokens: torch.Tensor) -> torch.Tensor:
        """Code indices (B, h, w) to latents (B, embed_dim, h, w)."""
        return self.codebook[tokens].permute(0, 3, 1, 2).contiguous()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruct images in [-1, 1]."""
        return self.decode(self.quantize_st(self.encode(images)))
