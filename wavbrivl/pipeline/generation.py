"""Generating images from sounds and text prompts with the VQGAN."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence

import torch

from wavbrivl.data.audio import AudioSource
from wavbrivl.data.image import ImageSource, load_images
from wavbrivl.errors import InputError
from wavbrivl.generation import GenerationConfig, GenerationStep, generate_images
from wavbrivl.generation.checks import check_generation
from wavbrivl.generation.prompts import Prompt, parse_prompts
from wavbrivl.generation.sample import sample_images
from wavbrivl.generation.unclip import unclip_images
from wavbrivl.pipeline.common import AudioEmbeddings, PipelineState


class GenerationMixin(PipelineState):
    """generation_config, generate and generate_final for WavBriVLPipeline."""

    def generation_config(self, **overrides) -> GenerationConfig:
        """GenerationConfig from this model set's defaults, with any non-None overrides applied."""
        fields = {f.name for f in dataclasses.fields(GenerationConfig)}
        values = {k: v for k, v in self.generation_defaults.items() if k in fields}
        offered = self.methods()
        if offered and values.get("method", "vqgan") not in offered:  # e.g. the set's VQGAN was replaced
            values["method"] = offered[0]
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
        config = self.check_inputs(config, audio is not None, prompts, audio_weight)
        texts = parse_prompts(prompts)
        targets, weights = self._targets(audio, volumes_db, texts, audio_weight)
        init = load_images([init_image])[0] if init_image is not None else None
        if config.method != "vqgan" and init is not None:  # one-pass methods take its embedding as one more target
            picture = self._image_embeddings([init]).to(self.device)
            targets = torch.cat([targets, picture[None].expand(len(targets), -1, -1)], dim=1)
            weights = torch.cat([weights, torch.ones(1)])
        if config.method == "decoder":
            return sample_images(self.vqgan, self.decoder, self.image_tower, targets, config, should_stop, weights)
        if config.method == "unclip":
            return unclip_images(self.unclip, self.image_tower, targets, config, should_stop, weights)
        return generate_images(self.vqgan, self.image_tower, targets, config, init, should_stop, weights)

    def check_inputs(
        self,
        config: GenerationConfig | None = None,
        has_audio: bool = True,
        prompts: str | Prompt | Sequence[str | Prompt] | None = None,
        audio_weight: float = 1.0,
    ) -> GenerationConfig:
        """Check a generation request before any model work (the app and the CLI call it first); returns the
        config with its seed resolved, or raises InputError / WeightsError naming the setting and its range."""
        texts = parse_prompts(prompts)
        if not has_audio and not texts:
            raise InputError("nothing to generate from: give a sound, text prompts, or both")
        downsample = self.vqgan.downsample if self.vqgan is not None else None
        levels = self.unclip.image_noising_scheduler.config.num_train_timesteps if self.unclip is not None else None
        weights = [p.weight for p in texts] + [audio_weight]
        config = config or self.generation_config()
        return check_generation(config, self.methods(), weights, downsample, levels)

    def methods(self) -> list[str]:
        """The generation methods this set offers, its default first."""
        offered = [m for m, part in (("decoder", self.decoder), ("vqgan", self.vqgan), ("unclip", self.unclip)) if part]
        default = self.generation_defaults.get("method")
        return sorted(offered, key=lambda m: m != default)

    def _targets(
        self, audio, volumes_db, texts: list[Prompt], audio_weight: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P, D) targets and (P,) weights: each sound (if any) first, then the shared text prompts."""
        rows, weights = [], []
        if audio is not None:
            rows.append(self._embedded(audio, volumes_db).embeddings[:, None])
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
