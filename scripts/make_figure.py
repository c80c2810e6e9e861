"""docs/generations.png: per toy class, the world's picture beside the one generated from its sound, at two volumes.

Uses the shipped offline default at its own (the app's) generation defaults, seed 0, sounds from a world seed
the build never saw; pictures are enlarged with nearest-neighbour so what was generated is what is shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from wavbrivl import WavBriVLPipeline
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB
from wavbrivl.toyworld.world import CLASSES, ToyWorld

VOLUMES_DB = (-6.0, 6.0)
SCALE, PAD, LABEL = 3, 6, 18


def main(out: Path) -> None:
    pipe = WavBriVLPipeline.from_preset("toyworld", device="cpu")
    world = ToyWorld(777)
    side = 64 * SCALE
    columns = [f"{kind} {v:+g} dB" for v in VOLUMES_DB for kind in ("world", "generated")]
    width = 130 + len(columns) * (side + PAD)
    sheet = Image.new("RGB", (width, LABEL + len(CLASSES) * (side + PAD)), (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for j, title in enumerate(columns):
        draw.text((130 + j * (side + PAD), 2), title, fill=(0, 0, 0), font=font)
    for i, cls in enumerate(CLASSES):
        clip = (16000, world.example(i, label=i, level_db=MID_LEVEL_DB).audio)
        final = pipe.generate_final(clip, list(VOLUMES_DB), pipe.generation_config(seed=0))
        y = LABEL + i * (side + PAD)
        draw.text((4, y + side // 2), cls.name, fill=(0, 0, 0), font=font)
        for k, (volume, generated) in enumerate(zip(VOLUMES_DB, final.images)):
            truth = world.example(i, label=i, level_db=MID_LEVEL_DB + volume).image
            for m, picture in enumerate((truth, generated)):
                x = 130 + (2 * k + m) * (side + PAD)
                sheet.paste(picture.resize((side, side), Image.Resampling.NEAREST), (x, y))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"figure written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/generations.png"))
