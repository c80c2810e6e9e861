"""What the commands share: loading the pipeline, reading volumes, printing notes."""

from __future__ import annotations

import argparse
import sys

from wavbrivl.loading.components import FLAGS, SETTINGS
from wavbrivl.loading.sources import (
    SETTINGS_ENV,
    SETTINGS_FILE,
    ModelChoice,
    model_choice,
    preset_names,
)
from wavbrivl.volume import parse_volume


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The model flags every front end takes (each beats its environment variable and wavbrivl.json)."""
    group = parser.add_argument_group("models (a flag > its environment variable > wavbrivl.json > the preset)")
    group.add_argument(
        "--config", default=None, help=f"settings file (default ${SETTINGS_ENV}, else ./{SETTINGS_FILE})"
    )
    for setting in SETTINGS:
        choices = preset_names() if setting.key == "preset" else None
        group.add_argument(setting.flag, default=None, choices=choices, help=f"{setting.help} (${setting.env})")


def choice_from_args(args: argparse.Namespace) -> ModelChoice:
    """The ModelChoice for parsed add_model_args flags (then variables, then wavbrivl.json)."""
    flags = {key: getattr(args, flag[2:].replace("-", "_"), None) for key, flag in FLAGS.items()}
    return model_choice(flags, getattr(args, "config", None))


def load(args: argparse.Namespace, need_vqgan: bool = True):
    """The pipeline the model flags, environment variables and wavbrivl.json name, with untrained parts flagged."""
    from wavbrivl.pipeline import WavBriVLPipeline

    pipe = WavBriVLPipeline.from_choice(choice_from_args(args), need_vqgan=need_vqgan)
    for name in pipe.untrained:
        note = pipe.provenance[name].note
        print(f"WARNING: {name} is UNTRAINED ({note}); its outputs are not meaningful.", file=sys.stderr)
    return pipe


def add_volume_arg(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The --volume flag every sound command takes (parsed later by volume.parse_volume)."""
    parser.add_argument("--volume", default="0", help="gain: dB ('-6', '+6dB') or a factor ('0.5x')")


def volumes_from(args: argparse.Namespace) -> list[float]:
    """The gains in dB that --volume or --volumes name."""
    values = getattr(args, "volumes", None) or [getattr(args, "volume", "0")]
    return [parse_volume(v) for v in values]


def print_notes(notes: list[str]) -> None:
    """Print the pipeline's notes on stderr."""
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
