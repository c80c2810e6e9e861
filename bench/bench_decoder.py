"""Both generation methods on the shipped offline default, judged by the pixel judge and the CNN judge (neither
guided anything): class, one object, silhouette IoU, the volume study, seed diversity, text prompts, and speed
from the sound to the final picture on this machine. One run, every figure from the same machine.

    python -m bench.bench_decoder [--dir wavbrivl/assets/toyworld] [--study-seeds 0 1 2] [--out figures.json]
        [--methods decoder] [--sample-steps 1 2 10]
"""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import replace

import numpy as np
import torch

from bench.common import machine, timed
from wavbrivl import WavBriVLPipeline
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.toyworld.classifier import classify
from wavbrivl.toyworld.evaluate import STUDY_VOLUMES_DB, class_sounds, judge_generations
from wavbrivl.toyworld.judge import class_colour_index, judge
from wavbrivl.toyworld.world import CLASSES


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def diversity(pipe: WavBriVLPipeline, config) -> dict[str, float]:
    """Seeds 0-2 on each class's sound: the object's centre moves between seeds; one seed gives the same PNG."""
    clips = class_sounds(777)
    centres = []
    for seed in (0, 1, 2):
        final = pipe.generate_final(clips, 0.0, replace(config, seed=seed))
        rows = []
        for picture in final.pixels:
            mask = np.abs(picture.permute(1, 2, 0).numpy() - np.array([24, 24, 28]) / 255).max(-1) > 60 / 255
            ys, xs = np.nonzero(mask)
            rows.append((xs.mean(), ys.mean()) if len(xs) else (np.nan, np.nan))
        centres.append(rows)
    centres = np.array(centres)  # (seeds, classes, 2)
    spread = np.nanmean(np.linalg.norm(centres - centres.mean(0, keepdims=True), axis=-1))
    again = [_png(im) for im in pipe.generate_final(clips, 0.0, replace(config, seed=0)).images]
    first = [_png(im) for im in pipe.generate_final(clips, 0.0, replace(config, seed=0)).images]
    return {"centre_spread_px": float(spread), "same_seed_identical_png": float(again == first)}


def text_prompts(pipe: WavBriVLPipeline, config) -> dict[str, float]:
    """'a small X' / 'a large X' for every class through this method, seeds 0-2: class right, large > small."""
    right, bigger = [], []
    for seed in (0, 1, 2):
        areas = {}
        for word in ("small", "large"):
            pics = [
                pipe.generate_final(None, prompts=f"a {word} {c.name}", config=replace(config, seed=seed)).pixels[0]
                for c in CLASSES
            ]
            for label, picture in enumerate(pics):
                v = judge(picture)
                right.append(v.colour == class_colour_index(label) and v.shape == CLASSES[label].shape)
            right += (classify(torch.stack(pics)) == torch.arange(len(CLASSES))).tolist()
            areas[word] = [judge(p).object_area for p in pics]
        bigger += [a > b for a, b in zip(areas["large"], areas["small"])]
    return {"text_class_rate": float(np.mean(right)), "text_large_bigger_rate": float(np.mean(bigger))}


def speed(pipe: WavBriVLPipeline, config) -> dict[str, float]:
    """Seconds from the sound to the final picture (embedding included), best of 3; and a five-volume study."""
    clip = class_sounds(777)[0]
    one = timed(lambda: pipe.generate_final(clip, 0.0, config), repeat=3)
    five = timed(lambda: pipe.generate_final(clip, list(STUDY_VOLUMES_DB), config), repeat=2)
    return {"seconds_one_picture": one, "seconds_five_volume_study": five}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=str(TOYWORLD_DIR))
    parser.add_argument("--study-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=None, help="also write the figures here as JSON")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every method of the set")
    parser.add_argument("--sample-steps", type=int, nargs="+", default=None,
                        help="the decoder at each of these sampling steps (default: the set's)")  # fmt: skip
    args = parser.parse_args()
    pipe = WavBriVLPipeline.from_pretrained(args.dir, device="cpu")
    figures = {"machine": machine()}
    runs = [
        (m, s)
        for m in args.methods or pipe.methods()
        for s in (args.sample_steps or [None] if m == "decoder" else [None])
    ]
    for method, sample_steps in runs:
        config = pipe.generation_config(method=method, sample_steps=sample_steps)
        row = judge_generations(pipe, config=config, study_seeds=tuple(args.study_seeds))
        row.update(diversity(pipe, config))
        if pipe.text_tower is not None:
            row.update(text_prompts(pipe, config))
        row.update(speed(pipe, config))
        name = method if sample_steps is None else f"{method}@{sample_steps}"
        figures[name] = row
        print(name, json.dumps(row, indent=1), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)
    print(figures["machine"])


if __name__ == "__main__":
    main()
