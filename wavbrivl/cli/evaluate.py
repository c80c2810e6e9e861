"""`wavbrivl evaluate`: the paper's benchmarks on a dataset's official layout."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wavbrivl.cli.common import add_model_args, load


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run one benchmark task on its official layout and merge the result into the report."""
    from tqdm import tqdm

    from wavbrivl.distributed import init_distributed, local_device
    from wavbrivl.evaluation import EvalConfig, run_task, update_report
    from wavbrivl.evaluation.probe import ProbeConfig
    from wavbrivl.evaluation.tasks import ZERO_SHOT_TEMPLATES

    rank, world = init_distributed()  # under torchrun: each rank embeds its share, rank 0 writes the report
    if world > 1 and args.device is None:
        args.device = str(local_device())
    pipe = load(args, load_generators=False, sound=True)
    config = EvalConfig(
        task=args.task,
        root=args.root,
        cache=args.cache or str(Path(args.out) / "cache"),
        csv=args.csv,
        split=args.split,
        seconds=args.seconds,
        zero_shot=not args.no_zero_shot,
        templates=tuple(args.template) if args.template else ZERO_SHOT_TEMPLATES,
        class_names=args.class_names,
        probe=ProbeConfig(seed=args.seed),
        limit=args.limit,
    )
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        """Rank 0's bar for the whole job: its own share times the ranks (the shares differ by one clip at most)."""
        if rank != 0:
            return
        bar = bars.get(stage) or bars.setdefault(
            stage, tqdm(total=total * world, desc=stage, unit="clip", file=sys.stderr)
        )
        bar.n = done * world
        bar.refresh()

    try:
        result = run_task(pipe, config, progress)
    finally:
        for bar in bars.values():
            bar.close()
    if rank != 0:
        return 0
    json_path, md_path = update_report(args.out, result, {"preset": pipe.preset, **_model_sources(pipe)})
    print(json.dumps(result["metrics"], indent=2))
    print(f"report: {md_path} and {json_path}", file=sys.stderr)
    if result["unreadable_count"]:
        print(f"note: {result['unreadable_count']} clip(s) could not be read; listed in {json_path}", file=sys.stderr)
    return 0


def _model_sources(pipe) -> dict[str, str]:
    return {name: info["source"] for name, info in pipe.info()["components"].items()}


def add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl evaluate`."""
    from wavbrivl.evaluation.tasks import TASKS

    p = sub.add_parser(
        "evaluate",
        help="the paper's benchmarks: MLP probe / zero-shot / retrieval / SED on a dataset's official layout",
    )
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--root", required=True, help="the dataset folder, as its official archive unpacks")
    p.add_argument("--out", default="eval-report", help="report.md / report.json go here (merged across tasks)")
    p.add_argument("--cache", default=None, help="embedding cache folder (default OUT/cache); reruns resume from it")
    p.add_argument("--csv", default=None, help="VGGSound: vggsound.csv if not in ROOT")
    p.add_argument("--split", default=None, help="DESED split (validation) or Clotho split (evaluation)")
    p.add_argument("--seconds", type=float, default=None, help="audio per clip (default: the dataset's clip length)")
    p.add_argument("--no-zero-shot", action="store_true", help="skip the text-tower zero-shot figures")
    p.add_argument("--template", action="append", default=None, help="zero-shot prompt with {} (repeatable)")
    p.add_argument(
        "--class-names", default=None, help="zero-shot wording per class: JSON {label: words} or one line per class"
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N clips (a smoke run)")
    p.add_argument("--seed", type=int, default=0, help="seed of the MLP probe")
    add_model_args(p)
    p.set_defaults(func=cmd_evaluate)
