"""The model card (README.md with Hub front matter) written beside a model set that is published."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from wavbrivl.departures import departures_table
from wavbrivl.loading.hub import is_hub_id

NOT_RECORDED = "not recorded"
CODE_LICENSE = "MIT"  # the wavbrivl package's own licence (pyproject.toml, LICENSE)
CARD_NAME = "README.md"
FIELD_VALUE = ("", "value")
HUB_CACHE_PATH = re.compile(r"models--([^/\\]+?)--([^/\\]+)[/\\]snapshots[/\\]")  # huggingface_hub's cache layout
# No Hub pipeline tag fits: sound-to-image is not one of the Hub's tasks, so the card sets none.
BASE_TAGS = ("wavbrivl", "audio", "sound-to-image", "audio-embedding", "wavlm")


# The licences the component repos state on their Hub cards, by repo id; a set's own trained parts take the
# licence given when publishing.
COMPONENT_LICENCES = {
    "microsoft/wavlm-base-plus": "none tagged on its Hub card (torchaudio lists WavLM as MIT)",
    "shunxing1234/BriVL": "none tagged (an unofficial mirror; BriVL's code is MIT, its weights come from BAAI)",
    "hfl/chinese-roberta-wwm-ext": "apache-2.0",
    "openai/clip-vit-base-patch32": "none tagged; OpenAI's card puts deployment out of scope",
    "openai/clip-vit-large-patch14": "none tagged; OpenAI's card puts deployment out of scope",
    "boris/vqgan_f16_16384": "none tagged (taming-transformers' code is MIT)",
    "dalle-mini/vqgan_imagenet_f16_16384": "none tagged (taming-transformers' code is MIT)",
    "stabilityai/stable-diffusion-2-1-unclip-small": "openrail++",
    "stabilityai/stable-diffusion-2-1-unclip": "openrail++",
}
TOYWORLD_LICENCE = "MIT (trained by wavbrivl's own code on its synthetic world)"


def component_licence(source: str, trained_here: str | None = None) -> str:
    """The licence of a component from its source: a known Hub repo's, the toy world's, else `trained_here`."""
    cached = HUB_CACHE_PATH.search(source)
    repo = f"{cached[1]}/{cached[2]}" if cached else source
    for known, licence in COMPONENT_LICENCES.items():
        if repo == known or repo.startswith(known + "/"):
            return licence
    if "toyworld" in source:
        return TOYWORLD_LICENCE
    return trained_here or NOT_RECORDED


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """Lines of a Markdown table (cells are written with str; '|' inside a cell is escaped)."""
    cell = lambda value: str(value).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, header)) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(map(cell, row)) + " |" for row in rows]


def write_card(folder: str | Path, body: str, metadata: dict[str, Any]) -> Path:
    """Write folder/README.md: Hub front matter (through huggingface_hub's ModelCardData) and the body."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(**{k: v for k, v in metadata.items() if v not in (None, [], "")})
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body.rstrip()}\n")
    path = Path(folder) / CARD_NAME
    card.save(path)
    return path


def wavlm_base_model(pipe: Any) -> str | None:
    """The Hub id the audio tower's WavLM came from, or None when unknown or local.

    From the WavLM config's name (a Hub id, or a Hub cache snapshot path models--owner--name/snapshots/...),
    else from the training record's start when that was a WavLM backbone loaded by Hub id.
    """
    name = str(pipe.audio_tower.config.wavlm.get("_name_or_path") or "")
    cached = HUB_CACHE_PATH.search(name)
    if cached:
        return f"{cached[1]}/{cached[2]}"
    if is_hub_id(name):
        return name
    start = ((pipe.training_record or {}).get("start") or {}).get("audio_tower") or {}
    source = str(start.get("source") or "")
    return source if is_hub_id(source) and "WavLM backbone" in str(start.get("note")) else None


def card_metadata(pipe: Any, license: str | None = None) -> dict[str, Any]:
    """The card's front matter: licence (only when given), library, tags and the WavLM base model if known."""
    image_kind = "clip" if type(pipe.image_tower).__name__ == "CLIPImageTower" else "brivl"
    tags = [*BASE_TAGS, image_kind]
    if pipe.vqgan is not None:
        tags += ["vqgan", "image-generation"]
    if getattr(pipe, "decoder", None) is not None or getattr(pipe, "unclip", None) is not None:
        tags += ["unclip"]
    if pipe.preset == "toyworld":
        tags += ["toyworld", "synthetic-data"]
    return {"license": license, "library_name": "wavbrivl", "tags": tags, "base_model": wavlm_base_model(pipe)}


GENERATOR_WORDS = {
    "decoder": "decoder (one sampling pass: a rectified-flow UNet from an embedding to the VQGAN's latents)",
    "vqgan": "VQGAN optimisation (the paper's method)",
    "unclip": "Stable unCLIP (diffusers, conditioned on CLIP image embeddings)",
}


def _generators(pipe: Any) -> str:
    """The set's generation methods in words, its default first."""
    methods = pipe.methods()
    if not methods:
        return "none (embedding and ranking only)"
    return "; ".join(GENERATOR_WORDS[m] + (" — the default" if i == 0 else "") for i, m in enumerate(methods))


def _or_not_recorded(value: Any) -> str:
    return NOT_RECORDED if value in (None, "", [], {}) else str(value)


def _data_line(data: dict[str, Any] | None) -> str:
    if not data:
        return NOT_RECORDED
    return f"{', '.join(data['shards'])} ({data['shard_files']} shard files, {data['clips']} clips)"


def _training_section(pipe: Any, data_description: str | None) -> list[str]:
    record = pipe.training_record or {}
    data = record.get("data") or {}
    start = record.get("start") or {}
    start_tower = start.get("audio_tower") or {}
    settings = record.get("settings") or {}
    steps = record.get("steps")
    planned = record.get("planned_steps")
    rows = [
        ("training data", _or_not_recorded(data_description or data.get("description"))),
        ("training shards", _data_line(record.get("data"))),
        ("validation shards", _data_line(record.get("validation_data"))),
        ("training steps", NOT_RECORDED if steps is None else f"{steps} of {planned} planned"),
        ("clips seen (steps x global batch)", _or_not_recorded(record.get("clips_seen"))),
        ("settings", _or_not_recorded(", ".join(f"{k} {v}" for k, v in settings.items()))),
        ("started from", _or_not_recorded(start_tower.get("source"))),
        ("WavLM backbone", wavlm_base_model(pipe) or NOT_RECORDED),
        (
            "WavLM layers trained",
            {0: "none (frozen)", -1: "all"}.get(pipe.audio_tower.config.trainable_layers)
            or f"top {pipe.audio_tower.config.trainable_layers}",
        ),
    ]
    lines = ["## Audio tower training", ""]
    if not record:
        lines += ["No training record came with this set (`wavbrivl train` keeps one in model_index.json).", ""]
    lines += markdown_table(FIELD_VALUE, rows)
    validation = record.get("validation")
    lines += ["", "### Validation (held-out clips: each sound against its own frame)", ""]
    if not validation:
        lines.append(f"Validation R@1 and MRR: {NOT_RECORDED}.")
        return lines
    lines += [f"At step {validation.get('step')}, on {validation.get('clips')} held-out clips:", ""]
    metric_rows = [
        (direction, f"{validation[f'{key}_r1']:.3f}", f"{validation[f'{key}_mrr']:.3f}")
        for direction, key in (("audio → image", "a2i"), ("image → audio", "i2a"))
        if f"{key}_r1" in validation
    ]
    return lines + markdown_table(("direction", "R@1", "MRR"), metric_rows)


def card_body(
    pipe: Any, repo_id: str | None = None, license: str | None = None, data_description: str | None = None
) -> str:
    """The card's Markdown: what the set is, its components, training, validation, licences and departures."""
    from wavbrivl.version import __version__

    info = pipe.info()
    name = repo_id or "path/to/this-folder"
    image = info["components"]["image_tower"]
    lines = [
        f"# WavBriVL model set{f': {repo_id}' if repo_id else ''}",
        "",
        "Sound to image through a frozen vision-language space (WavBriVL): an audio tower (WavLM, learned layer",
        "weights, the clip's level, an MLP) trained to embed sounds where the frozen image tower embeds pictures,",
        "so sounds rank images, and the set's generators draw images for a sound (louder sounds may draw differently).",
        "",
        "```python",
        "from wavbrivl import WavBriVLPipeline",
        "",
        f'pipe = WavBriVLPipeline.from_pretrained("{name}")',
        'last = pipe.generate_final("dog.wav", volumes_db=[-6, 0, 6])  # one image per volume',
        "```",
        "",
        f"or `wavbrivl generate --pretrained {name} --audio dog.wav --out out/`.",
        "",
        "## The set",
        "",
    ]
    lines += markdown_table(
        FIELD_VALUE,
        [
            ("preset", info["preset"]),
            ("embedding size", info["embed_dim"]),
            ("image tower source", image["source"] + (f" ({image['note']})" if image["note"] else "")),
            ("text tower", info["text"]),
            ("generators", _generators(pipe)),
        ],
    )
    lines += ["", "### Components", ""]
    own = license or NOT_RECORDED
    lines += markdown_table(
        ("component", "class", "parameters", "source", "trained", "licence", "note"),
        [
            (k, c["class"], f"{c['parameters']:,}", c["source"], "yes" if c["trained"] else "NO",
             component_licence(c["source"], own), c["note"])
            for k, c in info["components"].items()
        ],
    )  # fmt: skip
    lines += ["", *_training_section(pipe, data_description), "", "## Licences", ""]
    lines += markdown_table(
        FIELD_VALUE,
        [
            ("these weights", license or f"{NOT_RECORDED} (pass --license when publishing)"),
            ("code (wavbrivl)", CODE_LICENSE),
            ("components", "each as listed under Components (the licence its source states)"),
        ],
    )
    lines += [
        "",
        "## Departures from the paper",
        "",
        "What the paper (or BriVL's code) says, what this implementation does, and why.",
        "",
        departures_table(),
        "",
        f"Card generated by `wavbrivl push` (wavbrivl {__version__}).",
    ]
    return "\n".join(lines)


def write_model_card(
    pipe: Any,
    folder: str | Path,
    repo_id: str | None = None,
    license: str | None = None,
    data_description: str | None = None,
) -> Path:
    """Write folder/README.md for a model set (a WavBriVLPipeline): front matter and body."""
    body = card_body(pipe, repo_id, license, data_description)
    return write_card(folder, body, card_metadata(pipe, license))
