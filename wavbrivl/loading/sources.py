"""Which weights to load, from one precedence: an argument > its environment variable > `wavbrivl.json` > the preset.

This module is the only reader of the environment variables that choose models. A Space (or any deployment)
names its weights in one place: a `wavbrivl.json` beside `app.py`, or Space variables, which override the file.
A flag or a Python argument overrides both.
"""

from __future__ import annotations

import json
import os
from dataclasses import field, make_dataclass
from pathlib import Path

from wavbrivl.errors import InputError
from wavbrivl.loading import presets
from wavbrivl.loading.components import ENV_VARS, FLAGS, KEYS, WEIGHT_KEYS

OFFLINE_PRESET = "toyworld"
TINY_PRESET = "tiny-random"
SETTINGS_FILE = "wavbrivl.json"
SETTINGS_ENV = "WAVBRIVL_CONFIG"  # another settings file than ./wavbrivl.json
PRESETS_ENV = "WAVBRIVL_PRESETS"  # more preset folders, joined by the path separator
TOYWORLD_ENV = "WAVBRIVL_TOYWORLD"  # another folder for the offline default
PATH_KEYS = ("pretrained", *WEIGHT_KEYS)  # settings-file values taken relative to the file's folder


def preset_dirs() -> list[Path]:
    """Where presets are looked up, first match wins: added folders, $WAVBRIVL_PRESETS, the package's own."""
    env = [Path(p) for p in os.environ.get(PRESETS_ENV, "").split(os.pathsep) if p]
    return presets.search_path(env)


def preset_names() -> list[str]:
    """Every preset name that can be loaded now."""
    return presets.names_in(preset_dirs())


def load_preset(name: str) -> presets.Preset:
    """The preset `name` from the first folder that has `<name>.json`, checked."""
    return presets.find_preset(name, preset_dirs())


def toyworld_dir() -> Path:
    """The offline default's folder: $WAVBRIVL_TOYWORLD, else the one inside the package."""
    return Path(os.environ.get(TOYWORLD_ENV) or presets.find_preset(OFFLINE_PRESET, [presets.PRESET_DIR]).pretrained)


TOYWORLD_DIR = toyworld_dir()


ModelChoice = make_dataclass(
    "ModelChoice",
    [(key, "str | None", field(default=OFFLINE_PRESET if key == "preset" else None)) for key in KEYS]
    + [("sources", "dict[str, str]", field(default_factory=dict))],
    namespace={
        "__doc__": "The resolved model settings (components.SETTINGS), and where each came from ('--flag', '$VAR', "
        "'wavbrivl.json', 'argument').",
        "__module__": __name__,
    },
)


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
    unknown = sorted(set(data) - set(ENV_VARS) - {"$comment"})
    if unknown:
        raise InputError(f"{file}: unknown settings {unknown}; accepted: {sorted(ENV_VARS)}")
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
    """For the front ends: each setting from its flag, else its environment variable, else the settings file."""
    flags, file_values = flags or {}, read_settings(path)
    choice = _resolve(flags, ENV_VARS, file_values, str(settings_path(path)), FLAGS)
    if choice.preset not in preset_names():
        raise InputError(
            f"{choice.sources.get('preset')}: unknown preset {choice.preset!r}; choose one of {preset_names()}"
        )
    return choice


def argument_choice(preset: str = OFFLINE_PRESET, **arguments: str | None) -> ModelChoice:
    """For Python calls: each weight from its argument, else its environment variable (no settings file)."""
    unknown = sorted(set(arguments) - {"pretrained", *WEIGHT_KEYS})
    if unknown:
        raise TypeError(f"unexpected arguments {unknown}; weights are named by {list(WEIGHT_KEYS)}")
    env = {key: ENV_VARS[key] for key in WEIGHT_KEYS}
    choice = _resolve(arguments, env, {}, "", {key: "argument" for key in arguments})
    choice.preset = preset
    return choice


def _resolve(
    given: dict[str, str | None], env: dict[str, str], file_values: dict[str, str], file: str, named: dict[str, str]
) -> ModelChoice:
    choice = ModelChoice()
    for key in ENV_VARS:
        candidates = (
            (given.get(key), named.get(key, key)),
            (os.environ.get(env[key]) or None if key in env else None, f"${env.get(key)}"),
            (file_values.get(key), file),
        )
        for value, source in candidates:
            if value is not None:
                setattr(choice, key, value)
                choice.sources[key] = source
                break
    return choice
