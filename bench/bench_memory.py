"""(d) Peak RSS of the full-size pipeline (goal <= 6 GiB): load, embed a 10 s clip, rank 16 images,
and run generation steps at 256 px.
"""

from __future__ import annotations

import argparse
import itertools
import resource

import numpy as np
import torch
from PIL import Image

from bench.common import machine
from wavbrivl import GenerationConfig, WavBriVLPipeline
from wavbrivl.loading import ModelSet
from wavbrivl.testing import full_size_components


def rss_gib() -> float:
    """Peak resident set size of this process so far, in GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cutn", type=int, default=8)
    parser.add_argument("--cut-batch", type=int, default=4)
    args = parser.parse_args()
    torch.set_grad_enabled(True)
    pipe = WavBriVLPipeline(ModelSet(*full_size_components()), device="cpu")
    loaded = rss_gib()
    rng = np.random.default_rng(0)
    clip = (16000, (0.1 * rng.standard_normal(160000)).astype(np.float32))
    images = [Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)) for _ in range(16)]
    pipe.rank(clip, images)
    ranked = rss_gib()
    steps = pipe.generate(clip, [0.0], GenerationConfig(steps=2, size=256, cutn=args.cutn, cut_batch=args.cut_batch))
    for _ in itertools.islice(steps, 2):
        pass
    print(f"machine: {machine()}")
    print(
        f"(d) peak RSS: after load {loaded:.2f} GiB, after embed+rank {ranked:.2f} GiB, "
        f"after 2 generation steps (256 px, cutn {args.cutn}) {rss_gib():.2f} GiB"
    )


if __name__ == "__main__":
    main()
