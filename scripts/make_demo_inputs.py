"""Write a demo sound and a small gallery of pictures into a folder (for scripts/demo.sh)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/demo")
(out / "gallery").mkdir(parents=True, exist_ok=True)
t = np.arange(2 * 16000) / 16000
sf.write(out / "tone.wav", (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2), 16000)
colours = [(220, 40, 40), (40, 180, 60), (40, 80, 220), (230, 200, 30), (160, 40, 200), (30, 200, 200)]
for i, colour in enumerate(colours):
    image = Image.new("RGB", (96, 96), (20, 20, 20))
    ImageDraw.Draw(image).ellipse((16 + 4 * i, 16, 80, 80 - 4 * i), fill=colour)
    image.save(out / "gallery" / f"shape{i}.png")
print(f"demo inputs in {out}")
