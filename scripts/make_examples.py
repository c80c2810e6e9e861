"""Write the app's example sounds and gallery pictures into assets/examples (deterministic)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from wavbrivl.toyworld import CLASSES, ToyWorld

SR = 16000


def synthesised(name: str) -> np.ndarray:
    """A few sounds of our own that are not from the toy world."""
    t = np.arange(2 * SR) / SR
    rng = np.random.default_rng(7)
    if name == "chirp":
        return 0.3 * np.sin(2 * np.pi * (200 * t + 400 * t**2))
    if name == "noise-bursts":
        return 0.3 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 2 * t) > 0.6)
    if name == "drum-loop":
        kick = np.exp(-t % 0.5 * 30) * np.sin(2 * np.pi * 60 * (t % 0.5))
        hat = 0.2 * rng.standard_normal(t.size) * np.exp(-(t % 0.25) * 80)
        return 0.6 * kick + hat
    raise ValueError(name)


def main(out: Path) -> None:
    (out / "gallery").mkdir(parents=True, exist_ok=True)
    world = ToyWorld(2024)
    for index, cls in enumerate(CLASSES):
        slug = cls.name.replace(" ", "-")
        for level in (-24.0, -12.0):
            example = world.example(100 + index, label=index, level_db=level)
            sf.write(out / f"{slug}_{int(level)}dB.wav", example.audio, SR, subtype="PCM_16")
        for k, level in enumerate((-28.0, -17.0, -6.0)):
            world.example(200 + 3 * index + k, label=index, level_db=level).image.save(
                out / "gallery" / f"{slug}_{('small', 'medium', 'large')[k]}.png"
            )
    for name in ("chirp", "noise-bursts", "drum-loop"):
        sf.write(out / f"{name}.wav", synthesised(name).astype(np.float32), SR, subtype="PCM_16")
    print(f"examples written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "assets/examples"))
