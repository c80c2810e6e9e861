"""The `clip` preset at full size on the CPU (random weights, the same cost as the real ones): CLIP ViT-B/32's image
and text towers, WavLM base with a head, the f16-16384 VQGAN. Prints the time of each part of a request and the
peak resident memory, for docs/real-weights.md.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time

import numpy as np
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPModel

from bench.common import machine, timed
from wavbrivl import GenerationConfig, WavBriVLPipeline
from wavbrivl.configs import AudioTowerConfig, CLIPImageConfig, CLIPTextTowerConfig, VQGANConfig
from wavbrivl.loading import ModelSet
from wavbrivl.models import VQGAN, CLIPImageTower, CLIPTextTower, WavBriVLAudioTower


def rss_gib() -> float:
    """Peak resident set size of this process so far, in GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def clip_set() -> ModelSet:
    """CLIP ViT-B/32 (512-d), WavLM base with a 512-d head, the f16-16384 VQGAN: random weights, real sizes."""
    torch.manual_seed(0)
    clip = CLIPModel(CLIPConfig(projection_dim=512))  # the defaults are ViT-B/32's sizes
    image = CLIPImageTower(CLIPImageConfig(), model=_vision(clip))
    text = CLIPTextTower(CLIPTextTowerConfig(), model=_text(clip))
    text.tokenizer = _tokenizer()
    audio = WavBriVLAudioTower(AudioTowerConfig(embed_dim=512, mlp_hidden=512))
    return ModelSet(audio.eval(), image.eval(), VQGAN(VQGANConfig()).eval(), text_tower=text.eval())


def _vision(clip: CLIPModel):
    from transformers import CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection(clip.config.vision_config)
    return model.eval()


def _text(clip: CLIPModel):
    from transformers import CLIPTextModelWithProjection

    return CLIPTextModelWithProjection(clip.config.text_config).eval()


def _tokenizer():
    import tempfile
    from pathlib import Path

    from transformers import CLIPTokenizer

    folder = Path(tempfile.mkdtemp())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, **{c + "</w>": 2 + i for i, c in enumerate("abcdefghij")}}
    (folder / "vocab.json").write_text(__import__("json").dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cutn", type=int, default=8)
    args = parser.parse_args()
    pipe = WavBriVLPipeline(clip_set(), device="cpu", allow_untrained=True)
    rng = np.random.default_rng(0)
    sound = (16000, (0.1 * rng.standard_normal(80000)).astype(np.float32))
    picture = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    with torch.no_grad():
        audio_s = timed(lambda: pipe.embed_audio(sound), 3)
        text_s = timed(lambda: pipe.embed_text("a dog"), 3)
        image_s = timed(lambda: (pipe.image_cache.clear(), pipe.embed_images([picture])), 3)
    config = GenerationConfig(steps=3, size=256, cutn=args.cutn, cut_batch=1)
    steps = pipe.generate(None, config=config, prompts="a dog")
    next(steps)  # the first step warms up
    start = time.perf_counter()
    for _ in itertools.islice(steps, 2):
        pass
    step_s = (time.perf_counter() - start) / 2
    print(f"machine: {machine()}")
    print(f"clip preset, full size, CPU: a 5 s sound {audio_s:.2f} s, a text prompt {text_s * 1000:.0f} ms, "
          f"an image {image_s:.2f} s, one optimisation step at 256 px with {args.cutn} cutouts {step_s:.2f} s; "
          f"peak RSS {rss_gib():.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
