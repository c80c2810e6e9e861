"""What the commands share: loading the pipeline, reading volumes, printing notes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

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
    group.add_argument(
        "--allow-untrained",
        action="store_true",
        help="let an untrained audio tower take sounds (its results mean nothing; for plumbing checks)",
    )


def choice_from_args(args: argparse.Namespace) -> ModelChoice:
    """The ModelChoice for parsed add_model_args flags (then variables, then wavbrivl.json)."""
    flags = {key: getattr(args, flag[2:].replace("-", "_"), None) for key, flag in FLAGS.items()}
    return model_choice(flags, getattr(args, "config", None))


@contextmanager
def library_output_to_stderr() -> Iterator[None]:
    """Send whatever the libraries print to standard output (tokenizers' warnings from Rust, taming's shapes) to
    standard error instead, at the file-descriptor level, so a command's own output (--json) stays clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def load(args: argparse.Namespace, load_generators: bool = True, sound: bool = False):
    """The pipeline the model flags, environment variables and wavbrivl.json name, with untrained parts flagged.

    load_generators=False loads no VQGAN, decoder or unCLIP. sound=True (the command is driven by a sound) refuses
    an untrained audio tower as soon as it is loaded, unless --allow-untrained.
    """
    from wavbrivl.loading.model_set import check_generator, load_model_set
    from wavbrivl.pipeline import WavBriVLPipeline

    choice = choice_from_args(args)
    allow = getattr(args, "allow_untrained", False)
    if load_generators and getattr(args, "needs_generator", False):
        check_generator(choice)  # before anything loads or downloads
    with library_output_to_stderr():
        model_set = load_model_set(choice, load_generators, refuse_untrained_audio=sound and not allow)
        pipe = WavBriVLPipeline.from_model_set(model_set, choice.device, allow_untrained=allow or None)
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


def heard(pipe, embedded) -> list[str]:
    """What to say about embedded sounds: any the set does not know (pipe.novelty) first, then how each was read."""
    return [*(pipe.novelty.notes(embedded) if pipe.novelty is not None else []), *embedded.notes]


def print_notes(notes: list[str]) -> None:
    """Print the pipeline's notes on stderr."""
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
