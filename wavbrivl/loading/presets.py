"""Presets and model sizes as data: JSON files read by one loader (like open_clip's model_configs).

A preset is `<name>.json` in `wavbrivl/presets/`, in a folder named by $WAVBRIVL_PRESETS (several joined by the
path separator), or in one given to `add_preset_dir`. Adding a preset needs no Python change. Which folders are
searched, and which weights beat a preset's, is decided in `loading.sources` (the one reader of the environment).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

from wavbrivl.errors import WeightsError
from wavbrivl.loading.components import WEIGHT_KEYS

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PRESET_DIR = PACKAGE_DIR / "presets"  # data folders of the package: preset and model-size JSON files
MODEL_CONFIG_DIR = PACKAGE_DIR / "model_configs"
TEXT_FROM_IMAGE = "image"  # a preset's "text": the image tower's checkpoint or model also holds the text tower
_EXTRA_DIRS: list[Path] = []


@dataclass(frozen=True)
class Preset:
    """A named model set: where each component comes from, or a saved folder, or random weights of a size."""

    name: str
    description: str
    image_kind: str = "brivl"  # "brivl" or "clip"
    embed_dim: int = 2048
    weights: dict[str, str | None] = field(default_factory=dict)  # components.WEIGHT_KEYS -> a spec; "text" may be
    # TEXT_FROM_IMAGE; "unclip" is a Stable unCLIP pipeline conditioned on this image tower's space
    text_kind: str | None = None
    pretrained: str | None = None  # a folder written by save_pretrained (relative to the preset file) or Hub id
    random: str | None = None  # a model size in model_configs/: random weights, for tests and plumbing only
    generation: dict[str, Any] = field(default_factory=dict)  # generation defaults of this set
    allow_untrained: bool = False  # its untrained audio tower may take sounds (plumbing presets only)

    def spec(self, key: str, explicit: str | None = None) -> str | None:
        """A component's weights: the explicit choice (argument, variable or settings file), else this preset's."""
        return explicit or self.weights.get(key)

    def text_spec(self, explicit: str | None = None, image: str | None = None) -> str | None:
        """The text tower's weights: the explicit choice, else the preset's (TEXT_FROM_IMAGE: the image's)."""
        spec = self.spec("text", explicit)
        return self.spec("image", image) if spec == TEXT_FROM_IMAGE else spec


def add_preset_dir(folder: str | Path) -> None:
    """Also look for presets in this folder (searched before the built-in ones)."""
    _EXTRA_DIRS.insert(0, Path(folder))


def search_path(more: list[Path]) -> list[Path]:
    """Preset folders in lookup order, first match wins: added folders, then `more`, then the package's own."""
    return [*_EXTRA_DIRS, *more, PRESET_DIR]


def names_in(folders: list[Path]) -> list[str]:
    """Every preset name in these folders."""
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.json")})


def find_preset(name: str, folders: list[Path]) -> Preset:
    """The preset `name` from the first of these folders that has `<name>.json`, checked."""
    for folder in folders:
        path = folder / f"{name}.json"
        if path.is_file():
            return _read_preset(path)
    raise WeightsError(f"unknown preset {name!r}; choose one of {names_in(folders)} (or add a {name}.json preset)")


def _read_preset(path: Path) -> Preset:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise WeightsError(f"preset {path}: not readable JSON ({err})") from None
    allowed = ({f.name for f in fields(Preset)} - {"name", "weights"}) | set(WEIGHT_KEYS)
    data = {k: v for k, v in data.items() if k != "$comment"} if isinstance(data, dict) else data
    if not isinstance(data, dict) or not isinstance(data.get("description"), str):
        raise WeightsError(f"preset {path}: expected a JSON object with at least a 'description'")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise WeightsError(f"preset {path}: unknown keys {unknown}; accepted: {sorted(allowed)}")
    if data.get("image_kind", "brivl") not in ("brivl", "clip"):
        raise WeightsError(f"preset {path}: image_kind must be 'brivl' or 'clip', got {data['image_kind']!r}")
    pretrained = data.get("pretrained")
    if pretrained and (path.parent / pretrained).exists():
        data["pretrained"] = str((path.parent / pretrained).resolve())
    weights = {key: data.pop(key) for key in WEIGHT_KEYS if key in data}
    return Preset(name=path.stem, weights=weights, **data)


def model_size(name: str) -> dict[str, Any]:
    """A model size from model_configs/<name>.json: keyword arguments of each component's config (a fresh copy)."""
    return copy.deepcopy(_model_size(name))


@cache
def _model_size(name: str) -> dict[str, Any]:
    path = MODEL_CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in MODEL_CONFIG_DIR.glob("*.json"))
        raise WeightsError(f"unknown model size {name!r}; known: {known}")
    data = json.loads(path.read_text())
    data.pop("$comment", None)
    return data
