"""The optimisation's total-variation weight on the shipped offline default: for each weight, every class's sound
x seeds 0-2 (and, with --study, each class's five-volume study at seed 0), graded by the pixel judge, the CNN judge
and the dark-ring check, none of which guided the optimisation. One line per weight, all from one run.

    python -m bench.bench_tv_weight [--world 99] [--weights 0 1 2 3] [--study] [--out tv.json] [--sheets DIR]
        [--set start_similarity=0.4 start_steps_max=24]

World 99 is a development world (the weight is chosen there); 777 and 778 are the worlds the tests judge. --set
changes other settings of the set's optimisation for every row (numbers as numbers, the rest as text).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from bench.common import Keeping, machine
from wavbrivl import WavBriVLPipeline
from wavbrivl.film import compose_frame
from wavbrivl.generation import GenerationStep
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.toyworld.evaluate import judge_class_pictures, judge_volume_study

SHOWN = ("judge_colour_rate", "judge_one_object_rate", "judge_all_three_rate", "judge_shape_iou_mean",
         "cnn_class_rate", "ring_score_max", "ring_rate", "volume_area_spearman_min_class",
         "volume_study_class_rate_min_volume", "volume_study_cnn_class_rate_min_volume",
         "volume_study_class_rate_+12dB", "volume_study_ring_score_max", "volume_study_ring_rate")  # fmt: skip


def setting(text: str) -> tuple[str, object]:
    """KEY=VALUE as a (key, value) pair, the value a number where it reads as one."""
    key, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def sheet(pictures: list, columns: int, height: int = 192) -> Image.Image:
    """The pictures (3, H, W tensors) in rows of columns, each a film frame (scaled up without blur), stacked."""
    images = GenerationStep(0, 0, torch.stack(pictures), [], []).images
    rows = [compose_frame(images[i : i + columns], min_height=height) for i in range(0, len(images), columns)]
    grid = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    for index, row in enumerate(rows):
        grid.paste(row, (0, index * rows[0].height))
    return grid


def main() -> None:
    """Print one judged line per total-variation weight."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(TOYWORLD_DIR))
    parser.add_argument("--world", type=int, default=99)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0])
    parser.add_argument("--study", action="store_true", help="also the volume study (five pictures per class)")
    parser.add_argument("--out", help="write every figure as JSON here")
    parser.add_argument("--sheets", help="save each weight's pictures here as PNG contact sheets")
    parser.add_argument("--set", nargs="*", type=setting, default=[], help="other settings, KEY=VALUE")
    args = parser.parse_args()
    print(machine())
    pipe = Keeping(WavBriVLPipeline.from_pretrained(args.dir, device="cpu"))
    rows = []
    for weight in args.weights:
        config = replace(pipe.generation_config(method="vqgan"), tv_weight=weight, **dict(args.set))
        start, pipe.pictures = time.perf_counter(), []
        metrics = judge_class_pictures(pipe, args.world, config=config)
        if args.study:
            metrics.update(judge_volume_study(pipe, args.world, config=config))
        seconds = round(time.perf_counter() - start, 1)
        row = {"tv_weight": weight, **dict(args.set), "world": args.world, "seconds": seconds, **metrics}
        rows.append(row)
        if args.sheets:
            Path(args.sheets).mkdir(parents=True, exist_ok=True)
            name = Path(args.sheets) / f"world{args.world}-tv{weight:g}"
            sheet(pipe.pictures[:24], 8).save(f"{name}-classes.png")  # a row per seed, classes in order
            if args.study:  # a row per class, volumes from quiet to loud
                sheet(pipe.pictures[24:], 5).save(f"{name}-study.png")
        print(f"tv {weight:g} ({row['seconds']} s): " + ", ".join(
            f"{k} {metrics[k]:.3f}" for k in SHOWN if k in metrics), flush=True)  # fmt: skip
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
