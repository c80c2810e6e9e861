"""A model set from its sources: a ModelChoice (argument > variable > wavbrivl.json > preset) becomes a ModelSet.

A ModelSet is plain data: the towers, the generators the set has, where each came from, and the set's defaults.
The pipeline is built over one (`WavBriVLPipeline.from_preset` / `from_pretrained`); this module never imports it.
The saved-folder format (`save_pretrained`) is read and written here.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from wavbrivl.errors import WeightsError
from wavbrivl.loading.components import BY_KEY, DECODER_DIR, FOLDERS
from wavbrivl.loading.folders import load_component, save_component
from wavbrivl.loading.hub import is_hub_id, plan, resolve
from wavbrivl.loading.presets import Preset
from wavbrivl.loading.provenance import Provenance, untrained_audio
from wavbrivl.loading.sources import OFFLINE_PRESET, TOYWORLD_DIR, ModelChoice, load_preset
from wavbrivl.loading.towers import (
    NO_VQGAN,
    audio_folder,
    load_audio_tower,
    load_image_tower,
    load_text_tower,
    load_unclip,
    load_vqgan,
    random_components,
    random_decoder,
)

INDEX_NAME = "model_index.json"
FORMAT = "wavbrivl-pipeline"
TRAINING_KEY = "training"  # the audio tower's training record in model_index.json (`wavbrivl train` writes it)
COMPONENT_DIRS = tuple(FOLDERS[k] for k in ("audio", "image", "vqgan"))  # the parts every saved set may hold
TEXT_DIR = FOLDERS["text"]  # optional: model sets without a text tower have no text features
UNCLIP_DIR = FOLDERS["unclip"]  # optional: a diffusers StableUnCLIPImg2ImgPipeline folder (the unclip method)
UNCLIP_NOTE = "Stable unCLIP (diffusers)"


@dataclass
class ModelSet:
    """What a pipeline is made of: towers, generators (VQGAN, decoder, unCLIP), provenance and the set's defaults."""

    audio_tower: nn.Module
    image_tower: nn.Module
    vqgan: nn.Module | None = None
    text_tower: nn.Module | None = None
    decoder: nn.Module | None = None
    unclip: Any = None  # a diffusers StableUnCLIPImg2ImgPipeline
    provenance: dict[str, Provenance] = field(default_factory=dict)
    preset: str = "custom"
    generation: dict[str, Any] = field(default_factory=dict)  # generation defaults
    class_names: list[str] = field(default_factory=list)
    text_unavailable: str = ""  # why a preset came without its text tower, if it did
    training_record: dict = field(default_factory=dict)  # the audio tower's training record (`wavbrivl train`)
    allow_untrained: bool = False  # the set's own word that its untrained audio tower may take sounds (plumbing)
    folder: str = ""  # the saved set's folder it was read from, if any (files beside the components: novelty.json)

    def components(self) -> dict[str, nn.Module]:
        """The set's modules by folder name (those it has)."""
        parts = zip((*COMPONENT_DIRS, TEXT_DIR, DECODER_DIR), (self.audio_tower, self.image_tower, self.vqgan,
                    self.text_tower, self.decoder))  # fmt: skip
        return {name: module for name, module in parts if module is not None}

    def check_sizes(self) -> None:
        """Raise WeightsError unless the audio tower, text tower and decoder work in the image tower's space."""
        dim = self.image_tower.embed_dim
        sizes = {
            "audio tower embeds to {}-d": self.audio_tower.embed_dim,
            "text tower embeds to {}-d": getattr(self.text_tower, "embed_dim", dim),
            "the decoder is conditioned on {}-d embeddings": getattr(getattr(self.decoder, "config", None),
                                                                       "embed_dim", dim),
        }  # fmt: skip
        for said, got in sizes.items():
            if got != dim:
                raise WeightsError(f"{said.format(got)} but the image tower embeds to {dim}-d")


def load_model_set(choice: ModelChoice, load_generators: bool = True, refuse_untrained_audio: bool = False) -> ModelSet:
    """The set a choice names: its saved folder when given, else its preset with the weights it names.

    load_generators=False loads no generator (VQGAN, decoder, unCLIP): embedding, ranking, classification and evaluation
    use none. refuse_untrained_audio=True (a request driven by sound) raises WeightsError as soon as the audio tower
    turns out untrained, before the other components load.
    """
    if choice.pretrained:
        model_set = _folder_set(choice.pretrained, choice, load_generators)
    elif not (preset := load_preset(choice.preset)).pretrained:
        model_set = _preset_set(preset, choice, load_generators, refuse_untrained_audio)
    else:
        folder = TOYWORLD_DIR if choice.preset == OFFLINE_PRESET else preset.pretrained
        if choice.preset == OFFLINE_PRESET and not (Path(folder) / INDEX_NAME).is_file():
            raise WeightsError(
                f"the offline default model set is missing at {folder}; "
                "build it with `wavbrivl toyworld build --out wavbrivl/assets/toyworld`"
            )
        model_set = _folder_set(folder, choice, load_generators)
        model_set.preset = choice.preset
        model_set.generation = {**preset.generation, **model_set.generation}  # the set's own win
    if refuse_untrained_audio and not model_set.allow_untrained and (reason := untrained_audio(model_set.provenance)):
        raise WeightsError(reason)
    return model_set


def check_generator(choice: ModelChoice) -> None:
    """Raise WeightsError, before anything loads, when a preset choice names no generator for a generation request."""
    if choice.pretrained:
        return
    preset = load_preset(choice.preset)
    if not (preset.pretrained or preset.random or preset.spec("vqgan", choice.vqgan)
            or preset.spec("unclip", choice.unclip)):  # fmt: skip
        raise WeightsError(f"preset {preset.name!r} names no generator. {NO_VQGAN}")


def _preset_specs(preset: Preset, choice: ModelChoice, load_generators: bool) -> dict[str, tuple[str, str]]:
    """What the preset's components are loaded from, as {key: (spec, Hub kind)}: the choice's, else the preset's."""
    clip = preset.image_kind == "clip"
    specs = {"audio": (preset.spec("audio", choice.audio), "audio"),
             "image": (preset.spec("image", choice.image), "image_clip" if clip else "image")}  # fmt: skip
    if not specs["audio"][0] or not specs["image"][0]:
        raise WeightsError(
            f"preset {preset.name!r} names no image or audio tower; pass --image-weights / --audio-weights"
        )
    if load_generators:
        for key, kind in (("vqgan", "vqgan"), ("vqgan_config", "taming_config"), ("unclip", "diffusers")):
            if spec := preset.spec(key, getattr(choice, key)):
                specs[key] = (spec, kind)
    return specs


def _preset_set(preset: Preset, choice: ModelChoice, load_generators: bool, refuse_untrained_audio: bool) -> ModelSet:
    """A preset built from its components' weights (or random ones of a model size).

    Every Hub repo it names is listed and checked first, so a wrong id or a missing file is refused before the
    first byte is downloaded; then the audio tower is fetched first, so an untrained one can be refused early.
    """
    if preset.random:
        return _random_set(preset, load_generators)
    specs = _preset_specs(preset, choice, load_generators)
    for key, (spec, kind) in specs.items():
        if is_hub_id(spec):
            plan(spec, kind, BY_KEY[key].help.split(",")[0])
    provenance: dict[str, Provenance] = {}
    sound, trained = audio_folder(specs["audio"][0])
    if refuse_untrained_audio and not preset.allow_untrained and not trained:
        raise WeightsError(untrained_audio({"audio_tower": Provenance(specs["audio"][0], False)}))
    image, provenance["image_tower"] = load_image_tower(specs["image"][0], preset.image_kind)
    audio, provenance["audio_tower"] = load_audio_tower(specs["audio"][0], image.embed_dim, sound)
    model_set = ModelSet(audio, image, provenance=provenance, preset=preset.name, generation=dict(preset.generation),
                         allow_untrained=preset.allow_untrained)  # fmt: skip
    if "vqgan" in specs:
        model_set.vqgan, provenance["vqgan"] = load_vqgan(specs["vqgan"][0], specs.get("vqgan_config", (None,))[0])
    if "unclip" in specs:
        model_set.unclip = load_unclip(specs["unclip"][0])
        provenance[UNCLIP_DIR] = Provenance(specs["unclip"][0], True, UNCLIP_NOTE)
    spec = preset.text_spec(choice.text, choice.image)
    if spec:
        try:
            model_set.text_tower, provenance[TEXT_DIR] = load_text_tower(
                spec, tokenizer=preset.spec("tokenizer", choice.tokenizer), kind=preset.text_kind or "brivl"
            )
        except WeightsError as err:
            if choice.text:
                raise  # asked for explicitly: a failure is an error
            model_set.text_unavailable = f"the text tower was not loaded from {spec}: {err}"
    return model_set


def _random_set(preset: Preset, load_generators: bool) -> ModelSet:
    """Random weights of the preset's model size: for tests and plumbing checks only."""
    audio, image, vqgan = random_components(preset.random)
    note, source = "random weights: for tests and plumbing checks only", f"model size {preset.random!r} (random)"
    names = ("audio_tower", "image_tower", *(("vqgan", DECODER_DIR) if load_generators else ()))
    model_set = ModelSet(audio, image, provenance={k: Provenance(source, False, note) for k in names},
                         preset=preset.name, generation=dict(preset.generation),
                         allow_untrained=preset.allow_untrained)  # fmt: skip
    if load_generators:
        model_set.vqgan, model_set.decoder = vqgan, random_decoder(vqgan, image.embed_dim, size=preset.random)
    return model_set


def _folder_set(path_or_id: str | Path, choice: ModelChoice, load_generators: bool) -> ModelSet:
    """A folder (or Hub repo) written by save_model_set; the choice's weights replace its components."""
    root = resolve(path_or_id, "pipeline", "pipeline")
    index = _read_index(root, path_or_id)
    saved = {k: Provenance(**v) for k, v in index.get("provenance", {}).items()}
    kind = index.get("image_kind", "brivl")
    parts: dict[str, Any] = {}
    for key in ("audio", "image", "vqgan"):
        name, override = FOLDERS[key], getattr(choice, key)
        if override is None and name == "vqgan" and (not load_generators or not (root / name).exists()):
            parts[name] = None  # saved without a generator: embedding, ranking and evaluation still work
        elif override is None:
            parts[name] = load_component(root / name)
            saved.setdefault(name, Provenance(str(root / name), True))
    if choice.image is not None:  # before the audio tower: a fresh audio head takes the image tower's size
        parts["image_tower"], saved["image_tower"] = load_image_tower(choice.image, kind)
    if choice.audio is not None:
        parts["audio_tower"], saved["audio_tower"] = load_audio_tower(choice.audio, parts["image_tower"].embed_dim)
    if choice.vqgan is not None:
        parts["vqgan"], saved["vqgan"] = load_vqgan(choice.vqgan, choice.vqgan_config)
    model_set = ModelSet(**parts, provenance=saved, preset=index.get("preset", str(path_or_id)),
                         allow_untrained=bool(index.get("allow_untrained")) and choice.audio is None)  # fmt: skip
    if choice.text is not None:
        model_set.text_tower, saved[TEXT_DIR] = load_text_tower(choice.text, choice.tokenizer, kind=kind)
    elif (root / TEXT_DIR).is_dir():
        model_set.text_tower = load_component(root / TEXT_DIR)
        saved.setdefault(TEXT_DIR, Provenance(str(root / TEXT_DIR), True))
    if parts["vqgan"] is not None and choice.vqgan is None and (root / DECODER_DIR).is_dir():
        model_set.decoder = load_component(root / DECODER_DIR)  # trained on this set's own VQGAN: only beside it
        saved.setdefault(DECODER_DIR, Provenance(str(root / DECODER_DIR), True))
    unclip_spec = choice.unclip or ((root / UNCLIP_DIR) if (root / UNCLIP_DIR).is_dir() else None)
    if unclip_spec and load_generators:
        model_set.unclip = load_unclip(unclip_spec)
        saved.setdefault(UNCLIP_DIR, Provenance(str(unclip_spec), True, UNCLIP_NOTE))
    model_set.generation = dict(index.get("generation", {}))
    model_set.folder = str(root)
    model_set.class_names = [str(c) for c in index.get("class_names", [])]
    if choice.audio is None:  # the record belongs to the saved audio tower, not to a replacement
        model_set.training_record = dict(index.get(TRAINING_KEY) or {})
    return model_set


def _read_index(root: Path, named: str | Path) -> dict:
    index_path = root / INDEX_NAME
    if not index_path.is_file():
        raise WeightsError(f"{named}: no {INDEX_NAME}; not a folder written by save_pretrained")
    index = json.loads(index_path.read_text())
    if index.get("format") != FORMAT:
        raise WeightsError(f"{index_path}: format {index.get('format')!r} is not {FORMAT!r}")
    return index


def save_model_set(model_set: ModelSet, folder: str | Path) -> Path:
    """Write model_index.json and one config.json + model.safetensors folder per component (the unCLIP's own)."""
    folder = Path(folder)
    for name, module in model_set.components().items():
        save_component(module, folder / name)
    if model_set.unclip is not None:
        model_set.unclip.save_pretrained(folder / UNCLIP_DIR)
    index = {
        "format": FORMAT,
        "version": 1,
        "preset": model_set.preset,
        "image_kind": "clip" if type(model_set.image_tower).__name__ == "CLIPImageTower" else "brivl",
        "provenance": {k: dataclasses.asdict(v) for k, v in model_set.provenance.items()},
        "generation": model_set.generation,
        "class_names": model_set.class_names,
    }
    if model_set.training_record:
        index[TRAINING_KEY] = model_set.training_record
    if model_set.allow_untrained:
        index["allow_untrained"] = True
    (folder / INDEX_NAME).write_text(json.dumps(index, indent=2))
    return folder
