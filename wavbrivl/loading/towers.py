"""Each component from what names it: a component folder, an official file, or a Hub id (transformers models)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavbrivl.configs import (
    BRIVL_TOKENIZER,
    AudioTowerConfig,
    BriVLImageConfig,
    CLIPImageConfig,
    CLIPTextTowerConfig,
    small_vqgan_config,
)
from wavbrivl.errors import WeightsError
from wavbrivl.loading.components import FOLDERS
from wavbrivl.loading.folders import CONFIG_NAME, load_component, load_tokenizer
from wavbrivl.loading.hub import resolve
from wavbrivl.loading.official import load_brivl_official, load_brivl_official_text, load_taming_vqgan
from wavbrivl.loading.presets import model_size
from wavbrivl.loading.provenance import Provenance
from wavbrivl.loading.repo_files import BRIVL_FILE, TAMING_CONFIGS, pick
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

UNTRAINED_SEED = 0  # an untrained head is drawn from this seed, so two runs agree
NO_VQGAN = (
    "VQGAN weights are needed: pass --vqgan-weights (a Hub repo such as boris/vqgan_f16_16384, a taming .ckpt "
    "with its config .yaml, or a folder written by save_pretrained) or set $WAVBRIVL_VQGAN"
)
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


def _in_set(path: Path, folder: str) -> Path:
    """A saved set's component folder when path is a set (model_index.json) holding it, else path itself."""
    return path / folder if (path / "model_index.json").is_file() and (path / folder).is_dir() else path


def _transformers_model(cls_name: str, path: Path, spec: str, what: str) -> Any:
    """A transformers model from a local folder, always in float32 (whatever dtype its config names)."""
    import transformers

    try:
        return getattr(transformers, cls_name).from_pretrained(str(path), dtype=torch.float32)
    except Exception as err:  # noqa: BLE001 - a foreign folder, missing files: one clear message
        raise WeightsError(f"{what} {spec}: not a {cls_name} folder ({type(err).__name__}: {err})") from None


def untrained_audio_tower(wavlm: nn.Module, embed_dim: int) -> WavBriVLAudioTower:
    """A WavBriVL audio tower over a pretrained WavLM, its layer weights and head drawn from UNTRAINED_SEED."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(UNTRAINED_SEED)
        return WavBriVLAudioTower(AudioTowerConfig(embed_dim=embed_dim, mlp_hidden=embed_dim), wavlm=wavlm).eval()


def audio_folder(spec: str) -> tuple[Path, bool]:
    """The local folder an audio spec names (fetched if a Hub id), and whether it holds a trained audio tower."""
    path = _in_set(resolve(spec, "audio", "audio tower"), FOLDERS["audio"])
    return path, path.is_dir() and _is_component_dir(path)


def load_audio_tower(spec: str, embed_dim: int, folder: Path | None = None) -> tuple[WavBriVLAudioTower, Provenance]:
    """A trained audio tower (its folder, or a saved set's), or a WavLM backbone with an untrained head.

    folder: what audio_folder(spec) already resolved, if it was called.
    """
    path, trained = (folder, _is_component_dir(folder)) if folder is not None else audio_folder(spec)
    if trained:
        return _expect(load_component(path), WavBriVLAudioTower, spec), Provenance(str(spec), True)
    tower = untrained_audio_tower(_transformers_model("WavLMModel", path, spec, "audio tower"), embed_dim)
    note = (f"WavLM backbone only: its layer weights and head are UNTRAINED (drawn from seed {UNTRAINED_SEED}); "
            "train one with `wavbrivl train`")  # fmt: skip
    return tower, Provenance(str(spec), False, note)


def load_image_tower(spec: str, kind: str = "brivl") -> tuple[ImageTower, Provenance]:
    """An image tower folder (or a saved set's), an official BriVL .pth (file or Hub repo), or a CLIP model."""
    path = _in_set(resolve(spec, "image" if kind == "brivl" else "image_clip", "image tower"), FOLDERS["image"])
    if path.is_dir() and _is_component_dir(path):
        return _expect(load_component(path), ImageTower, spec), Provenance(str(spec), True)
    if kind == "brivl":
        return load_brivl_official(_brivl_file(path, spec)), Provenance(str(spec), True, "official BriVL-1.0 image")
    model = _transformers_model("CLIPVisionModelWithProjection", path, spec, "image tower")
    return CLIPImageTower(CLIPImageConfig(), model=model).eval(), Provenance(str(spec), True, "CLIP vision")


def _brivl_file(path: Path, spec: str) -> Path:
    """The official .pth: the path itself, or the one a fetched BriVL repo folder holds."""
    if path.is_file():
        return path
    found = sorted(path.rglob(BRIVL_FILE), key=lambda p: len(p.parts))
    if not found:
        raise WeightsError(f"{spec}: expected a component folder or an official BriVL .pth ({BRIVL_FILE})")
    return found[0]


def load_text_tower(spec: str, tokenizer: str | None = None, kind: str = "brivl") -> tuple[nn.Module, Provenance]:
    """A text tower folder (with its tokenizer; or a saved set's), the text part of an official BriVL .pth (file
    or Hub repo), or (kind 'clip') a CLIP model folder / Hub id."""
    path = _in_set(resolve(spec, "text" if kind == "brivl" else "text_clip", "text tower"), FOLDERS["text"])
    if path.is_dir() and _is_component_dir(path):
        tower = _expect(load_component(path), (BriVLTextTower, CLIPTextTower), spec)
        if tokenizer or tower.tokenizer is None:
            default = BRIVL_TOKENIZER if isinstance(tower, BriVLTextTower) else None
            spec_tok = tokenizer or default
            if spec_tok is None:
                raise WeightsError(f"text tower {spec}: saved without its tokenizer; pass one (--tokenizer)")
            tower.tokenizer = load_tokenizer(spec_tok)
        return tower, Provenance(str(spec), True)
    if kind == "brivl":
        tokenizer = tokenizer or BRIVL_TOKENIZER
        tower = load_brivl_official_text(_brivl_file(path, spec), tokenizer)
        return tower, Provenance(str(spec), True, f"official BriVL-1.0 text encoder, tokenizer {tokenizer}")
    model = _transformers_model("CLIPTextModelWithProjection", path, spec, "text tower")
    tower = CLIPTextTower(CLIPTextTowerConfig(), model=model)
    tower.tokenizer = load_tokenizer(tokenizer or path)
    return tower.eval(), Provenance(str(spec), True, "CLIP text")


def load_vqgan(spec: str | None, config: str | None = None) -> tuple[VQGAN, Provenance]:
    """A VQGAN folder (or a saved set's), a taming .ckpt with its .yaml, or a Hub repo of them
    (e.g. boris/vqgan_f16_16384: model.ckpt + config.yaml)."""
    if not spec:
        raise WeightsError(NO_VQGAN)
    path = _in_set(resolve(spec, "vqgan", "VQGAN"), FOLDERS["vqgan"])
    if path.is_dir() and _is_component_dir(path):
        return _expect(load_component(path), VQGAN, spec), Provenance(str(spec), True)
    checkpoint, yaml = _taming_pair(path, spec)
    chosen = resolve(config, "taming_config", "VQGAN config") if config else yaml
    return load_taming_vqgan(checkpoint, chosen), Provenance(str(spec), True, f"taming, config {config or yaml}")


def _taming_pair(path: Path, spec: str) -> tuple[Path, Path | None]:
    """A taming checkpoint and the config beside it: a fetched repo folder, or a local .ckpt (config if any)."""
    if path.is_file():
        beside = [path.parent / n for n in TAMING_CONFIGS if (path.parent / n).is_file()]
        return path, (beside[0] if beside else None)
    files = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
    checkpoint, yaml = pick("taming", files, spec)
    return path / checkpoint, path / yaml


def load_unclip(spec: str | Path, device: str | torch.device = "cpu"):
    """A StableUnCLIPImg2ImgPipeline from a folder written by its save_pretrained, or a Hub id, in float32 (a
    component config that says float16 would give half-precision modules that fail on the CPU)."""
    from diffusers import StableUnCLIPImg2ImgPipeline

    path = _in_set(resolve(spec, "diffusers", "Stable unCLIP"), FOLDERS["unclip"])
    try:
        pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(str(path), torch_dtype=torch.float32)
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
