"""Typed model configurations, stored as JSON beside the weights."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wavbrivl.data.audio import SAMPLE_RATE

T = TypeVar("T")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Turn a config dataclass into a JSON-ready dict."""
    return dataclasses.asdict(cfg)


def transformers_config_dict(config: Any) -> dict[str, Any]:
    """A transformers PretrainedConfig as the plain dict our configs store (no library version stamp)."""
    return {k: v for k, v in config.to_dict().items() if k != "transformers_version"}


def config_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a config dataclass from a dict, refusing unknown keys."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown config keys {sorted(unknown)}")
    return cls(**data)


@dataclass
class AudioTowerConfig:
    """WavBriVL audio tower: WavLM, layer weights, masked mean pool, loudness input, MLP."""

    wavlm: dict[str, Any] = field(default_factory=dict)  # transformers WavLMConfig as a dict
    embed_dim: int = 2048  # the image tower's embedding size
    mlp_hidden: int = 2048
    trainable_layers: int = 0  # 0: WavLM frozen; N: top-N transformer layers trained; -1: all
    loudness_features: bool = True  # feed the clip's level (dBFS) to the head so gain matters
    sample_rate: int = SAMPLE_RATE
    # Regularisation of the trainable WavLM layers while training (frozen layers always run in eval mode):
    train_dropout: bool = False  # the WavLM config's dropout in trainable layers
    time_mask_prob: float = 0.0  # share of WavLM frames masked in training (spans of mask_time_length frames)


@dataclass
class BriVLImageConfig:
    """BriVL image encoder: EfficientNet map, 37 RoI boxes, self-attention, MLP."""

    backbone: str = "tf_efficientnet_b5"
    backbone_channels: int = 2048
    image_size: int = 380
    grid: int = 6  # grid boxes per side, plus one whole-image box
    roi_size: int = 4
    hidden_dim: int = 2048
    num_layers: int = 4
    num_heads: int = 4
    ffn_dim: int = 2048
    embed_dim: int = 2048
    dropout: float = 0.1
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)


BRIVL_TOKENIZER = "hfl/chinese-roberta-wwm-ext"  # BriVL-1.0's tokenizer (Hub id)
BRIVL_BERT: dict[str, Any] = {
    "vocab_size": 21128,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
}


@dataclass
class BriVLTextConfig:
    """BriVL text encoder: BERT tokens, per-token L2, self-attention, masked mean, MLP."""

    bert: dict[str, Any] = field(default_factory=lambda: dict(BRIVL_BERT))  # transformers BertConfig as a dict
    tokenizer: str = BRIVL_TOKENIZER  # where the tokenizer came from (informational); a saved folder keeps a copy
    max_length: int = 80
    num_layers: int = 4
    num_heads: int = 4
    ffn_dim: int = 2048
    embed_dim: int = 2048
    dropout: float = 0.1


@dataclass
class CLIPImageConfig:
    """CLIP vision tower with projection (transformers); vision config stored as a dict."""

    vision: dict[str, Any] = field(default_factory=dict)
    mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class CLIPTextTowerConfig:
    """CLIP text model with projection (transformers); text config stored as a dict."""

    text: dict[str, Any] = field(default_factory=dict)
    max_length: int = 77


@dataclass
class VQGANConfig:
    """taming-transformers VQGAN, in the official config's terms."""

    embed_dim: int = 256
    n_embed: int = 16384
    ddconfig: dict[str, Any] = field(
        default_factory=lambda: {
            "double_z": False,
            "z_channels": 256,
            "resolution": 256,
            "in_channels": 3,
            "out_ch": 3,
            "ch": 128,
            "ch_mult": [1, 1, 2, 2, 4],
            "num_res_blocks": 2,
            "attn_resolutions": [16],
            "dropout": 0.0,
        }
    )
    # "group": taming's GroupNorm, statistics of each picture (every official checkpoint). "fixed": per-channel
    # statistics measured once on a set of pictures (models/fixed_norm.py), in the decoder only: a decoder that
    # normalises each picture on its own can steer the statistics with a few extreme pixels, drawn as a dark ring.
    decoder_norm: str = "group"

    def __post_init__(self) -> None:
        if self.decoder_norm not in ("group", "fixed"):
            raise ValueError(f"VQGANConfig.decoder_norm: {self.decoder_norm!r}; accepted: 'group', 'fixed'")


def small_vqgan_config(
    embed_dim: int, n_embed: int, z_channels: int, ch: int = 32, ch_mult: tuple[int, ...] = (1, 2), resolution: int = 64
) -> VQGANConfig:
    """A small attention-free VQGAN config in the official format (tests and the toy world)."""
    return VQGANConfig(
        embed_dim,
        n_embed,
        {
            "double_z": False,
            "z_channels": z_channels,
            "resolution": resolution,
            "in_channels": 3,
            "out_ch": 3,
            "ch": ch,
            "ch_mult": list(ch_mult),
            "num_res_blocks": 1,
            "attn_resolutions": [],
            "dropout": 0.0,
        },
    )


@dataclass
class EmbeddingDecoderConfig:
    """Decoder generator: a conditional rectified-flow UNet from an embedding to a VQGAN's latents (unCLIP-style)."""

    embed_dim: int = 2048  # the image tower's embedding size (the condition)
    latent_channels: int = 256  # the VQGAN's embed_dim
    latent_size: int = 16  # latent cells per side (the VQGAN's resolution / downsample)
    block_out_channels: list[int] = field(default_factory=lambda: [32, 64])
    layers_per_block: int = 2
    down_block_types: list[str] = field(default_factory=lambda: ["DownBlock2D", "AttnDownBlock2D"])
    up_block_types: list[str] = field(default_factory=lambda: ["AttnUpBlock2D", "UpBlock2D"])
    norm_num_groups: int = 8
    condition_hidden: int = 128  # width of the condition MLP
    condition_scale: float = 8.0  # the unit-length condition is scaled by this before its MLP
    distilled_steps: int = 0  # >0: a student of the same shape, distilled to sample in this many steps or fewer
    distilled_guidance: float = 0.0  # the guidance scale the student was distilled at (built into it)
