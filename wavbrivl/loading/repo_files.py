"""Which files of a Hub repo a loader reads, picked from the repo's file list before anything is downloaded.

One weight format per model folder (safetensors first, else PyTorch's .bin; never TensorFlow, Flax, ONNX or a
half-precision variant), a tokenizer without its model's weights, BriVL's one .pth wherever the repo keeps it,
a taming VQGAN's checkpoint with its config. A file the loader needs and the repo lacks is refused here, so the
refusal comes before the first byte of a download.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from wavbrivl.errors import WeightsError

BRIVL_FILE = "BriVL-1.0-5500w.pth"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
)
CONFIG_FILES = ("config.json", "preprocessor_config.json", "generation_config.json")
# One model's weights, best first: a single file or a sharded one (its index names the shards).
WEIGHT_FILES = ("model.safetensors", "diffusion_pytorch_model.safetensors", "pytorch_model.bin",
                "diffusion_pytorch_model.bin")  # fmt: skip
TAMING_CHECKPOINTS = ("model.ckpt", "last.ckpt")
TAMING_CONFIGS = ("config.yaml", "model.yaml", "project.yaml")


def _in(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder else name


def _weights(files: set[str], folder: str, repo: str) -> list[str]:
    """One format of one model's weights in `folder`: a single file, or an index and the shards it names."""
    for name in WEIGHT_FILES:
        if _in(folder, name) in files:
            return [_in(folder, name)]
        index = _in(folder, name + ".index.json")
        if index in files:
            stem = name.rsplit(".", 1)[0]
            return [index, *sorted(f for f in files if posixpath.dirname(f) == folder
                                   and posixpath.basename(f).startswith(stem + "-"))]  # fmt: skip
    where = f"{repo}/{folder}" if folder else repo
    raise WeightsError(f"{where}: no model weights in a format this loader reads (one of {list(WEIGHT_FILES)})")


def _named(files: set[str], folder: str, names: tuple[str, ...]) -> list[str]:
    return [_in(folder, n) for n in names if _in(folder, n) in files]


def transformers_files(files: set[str], repo: str) -> list[str]:
    """A transformers model: its configs, tokenizer (if any) and one weight format."""
    if "config.json" not in files:
        raise WeightsError(f"{repo}: no config.json; not a transformers model repo")
    return _named(files, "", CONFIG_FILES + TOKENIZER_FILES) + _weights(files, "", repo)


def tokenizer_files(files: set[str], repo: str) -> list[str]:
    """A tokenizer alone: its files and the model config that names its class, never the model's weights."""
    found = _named(files, "", TOKENIZER_FILES)
    if not {"tokenizer.json", "vocab.txt", "vocab.json"} & set(found):
        raise WeightsError(f"{repo}: no tokenizer files (tokenizer.json, vocab.txt or vocab.json)")
    return _named(files, "", ("config.json",)) + found


def diffusers_files(files: set[str], repo: str) -> list[str]:
    """A diffusers pipeline: model_index.json, each component's configs and one weight format per model."""
    if "model_index.json" not in files:
        raise WeightsError(f"{repo}: no model_index.json; not a diffusers pipeline repo")
    picked = ["model_index.json"]
    for folder in sorted({posixpath.dirname(f) for f in files if "/" in f}):
        own = {f for f in files if posixpath.dirname(f) == folder}
        configs = sorted(f for f in own if f.endswith((".json", ".txt")) and ".index." not in f)
        picked += configs
        if any(posixpath.basename(f).startswith(("diffusion_pytorch_model", "model.", "pytorch_model")) for f in own):
            picked += _weights(files, folder, repo)
    return picked


def brivl_files(files: set[str], repo: str) -> list[str]:
    """BriVL-1.0's checkpoint, at the repo root or in a folder (never the EfficientNet init kept beside it)."""
    found = sorted((f for f in files if posixpath.basename(f) == BRIVL_FILE), key=lambda f: (f.count("/"), f))
    if not found:
        raise WeightsError(f"{repo}: no {BRIVL_FILE} in the repo's files; pass the .pth's local path instead")
    return found[:1]


def taming_files(files: set[str], repo: str) -> list[str]:
    """A taming-transformers VQGAN: its Lightning checkpoint and the model config beside it."""
    for folder in sorted({posixpath.dirname(f) for f in files}, key=lambda d: (d.count("/"), d)):
        checkpoint, config = _named(files, folder, TAMING_CHECKPOINTS), _named(files, folder, TAMING_CONFIGS)
        if checkpoint and config:
            return [checkpoint[0], config[0]]
        if checkpoint:
            raise WeightsError(f"{repo}: {checkpoint[0]} has no model config beside it (one of {TAMING_CONFIGS})")
    raise WeightsError(f"{repo}: no taming VQGAN checkpoint (one of {TAMING_CHECKPOINTS} with its config .yaml)")


def taming_config_files(files: set[str], repo: str) -> list[str]:
    """A taming model config alone."""
    for name in TAMING_CONFIGS:
        if name in files:
            return [name]
    raise WeightsError(f"{repo}: no taming model config (one of {TAMING_CONFIGS})")


def saved_set_files(files: set[str], repo: str) -> list[str]:
    """A set written by save_pretrained: everything but a README's images and other formats of the unCLIP."""
    if "model_index.json" not in files:
        raise WeightsError(f"{repo}: no model_index.json; not a set written by save_pretrained")
    unclip = {f for f in files if f.startswith("unclip/")}
    kept = sorted(f for f in files - unclip if not f.endswith((".png", ".jpg", ".gif", ".webp")))
    inner = {f.removeprefix("unclip/") for f in unclip}
    return kept + ([f"unclip/{f}" for f in diffusers_files(inner, f"{repo}/unclip")] if unclip else [])


def set_part(folder: str, alone: Callable[[set[str], str], list[str]]) -> Callable[[set[str], str], list[str]]:
    """A component of a saved set (model_index.json and `folder`/), or else the repo as `alone` reads it."""

    def picker(files: set[str], repo: str) -> list[str]:
        if "model_index.json" in files and any(f.startswith(folder + "/") for f in files):
            return ["model_index.json", *sorted(f for f in files if f.startswith(folder + "/"))]
        return alone(files, repo)

    return picker


PICKERS: dict[str, Callable[[set[str], str], list[str]]] = {
    "audio": set_part("audio_tower", transformers_files),
    "image": set_part("image_tower", brivl_files),
    "image_clip": set_part("image_tower", transformers_files),
    "text": set_part("text_tower", brivl_files),
    "text_clip": set_part("text_tower", transformers_files),
    "vqgan": set_part("vqgan", taming_files),
    "taming": taming_files,
    "transformers": transformers_files,
    "tokenizer": tokenizer_files,
    "diffusers": diffusers_files,
    "taming_config": taming_config_files,
    "pipeline": saved_set_files,
}


def pick(kind: str, files: list[str] | set[str], repo: str) -> list[str]:
    """The files of a repo that a loader of this kind reads; WeightsError if one it needs is missing."""
    return PICKERS[kind](set(files), repo)
