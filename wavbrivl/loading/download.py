"""Fetching a model set's Hub files ahead of time (`wavbrivl download`): for a Docker build, a Space's start, or a
machine that goes offline afterwards. The files are exactly those the loaders read, into the Hugging Face cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wavbrivl.loading.hub import fetch_files, is_hub_id
from wavbrivl.loading.presets import TEXT_FROM_IMAGE
from wavbrivl.loading.sources import ModelChoice, load_preset


@dataclass(frozen=True)
class Fetched:
    """One component's files: which repo, which files, how many bytes."""

    component: str
    repo: str
    files: tuple[str, ...]
    size: int


def sources(choice: ModelChoice) -> list[tuple[str, str, str]]:
    """Every (component, spec, Hub kind) the choice loads, generators included."""
    if choice.pretrained:
        return [("pipeline", choice.pretrained, "pipeline")]
    preset = load_preset(choice.preset)
    if preset.pretrained or preset.random:
        return []  # a folder inside the package, or random weights: nothing to fetch
    clip = preset.image_kind == "clip"
    text = preset.spec("text", choice.text)
    wanted = [
        ("audio", preset.spec("audio", choice.audio), "audio"),
        ("image", preset.spec("image", choice.image), "image_clip" if clip else "image"),
        ("text", preset.spec("image", choice.image) if text == TEXT_FROM_IMAGE else text,
         "text_clip" if (preset.text_kind or preset.image_kind) == "clip" else "text"),
        ("tokenizer", preset.spec("tokenizer", choice.tokenizer), "tokenizer"),
        ("vqgan", preset.spec("vqgan", choice.vqgan), "vqgan"),
        ("vqgan_config", preset.spec("vqgan_config", choice.vqgan_config), "taming_config"),
        ("unclip", preset.spec("unclip", choice.unclip), "diffusers"),
    ]  # fmt: skip
    return [(name, spec, kind) for name, spec, kind in wanted if spec]


def download(choice: ModelChoice, log: Callable[[str], None] = print) -> list[Fetched]:
    """Fetch every Hub file the choice's set reads into the local cache; local paths are left as they are."""
    done: list[Fetched] = []
    for component, spec, kind in sources(choice):
        if not is_hub_id(spec):
            log(f"{component}: {spec} is a local path, nothing to fetch")
            continue
        folder, files = fetch_files(spec, kind, component)
        size = sum((folder / f).stat().st_size for f in files)
        done.append(Fetched(component, spec, tuple(files), size))
        log(f"{component}: {spec}: {len(files)} files, {size / 1e6:,.1f} MB ({', '.join(files)})")
    return done
