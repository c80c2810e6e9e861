"""The `wavbrivl` command line: a thin view over WavBriVLPipeline.

Each command lives with its parser in a module by theme: use (info, download, embed, rank, generate, classify),
make (blend, segments), train (convert-brivl, prepare, embed-frames, train, train-decoder, push), evaluate,
toyworld; common holds what they share.
"""

from __future__ import annotations

import argparse
import sys

from wavbrivl.cli.evaluate import add_evaluate_parser
from wavbrivl.cli.make import add_blend_parser, add_segments_parser
from wavbrivl.cli.toyworld import add_toyworld_parser
from wavbrivl.cli.train import (
    add_convert_brivl_parser,
    add_embed_frames_parser,
    add_prepare_parser,
    add_push_parser,
    add_train_decoder_parser,
    add_train_parser,
)
from wavbrivl.cli.use import (
    add_classify_parser,
    add_download_parser,
    add_embed_parser,
    add_generate_parser,
    add_info_parser,
    add_rank_parser,
)
from wavbrivl.errors import WavBriVLError
from wavbrivl.volume import VOLUME_SYNTAX

# In the order `wavbrivl --help` lists them.
COMMAND_PARSERS = (
    add_info_parser,
    add_download_parser,
    add_embed_parser,
    add_rank_parser,
    add_generate_parser,
    add_classify_parser,
    add_blend_parser,
    add_segments_parser,
    add_convert_brivl_parser,
    add_prepare_parser,
    add_embed_frames_parser,
    add_train_parser,
    add_train_decoder_parser,
    add_push_parser,
    add_evaluate_parser,
    add_toyworld_parser,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="wavbrivl", description="Sound to image with a frozen vision-language space")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser in COMMAND_PARSERS:
        add_parser(sub)
    return parser


def _protect_negative_volumes(argv: list[str]) -> list[str]:
    """Keep values like '-6dB' or '-.5x' from being read as options (argparse only knows plain numbers)."""
    return [" " + a if a.startswith("-") and a[1:2] != "-" and VOLUME_SYNTAX.fullmatch(a) else a for a in argv]


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand, turning user errors into one clear line and exit code 2."""
    args = build_parser().parse_args(_protect_negative_volumes(sys.argv[1:] if argv is None else argv))
    try:
        return args.func(args)
    except WavBriVLError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
