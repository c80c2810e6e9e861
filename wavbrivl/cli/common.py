"""What the commands share: loading the pipeline, reading volumes, printing notes."""

from __future__ import annotations

import argparse
import sys

from wavbrivl.settings import choice_from_args, load_pipeline
from wavbrivl.volume import parse_volume


def load(args: argparse.Namespace, need_vqgan: bool = True):
    """The pipeline the model flags, environment variables and wavbrivl.json name, with untrained parts flagged."""
    pipe = load_pipeline(choice_from_args(args), need_vqgan=need_vqgan)
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
