"""What the commands share: loading the pipeline, reading volumes, printing notes."""

from __future__ import annotations

import argparse
import sys

from wavbrivl.loading.sources import (
    FLAGS,
    OFFLINE_PRESET,
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
