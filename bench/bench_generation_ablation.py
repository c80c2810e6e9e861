"""Generation ablation on the toy world, graded by the pixel judge (which no tower guides).

Trains a small image tower and VQGAN variant (cached under --cache), then generates toward each class's
target (the mean tower embedding of 12 pictures of that class at the mid level, from a world seed the
training never saw), 8 classes x seeds 0-2, plus a 5-volume study for three classes, and prints the
judge's rates. One line per run: compare lines from the same machine.

    python -m bench.bench_generation_ablation --vq f8 --negatives 800 --eps 0.05 --tower-steps 600 \
        --init blob --steps 50
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bench.common import machine
from wavbrivl.configs import small_vqgan_config
from wavbrivl.generation import GenerationConfig, generate_images
from wavbrivl.generation.cutouts import AugmentConfig
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB, STUDY_VOLUMES_DB, spearman
from wavbrivl.toyworld.judge import class_colour_index, judge
from wavbrivl.toyworld.negatives import negatives
from wavbrivl.toyworld.train_image import train_image_tower
from wavbrivl.toyworld.train_vqgan import psnr, train_vqgan
from wavbrivl.toyworld.world import BACKGROUND, CLASSES, ToyWorld

VQ_MULT = {"f2": (1, 2), "f4": (1, 2, 4), "f8": (1, 2, 2, 4)}


def cached(path: Path, make):
    """Load a trained model from path, or make and save it."""
    if path.is_file():
        return torch.load(path, weights_only=False)
    model = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model, path)
    return model


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--examples", type=int, default=1600)
    p.add_argument("--tower-steps", type=int, default=300)
    p.add_argument("--negatives", type=int, default=0)
    p.add_argument("--eps", type=float, default=0.0)
    p.add_argument("--vq", choices=sorted(VQ_MULT), default="f2")
    p.add_argument("--vq-steps", type=int, default=800)
    p.add_argument("--vq-codes", type=int, default=256)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--cutn", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--noise", type=float, default=0.05)
    p.add_argument("--init", choices=["tokens", "blob"], default="tokens")
    p.add_argument("--tv", type=float, default=0.0)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--cache", default="bench/.cache")
    p.add_argument("--picture", default="")
    args = p.parse_args()

    world = ToyWorld(0)
    train = world.examples(0, args.examples)
    pixels = torch.stack(pil_to_tensor([e.image for e in train]))
    labels, sizes = torch.tensor([e.label for e in train]), torch.tensor([e.size for e in train])
    key = hashlib.md5(json.dumps([args.examples, args.tower_steps, args.negatives, args.eps]).encode()).hexdigest()
    tower = cached(
        Path(args.cache) / f"tower-{key[:8]}.pt",
        lambda: train_image_tower(
            pixels,
            labels,
            sizes,
            len(CLASSES),
            args.tower_steps,
            negatives=torch.stack(pil_to_tensor(negatives(world, 0, args.negatives))) if args.negatives else None,
            adversarial_eps=args.eps,
            adversarial_steps=1,
        ),
    )
    mult = VQ_MULT[args.vq]
    vq_config = small_vqgan_config(32, args.vq_codes, 32, ch_mult=mult)
    key = hashlib.md5(json.dumps([args.examples, args.vq, args.vq_steps, args.vq_codes]).encode()).hexdigest()
    vqgan = cached(
        Path(args.cache) / f"vqgan-{key[:8]}.pt",
        lambda: train_vqgan(pixels, args.vq_steps, config=vq_config, crop=32 if args.vq == "f2" else None),
    )
    for param in [*tower.parameters(), *vqgan.parameters()]:
        param.requires_grad_(False)
    test = torch.stack(pil_to_tensor([e.image for e in ToyWorld(4242).examples(0, 200)]))
    with torch.no_grad():
        vq_psnr = float(psnr(((vqgan(test * 2 - 1) + 1) / 2).clamp(0, 1), test).mean())

    def target(label: int, level_db: float) -> torch.Tensor:
        pictures = [ToyWorld(99).example(i, label=label, level_db=level_db).image for i in range(12)]
        with torch.no_grad():
            return F.normalize(tower.encode_pixels(torch.stack(pil_to_tensor(pictures))).mean(0), dim=-1)

    augment = AugmentConfig(0, 0, 0, 0, 0, 0, 0, 0, True) if args.no_augment else AugmentConfig()
    config = GenerationConfig(
        steps=args.steps,
        size=64,
        lr=args.lr,
        cutn=args.cutn,
        cut_batch=args.cutn,
        noise=args.noise,
        augment=augment,
        tv_weight=args.tv,
        init=args.init,
        fill=tuple(v / 255 for v in BACKGROUND),
    )
    targets = torch.stack([target(c, MID_LEVEL_DB) for c in range(len(CLASSES))])
    rows, shown = [], []
    started = time.perf_counter()
    for seed in range(3):
        *_, last = generate_images(vqgan, tower, targets, replace(config, seed=seed))
        shown.append(last.pixels)
        for label, picture in enumerate(last.pixels):
            verdict, shape = judge(picture), CLASSES[label].shape
            colour_ok = verdict.colour == class_colour_index(label)
            rows.append((colour_ok, verdict.one_object, verdict.shape == shape, verdict.overlap(shape)))
    per_image = (time.perf_counter() - started) / (3 * len(CLASSES))
    rho = []
    for label in (0, 2, 5):
        study = torch.stack([target(label, MID_LEVEL_DB + v) for v in STUDY_VOLUMES_DB])
        *_, last = generate_images(vqgan, tower, study, config)
        shown.append(last.pixels)
        rho.append(spearman(np.array(STUDY_VOLUMES_DB), np.array([judge(x).object_area for x in last.pixels])))
    r = np.array(rows, dtype=float)
    print(
        f"{vars(args)} | VQGAN PSNR {vq_psnr:.1f} dB | colour {r[:, 0].mean():.2f} one object {r[:, 1].mean():.2f} "
        f"shape {r[:, 2].mean():.2f} IoU {r[:, 3].mean():.2f} all three {r[:, :3].all(1).mean():.2f} | "
        f"volume rho {[round(x, 2) for x in rho]} | {per_image:.1f} s per image in a batch of 8 | {machine()}"
    )
    if args.picture:
        from torchvision.utils import save_image

        grid = torch.cat([torch.cat(shown[:3]), torch.cat(shown[3:])])
        save_image(F.interpolate(grid, scale_factor=2, mode="nearest"), args.picture, nrow=len(CLASSES))


if __name__ == "__main__":
    main()
