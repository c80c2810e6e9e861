"""Each component from what names it: a component folder, an official file, or a Hub id (transformers models)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavbrivl.configs import BRIVL_TOKENIZER, AudioTowerConfig, BriVLImageConfig, small_vqgan_config
from wavbrivl.errors import WeightsError
from wavbrivl.loading.folders import CONFIG_NAME, load_component, load_tokenizer
from wavbrivl.loading.hub import resolve
from wavbrivl.loading.official import load_brivl_official, load_brivl_official_text, load_taming_vqgan
from wavbrivl.loading.presets import Preset, model_size
from wavbrivl.loading.provenance import Provenance
from wavbrivl.models import (
    VQGAN,
    BriVLImageTower,
    BriVLTextTower,
    CLIPImageTower,
    CLIPTextTower,
    EmbeddingDecoder,
    ImageTower,
    WavBriVLAudioTower,
)
from wavbrivl.models.decoder import decoder_for

BRIVL_HUB_FILE = "BriVL-1.0-5500w.pth"
UNCLIP_SMALL = "stabilityai/stable-diffusion-2-1-unclip-small"


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
            default = BRIVL_TOKENIZER if isinstance(tower, BriVLTextTower) else None
            spec_tok = tokenizer or default
            if spec_tok is None:
                raise WeightsError(f"text tower {spec}: saved without its tokenizer; pass one (--tokenizer)")
            tower.tokenizer = load_tokenizer(spec_tok)
        return tower, Provenance(str(spec), True)
    if path.is_file():
        tokenizer = tokenizer or BRIVL_TOKENIZER
        tower = load_brivl_official_text(path, tokenizer)
        return tower, Provenance(str(spec), True, f"official BriVL-1.0 text encoder, tokenizer {tokenizer}")
    if kind == "clip":
        return _clip_text(path, spec, tokenizer), Provenance(str(spec), True, "CLIP text")
    raise WeightsError(f"text tower {spec}: expected a component folder or an official BriVL .pth file")


def _clip_text(path: Path, spec: str, tokenizer: str | None) -> CLIPTextTower:
    """CLIP's text model with projection and its tokenizer from a transformers folder (a whole CLIPModel works)."""
    from transformers import CLIPTextModelWithProjection

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
            "or a folder written by save_pretrained) or set $WAVBRIVL_VQGAN"
        )
    path = resolve(spec, "last.ckpt" if not Path(spec).exists() else None, "VQGAN")
    if path.is_dir() and _is_component_dir(path):
        return _expect(load_component(path), VQGAN, spec), Provenance(str(spec), True)
    return load_taming_vqgan(path, config), Provenance(str(spec), True, "taming")


def load_unclip(spec: str | Path, device: str | torch.device = "cpu"):
    """A StableUnCLIPImg2ImgPipeline from a folder written by its save_pretrained, or a Hub id, in float32 (a
    component config that says float16 would give half-precision modules that fail on the CPU)."""
    from diffusers import StableUnCLIPImg2ImgPipeline

    try:
        pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(str(spec), torch_dtype=torch.float32)
    except Exception as err:  # noqa: BLE001 - missing files, an offline Hub, a foreign folder all land here
        raise WeightsError(
            f"Stable unCLIP {spec}: cannot be loaded ({type(err).__name__}: {err}); pass a folder written by "
            f"StableUnCLIPImg2ImgPipeline.save_pretrained or a reachable Hub id such as {UNCLIP_SMALL}"
        ) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def random_components(size: str = "tiny", seed: int = 0) -> tuple[WavBriVLAudioTower, BriVLImageTower, VQGAN]:
    """Randomly initialised towers and VQGAN of the real architectures at a model size (tests and plumbing only)."""
    torch.manual_seed(seed)
    config = model_size(size)
    audio = WavBriVLAudioTower(AudioTowerConfig(**config["audio"]))
    image = BriVLImageTower(BriVLImageConfig(**config["image"]))
    vqgan = VQGAN(small_vqgan_config(**config["vqgan"]))
    return audio.eval(), image.eval(), vqgan.eval()


def random_decoder(vqgan: VQGAN, embed_dim: int, size: str = "tiny", seed: int = 0) -> EmbeddingDecoder:
    """A randomly initialised decoder generator for this VQGAN at a model size (tests and plumbing only)."""
    torch.manual_seed(seed)
    return decoder_for(vqgan, embed_dim, **model_size(size).get("decoder", {})).eval()


def preset_components(
    preset: Preset,
    audio: str | None = None,
    image: str | None = None,
    vqgan: str | None = None,
    vqgan_config: str | None = None,
    need_vqgan: bool = True,
) -> tuple[nn.Module, nn.Module, nn.Module | None, dict[str, Provenance]]:
    """Load a preset's three components; explicit specs beat env vars, which beat the preset's own."""
    if preset.random:
        a, i, v = random_components(preset.random)
        note = "random weights: for tests and plumbing checks only"
        source = f"model size {preset.random!r} (random)"
        prov = {k: Provenance(source, False, note) for k in ("audio_tower", "image_tower", "vqgan")}
        return a, i, v, prov
    image_spec, audio_spec, vqgan_spec = (
        preset.spec("image", image),
        preset.spec("audio", audio),
        preset.spec("vqgan", vqgan),
    )
    if not image_spec or not audio_spec:
        raise WeightsError(
            f"preset {preset.name!r} names no image or audio tower; pass --image-weights / --audio-weights"
        )
    i, pi = load_image_tower(str(image_spec), preset.image_kind)
    a, pa = load_audio_tower(str(audio_spec), i.embed_dim)
    provenance = {"audio_tower": pa, "image_tower": pi}
    if not vqgan_spec and (not need_vqgan or preset.spec("unclip")):  # unCLIP generates without a VQGAN
        return a, i, None, provenance
    v, provenance["vqgan"] = load_vqgan(vqgan_spec, preset.spec("vqgan_config", vqgan_config))
    return a, i, v, provenance
