"""`wavbrivl toyworld build|evaluate|add-text|add-decoder|distill-decoder|sharpen-vqgan|train-judge`: the
synthetic world."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_toyworld_build(args: argparse.Namespace) -> int:
    """Train the offline default model set on the synthetic world and write it to OUT."""
    from wavbrivl.toyworld.build import ToyBuildConfig, build_toyworld

    config = ToyBuildConfig.quick(args.out, args.seed) if args.quick else ToyBuildConfig(args.out, args.seed)
    if args.no_evaluate:
        config.evaluate = False
    result = build_toyworld(config, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps({"timings_s": result["timings_s"], "metrics": result.get("metrics", {})}, indent=2))
    return 0


def cmd_toyworld_add_text(args: argparse.Namespace) -> int:
    """Train and add a text tower to a built toy-world set."""
    from wavbrivl.toyworld.build import add_text_tower

    result = add_text_tower(args.dir, args.steps, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps(result.get("metrics", {}), indent=2))
    return 0


def cmd_toyworld_add_decoder(args: argparse.Namespace) -> int:
    """Train and add a decoder generator to a built toy-world set."""
    from wavbrivl.toyworld.build import add_decoder

    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    result = add_decoder(args.dir, args.steps, args.examples, args.tail_share, log=log)
    print(json.dumps(result["decoder_training"], indent=2))
    return 0


def cmd_toyworld_distill_decoder(args: argparse.Namespace) -> int:
    """Distil a built toy-world set's decoder into a 1-2-step student (the decoder itself unchanged)."""
    from wavbrivl.toyworld.revise import add_student

    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    result = add_student(args.dir, args.steps, args.pairs, args.seed, args.tail_share, log=log)
    print(json.dumps(result["decoder_student"], indent=2))
    return 0


def cmd_toyworld_sharpen_vqgan(args: argparse.Namespace) -> int:
    """Train a built toy-world set's VQGAN decoder further, its codes unchanged."""
    from wavbrivl.toyworld.revise import sharpen_vqgan

    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    result = sharpen_vqgan(args.dir, args.steps, args.examples, args.norm, args.near_weight, log=log)
    print(json.dumps({"seconds": result["timings_s"]["vqgan_sharpen"]}, indent=2))
    return 0


def cmd_toyworld_train_judge(args: argparse.Namespace) -> int:
    """Train the CNN judge on its own world seed and write its weights."""
    from wavbrivl.toyworld.classifier import JUDGE_WEIGHTS, save_judge, train_judge

    path = save_judge(train_judge(log=lambda msg: print(msg, file=sys.stderr)), Path(args.out or JUDGE_WEIGHTS))
    print(path)
    return 0


def cmd_toyworld_evaluate(args: argparse.Namespace) -> int:
    """Re-measure a built toy set with its current generation defaults."""
    from wavbrivl.toyworld.build import reevaluate_toyworld

    result = reevaluate_toyworld(args.dir, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps(result["metrics"], indent=2))
    return 0


def add_toyworld_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl toyworld` and its subcommands."""
    p = sub.add_parser("toyworld", help="the synthetic audio-visual world")
    toy = p.add_subparsers(dest="toy_command", required=True)
    p = toy.add_parser("build", help="train the offline default model set with the project's own code")
    p.add_argument("--out", default="wavbrivl/assets/toyworld")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a shortened build (CI): checks that learning happens")
    p.add_argument("--no-evaluate", action="store_true")
    p.set_defaults(func=cmd_toyworld_build)
    p = toy.add_parser("evaluate", help="measure a built set again and rewrite its model card")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.set_defaults(func=cmd_toyworld_evaluate)
    p = toy.add_parser("add-text", help="train a text tower against a built set's image tower and add it")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.add_argument("--steps", type=int, default=300)
    p.set_defaults(func=cmd_toyworld_add_text)
    p = toy.add_parser("add-decoder", help="train a decoder generator for a built set and add it")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--examples", type=int, default=8000, help="world pictures to train on")
    p.add_argument("--tail-share", type=float, default=0.5, help="share from the quietest / loudest 6 dB")
    p.set_defaults(func=cmd_toyworld_add_decoder)
    p = toy.add_parser("distill-decoder", help="distil a built set's decoder into a 1-2-step student and add it")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--pairs", type=int, default=8192, help="pictures drawn by the full sampler to learn from")
    p.add_argument("--seed", type=int, default=0, help="the pairs' noise; a set with a student goes on from it")
    p.add_argument("--tail-share", type=float, default=None, help="pairs from the quietest / loudest 6 dB")
    p.set_defaults(func=cmd_toyworld_distill_decoder)
    p = toy.add_parser("sharpen-vqgan", help="train a built set's VQGAN decoder further (codes unchanged)")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--examples", type=int, default=4000, help="world pictures to train on")
    p.add_argument("--norm", choices=("fixed", "group"), default=None,
                   help="fixed: measure the decoder's norm statistics once first (no ring); default: keep")  # fmt: skip
    p.add_argument(
        "--near-weight", type=float, default=5.0, help="loss weight on the background 2-8 px from the object"
    )
    p.set_defaults(func=cmd_toyworld_sharpen_vqgan)
    p = toy.add_parser("train-judge", help="train the CNN judge of generated pictures (never a guide)")
    p.add_argument("--out", default=None, help="default: the shipped judge's path")
    p.set_defaults(func=cmd_toyworld_train_judge)
