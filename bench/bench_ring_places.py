"""Where the dark-ring check's flags lie: for a model set and method, the judged pictures (every class's sound x
seeds 0-2, and each class's five-volume study at seed 0) whose ring_score is 3 or more, with the ring's place in
the picture and beside the object. A fixed-position artifact (the droplet) shows as flags gathered in one place;
drawing failures scatter. One summary line per set, all from one run.

    python -m bench.bench_ring_places [--dir SET ...] [--method vqgan] [--world 778] [--out places.json]

An older set for comparison can be taken from the history, e.g. `git archive REV wavbrivl/assets/toyworld | tar -x
-C /tmp/old` and `--dir /tmp/old/wavbrivl/assets/toyworld`.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bench.common import Keeping, machine
from wavbrivl import WavBriVLPipeline
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.toyworld import CLASSES
from wavbrivl.toyworld.evaluate import (
    GENERATION_SEEDS,
    STUDY_VOLUMES_DB,
    VOLUME_STUDY_SEEDS,
    judge_class_pictures,
    judge_volume_study,
)
from wavbrivl.toyworld.judge import foreground, to_array
from wavbrivl.toyworld.rings import RING_THRESHOLD, ring_place


def place(picture) -> dict:
    """The strongest ring's score and centre, whether it is in the picture's upper-right quarter, and whether it
    is in the upper-right quarter of the object's box (where the droplet sat)."""
    score, row, column = ring_place(picture)
    pixels = to_array(picture)
    side = pixels.shape[0]
    rows, columns = np.nonzero(foreground(pixels))
    top, bottom, left, right = (rows.min(), rows.max(), columns.min(), columns.max()) if len(rows) else (0, 0, 0, 0)
    return {
        "score": score,  # unrounded: the flag compares it with RING_THRESHOLD as the judge does
        "row": row,
        "column": column,
        "picture_upper_right": bool(row < side / 2 and column >= side / 2),
        "object_upper_right": bool(top - 3 <= row <= (top + bottom) / 2 and (left + right) / 2 <= column <= right + 3),
    }


def judged_places(pipe: WavBriVLPipeline, method: str, world: int) -> list[dict]:
    """Every picture the toy judge grades (judge_class_pictures, then judge_volume_study, at the set's settings),
    its ring place labelled with its class, seed and volume."""
    kept, config = Keeping(pipe), pipe.generation_config(method=method)
    judge_class_pictures(kept, world, config=config)
    judge_volume_study(kept, world, config=config)
    labels = [("class", seed, k, 0.0) for seed in GENERATION_SEEDS for k in range(len(CLASSES))]
    labels += [
        ("study", seed, k, v) for seed in VOLUME_STUDY_SEEDS for k in range(len(CLASSES)) for v in STUDY_VOLUMES_DB
    ]
    assert len(labels) == len(kept.pictures), (len(labels), len(kept.pictures))
    return [{"kind": kind, "seed": seed, "label": label, "db": db, **place(picture)}
            for (kind, seed, label, db), picture in zip(labels, kept.pictures)]  # fmt: skip


def main() -> None:
    """Print each flagged picture's ring place and one summary line per set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", nargs="+", default=[str(TOYWORLD_DIR)])
    parser.add_argument("--method", default="vqgan")
    parser.add_argument("--world", type=int, default=778)
    parser.add_argument("--out", help="write every picture's place as JSON here")
    args = parser.parse_args()
    print(machine())
    report = {}
    for folder in args.dir:
        rows = judged_places(WavBriVLPipeline.from_pretrained(folder, device="cpu"), args.method, args.world)
        flagged = [r for r in rows if r["score"] >= RING_THRESHOLD]
        for r in flagged:
            print(f"  {r['kind']} seed {r['seed']} class {r['label']} {r['db']:+g} dB: {r['score']:.2f} at row "
                  f"{r['row']}, column {r['column']}")  # fmt: skip
        places = {(r["row"] // 8, r["column"] // 8) for r in flagged}
        picture, box = (sum(r[key] for r in flagged) for key in ("picture_upper_right", "object_upper_right"))
        print(f"{folder} ({args.method}, world {args.world}): {len(flagged)} of {len(rows)} flagged; in the "
              f"picture's upper-right quarter {picture}, in the object's {box}; {len(places)} distinct 8-px cells",
              flush=True)  # fmt: skip
        report[folder] = rows
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "method": args.method, "world": args.world, "sets": report}, f, indent=1)


if __name__ == "__main__":
    main()
