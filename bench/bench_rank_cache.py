"""(a) Re-ranking a cached 10,000-image gallery for a new clip vs re-embedding the gallery (goal >= 100x).

Full-size BriVL image tower and WavLM base audio tower (random weights cost the same as trained ones).
The re-embedding time is measured on a batch of images and scaled to 10,000 (at ~0.4 s an image a full
re-embedding would take over an hour here); the cached path is measured on all 10,000 images.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from bench.common import machine, timed
from wavbrivl import WavBriVLPipeline
from wavbrivl.loading import ModelSet
from wavbrivl.ranking import image_key
from wavbrivl.testing import full_size_components

GALLERY = 10_000
SAMPLE = 8


def main() -> None:
    torch.manual_seed(0)
    audio, image, vqgan = full_size_components()
    pipe = WavBriVLPipeline(ModelSet(audio, image, vqgan), device="cpu")
    rng = np.random.default_rng(0)
    gallery = [Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)) for _ in range(GALLERY)]
    clip = (16000, (0.1 * rng.standard_normal(16000 * 5)).astype(np.float32))

    pipe.embed_images(gallery[:1])  # warm-up
    pipe.image_cache.clear()
    per_image = timed(lambda: pipe.embed_images(gallery[:SAMPLE], batch_size=SAMPLE)) / SAMPLE
    reembed = per_image * GALLERY

    for im in gallery:  # fill the cache as a first embedding pass would
        pipe.image_cache.put(image_key(im), torch.nn.functional.normalize(torch.randn(2048), dim=0))
    audio_time = timed(lambda: pipe.embed_audio(clip), 2)
    with_lookup = timed(lambda: pipe.rank(clip, gallery), 1)  # hashes every image, all cache hits
    matrix = pipe.embed_images(gallery)
    from_matrix = timed(lambda: pipe.rank(clip, matrix), 3)

    print(f"machine: {machine()}")
    print(f"re-embed one image (full-size BriVL, 380 px): {per_image:.3f} s -> 10,000 images: {reembed:.0f} s")
    print(f"embed the new 5 s clip (WavLM base): {audio_time:.3f} s")
    print(
        f"re-rank via content-hash cache lookups of 10,000 images: {with_lookup:.2f} s "
        f"-> ratio {(reembed + audio_time) / with_lookup:.0f}x"
    )
    print(
        f"re-rank from the gallery's embedding matrix: {from_matrix:.3f} s "
        f"-> ratio {(reembed + audio_time) / from_matrix:.0f}x"
    )


if __name__ == "__main__":
    main()
