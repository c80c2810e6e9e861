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


def volumes_from(args: argparse.Namespace) -> list[float]:
    values = getattr(args, "volumes", None) or [getattr(args, "volume", "0")]
    return [parse_volume(v) for v in values]


def print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
