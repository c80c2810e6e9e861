"""Build pipeline components from presets, project folders, official files or Hub ids."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavbrivl.checkpoints import (
    CONFIG_NAME,
    load_brivl_official,
    load_brivl_official_text,
    load_component,
    load_taming_vqgan,
)
from wavbrivl.configs import BRIVL_TOKENIZER, AudioTowerConfig, BriVLImageConfig, VQGANConfig, small_vqgan_config
from wavbrivl.errors import WeightsError
from wavbrivl.hub import resolve
from wavbrivl.models import (
    VQGAN,
    BriVLImageTower,
    BriVLTextTower,
    CLIPImageTower,
    CLIPTextTower,
    ImageTower,
    WavBriVLAudioTower,
)

BRIVL_HUB_FILE = "BriVL-1.0-5500w.pth"
OFFLINE_PRESET = "toyworld"
TINY_PRESET = "tiny-random"
# the offline default ships inside the package (package data), so a wheel install has it too
TOYWORLD_DIR = Path(os.environ.get("WAVBRIVL_TOYWORLD", Path(__file__).resolve().parent / "assets" / "toyworld"))

TINY_WAVLM = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [32] * 7,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "num_buckets": 32,
    "max_bucket_distance": 100,
    "apply_spec_augment": False,
}

WAVLM_NO_DROPOUT = {
    k: 0.0
    for k in (
        "hidden_dropout",
        "attention_dropout",
        "activation_dropout",
        "feat_proj_dropout",
        "final_dropout",
        "layerdrop",
    )
}


@dataclass
class Provenance:
    """Where a component's weights came from and whether they were trained."""

    source: str
    trained: bool
    note: str = ""


@dataclass
class Preset:
    """Defaults of a named model set: a weight spec per component and the env vars that override them."""

    name: str
    audio: str | None
    image: str | None
    vqgan: str | None
    image_kind: str  # "brivl" or "clip"
    embed_dim: int
    description: str
    text_kind: str | None = None  # "brivl" / "clip": the image weights also hold that text tower

    def text_spec(self, image: str | None = None) -> str | None:
        """Where the text tower comes from: $WAVBRIVL_TEXT, else the same checkpoint / model as the image tower."""
        if os.environ.get(ENV_VARS["text"]):
            return os.environ[ENV_VARS["text"]]
        if self.text_kind is None:
            return None
        return image or os.environ.get(ENV_VARS["image"]) or self.image


PRESETS: dict[str, Preset] = {
    "brivl": Preset(
        "brivl",
        "microsoft/wavlm-base-plus",
        "shunxing1234/BriVL",
        None,
        "brivl",
        2048,
        "WavLM base-plus audio tower, BriVL-1.0 image and text towers, VQGAN imagenet f16-16384",
        text_kind="brivl",
    ),
    "clip": Preset(
        "clip",
        "microsoft/wavlm-base-plus",
        "openai/clip-vit-base-patch32",
        None,
        "clip",
        512,
        "WavLM base-plus audio tower against CLIP ViT-B/32 (the Wav2CLIP recipe), CLIP text tower, "
        "VQGAN imagenet f16-16384",
        text_kind="clip",
    ),
    OFFLINE_PRESET: Preset(
        OFFLINE_PRESET,
        None,
        None,
        None,
        "brivl",
        64,
        "the offline default: small models trained by `wavbrivl toyworld build` on a synthetic audio-visual world",
    ),
    TINY_PRESET: Preset(
        TINY_PRESET,
        None,
        None,
        None,
        "brivl",
        64,
        "tiny RANDOM untrained models for tests and plumbing checks only; results mean nothing",
    ),
}
ENV_VARS = {
    "audio": "WAVBRIVL_AUDIO",
    "image": "WAVBRIVL_IMAGE",
    "vqgan": "WAVBRIVL_VQGAN",
    "text": "WAVBRIVL_TEXT",
    "tokenizer": "WAVBRIVL_TOKENIZER",
}
VQGAN_CONFIG_ENV = "WAVBRIVL_VQGAN_CONFIG"


def _is_component_dir(path: Path) -> bool:
    if not (path / CONFIG_NAME).is_file():
        return False
    try:
        return "class" in json.loads((path / CONFIG_NAME).read_text())
    except json.JSONDecodeError:
        return False


def _expect(module: nn.Module, cls: type | tuple[type, ...], spec: str) -> Any:
    if not isinstance(module, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise WeightsError(f"{spec}: holds a {type(module).__name__}, expected a {names}")
    return module


def load_audio_tower(spec: str, embed_dim: int) -> tuple[WavBriVLAudioTower, Provenance]:
    """A trained audio tower folder, or a WavLM backbone (folder or Hub id) with an untrained head."""
    path = resolve(spec, what="audio tower")
    if path.is_dir() and _is_component_dir(path):
        return _expect(load_component(path), WavBriVLAudioTower, spec), Provenance(str(spec), True)
    from transformers import WavLMModel

    try:
        wavlm = WavLMModel.from_pretrained(str(path))
    except Exception as err:  # noqa: BLE001
        raise WeightsError(f"audio tower {spec}: not a WavBriVL audio tower nor a WavLM model ({err})") from None
    tower = WavBriVLAudioTower(AudioTowerConfig(embed_dim=embed_dim, mlp_hidden=embed_dim), wavlm=wavlm)
    note = "WavLM backbone only: the layer weights and head are UNTRAINED (train one with `wavbrivl train`)"
    return tower.eval(), Provenance(str(spec), False, note)


def load_image_tower(spec: str, kind: str = "brivl") -> tuple[ImageTower, Provenance]:
    """An image tower folder, an official BriVL .pth (file or Hub repo), or a CLIP Hub id / folder."""
    path = resolve(spec, BRIVL_HUB_FILE if kind == "brivl" and not Path(spec).exists() else None, "image tower")
    if path.is_dir() and _is_component_dir(path):
        return _expect(load_component(path), ImageTower, spec), Provenance(str(spec), True)
    if path.is_file():
        return load_brivl_official(path), Provenance(str(spec), True, "official BriVL-1.0 image encoder")
    if kind == "clip":
        from transformers import CLIPVisionModelWithProjection

        from wavbrivl.configs import CLIPImageConfig

        try:
            model = CLIPVisionModelWithProjection.from_pretrained(str(path))
        except Exception as err:  # noqa: BLE001
            raise WeightsError(f"image tower {spec}: not a CLIP vision model ({err})") from None
        return CLIPImageTower(CLIPImageConfig(), model=model).eval(), Provenance(str(spec), True, "CLIP vision")
    raise WeightsError(f"image tower {spec}: expected a component folder or an official BriVL .pth file")


def load_text_tower(spec: str, tokenizer: str | None = None, kind: str = "brivl") -> tuple[nn.Module, Provenance]:
    """A text tower folder (with its tokenizer), the text part of an official BriVL .pth (file or Hub repo),
    or (kind 'clip') a CLIP model folder / Hub id."""
    hub_file = BRIVL_HUB_FILE if kind == "brivl" and not Path(spec).exists() else None
    path = resolve(spec, hub_file, "text tower")
    if path.is_dir() and _is_component_dir(path):
        tower = _expect(load_component(path), (BriVLTextTower, CLIPTextTower), spec)
        if tokenizer or tower.tokenizer is None:
            from wavbrivl.checkpoints import load_tokenizer

            default = BRIVL_TOKENIZER if isinstance(tower, BriVLTextTower) else None
            spec_tok = tokenizer or os.environ.get(ENV_VARS["tokenizer"]) or default
            if spec_tok is None:
                raise WeightsError(
                    f"text tower {spec}: saved without its tokenizer; pass one ({ENV_VARS['tokenizer']})"
                )
            tower.tokenizer = load_tokenizer(spec_tok)
        return tower, Provenance(str(spec), True)
    if path.is_file():
        tokenizer = tokenizer or os.environ.get(ENV_VARS["tokenizer"]) or BRIVL_TOKENIZER
        tower = load_brivl_official_text(path, tokenizer)
        return tower, Provenance(str(spec), True, f"official BriVL-1.0 text encoder, tokenizer {tokenizer}")
    if kind == "clip":
        return _clip_text(path, spec, tokenizer), Provenance(str(spec), True, "CLIP text")
    raise WeightsError(f"text tower {spec}: expected a component folder or an official BriVL .pth file")


def _clip_text(path: Path, spec: str, tokenizer: str | None) -> CLIPTextTower:
    """CLIP's text model with projection and its tokenizer from a transformers folder (a whole CLIPModel works)."""
    from transformers import CLIPTextModelWithProjection

    from wavbrivl.checkpoints import load_tokenizer
    from wavbrivl.configs import CLIPTextTowerConfig

    try:
        model = CLIPTextModelWithProjection.from_pretrained(str(path))
    except Exception as err:  # noqa: BLE001
        raise WeightsError(f"text tower {spec}: not a CLIP text model ({err})") from None
    tower = CLIPTextTower(CLIPTextTowerConfig(), model=model)
    tower.tokenizer = load_tokenizer(tokenizer or path)
    return tower.eval()


def load_vqgan(spec: str | None, config: str | None = None) -> tuple[VQGAN, Provenance]:
    """A VQGAN folder or an official taming .ckpt (with its .yaml, default vqgan_imagenet_f16_16384)."""
    if not spec:
        raise WeightsError(
            "VQGAN weights are needed: pass --vqgan-weights PATH (a taming vqgan_imagenet_f16_16384 last.ckpt, "
            f"or a folder written by save_pretrained) or set {ENV_VARS['vqgan']}"
        )
    path = resolve(spec, "last.ckpt" if not Path(spec).exists() else None, "VQGAN")
    if path.is_dir() and _is_component_dir(path):
        return _expect(load_component(path), VQGAN, spec), Provenance(str(spec), True)
    return load_taming_vqgan(path, config or os.environ.get(VQGAN_CONFIG_ENV)), Provenance(str(spec), True, "taming")


def tiny_components(seed: int = 0) -> tuple[WavBriVLAudioTower, BriVLImageTower, VQGAN]:
    """Tiny randomly initialised towers and VQGAN of the real architectures (tests and plumbing only)."""
    torch.manual_seed(seed)
    audio = WavBriVLAudioTower(AudioTowerConfig(wavlm=dict(TINY_WAVLM), embed_dim=64, mlp_hidden=64))
    image = BriVLImageTower(
        BriVLImageConfig(
            backbone="test_efficientnet",
            image_size=96,
            hidden_dim=64,
            num_layers=1,
            num_heads=2,
            ffn_dim=64,
            embed_dim=64,
        )
    )
    vqgan = VQGAN(small_vqgan_config(embed_dim=16, n_embed=64, z_channels=16))
    return audio.eval(), image.eval(), vqgan.eval()


def full_size_components(seed: int = 0) -> tuple[WavBriVLAudioTower, ImageTower, VQGAN]:
    """Full-size architectures with random weights (benchmarks: same cost as the real ones)."""
    torch.manual_seed(seed)
    audio = WavBriVLAudioTower(AudioTowerConfig())
    image = BriVLImageTower(BriVLImageConfig())
    return audio.eval(), image.eval(), VQGAN(VQGANConfig()).eval()


def preset_components(
    name: str,
    audio: str | None = None,
    image: str | None = None,
    vqgan: str | None = None,
    vqgan_config: str | None = None,
    need_vqgan: bool = True,
) -> tuple[nn.Module, nn.Module, nn.Module | None, dict[str, Provenance]]:
    """Load a preset's three components; explicit specs beat env vars, which beat the preset defaults."""
    if name not in PRESETS:
        raise WeightsError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    preset = PRESETS[name]
    if name == TINY_PRESET:
        a, i, v = tiny_components()
        note = "random weights: for tests and plumbing checks only"
        prov = {k: Provenance("built-in tiny config", False, note) for k in ("audio_tower", "image_tower", "vqgan")}
        return a, i, v, prov
    audio = audio or os.environ.get(ENV_VARS["audio"]) or preset.audio
    image = image or os.environ.get(ENV_VARS["image"]) or preset.image
    vqgan = vqgan or os.environ.get(ENV_VARS["vqgan"]) or preset.vqgan
    i, pi = load_image_tower(str(image), preset.image_kind)
    a, pa = load_audio_tower(str(audio), i.embed_dim)
    if a.embed_dim != i.embed_dim:
        raise WeightsError(f"audio tower gives {a.embed_dim}-d embeddings but the image tower {i.embed_dim}-d")
    provenance = {"audio_tower": pa, "image_tower": pi}
    if not need_vqgan and not vqgan:
        return a, i, None, provenance
    v, provenance["vqgan"] = load_vqgan(vqgan, vqgan_config)
    return a, i, v, provenance
