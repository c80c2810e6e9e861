"""docs/generations.png: per toy class and at two volumes, the world's picture, the decoder's and the optimisation's.

Uses the shipped offline default with each method at the set's own (the app's) settings, seed 0, sounds from a
world seed the build never saw; pictures are enlarged with nearest-neighbour so what was generated is what is
shown. Run: `.venv/bin/python scripts/make_figure.py [docs/generations.png]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from wavbrivl import WavBriVLPipeline
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB
from wavbrivl.toyworld.world import CLASSES, ToyWorld

VOLUMES_DB = (-6.0, 6.0)
METHODS = ("decoder", "vqgan")
SCALE, PAD, LABEL, NAMES = 2, 6, 18, 110


def main(out: Path) -> None:
    pipe = WavBriVLPipeline.from_preset("toyworld", device="cpu")
    world = ToyWorld(777)
    side = 64 * SCALE
    columns = [f"{kind} {v:+g} dB" for v in VOLUMES_DB for kind in ("world", *METHODS)]
    width = NAMES + len(columns) * (side + PAD)
    sheet = Image.new("RGB", (width, LABEL + len(CLASSES) * (side + PAD)), (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for j, title in enumerate(columns):
        draw.text((NAMES + j * (side + PAD), 2), title, fill=(0, 0, 0), font=font)
    for i, cls in enumerate(CLASSES):
        clip = (16000, world.example(i, label=i, level_db=MID_LEVEL_DB).audio)
        finals = [
            pipe.generate_final(clip, list(VOLUMES_DB), pipe.generation_config(method=m, seed=0)).images
            for m in METHODS
        ]
        y = LABEL + i * (side + PAD)
        draw.text((4, y + side // 2), cls.name, fill=(0, 0, 0), font=font)
        for k, volume in enumerate(VOLUMES_DB):
            truth = world.example(i, label=i, level_db=MID_LEVEL_DB + volume).image
            for m, picture in enumerate((truth, *(images[k] for images in finals))):
                x = NAMES + (len(columns) // len(VOLUMES_DB) * k + m) * (side + PAD)
                sheet.paste(picture.resize((side, side), Image.Resampling.NEAREST), (x, y))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"figure written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/generations.png"))
