"""Which model set a front end (the app, the CLI) loads: flags, then environment variables, then `wavbrivl.json`.

A Space (or any deployment) names its weights in one place: a `wavbrivl.json` beside `app.py`, or Space variables
(environment variables), which override the file. A flag given on the command line overrides both.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from wavbrivl.errors import InputError
from wavbrivl.factory import OFFLINE_PRESET
from wavbrivl.presets import ENV_VARS, preset_names

SETTINGS_FILE = "wavbrivl.json"
SETTINGS_ENV = "WAVBRIVL_CONFIG"  # another settings file than ./wavbrivl.json
# each setting, the environment variable (Space variable) that overrides the file, and the flag that overrides both
KEYS: dict[str, tuple[str, str]] = {
    "preset": ("WAVBRIVL_PRESET", "--preset"),
    "pretrained": ("WAVBRIVL_PRETRAINED", "--pretrained"),
    "audio": (ENV_VARS["audio"], "--audio-weights"),
    "image": (ENV_VARS["image"], "--image-weights"),
    "vqgan": (ENV_VARS["vqgan"], "--vqgan-weights"),
    "vqgan_config": (ENV_VARS["vqgan_config"], "--vqgan-config"),
    "text": (ENV_VARS["text"], "--text-weights"),
    "tokenizer": (ENV_VARS["tokenizer"], "--tokenizer"),
    "unclip": (ENV_VARS["unclip"], "--unclip-weights"),
    "device": ("WAVBRIVL_DEVICE", "--device"),
}
PATH_KEYS = ("pretrained", "audio", "image", "vqgan", "vqgan_config", "text", "tokenizer", "unclip")


@dataclass
class ModelChoice:
    """The resolved model settings, and where each came from ('--flag', '$VAR', 'wavbrivl.json' or 'default')."""

    preset: str = OFFLINE_PRESET
    pretrained: str | None = None
    audio: str | None = None
    image: str | None = None
    vqgan: str | None = None
    vqgan_config: str | None = None
    text: str | None = None
    tokenizer: str | None = None
    unclip: str | None = None
    device: str | None = None
    sources: dict[str, str] = field(default_factory=dict)


def settings_path(path: str | Path | None = None) -> Path | None:
    """The settings file in use: the one given, else $WAVBRIVL_CONFIG, else ./wavbrivl.json if it exists."""
    if path is not None:
        return Path(path)
    if os.environ.get(SETTINGS_ENV):
        return Path(os.environ[SETTINGS_ENV])
    here = Path.cwd() / SETTINGS_FILE
    return here if here.is_file() else None


def read_settings(path: str | Path | None = None) -> dict[str, str]:
    """The settings file's values (null ones left out), checked; relative paths are taken from the file's folder."""
    file = settings_path(path)
    if file is None:
        return {}
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise InputError(f"{file}: settings file not found (named by ${SETTINGS_ENV} or --config)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{file}: not a readable JSON settings file ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f'{file}: expected a JSON object of settings, e.g. {{"preset": "brivl"}}')
    unknown = sorted(set(data) - set(KEYS) - {"$comment"})
    if unknown:
        raise InputError(f"{file}: unknown settings {unknown}; accepted: {sorted(KEYS)}")
    values: dict[str, str] = {}
    for key, value in data.items():
        if key == "$comment" or value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{file}: setting {key!r} must be a non-empty string or null, got {value!r}")
        if key in PATH_KEYS and not Path(value).expanduser().is_absolute() and (file.parent / value).exists():
            value = str(file.parent / value)
        values[key] = value
    if "preset" in values and values["preset"] not in preset_names():
        raise InputError(f"{file}: unknown preset {values['preset']!r}; choose one of {preset_names()}")
    return values


def model_choice(flags: dict[str, str | None] | None = None, path: str | Path | None = None) -> ModelChoice:
    """Each setting from its flag, else its environment variable, else the settings file, else the default."""
    flags, file_values = flags or {}, read_settings(path)
    choice = ModelChoice()
    for key, (env, flag) in KEYS.items():
        for value, source in (
            (flags.get(key), flag),
            (os.environ.get(env) or None, f"${env}"),
            (file_values.get(key), str(settings_path(path))),
        ):
            if value is not None:
                setattr(choice, key, value)
                choice.sources[key] = source
                break
    if choice.preset not in preset_names():
        raise InputError(
            f"{choice.sources.get('preset')}: unknown preset {choice.preset!r}; choose one of {preset_names()}"
        )
    return choice


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The model flags every front end takes (each beats its environment variable and wavbrivl.json)."""
    group = parser.add_argument_group("models (a flag > its environment variable > wavbrivl.json > the preset)")
    group.add_argument(
        "--config", default=None, help=f"settings file (default ${SETTINGS_ENV}, else ./{SETTINGS_FILE})"
    )
    group.add_argument("--preset", default=None, choices=preset_names(), help=f"model set (default {OFFLINE_PRESET})")
    group.add_argument("--pretrained", default=None, help="a folder or Hub id written by save_pretrained")
    group.add_argument("--audio-weights", default=None, help="audio tower folder, or WavLM folder / Hub id")
    group.add_argument("--image-weights", default=None, help="image tower folder, official BriVL .pth, or Hub id")
    group.add_argument("--vqgan-weights", default=None, help="VQGAN folder or taming .ckpt")
    group.add_argument("--vqgan-config", default=None, help="taming model .yaml for --vqgan-weights")
    group.add_argument("--text-weights", default=None, help="text tower folder or official BriVL .pth")
    group.add_argument("--tokenizer", default=None, help="BriVL text tokenizer folder or Hub id")
    group.add_argument("--unclip-weights", default=None, help="Stable unCLIP pipeline folder or Hub id (method unclip)")
    group.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: GPU if present)")


def choice_from_args(args: argparse.Namespace) -> ModelChoice:
    """The ModelChoice for parsed add_model_args flags."""
    flags = {key: getattr(args, flag[2:].replace("-", "_"), None) for key, (_, flag) in KEYS.items()}
    return model_choice(flags, getattr(args, "config", None))


def load_pipeline(choice: ModelChoice, need_vqgan: bool = True):
    """The pipeline a ModelChoice names: a saved folder when given, else its preset with the weights it names."""
    from wavbrivl.pipeline import WavBriVLPipeline

    if choice.tokenizer:  # the text-tower loaders read the tokenizer from its variable
        os.environ[ENV_VARS["tokenizer"]] = choice.tokenizer
    kwargs = {"audio": choice.audio, "image": choice.image, "vqgan": choice.vqgan, "text": choice.text}
    kwargs["unclip"] = choice.unclip
    if choice.pretrained:
        return WavBriVLPipeline.from_pretrained(
            choice.pretrained, device=choice.device, need_vqgan=need_vqgan, **kwargs
        )
    return WavBriVLPipeline.from_preset(
        choice.preset, vqgan_config=choice.vqgan_config, device=choice.device, need_vqgan=need_vqgan, **kwargs
    )
