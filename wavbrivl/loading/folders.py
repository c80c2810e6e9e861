"""The project's own component folders: config.json (class and config) + model.safetensors (+ a tokenizer)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from wavbrivl.configs import (
    AudioTowerConfig,
    BriVLImageConfig,
    BriVLTextConfig,
    CLIPImageConfig,
    CLIPTextTowerConfig,
    EmbeddingDecoderConfig,
    VQGANConfig,
    config_from_dict,
    config_to_dict,
)
from wavbrivl.errors import WeightsError
from wavbrivl.loading.hub import is_hub_id, resolve
from wavbrivl.models import (
    VQGAN,
    BriVLImageTower,
    BriVLTextTower,
    CLIPImageTower,
    CLIPTextTower,
    EmbeddingDecoder,
    WavBriVLAudioTower,
)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TOKENIZER_DIR = "tokenizer"
COMPONENT_CLASSES: dict[str, tuple[type[nn.Module], type]] = {
    "WavBriVLAudioTower": (WavBriVLAudioTower, AudioTowerConfig),
    "BriVLImageTower": (BriVLImageTower, BriVLImageConfig),
    "BriVLTextTower": (BriVLTextTower, BriVLTextConfig),
    "CLIPImageTower": (CLIPImageTower, CLIPImageConfig),
    "CLIPTextTower": (CLIPTextTower, CLIPTextTowerConfig),
    "VQGAN": (VQGAN, VQGANConfig),
    "EmbeddingDecoder": (EmbeddingDecoder, EmbeddingDecoderConfig),
}


def build_component(class_name: str, config: Mapping[str, Any]) -> nn.Module:
    """Instantiate a registered component from its class name and config dict."""
    if class_name not in COMPONENT_CLASSES:
        raise WeightsError(f"unknown component class {class_name!r}; known: {sorted(COMPONENT_CLASSES)}")
    cls, cfg_cls = COMPONENT_CLASSES[class_name]
    return cls(config_from_dict(cfg_cls, dict(config)))


def save_component(module: nn.Module, folder: str | Path) -> Path:
    """Write a component as config.json plus model.safetensors."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"class": type(module).__name__, "config": config_to_dict(module.config)}
    (folder / CONFIG_NAME).write_text(json.dumps(meta, indent=2))
    save_model(module, str(folder / WEIGHTS_NAME))
    if getattr(module, "tokenizer", None) is not None:
        module.tokenizer.save_pretrained(str(folder / TOKENIZER_DIR))
    return folder


def load_tokenizer(spec: str | Path) -> Any:
    """A BERT tokenizer from a folder or Hub id (BriVL: hfl/chinese-roberta-wwm-ext), with a clear error."""
    from transformers import AutoTokenizer

    if is_hub_id(str(spec)):
        spec = resolve(spec, "tokenizer", "tokenizer")  # its files only, never the model's weights
    try:
        return AutoTokenizer.from_pretrained(str(spec))
    except Exception as err:  # noqa: BLE001 - missing files, offline Hub, bad vocab all land here
        raise WeightsError(
            f"tokenizer {spec}: cannot be loaded ({type(err).__name__}: {err}); pass a folder holding vocab.txt "
            "(and tokenizer_config.json) or a Hub id that is reachable"
        ) from None


def load_component(folder: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Read a component written by save_component, strictly (every key must match)."""
    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise WeightsError(
                f"{folder}: missing {path.name}; a component folder holds {CONFIG_NAME} and {WEIGHTS_NAME}"
            )
    try:
        meta = json.loads(config_path.read_text())
    except json.JSONDecodeError as err:
        raise WeightsError(f"{config_path}: not valid JSON ({err})") from None
    module = build_component(meta.get("class", ""), meta.get("config", {}))
    try:
        load_model(module, str(weights_path), strict=True, device=str(device))
    except Exception as err:  # safetensors raises RuntimeError/SafetensorError with key lists
        raise WeightsError(f"{weights_path}: weights do not match {meta['class']} ({err})") from None
    if hasattr(module, "tokenizer") and (folder / TOKENIZER_DIR).is_dir():
        module.tokenizer = load_tokenizer(folder / TOKENIZER_DIR)
    return module.to(device).eval()
