"""The model settings, declared once: each component a set is made of, and how a user names its weights.

`ModelChoice`, the environment variables, the CLI flags (`cli.common.add_model_args`), the preset keys and the
saved folders' names are all read from `SETTINGS`; adding a component is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One model setting: its key (ModelChoice field, preset key, wavbrivl.json key), flag, variable and help."""

    key: str
    help: str
    folder: str | None = None  # the component's folder in a saved set, when it is a component
    weights: bool = True  # a weight spec: Python arguments of from_preset/from_pretrained take it

    @property
    def flag(self) -> str:
        """The CLI flag: --audio-weights for weights, --preset for the others (underscores become dashes)."""
        name = self.key.replace("_", "-")
        return f"--{name}-weights" if self.weights and self.folder else f"--{name}"

    @property
    def env(self) -> str:
        """The environment variable: WAVBRIVL_AUDIO, WAVBRIVL_PRESET, ..."""
        return f"WAVBRIVL_{self.key.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("preset", "model set (default: toyworld, the offline default)", weights=False),
    Setting("pretrained", "a folder or Hub id written by save_pretrained", weights=False),
    Setting("audio", "audio tower folder, or WavLM folder / Hub id", folder="audio_tower"),
    Setting("image", "image tower folder, official BriVL .pth, or Hub id", folder="image_tower"),
    Setting("vqgan", "VQGAN folder, taming .ckpt, or Hub id (config.yaml + model.ckpt)", folder="vqgan"),
    Setting("vqgan_config", "taming model .yaml (file or Hub id) for --vqgan-weights"),
    Setting("text", "text tower folder, official BriVL .pth, or CLIP folder / Hub id", folder="text_tower"),
    Setting("tokenizer", "text tokenizer folder or Hub id"),
    Setting("unclip", "Stable unCLIP pipeline folder or Hub id (method unclip)", folder="unclip"),
    Setting("device", "cpu, cuda, cuda:1 ... (default: GPU if present)", weights=False),
)
BY_KEY = {s.key: s for s in SETTINGS}
KEYS = tuple(BY_KEY)
WEIGHT_KEYS = tuple(s.key for s in SETTINGS if s.weights)  # what a preset names and Python arguments replace
ENV_VARS = {s.key: s.env for s in SETTINGS}
FLAGS = {s.key: s.flag for s in SETTINGS}
FOLDERS = {s.key: s.folder for s in SETTINGS if s.folder}  # audio -> audio_tower, ...
DECODER_DIR = "decoder"  # a saved set's decoder: trained on its own VQGAN, so it has no setting of its own
