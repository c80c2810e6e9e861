"""Training throughput: precomputed frame embeddings vs the image tower in the loop (goal >= 3x).

Full-size WavLM base audio tower (WavLM frozen, layer weights + head trained, as `wavbrivl train`
defaults) and the full-size BriVL image tower, on this CPU. Each step trains on a batch of 10 s clips;
"in the loop" also decodes each frame's JPEG and runs the frozen tower on it, as training without
`embed-frames` would.
"""

from __future__ import annotations

import argparse
import io

import numpy as np
import torch
from PIL import Image

from bench.common import machine, timed
from wavbrivl.testing import full_size_components
from wavbrivl.training.loss import ContrastiveLoss, EmbeddingQueue


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    audio, image, _ = full_size_components()
    audio.train()
    image.requires_grad_(False)
    loss_fn = ContrastiveLoss()
    queue = EmbeddingQueue(9600, 2048)
    queue.push(torch.nn.functional.normalize(torch.randn(9600, 2048), dim=-1))
    params = [p for p in audio.parameters() if p.requires_grad] + list(loss_fn.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    rng = np.random.default_rng(0)
    waves = torch.from_numpy((0.1 * rng.standard_normal((args.batch, int(args.seconds * 16000)))).astype(np.float32))
    jpegs = []
    for _ in range(args.batch):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (360, 480, 3), dtype=np.uint8)).save(buf, format="JPEG")
        jpegs.append(buf.getvalue())
    precomputed = torch.nn.functional.normalize(torch.randn(args.batch, 2048), dim=-1)

    def step(in_loop: bool) -> None:
        if in_loop:
            frames = [Image.open(io.BytesIO(b)).convert("RGB") for b in jpegs]
            with torch.no_grad():
                targets = image.encode_pixels(image.preprocess(frames))
        else:
            targets = precomputed
        loss = loss_fn(audio(waves), targets, queue.negatives())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(False)
    step(True)  # warm-up both paths
    fast = timed(lambda: [step(False) for _ in range(args.steps)])
    slow = timed(lambda: [step(True) for _ in range(args.steps)])
    clips = args.batch * args.steps
    print(f"machine: {machine()}")
    print(
        f"training, batch {args.batch} x {args.seconds:g} s clips, WavLM base frozen + head: "
        f"precomputed embeddings {clips / fast:.2f} clips/s, image tower in the loop {clips / slow:.2f} clips/s "
        f"-> {slow / fast:.2f}x"
    )


if __name__ == "__main__":
    main()
