"""Paired (sound, picture) examples: 8 classes of sound and shape, and loudness that sets the shape's size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from wavbrivl.data.audio import SAMPLE_RATE

IMAGE_SIZE = 64
BACKGROUND = (24, 24, 28)
LEVEL_RANGE_DB = (-30.0, -4.0)  # peak level of the sound, in dBFS
SIZE_RANGE = (0.25, 0.85)  # shape size as a fraction of the image side


@dataclass(frozen=True)
class ToyClass:
    """One class: a sound (pitch, timbre, rhythm) and a picture (shape, colour)."""

    name: str
    shape: str
    colour: tuple[int, int, int]
    pitch_hz: float
    timbre: str  # sine | square | saw | triangle
    rhythm_hz: float  # amplitude-modulation rate


# Pitch chooses the shape, timbre the colour, loudness the size. Every colour is shared by two shapes and every
# shape by two colours, so neither a colour nor a shape alone names a class: a picture is known only by both.
CLASSES: tuple[ToyClass, ...] = (
    ToyClass("red circle", "circle", (230, 50, 50), 220.0, "sine", 2.0),
    ToyClass("red cross", "cross", (230, 50, 50), 698.0, "sine", 5.0),
    ToyClass("blue triangle", "triangle", (60, 90, 235), 392.0, "saw", 3.0),
    ToyClass("blue circle", "circle", (60, 90, 235), 220.0, "saw", 6.0),
    ToyClass("green cross", "cross", (50, 200, 70), 698.0, "square", 2.0),
    ToyClass("green bar", "bar", (50, 200, 70), 1245.0, "square", 4.0),
    ToyClass("yellow bar", "bar", (235, 210, 40), 1245.0, "triangle", 7.0),
    ToyClass("yellow triangle", "triangle", (235, 210, 40), 392.0, "triangle", 3.0),
)
SHAPES: tuple[str, ...] = tuple(dict.fromkeys(c.shape for c in CLASSES))
COLOURS: tuple[tuple[int, int, int], ...] = tuple(dict.fromkeys(c.colour for c in CLASSES))


def level_to_size(level_db: float) -> float:
    """The world's loudness-to-size law: linear in dB over LEVEL_RANGE_DB, clipped to SIZE_RANGE."""
    lo, hi = LEVEL_RANGE_DB
    frac = min(max((level_db - lo) / (hi - lo), 0.0), 1.0)
    return SIZE_RANGE[0] + frac * (SIZE_RANGE[1] - SIZE_RANGE[0])


def _polygon(cx: float, cy: float, r: float, n: int, start: float) -> list[tuple[float, float]]:
    return [
        (cx + r * math.cos(start + 2 * math.pi * k / n), cy + r * math.sin(start + 2 * math.pi * k / n))
        for k in range(n)
    ]


def draw_shape(
    cls: ToyClass,
    size: float,
    center: tuple[float, float],
    image_size: int = IMAGE_SIZE,
    noise: np.ndarray | None = None,
) -> Image.Image:
    """Render one class's shape at a size (fraction of the side) and centre (pixels)."""
    scale = 4  # draw large then downsample, for clean anti-aliased edges
    side = image_size * scale
    image = Image.new("RGB", (side, side), BACKGROUND)
    draw = ImageDraw.Draw(image)
    cx, cy = center[0] * scale, center[1] * scale
    r = size * side / 2
    box = (cx - r, cy - r, cx + r, cy + r)
    if cls.shape == "circle":
        draw.ellipse(box, fill=cls.colour)
    elif cls.shape == "square":
        draw.rectangle((cx - 0.85 * r, cy - 0.85 * r, cx + 0.85 * r, cy + 0.85 * r), fill=cls.colour)
    elif cls.shape == "triangle":
        draw.polygon(_polygon(cx, cy + 0.2 * r, 1.1 * r, 3, -math.pi / 2), fill=cls.colour)
    elif cls.shape == "diamond":
        draw.polygon(_polygon(cx, cy, r, 4, 0.0), fill=cls.colour)
    elif cls.shape == "ring":
        draw.ellipse(box, outline=cls.colour, width=max(int(0.35 * r), 2))
    elif cls.shape == "cross":
        w = 0.32 * r
        draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=cls.colour)
        draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=cls.colour)
    elif cls.shape == "hexagon":
        draw.polygon(_polygon(cx, cy, r, 6, 0.0), fill=cls.colour)
    elif cls.shape == "bar":
        draw.rectangle((cx - r, cy - 0.3 * r, cx + r, cy + 0.3 * r), fill=cls.colour)
    else:  # pragma: no cover - the class table above is fixed
        raise ValueError(cls.shape)
    image = image.resize((image_size, image_size), Image.Resampling.LANCZOS)
    if noise is not None:
        pixels = np.asarray(image, dtype=np.float32) + noise
        image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    return image


def synth_sound(cls: ToyClass, level_db: float, rng: np.random.Generator, seconds: float = 1.0) -> np.ndarray:
    """One class's sound with random phase, timing and a little noise, peak-normalised to level_db dBFS."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f = cls.pitch_hz * (1 + rng.uniform(-0.02, 0.02))
    phase = rng.uniform(0, 2 * np.pi)
    harmonics = {
        "sine": [(1, 1.0)],
        "square": [(k, 1 / k) for k in (1, 3, 5, 7)],
        "saw": [(k, 1 / k) for k in (1, 2, 3, 4, 5)],
        "triangle": [(k, 1 / k**2) for k in (1, 3, 5)],
    }
    tone = sum(a * np.sin(2 * np.pi * k * f * t + k * phase) for k, a in harmonics[cls.timbre])
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * cls.rhythm_hz * t + rng.uniform(0, 2 * np.pi))
    wave = tone * envelope
    wave = np.roll(wave, int(rng.integers(0, n)))
    wave = wave / np.max(np.abs(wave)) * 10 ** (level_db / 20)
    wave = wave + rng.normal(0, 10 ** (-60 / 20), n)  # a -60 dBFS noise floor
    return wave.astype(np.float32)


@dataclass
class ToyExample:
    """A paired example: sound, picture, and the hidden factors that made them."""

    audio: np.ndarray
    image: Image.Image
    label: int
    level_db: float
    size: float


class ToyWorld:
    """Deterministic generator of paired examples (same seed, same examples)."""

    def __init__(self, seed: int = 0, image_size: int = IMAGE_SIZE, seconds: float = 1.0) -> None:
        self.seed, self.image_size, self.seconds = seed, image_size, seconds

    @property
    def classes(self) -> tuple[ToyClass, ...]:
        """The class table."""
        return CLASSES

    def example(self, index: int, label: int | None = None, level_db: float | None = None) -> ToyExample:
        """The index-th example (optionally forcing its class or loudness)."""
        rng = np.random.default_rng([self.seed, index])
        label = int(rng.integers(len(CLASSES))) if label is None else label
        level = float(rng.uniform(*LEVEL_RANGE_DB)) if level_db is None else level_db
        size = level_to_size(level)
        slack = (1 - size) * self.image_size / 2
        centre = tuple(self.image_size / 2 + rng.uniform(-0.6, 0.6) * slack for _ in range(2))
        noise = rng.normal(0, 2.0, (self.image_size, self.image_size, 3))
        image = draw_shape(CLASSES[label], size, centre, self.image_size, noise)  # type: ignore[arg-type]
        audio = synth_sound(CLASSES[label], level, rng, self.seconds)
        return ToyExample(audio, image, label, level, size)

    def examples(self, start: int, count: int) -> list[ToyExample]:
        """Examples start .. start+count-1."""
        return [self.example(i) for i in range(start, start + count)]
