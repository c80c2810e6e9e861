"""Counted work of Stable unCLIP (SD 2.1 unclip-small's UNet and VAE configs, shapes only, on the meta device):
one denoising step with classifier-free guidance (a batch of 2) and one VAE decode, at 768 px. These counts set
the ZeroGPU duration declared for the unclip method (wavbrivl/hosting.py); no weights are needed.

    python -m bench.bench_unclip_flops
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode


def main() -> None:
    with torch.device("meta"):
        unet = UNet2DConditionModel(
            sample_size=96,
            layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            attention_head_dim=(5, 10, 20, 20),
            cross_attention_dim=1024,
            use_linear_projection=True,
            class_embed_type="projection",
            projection_class_embeddings_input_dim=1536,  # CLIP ViT-L/14 image embedding + its noise-level embedding
        )
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512),
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            layers_per_block=2,
        )
        with FlopCounterMode(display=False) as step:
            unet(
                torch.randn(2, 4, 96, 96),
                torch.tensor([500, 500]),
                encoder_hidden_states=torch.randn(2, 77, 1024),
                class_labels=torch.randn(2, 1536),
            )
        with FlopCounterMode(display=False) as decode:
            vae.decode(torch.randn(1, 4, 96, 96))
    print(f"unCLIP step with guidance at 768 px: {step.get_total_flops() / 1e9:.1f} GFLOP")
    print(f"VAE decode of one 768 px picture: {decode.get_total_flops() / 1e9:.1f} GFLOP")


if __name__ == "__main__":
    main()
