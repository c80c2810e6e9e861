"""Loading and saving a pipeline: presets, save_pretrained folders, Hub repos."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from wavbrivl.checkpoints import load_component, save_component
from wavbrivl.errors import WeightsError
from wavbrivl.factory import (
    OFFLINE_PRESET,
    TOYWORLD_DIR,
    Provenance,
    load_audio_tower,
    load_image_tower,
    load_text_tower,
    load_vqgan,
    preset_components,
    random_decoder,
)
from wavbrivl.generation.unclip import load_unclip
from wavbrivl.hub import resolve
from wavbrivl.pipeline.common import (
    COMPONENT_DIRS,
    DECODER_DIR,
    FORMAT,
    INDEX_NAME,
    TEXT_DIR,
    UNCLIP_DIR,
    PipelineState,
)
from wavbrivl.presets import ENV_VARS, load_preset
from wavbrivl.training.record import RECORD_KEY as TRAINING_KEY

if TYPE_CHECKING:  # for the annotations only: core imports this module
    from wavbrivl.pipeline.core import WavBriVLPipeline


class LoadingMixin(PipelineState):
    """from_preset, from_pretrained, load, save_pretrained and push_to_hub for WavBriVLPipeline."""

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
        unclip: str | None = None,
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
            pipe = cls.from_pretrained(
                folder, audio, image, vqgan, device=device, text=text, need_vqgan=need_vqgan, unclip=unclip
            )
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
        decoder = None
        if preset.random and v is not None:
            decoder = random_decoder(v, i.embed_dim, size=preset.random)
            provenance[DECODER_DIR] = Provenance(provenance["vqgan"].source, False, provenance["vqgan"].note)
        pipeline = None
        unclip_spec = preset.spec("unclip", unclip)
        if unclip_spec:
            pipeline = load_unclip(unclip_spec)
            provenance[UNCLIP_DIR] = Provenance(str(unclip_spec), True, "Stable unCLIP (diffusers)")
        pipe = cls(a, i, v, provenance, preset=name, device=device, text_tower=t, decoder=decoder, unclip=pipeline)
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
        unclip: str | None = None,
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
        decoder = None
        if parts["vqgan"] is not None and vqgan is None and (root / DECODER_DIR).is_dir():
            decoder = load_component(root / DECODER_DIR)  # trained on this set's own VQGAN, so only beside it
            saved.setdefault(DECODER_DIR, Provenance(str(root / DECODER_DIR), True))
        pipeline = None
        unclip_spec = (
            unclip
            or os.environ.get(ENV_VARS["unclip"])
            or ((root / UNCLIP_DIR) if (root / UNCLIP_DIR).is_dir() else None)
        )
        if unclip_spec:
            pipeline = load_unclip(unclip_spec)
            saved.setdefault(UNCLIP_DIR, Provenance(str(unclip_spec), True, "Stable unCLIP (diffusers)"))
        pipe = cls(
            parts["audio_tower"],  # type: ignore[arg-type]
            parts["image_tower"],  # type: ignore[arg-type]
            parts["vqgan"],  # type: ignore[arg-type]
            saved,
            preset=index.get("preset", str(path_or_id)),
            device=device,
            text_tower=text_tower,  # type: ignore[arg-type]
            decoder=decoder,  # type: ignore[arg-type]
            unclip=pipeline,
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
        if self.unclip is not None:
            self.unclip.save_pretrained(folder / UNCLIP_DIR)
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
        from wavbrivl.hub import check_repo_id, upload_model_folder
        from wavbrivl.publish import prepare_push_folder

        check_repo_id(repo_id)
        card = {"license": license, "data_description": data_description}
        upload = {"private": private, "token": token, "commit_message": commit_message}
        if folder is not None:
            return upload_model_folder(prepare_push_folder(self, folder, repo_id, **card), repo_id, **upload)
        with tempfile.TemporaryDirectory(prefix="wavbrivl-push-") as tmp:
            prepared = prepare_push_folder(self, Path(tmp) / "model", repo_id, **card)
            return upload_model_folder(prepared, repo_id, **upload)
