"""WavBriVLPipeline: one object to embed sounds, images and text, rank, generate, and compare volumes.

It is built over a ModelSet (`wavbrivl.loading`, which resolves and loads the weights) and holds its parts as
objects: the towers, the generation methods the set offers (`wavbrivl.generation.methods`) and an embedding cache.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wavbrivl.data.audio import MAX_AUDIO_SECONDS, AudioSource
from wavbrivl.data.image import ImageSource, load_images
from wavbrivl.data.pairs import AudioEmbeddings, pair_clips
from wavbrivl.errors import InputError, WeightsError
from wavbrivl.generation import GenerationConfig, GenerationStep
from wavbrivl.generation.checks import check_generation
from wavbrivl.generation.methods import GenerationMethod, available_methods
from wavbrivl.generation.prompts import Prompt, parse_prompts
from wavbrivl.generation.registry import unused_settings
from wavbrivl.generation.request import GenerationRequest
from wavbrivl.generation.sample import student_notes
from wavbrivl.loading import OFFLINE_PRESET, ModelChoice, ModelSet, argument_choice, load_model_set, load_preset
from wavbrivl.loading.model_set import UNCLIP_DIR, save_model_set
from wavbrivl.loading.provenance import Provenance, untrained_audio
from wavbrivl.novelty import NoveltyCheck, novelty_for
from wavbrivl.ranking import EmbeddingCache, RankResult, image_key, rank_embeddings
from wavbrivl.volume import apply_gain
from wavbrivl.zero_shot import ZeroShotResult, class_prompts

__all__ = ["AudioEmbeddings", "GenerationConfig", "GenerationStep", "WavBriVLPipeline", "default_device"]


def default_device() -> torch.device:
    """The first CUDA GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _placed(module: Any, device: torch.device) -> Any:
    return module.to(device).eval().requires_grad_(False) if module is not None else None


def _part(name: str, doc: str, module: bool = False) -> property:
    """A ModelSet field seen through the pipeline; modules set through it are placed on the pipeline's device."""

    def get(self: WavBriVLPipeline) -> Any:
        return getattr(self.model_set, name)

    def put(self: WavBriVLPipeline, value: Any) -> None:
        setattr(self.model_set, name, _placed(value, self.device) if module else value)

    return property(get, put, doc=doc)


class WavBriVLPipeline:
    """Audio tower, frozen image tower, generators (VQGAN, decoder, unCLIP), text tower: what the CLI and app use.

    It holds one ModelSet (`model_set`); its parts and facts read through to it.
    """

    audio_tower = _part("audio_tower", "the audio tower", module=True)
    image_tower = _part("image_tower", "the frozen image tower", module=True)
    vqgan = _part("vqgan", "the VQGAN (optimisation and decoder methods), or None", module=True)
    text_tower = _part("text_tower", "the text tower, or None", module=True)
    decoder = _part("decoder", "the one-pass decoder generator, or None", module=True)
    unclip = _part("unclip", "a diffusers StableUnCLIPImg2ImgPipeline, or None")
    provenance = _part("provenance", "where each component came from and whether it was trained")
    preset = _part("preset", "the preset (or folder) the set was loaded as")
    generation_defaults = _part("generation", "the set's generation defaults")
    class_names = _part("class_names", "the set's own classes, if it knows any (default zero-shot names)")
    text_unavailable = _part("text_unavailable", "why a preset came without its text tower, if it did")
    training_record = _part("training_record", "the audio tower's training record (`wavbrivl train`)")

    def __init__(
        self,
        model_set: ModelSet,
        device: str | torch.device | None = None,
        max_audio_seconds: float = MAX_AUDIO_SECONDS,
        clip_policy: str = "allow",
        allow_untrained: bool | None = None,
    ) -> None:
        model_set.check_sizes()
        self.device = torch.device(device) if device is not None else default_device()
        self.model_set = model_set
        for name, module in model_set.components().items():
            setattr(self, name, module)  # placed on the device
        if model_set.unclip is not None:
            model_set.unclip.to(self.device)
        self.max_audio_seconds = max_audio_seconds
        self.clip_policy = clip_policy
        # an untrained audio tower refuses sounds unless allowed (here, or by the set: the tiny-random preset)
        self.allow_untrained = model_set.allow_untrained if allow_untrained is None else allow_untrained
        self.image_cache = EmbeddingCache()
        if not model_set.provenance:
            model_set.provenance = {name: Provenance("in memory", True) for name in self.components()}

    # ------------------------------------------------------------------ loading (wavbrivl.loading does the work)
    @classmethod
    def from_model_set(cls, model_set: ModelSet, device: str | torch.device | None = None,
                       allow_untrained: bool | None = None) -> WavBriVLPipeline:  # fmt: skip
        """A pipeline over a loaded ModelSet, placed on `device` (default: a GPU if there is one)."""
        return cls(model_set, device, allow_untrained=allow_untrained)

    @classmethod
    def from_choice(cls, choice: ModelChoice, load_generators: bool = True,
                    allow_untrained: bool | None = None) -> WavBriVLPipeline:  # fmt: skip
        """The pipeline a front end's ModelChoice names (flags > variables > wavbrivl.json > preset)."""
        return cls.from_model_set(load_model_set(choice, load_generators), choice.device, allow_untrained)

    @classmethod
    def from_preset(cls, name: str = OFFLINE_PRESET, device: str | torch.device | None = None,
                    load_generators: bool = True, allow_untrained: bool | None = None,
                    **weights: str | None) -> WavBriVLPipeline:  # fmt: skip
        """A named preset ('brivl', 'clip', the offline default, or one you add); weights (audio, image, vqgan,
        vqgan_config, text, tokenizer, unclip) replace its components, else their environment variables do.
        load_generators=False loads no generator (VQGAN, decoder, unCLIP): embedding, ranking, classification and
        evaluation use none. An untrained audio tower refuses sounds (WeightsError) unless allow_untrained=True."""
        choice = argument_choice(name, **weights)
        return cls.from_model_set(load_model_set(choice, load_generators), device, allow_untrained)

    @classmethod
    def from_pretrained(cls, path_or_id: str | Path, device: str | torch.device | None = None,
                        load_generators: bool = True, allow_untrained: bool | None = None,
                        **weights: str | None) -> WavBriVLPipeline:  # fmt: skip
        """A folder (or Hub repo) written by save_pretrained; the rest as in from_preset."""
        choice = argument_choice(pretrained=str(path_or_id), **weights)
        return cls.from_model_set(load_model_set(choice, load_generators), device, allow_untrained)

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write model_index.json and one config.json + model.safetensors folder per component."""
        return save_model_set(self.model_set, folder)

    def push_to_hub(self, repo_id: str, *, private: bool = False, token: str | None = None,
                    commit_message: str = "Upload WavBriVL model set", license: str | None = None,
                    data_description: str | None = None, folder: str | Path | None = None) -> str:  # fmt: skip
        """Save this set with a generated model card and upload it to a Hub model repo; returns the commit URL.

        folder keeps the prepared upload folder there (default: a temporary one); license and data_description
        fill the card where the set does not record them.
        """
        from wavbrivl.publish import push_to_hub

        card = {"license": license, "data_description": data_description}
        upload = {"private": private, "token": token, "commit_message": commit_message}
        return push_to_hub(self, repo_id, folder, card, **upload)

    # ------------------------------------------------------------------ facts
    def components(self) -> dict[str, torch.nn.Module]:
        """The model's parts by folder name (text tower and decoder only when there are ones)."""
        return self.model_set.components()

    @property
    def untrained(self) -> list[str]:
        """Names of components whose weights are untrained."""
        return [name for name, p in self.provenance.items() if not p.trained]

    @functools.cached_property
    def novelty(self) -> NoveltyCheck | None:
        """The set's check for sounds it does not know (wavbrivl.novelty), if it has one made for its audio tower."""
        return novelty_for(self, self.model_set.folder or None)

    def sound_refusal(self) -> str:
        """Why sounds are refused (an untrained audio tower, not allowed), in one line; "" when they are not."""
        return "" if self.allow_untrained else untrained_audio(self.provenance)

    def check_sound(self) -> None:
        """Raise WeightsError before any model work when sounds are refused (sound_refusal)."""
        if reason := self.sound_refusal():
            raise WeightsError(reason)

    def info(self) -> dict:
        """Preset, device, and per component: class, parameter count, source, trained or not."""
        counted = {name: (type(m).__name__, list(m.parameters())) for name, m in self.components().items()}
        if self.unclip is not None:  # a diffusers pipeline: its modules together
            modules = [m for m in self.unclip.components.values() if isinstance(m, torch.nn.Module)]
            counted[UNCLIP_DIR] = (type(self.unclip).__name__, [p for m in modules for p in m.parameters()])
        parts = {}
        for name, (class_name, params) in counted.items():
            prov = self.provenance.get(name, Provenance("unknown", False))
            parts[name] = {"class": class_name, "parameters": sum(p.numel() for p in params),
                           "source": prov.source, "trained": prov.trained, "note": prov.note}  # fmt: skip
        try:
            description = load_preset(self.preset).description
        except WeightsError:  # a set saved under a preset name that is not installed here
            description = ""
        text = "available" if self.text_tower is not None else (self.text_unavailable or "no text tower")
        return {"preset": self.preset, "description": description, "device": str(self.device),
                "embed_dim": self.image_tower.embed_dim, "components": parts, "text": text,
                "sound": self.sound_refusal() or "available"}  # fmt: skip

    # ------------------------------------------------------------------ sounds and images
    @torch.no_grad()
    def embed_audio(
        self, audio: AudioSource | Sequence[AudioSource], volumes_db: float | Sequence[float] = 0.0
    ) -> AudioEmbeddings:
        """Embed clip(s) at volume(s); clips of equal length share a batch, so results never depend on padding."""
        self.check_sound()
        clips, volumes = pair_clips(audio, volumes_db, self.max_audio_seconds)
        scaled, reports = zip(*(apply_gain(c.waveform, v, self.clip_policy) for c, v in zip(clips, volumes)))
        out = torch.empty(len(clips), self.audio_tower.embed_dim)
        by_length: dict[int, list[int]] = {}
        for i, wave in enumerate(scaled):
            by_length.setdefault(len(wave), []).append(i)
        for indices in by_length.values():
            batch = torch.from_numpy(np.stack([scaled[i] for i in indices])).to(self.device)
            out[indices] = self.audio_tower(batch).float().cpu()
        return AudioEmbeddings(out, clips, list(reports))

    @torch.no_grad()
    def embed_images(
        self, images: Sequence[ImageSource], batch_size: int = 16, progress: Callable[[int, int], None] | None = None
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
            for key, emb in zip(chunk, self.image_tower.encode_pixels(pixels)):
                found[key] = self.image_cache.put(key, emb)
            if progress is not None:
                progress(min(start + batch_size, len(missing)), len(missing))
        return torch.stack([found[k] for k in keys])

    def _embedded(self, audio: Any, volumes_db: float | Sequence[float] = 0.0) -> AudioEmbeddings:
        """The sound(s) as AudioEmbeddings: given ones as they are, else embed_audio at the volume(s)."""
        return audio if isinstance(audio, AudioEmbeddings) else self.embed_audio(audio, volumes_db)

    def _image_embeddings(self, images: Sequence[ImageSource] | torch.Tensor) -> torch.Tensor:
        """The images as (N, D) embeddings: a given tensor as it is, else embed_images."""
        return images if isinstance(images, torch.Tensor) else self.embed_images(images)

    def rank(
        self,
        audio: AudioSource | Sequence[AudioSource] | AudioEmbeddings,
        images: Sequence[ImageSource] | torch.Tensor,
        volumes_db: float | Sequence[float] = 0.0,
    ) -> RankResult:
        """Score images against the sound(s); either side may be given as precomputed embeddings."""
        self.check_sound()
        image_embeds = self._image_embeddings(images)
        return rank_embeddings(self._embedded(audio, volumes_db).embeddings, image_embeds)

    # ------------------------------------------------------------------ text (needs a text tower)
    @torch.no_grad()
    def embed_text(self, texts: str | Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Embed text(s) with the set's text tower, (N, D) on the CPU."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if self.text_tower is None:
            note = f". Note: {self.text_unavailable}" if self.text_unavailable else ""
            raise WeightsError(
                f"the model set {self.preset!r} has no text tower; text prompts need BriVL's text encoder "
                f"(presets 'brivl', 'clip' and 'toyworld' have one, or pass --text-weights){note}"
            )
        if not texts:
            raise InputError("no text was given")
        chunks = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
        return torch.cat([self.text_tower.encode_text(chunk).float().cpu() for chunk in chunks])

    def rank_text(self, texts: str | Sequence[str], images: Sequence[ImageSource] | torch.Tensor) -> RankResult:
        """Score images against text(s): the same ranking as for sounds, from the text tower."""
        image_embeds = self._image_embeddings(images)
        return rank_embeddings(self.embed_text(texts), image_embeds)

    def zero_shot(self, audio: Any, class_names: Sequence[str], templates: Sequence[str] = ("{}",)) -> ZeroShotResult:
        """Classify sounds by their similarity to class-name prompts (no training): text tower vs audio tower."""
        if not isinstance(audio, torch.Tensor):
            self.check_sound()
        prompts = class_prompts(class_names, templates)
        text = self.embed_text([p for group in prompts for p in group]).view(len(prompts), len(templates), -1)
        classes = torch.nn.functional.normalize(text.mean(1), dim=-1)
        embeds = audio if isinstance(audio, torch.Tensor) else self._embedded(audio).embeddings
        return ZeroShotResult(list(class_names), embeds.float().cpu() @ classes.T)

    # ------------------------------------------------------------------ generation
    @property
    def generators(self) -> dict[str, GenerationMethod]:
        """The generation methods this set offers, by name, its default first."""
        return available_methods(self.image_tower, self.vqgan, self.decoder, self.unclip,
                                 self.generation_defaults.get("method"))  # fmt: skip

    def methods(self) -> list[str]:
        """The generation methods this set offers, its default first."""
        return list(self.generators)

    def generation_config(self, **overrides: Any) -> GenerationConfig:
        """GenerationConfig from this model set's defaults, with any non-None overrides applied."""
        fields = {f.name for f in dataclasses.fields(GenerationConfig)}
        values = {k: v for k, v in self.generation_defaults.items() if k in fields}
        offered = self.methods()
        if offered and values.get("method", "vqgan") not in offered:  # e.g. the set's VQGAN was replaced
            values["method"] = offered[0]
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("cut_batch", 1 if self.device.type == "cpu" else 8)  # CPU: least memory, same speed
        return GenerationConfig(**values)

    def check_inputs(self, config: GenerationConfig | None = None, has_audio: bool = True,
                     prompts: str | Prompt | Sequence[str | Prompt] | None = None,
                     audio_weight: float = 1.0) -> GenerationConfig:  # fmt: skip
        """Check a generation request's settings before any model work; returns the config with its seed resolved,
        or raises InputError / WeightsError naming the setting and its range. `prepare` runs it once per request."""
        return self._checked(config, has_audio, parse_prompts(prompts), audio_weight)

    def _checked(self, config: GenerationConfig | None, has_audio: bool, texts: list[Prompt],
                 audio_weight: float) -> GenerationConfig:  # fmt: skip
        if has_audio:
            self.check_sound()
        if not has_audio and not texts:
            raise InputError("nothing to generate from: give a sound, text prompts, or both")
        downsample = self.vqgan.downsample if self.vqgan is not None else None
        levels = self.unclip.image_noising_scheduler.config.num_train_timesteps if self.unclip is not None else None
        weights = [p.weight for p in texts] + [audio_weight]
        return check_generation(config or self.generation_config(), self.methods(), weights, downsample, levels)

    def prepare(
        self,
        audio: AudioSource | Sequence[AudioSource] | None = None,
        volumes_db: float | Sequence[float] = 0.0,
        config: GenerationConfig | None = None,
        prompts: str | Prompt | Sequence[str | Prompt] | None = None,
        audio_weight: float = 1.0,
        init_image: ImageSource | None = None,
        given: Collection[str] = (),
    ) -> GenerationRequest:
        """Check a generation request once, cheapest first, and make it ready to run: the settings (seed resolved),
        the prompts parsed, the init picture read, the sound(s) decoded and embedded at their volumes.

        given names the settings the caller chose itself (a front end's flags): any the chosen method does not use
        is said in the request's notes, not silently dropped.
        """
        texts = parse_prompts(prompts)
        config = self._checked(config, audio is not None, texts, audio_weight)
        notes = [f"{name} is not used by method {config.method!r}; ignored" for name in unused_settings(
            config.method, set(given))] + student_notes(self.decoder, config, {*given})  # fmt: skip
        init = load_images([init_image])[0] if init_image is not None else None
        sound = self.embed_audio(audio, volumes_db) if audio is not None else None
        targets, weights = self._targets(sound, texts, audio_weight)
        if init is not None and self.generators[config.method].one_pass:  # the picture is one more target
            picture = self._image_embeddings([init]).to(self.device)
            targets = torch.cat([targets, picture[None].expand(len(targets), -1, -1)], dim=1)
            weights = torch.cat([weights, torch.ones(1)])
        heard = [*self.novelty.notes(sound), *sound.notes] if sound is not None and self.novelty else []
        notes = [*(heard or (sound.notes if sound is not None else [])), *notes]
        return GenerationRequest(config, targets, weights, init, sound, tuple(notes))

    def generate(
        self,
        audio: GenerationRequest | AudioSource | Sequence[AudioSource] | None,
        volumes_db: float | Sequence[float] = 0.0,
        config: GenerationConfig | None = None,
        init_image: ImageSource | None = None,
        should_stop: Callable[[], bool] | None = None,
        prompts: str | Prompt | Sequence[str | Prompt] | None = None,
        audio_weight: float = 1.0,
    ) -> Iterator[GenerationStep]:
        """Yield per-step images; several volumes (or clips) generate together as one batch, one seed.

        audio is a GenerationRequest from `prepare` (run as it is, checked already: the other arguments but
        should_stop are then unused), or the sound(s) to prepare here with the other arguments; None when text
        prompts alone guide the image. prompts ('a red circle:1 | blue:-0.5', or Prompt objects) add weighted text
        targets to every image: positive to match, negative to avoid.
        """
        request = audio if isinstance(audio, GenerationRequest) else self.prepare(
            audio, volumes_db, config, prompts, audio_weight, init_image)  # fmt: skip
        method = self.generators[request.config.method]
        return method.run(request.targets, request.weights, request.config, request.init, should_stop)

    def _targets(
        self, sound: AudioEmbeddings | None, texts: list[Prompt], audio_weight: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P, D) targets and (P,) weights: each sound (if any) first, then the shared text prompts."""
        rows, weights = [], []
        if sound is not None:
            rows.append(sound.embeddings[:, None])
            weights.append(float(audio_weight))
        if texts:
            text = self.embed_text([p.text for p in texts])
            rows.append(text[None].expand(rows[0].shape[0] if rows else 1, -1, -1))
            weights += [p.weight for p in texts]
        return torch.cat(rows, dim=1).to(self.device), torch.tensor(weights)

    def generate_final(self, *args: Any, **kwargs: Any) -> GenerationStep:
        """Run generate to the end and return only the final step."""
        *_, last = self.generate(*args, **kwargs)
        return last
