"""Official checkpoint files: BriVL-1.0's .pth and taming-transformers' VQGAN .ckpt, read without running code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavbrivl.configs import BriVLImageConfig, BriVLTextConfig, VQGANConfig
from wavbrivl.errors import WeightsError
from wavbrivl.loading.folders import load_tokenizer
from wavbrivl.models import VQGAN, BriVLImageTower, BriVLTextTower


def read_torch_checkpoint(path: str | Path) -> Any:
    """torch.load with weights_only=True (never unpickles code), with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    try:
        try:  # memory-mapped: a 2 GB BriVL file read for its image and then its text part costs no extra RAM
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:
            if "mmap" not in str(err) and "zipfile" not in str(err):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # legacy (pre-zipfile) format
    except Exception as err:  # noqa: BLE001 - any failure here means the file is unusable as is
        raise WeightsError(
            f"{path}: cannot be read as a weights-only torch checkpoint ({type(err).__name__}: {err}). "
            "Only tensors and plain containers are accepted; arbitrary pickled objects are refused."
        ) from None


def strict_load(module: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) with a readable account of any mismatch."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{len(keys)} {label} (e.g. {', '.join(keys[:3])})")
        raise WeightsError(f"{source}: keys do not match {type(module).__name__}: " + "; ".join(parts))
    module.load_state_dict(state, strict=True)


def _strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _brivl_part(checkpoint: Any, prefix: str, source: str) -> dict[str, torch.Tensor]:
    """One tower's entries of an official BriVL checkpoint ('learnable' dict), without its prefix."""
    state = checkpoint.get("learnable", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise WeightsError(f"{source}: expected a dict with a 'learnable' state dict (official BriVL layout)")
    if state and all(k.startswith("module.") for k in state):
        state = _strip_prefix(state, "module.")
    part = _strip_prefix(state, prefix)
    if not part:
        raise WeightsError(f"{source}: no '{prefix}*' keys; this is not a BriVL-1.0 checkpoint")
    return part


def brivl_image_state(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The image-encoder entries of an official BriVL checkpoint, without the 'imgencoder.' prefix."""
    return _brivl_part(checkpoint, "imgencoder.", source)


# transformers >= 4.31 keeps these as non-persistent buffers; BriVL-1.0 (4.5.1) saved them. They hold 0..511.
BERT_DROPPED_BUFFERS = ("backbone.bert.embeddings.position_ids", "backbone.bert.embeddings.token_type_ids")


def brivl_text_state(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The text-encoder entries of an official BriVL checkpoint, less BERT's position_ids buffer."""
    text = _brivl_part(checkpoint, "textencoder.", source)
    return {k: v for k, v in text.items() if k not in BERT_DROPPED_BUFFERS}


def load_brivl_official(path: str | Path, config: BriVLImageConfig | None = None) -> BriVLImageTower:
    """Build the full-size BriVL image tower and load the official .pth's image part strictly."""
    tower = BriVLImageTower(config or BriVLImageConfig())
    strict_load(tower, brivl_image_state(read_torch_checkpoint(path), str(path)), str(path))
    return tower.eval()


def load_brivl_official_text(
    path: str | Path, tokenizer: str | Path | None = None, config: BriVLTextConfig | None = None
) -> BriVLTextTower:
    """Build the full-size BriVL text tower, load the official .pth's text part strictly, attach a tokenizer."""
    tower = BriVLTextTower(config or BriVLTextConfig())
    strict_load(tower, brivl_text_state(read_torch_checkpoint(path), str(path)), str(path))
    if tokenizer is not None:
        tower.tokenizer = load_tokenizer(tokenizer)
    return tower.eval()


def taming_state(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """A taming .ckpt's model weights: its 'state_dict' less the training-only 'loss.*' entries."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise WeightsError(f"{source}: expected a Lightning checkpoint with a 'state_dict'")
    return {k: v for k, v in state.items() if not k.startswith("loss.")}


def vqgan_config_from_yaml(path: str | Path) -> VQGANConfig:
    """Read embed_dim, n_embed and ddconfig from an official taming model .yaml."""
    from omegaconf import OmegaConf

    try:
        conf = OmegaConf.to_container(OmegaConf.load(str(path)), resolve=True)
        params = conf["model"]["params"] if "model" in conf else conf
        return VQGANConfig(int(params["embed_dim"]), int(params["n_embed"]), dict(params["ddconfig"]))
    except Exception as err:  # noqa: BLE001
        raise WeightsError(
            f"{path}: not a taming VQGAN config (model.params.embed_dim/n_embed/ddconfig): {err}"
        ) from None


def load_taming_vqgan(path: str | Path, config: VQGANConfig | str | Path | None = None) -> VQGAN:
    """Build a VQGAN (default: vqgan_imagenet_f16_16384) and load a taming .ckpt strictly."""
    if isinstance(config, (str, Path)):
        config = vqgan_config_from_yaml(config)
    model = VQGAN(config or VQGANConfig())
    strict_load(model, taming_state(read_torch_checkpoint(path), str(path)), str(path))
    return model.eval()
