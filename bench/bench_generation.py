"""(b) One generation step with the full-size architectures at 256 px: s/step and FLOP/s vs matmul FLOP/s.
(c) 3 volumes in one batched run vs one generation and vs 3 sequential generations.

VQGAN f16-16384 decode + straight-through VQ + BriVL tower (EfficientNet-B5 at 380 px) on the cutouts,
forward and backward. FLOPs are counted by torch.utils.flop_counter for one step.
"""

from __future__ import annotations

import argparse
import itertools

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.common import machine, matmul_flops, timed
from wavbrivl.generation import GenerationConfig, generate_images
from wavbrivl.testing import full_size_components


def run(vqgan, tower, targets, config: GenerationConfig, steps: int) -> None:
    for _ in itertools.islice(generate_images(vqgan, tower, targets, config), steps):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--cutn", type=int, default=8)
    parser.add_argument("--cut-batch", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128, help="image size for the (c) comparison")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format for both models")
    parser.add_argument("--skip-c", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    _, tower, vqgan = full_size_components()
    tower.requires_grad_(False)
    vqgan.requires_grad_(False)
    if args.channels_last:
        tower.to(memory_format=torch.channels_last)
        vqgan.to(memory_format=torch.channels_last)
    peak = matmul_flops()
    target = torch.nn.functional.normalize(torch.randn(1, 2048), dim=-1)
    config = GenerationConfig(steps=3, size=args.size, cutn=args.cutn, cut_batch=args.cut_batch)

    counter = FlopCounterMode(display=False)
    with counter:
        run(vqgan, tower, target, config, 1)
    flops = counter.get_total_flops()
    run(vqgan, tower, target, config, 1)  # warm-up
    per_step = (
        timed(
            lambda: run(
                vqgan,
                tower,
                target,
                GenerationConfig(steps=2, size=args.size, cutn=args.cutn, cut_batch=args.cut_batch),
                2,
            )
        )
        / 2
    )
    layout = "channels_last" if args.channels_last else "NCHW"
    print(f"machine: {machine()}")
    print(f"matmul fp32 peak (best of 2048^3 and 4096^3 products): {peak / 1e9:.1f} GFLOP/s")
    print(
        f"(b) one step at {args.size} px, cutn {args.cutn}, cut_batch {args.cut_batch}, {layout}: "
        f"{per_step:.2f} s, {flops / 1e9:.1f} GFLOP "
        f"-> {flops / per_step / 1e9:.1f} GFLOP/s = {100 * flops / per_step / peak:.0f}% of matmul peak"
    )

    if args.skip_c:
        return
    small = GenerationConfig(steps=2, size=args.batch_size, cutn=args.cutn, cut_batch=args.cut_batch)
    three = torch.nn.functional.normalize(torch.randn(3, 2048), dim=-1)
    one = timed(lambda: run(vqgan, tower, target, small, 2))
    batched = timed(lambda: run(vqgan, tower, three, small, 2))
    sequential = timed(lambda: [run(vqgan, tower, three[i : i + 1], small, 2) for i in range(3)])
    print(
        f"(c) 2 steps at {args.batch_size} px, cutn {args.cutn}: one volume {one:.2f} s, 3 volumes batched "
        f"{batched:.2f} s ({batched / one:.2f}x one), 3 sequential {sequential:.2f} s "
        f"(batched = {batched / sequential:.2f}x sequential)"
    )


if __name__ == "__main__":
    main()
