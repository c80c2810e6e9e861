"""WavBriVLPipeline: one object to embed sounds and images, rank, generate, and compare volumes."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wavbrivl.checkpoints import load_component, save_component
from wavbrivl.data.audio import MAX_AUDIO_SECONDS, AudioClip, AudioSource, load_audio
from wavbrivl.data.image import ImageSource, load_images
from wavbrivl.errors import InputError, WeightsError
from wavbrivl.factory import (
    OFFLINE_PRESET,
    TOYWORLD_DIR,
    Provenance,
    load_audio_tower,
    load_image_tower,
    load_text_tower,
    load_vqgan,
    preset_components,
)
from wavbrivl.generation import GenerationConfig, GenerationStep, generate_images
from wavbrivl.generation.prompts import Prompt, parse_prompts
from wavbrivl.hub import resolve
from wavbrivl.models import VQGAN, ImageTower, TextTower, WavBriVLAudioTower
from wavbrivl.presets import ENV_VARS, load_preset
from wavbrivl.ranking import EmbeddingCache, RankResult, image_key, rank_embeddings
from wavbrivl.training.record import RECORD_KEY as TRAINING_KEY
from wavbrivl.volume import VolumeReport, apply_gain
from wavbrivl.zero_shot import ZeroShotResult, class_prompts

INDEX_NAME = "model_index.json"
FORMAT = "wavbrivl-pipeline"
COMPONENT_DIRS = ("audio_tower", "image_tower", "vqgan")
TEXT_DIR = "text_tower"  # optional: model sets without a text tower have no text features


def default_device() -> torch.device:
    """The first CUDA GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class AudioEmbeddings:
    """Embeddings (N, D) of N (clip, volume) pairs, with the clips and what each gain did."""

    embeddings: torch.Tensor
    clips: list[AudioClip]
    volumes: list[VolumeReport]

    @property
    def notes(self) -> list[str]:
        """Everything worth telling the user: resampling, cropping, silence, clipping."""
        notes = [f"{c.name}: {n}" for c in self.clips for n in c.notes]
        notes += [f"{c.name}: {v.message()}" for c, v in zip(self.clips, self.volumes) if v.exceeds_full_scale]
        return list(dict.fromkeys(notes))


class WavBriVLPipeline:
    """Audio tower + frozen image tower + VQGAN, with the operations the CLI and the app share."""

    def __init__(
        self,
        audio_tower: WavBriVLAudioTower,
        image_tower: ImageTower,
        vqgan: VQGAN | None,
        provenance: dict[str, Provenance] | None = None,
        preset: str = "custom",
        device: str | torch.device | None = None,
        max_audio_seconds: float = MAX_AUDIO_SECONDS,
        clip_policy: str = "allow",
        text_tower: TextTower | None = None,
    ) -> None:
        if audio_tower.embed_dim != image_tower.embed_dim:
            raise WeightsError(
                f"audio tower embeds to {audio_tower.embed_dim}-d but the image tower to {image_tower.embed_dim}-d"
            )
        self.device = torch.device(device) if device is not None else default_device()
        self.audio_tower = audio_tower.to(self.device).eval().requires_grad_(False)
        self.image_tower = image_tower.to(self.device).eval().requires_grad_(False)
        self.vqgan = vqgan.to(self.device).eval().requires_grad_(False) if vqgan is not None else None
        if text_tower is not None and text_tower.embed_dim != image_tower.embed_dim:
            raise WeightsError(
                f"text tower embeds to {text_tower.embed_dim}-d but the image tower to {image_tower.embed_dim}-d"
            )
        self.text_tower = text_tower.to(self.device).eval().requires_grad_(False) if text_tower else None
        self.provenance = provenance or {k: Provenance("in memory", True) for k in self.components()}
        self.preset = preset
        self.max_audio_seconds = max_audio_seconds
        self.clip_policy = clip_policy
        self.image_cache = EmbeddingCache()
        self.generation_defaults: dict[str, float | int] = {}
        self.class_names: list[str] = []  # the set's own classes, if it knows any (default zero-shot names)
        self.text_unavailable = ""  # why a preset came without its text tower, if it did
        self.training_record: dict = {}  # the audio tower's training record (`wavbrivl train`), kept by save_pretrained

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_preset(
        cls,
        name: str = OFFLINE_PRESET,
        audio: str | None = None,
        image: str | None = None,
        vqgan: str | None = None,
        vqgan_config: str | None = None,
        device: str | torch.device | None = None,
        text: str | None = None,
        need_vqgan: bool = True,
    ) -> "WavBriVLPipeline":
        """Build a named preset (a JSON file: 'brivl', 'clip', the offline default, or one you add).

        Each component comes from its explicit argument, else its environment variable, else the preset.
        need_vqgan=False skips the generator (embedding, ranking and evaluation do not use it).
        """
        preset = load_preset(name)
        if preset.pretrained:
            folder = TOYWORLD_DIR if name == OFFLINE_PRESET else preset.pretrained
            if name == OFFLINE_PRESET and not (Path(folder) / INDEX_NAME).is_file():
                raise WeightsError(
                    f"the offline default model set is missing at {folder}; "
                    "build it with `wavbrivl toyworld build --out wavbrivl/assets/toyworld`"
                )
            pipe = cls.from_pretrained(folder, audio, image, vqgan, device=device, text=text, need_vqgan=need_vqgan)
            pipe.preset = name
            pipe.generation_defaults = {**preset.generation, **pipe.generation_defaults}  # the set's own win
            return pipe
        a, i, v, provenance = preset_components(preset, audio, image, vqgan, vqgan_config, need_vqgan)
        t, why = None, ""
        spec = preset.text_spec(text, image)
        if spec:
            try:
                t, provenance[TEXT_DIR] = load_text_tower(
                    spec, tokenizer=preset.spec("tokenizer"), kind=preset.text_kind or "brivl"
                )
            except WeightsError as err:
                if text or os.environ.get(ENV_VARS["text"]):
                    raise  # asked for explicitly: a failure is an error
                why = f"the text tower was not loaded from {spec}: {err}"
        pipe = cls(a, i, v, provenance, preset=name, device=device, text_tower=t)
        pipe.generation_defaults = dict(preset.generation)
        pipe.text_unavailable = why
        return pipe

    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str | Path,
        audio: str | None = None,
        image: str | None = None,
        vqgan: str | None = None,
        device: str | torch.device | None = None,
        text: str | None = None,
        need_vqgan: bool = True,
    ) -> "WavBriVLPipeline":
        """Load a folder (or Hub repo) written by save_pretrained; audio/image/vqgan/text replace components.

        need_vqgan=False leaves the generator out (embedding, ranking and evaluation do not use it).
        """
        root = resolve(path_or_id, what="pipeline")
        index_path = root / INDEX_NAME
        if not index_path.is_file():
            raise WeightsError(f"{path_or_id}: no {INDEX_NAME}; not a folder written by save_pretrained")
        index = json.loads(index_path.read_text())
        if index.get("format") != FORMAT:
            raise WeightsError(f"{index_path}: format {index.get('format')!r} is not {FORMAT!r}")
        saved = {k: Provenance(**v) for k, v in index.get("provenance", {}).items()}
        parts: dict[str, object] = {}
        for name, override in zip(COMPONENT_DIRS, (audio, image, vqgan)):
            if override is None and name == "vqgan" and (not need_vqgan or not (root / name).exists()):
                parts[name] = None  # saved without a generator: embedding, ranking and evaluation still work
            elif override is None:
                parts[name] = load_component(root / name)
                saved.setdefault(name, Provenance(str(root / name), True))
        if image is not None:  # before the audio tower: a fresh audio head takes the image tower's size
            parts["image_tower"], saved["image_tower"] = load_image_tower(image, index.get("image_kind", "brivl"))
        if audio is not None:
            parts["audio_tower"], saved["audio_tower"] = load_audio_tower(audio, parts["image_tower"].embed_dim)
        if vqgan is not None:
            parts["vqgan"], saved["vqgan"] = load_vqgan(vqgan)
        text_tower = None
        if text is not None:
            text_tower, saved[TEXT_DIR] = load_text_tower(text, kind=index.get("image_kind", "brivl"))
        elif (root / TEXT_DIR).is_dir():
            text_tower = load_component(root / TEXT_DIR)
            saved.setdefault(TEXT_DIR, Provenance(str(root / TEXT_DIR), True))
        pipe = cls(
            parts["audio_tower"],  # type: ignore[arg-type]
            parts["image_tower"],  # type: ignore[arg-type]
            parts["vqgan"],  # type: ignore[arg-type]
            saved,
            preset=index.get("preset", str(path_or_id)),
            device=device,
            text_tower=text_tower,  # type: ignore[arg-type]
        )
        pipe.generation_defaults = dict(index.get("generation", {}))
        pipe.class_names = [str(c) for c in index.get("class_names", [])]
        if audio is None:  # the record belongs to the saved audio tower, not to a replacement
            pipe.training_record = dict(index.get(TRAINING_KEY) or {})
        return pipe

    @classmethod
    def load(cls, preset: str | None = None, pretrained: str | None = None, **kwargs) -> "WavBriVLPipeline":
        """A pipeline from a saved folder when given, else from a preset (the offline default if none)."""
        if pretrained:
            return cls.from_pretrained(pretrained, **kwargs)
        return cls.from_preset(preset or OFFLINE_PRESET, **kwargs)

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write model_index.json and one config.json + model.safetensors folder per component."""
        folder = Path(folder)
        for name, module in self.components().items():
            save_component(module, folder / name)
        index = {
            "format": FORMAT,
            "version": 1,
            "preset": self.preset,
            "image_kind": "clip" if type(self.image_tower).__name__ == "CLIPImageTower" else "brivl",
            "provenance": {k: dataclasses.asdict(v) for k, v in self.provenance.items()},
            "generation": self.generation_defaults,
            "class_names": self.class_names,
        }
        if self.training_record:
            index[TRAINING_KEY] = self.training_record
        (folder / INDEX_NAME).write_text(json.dumps(index, indent=2))
        return folder

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool = False,
        token: str | None = None,
        commit_message: str = "Upload WavBriVL model set",
        license: str | None = None,
        data_description: str | None = None,
        folder: str | Path | None = None,
    ) -> str:
        """Save this set with a generated model card and upload it to a Hub model repo; returns the commit URL.

        folder keeps the prepared upload folder there (default: a temporary one); license and data_description
        fill the card where the set does not record them.
        """
        from wavbrivl.publish import push_pipeline

        return push_pipeline(
            self,
            repo_id,
            private=private,
            token=token,
            commit_message=commit_message,
            license=license,
            data_description=data_description,
            folder=folder,
        )

    # ------------------------------------------------------------------ facts
    def components(self) -> dict[str, torch.nn.Module]:
        """The model's parts by folder name (text_tower only when there is one)."""
        parts = dict(zip(COMPONENT_DIRS, (self.audio_tower, self.image_tower, self.vqgan)))
        if self.vqgan is None:
            del parts["vqgan"]
        if self.text_tower is not None:
            parts[TEXT_DIR] = self.text_tower
        return parts

    @property
    def untrained(self) -> list[str]:
        """Names of components whose weights are untrained."""
        return [name for name, p in self.provenance.items() if not p.trained]

    def info(self) -> dict:
        """Preset, device, and per component: class, parameter count, source, trained or not."""
        parts = {}
        for name, module in self.components().items():
            prov = self.provenance.get(name, Provenance("unknown", False))
            parts[name] = {
                "class": type(module).__name__,
                "parameters": sum(p.numel() for p in module.parameters()),
                "source": prov.source,
                "trained": prov.trained,
                "note": prov.note,
            }
        try:
            description = load_preset(self.preset).description
        except WeightsError:  # a set saved under a preset name that is not installed here
            description = ""
        return {
            "preset": self.preset,
            "description": description,
            "device": str(self.device),
            "embed_dim": self.image_tower.embed_dim,
            "components": parts,
            "text": "available" if self.text_tower is not None else (self.text_unavailable or "no text tower"),
        }

    # ------------------------------------------------------------------ audio
    def _pairs(
        self, audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float]
    ) -> tuple[list[AudioClip], list[float]]:
        sources = list(audio) if isinstance(audio, list) else [audio]
        volumes = [float(v) for v in volumes_db] if isinstance(volumes_db, (list, tuple)) else [float(volumes_db)]
        if not sources or not volumes:
            raise InputError("no audio or no volume was given")
        clips = [load_audio(s, max_seconds=self.max_audio_seconds) for s in sources]
        if len(clips) == 1:
            clips = clips * len(volumes)
        elif len(volumes) == 1:
            volumes = volumes * len(clips)
        elif len(volumes) != len(clips):
            raise InputError(f"{len(clips)} clips but {len(volumes)} volumes: give one volume, or one per clip")
        return clips, volumes

    @torch.no_grad()
    def embed_audio(
        self, audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float] = 0.0
    ) -> AudioEmbeddings:
        """Embed clip(s) at volume(s); clips of equal length share a batch, so results never depend on padding."""
        clips, volumes = self._pairs(audio, volumes_db)
        scaled, reports = zip(*(apply_gain(c.waveform, v, self.clip_policy) for c, v in zip(clips, volumes)))
        out = torch.empty(len(clips), self.audio_tower.embed_dim)
        by_length: dict[int, list[int]] = {}
        for i, wave in enumerate(scaled):
            by_length.setdefault(len(wave), []).append(i)
        for indices in by_length.values():
            batch = torch.from_numpy(np.stack([scaled[i] for i in indices])).to(self.device)
            out[indices] = self.audio_tower(batch).float().cpu()
        return AudioEmbeddings(out, clips, list(reports))

    # ------------------------------------------------------------------ images
    @torch.no_grad()
    def embed_images(
        self,
        images: Sequence[ImageSource],
        batch_size: int = 16,
        progress: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Embed images (N, D); images already seen (same pixels) come from the cache."""
        pil = load_images(images)
        keys = [image_key(im) for im in pil]
        # this call's own map: another request may evict cache entries meanwhile (the cache is shared and bounded)
        cached = {k: self.image_cache.get(k) for k in dict.fromkeys(keys)}
        found = {k: v for k, v in cached.items() if v is not None}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        first = {k: keys.index(k) for k in missing}
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            pixels = self.image_tower.preprocess([pil[first[k]] for k in chunk]).to(self.device)
            embeds = self.image_tower.encode_pixels(pixels)
            for key, emb in zip(chunk, embeds):
                found[key] = self.image_cache.put(key, emb)
            if progress is not None:
                progress(min(start + batch_size, len(missing)), len(missing))
        return torch.stack([found[k] for k in keys])

    def rank(
        self,
        audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings,
        images: Sequence[ImageSource] | torch.Tensor,
        volumes_db: float | Sequence[float] = 0.0,
    ) -> RankResult:
        """Score images against the sound(s); either side may be given as precomputed embeddings."""
        image_embeds = images if isinstance(images, torch.Tensor) else self.embed_images(images)
        embedded = audio if isinstance(audio, AudioEmbeddings) else self.embed_audio(audio, volumes_db)
        return rank_embeddings(embedded.embeddings, image_embeds)

    # ------------------------------------------------------------------ text
    def _text(self) -> TextTower:
        if self.text_tower is None:
            note = f". Note: {self.text_unavailable}" if self.text_unavailable else ""
            raise WeightsError(
                f"the model set {self.preset!r} has no text tower; text prompts need BriVL's text encoder "
                f"(presets 'brivl', 'clip' and 'toyworld' have one, or pass --text-weights){note}"
            )
        return self.text_tower

    @torch.no_grad()
    def embed_text(self, texts: str | Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Embed text(s) with BriVL's text tower, (N, D) on the CPU."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        tower = self._text()
        if not texts:
            raise InputError("no text was given")
        return torch.cat(
            [tower.encode_text(texts[i : i + batch_size]).float().cpu() for i in range(0, len(texts), batch_size)]
        )

    def rank_text(self, texts: str | Sequence[str], images: Sequence[ImageSource] | torch.Tensor) -> RankResult:
        """Score images against text(s): the same ranking as for sounds, from the text tower."""
        image_embeds = images if isinstance(images, torch.Tensor) else self.embed_images(images)
        return rank_embeddings(self.embed_text(texts), image_embeds)

    def zero_shot(
        self,
        audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings | torch.Tensor,
        class_names: Sequence[str],
        templates: Sequence[str] = ("{}",),
    ) -> ZeroShotResult:
        """Classify sounds by their similarity to class-name prompts (no training): text tower vs audio tower."""
        prompts = class_prompts(class_names, templates)
        text = self.embed_text([p for group in prompts for p in group]).view(len(prompts), len(templates), -1)
        classes = torch.nn.functional.normalize(text.mean(1), dim=-1)
        if isinstance(audio, torch.Tensor):
            embeds = audio
        else:
            embeds = (audio if isinstance(audio, AudioEmbeddings) else self.embed_audio(audio)).embeddings
        return ZeroShotResult(list(class_names), embeds.float().cpu() @ classes.T)

    # ------------------------------------------------------------------ generation
    def generation_config(self, **overrides) -> GenerationConfig:
        """GenerationConfig from this model set's defaults, with any non-None overrides applied."""
        fields = {f.name for f in dataclasses.fields(GenerationConfig)}
        values = {k: v for k, v in self.generation_defaults.items() if k in fields}
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("cut_batch", 1 if self.device.type == "cpu" else 8)  # CPU: least memory, same speed
        return GenerationConfig(**values)

    def generate(
        self,
        audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings | None,
        volumes_db: float | Sequence[float] = 0.0,
        config: GenerationConfig | None = None,
        init_image: ImageSource | None = None,
        should_stop: Callable[[], bool] | None = None,
        prompts: str | Prompt | Sequence[str | Prompt] | None = None,
        audio_weight: float = 1.0,
    ) -> Iterator[GenerationStep]:
        """Yield per-step images; several volumes (or clips) generate together as one batch, one seed.

        audio may also be the AudioEmbeddings of an earlier embed_audio call (then volumes_db is unused),
        or None when text prompts alone guide the image. prompts ('a red circle:1 | blue:-0.5', or Prompt
        objects) add weighted text targets to every image: positive to match, negative to avoid.
        """
        config = config or self.generation_config()
        if config.steps < 1:
            raise InputError(f"steps must be at least 1, got {config.steps}")
        if self.vqgan is None:
            raise WeightsError("this pipeline was loaded without a VQGAN; generation needs one (--vqgan-weights)")
        if config.size < self.vqgan.downsample:
            raise InputError(f"size must be at least {self.vqgan.downsample} px, got {config.size}")
        if config.cutn < 1 or config.cut_batch < 1:
            raise InputError(f"cutouts and cut_batch must be at least 1, got {config.cutn} and {config.cut_batch}")
        if not (math.isfinite(config.lr) and config.lr > 0):
            raise InputError(f"the learning rate must be a positive finite number, got {config.lr}")
        try:
            seed_ok = -(2**63) <= int(config.seed) < 2**64  # what torch's generator takes
        except (TypeError, ValueError, OverflowError):
            seed_ok = False
        if not seed_ok:
            raise InputError(f"the seed must be a whole number from -2**63 to 2**64 - 1, got {config.seed}")
        texts = parse_prompts(prompts)
        for weight in [p.weight for p in texts] + [audio_weight]:
            if not abs(weight) <= 1e6:  # NaN fails this too
                raise InputError(f"a weight of {weight} is not a finite number within ±1e6")
        if audio is None and not texts:
            raise InputError("nothing to generate from: give a sound, text prompts, or both")
        targets, weights = self._targets(audio, volumes_db, texts, audio_weight)
        init = load_images([init_image])[0] if init_image is not None else None
        return generate_images(self.vqgan, self.image_tower, targets, config, init, should_stop, weights)

    def _targets(
        self, audio, volumes_db, texts: list[Prompt], audio_weight: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P, D) targets and (P,) weights: each sound (if any) first, then the shared text prompts."""
        rows, weights = [], []
        if audio is not None:
            embedded = audio if isinstance(audio, AudioEmbeddings) else self.embed_audio(audio, volumes_db)
            rows.append(embedded.embeddings[:, None])
            weights.append(float(audio_weight))
        if texts:
            text = self.embed_text([p.text for p in texts])
            batch = rows[0].shape[0] if rows else 1
            rows.append(text[None].expand(batch, -1, -1))
            weights += [p.weight for p in texts]
        return torch.cat(rows, dim=1).to(self.device), torch.tensor(weights)

    def generate_final(self, *args, **kwargs) -> GenerationStep:
        """Run generate to the end and return only the final step."""
        *_, last = self.generate(*args, **kwargs)
        return last


__all__ = ["AudioEmbeddings", "GenerationConfig", "GenerationStep", "WavBriVLPipeline"]
