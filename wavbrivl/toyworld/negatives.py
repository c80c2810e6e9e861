"""Hard negatives for the toy image tower: pictures in a class's colour that are not one of the world's objects.

A tower that has seen only clean pictures accepts anything in the right colour (scattered blobs, textures,
shuffled tiles) as the class, and generation against it paints exactly that. Training it to put these
pictures apart from every class makes the shape, and a single object, part of what a class means.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from wavbrivl.toyworld.world import BACKGROUND, CLASSES, IMAGE_SIZE, ToyWorld, draw_shape

KINDS = ("blobs", "tiles", "pieces", "stripes")


def _blobs(rng: np.random.Generator, colour: tuple[int, int, int], side: int) -> Image.Image:
    """Two to six ellipses of one colour scattered over the picture."""
    image = Image.new("RGB", (side, side), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 7))):
        w, h = rng.uniform(0.08, 0.3, 2) * side
        x, y = rng.uniform(0, side - w), rng.uniform(0, side - h)
        draw.ellipse((x, y, x + w, y + h), fill=colour)
    return image


def _tiles(rng: np.random.Generator, picture: Image.Image, grid: int = 4) -> Image.Image:
    """A world picture cut into grid x grid tiles and shuffled."""
    pixels = np.asarray(picture)
    step = pixels.shape[0] // grid
    tiles = [pixels[r * step : (r + 1) * step, c * step : (c + 1) * step] for r in range(grid) for c in range(grid)]
    order = rng.permutation(len(tiles))
    rows = [np.concatenate([tiles[order[r * grid + c]] for c in range(grid)], 1) for r in range(grid)]
    return Image.fromarray(np.concatenate(rows, 0))


def _pieces(rng: np.random.Generator, label: int, side: int) -> Image.Image:
    """Two or three small copies of a class's shape, or one shape cut by background bands."""
    base = np.asarray(Image.new("RGB", (side, side), BACKGROUND)).copy()
    for _ in range(int(rng.integers(2, 4))):
        size = rng.uniform(0.18, 0.35)
        centre = tuple(rng.uniform(size * side / 2, side - size * side / 2, 2))
        shape = np.asarray(draw_shape(CLASSES[label], size, centre, side))  # type: ignore[arg-type]
        moved = np.abs(shape.astype(int) - np.asarray(BACKGROUND)).max(-1) > 40
        base[moved] = shape[moved]
    return Image.fromarray(base)


def _stripes(rng: np.random.Generator, colour: tuple[int, int, int], side: int) -> Image.Image:
    """Parallel stripes or a checkerboard of one colour."""
    period = int(rng.integers(6, 17))
    yy, xx = np.mgrid[0:side, 0:side]
    if rng.random() < 0.5:
        on = ((xx if rng.random() < 0.5 else yy) % period) < period // 2
    else:
        on = ((xx // period + yy // period) % 2) == 0
    pixels = np.where(on[..., None], np.asarray(colour), np.asarray(BACKGROUND)).astype(np.uint8)
    return Image.fromarray(pixels)


def negative(world: ToyWorld, index: int, label: int | None = None) -> tuple[Image.Image, int]:
    """The index-th hard negative and the class whose colour (and, for tiles and pieces, shape) it borrows."""
    rng = np.random.default_rng([world.seed, index, 17])
    label = int(rng.integers(len(CLASSES))) if label is None else label
    kind = KINDS[int(rng.integers(len(KINDS)))]
    side = world.image_size if world.image_size else IMAGE_SIZE
    colour = CLASSES[label].colour
    if kind == "blobs":
        image = _blobs(rng, colour, side)
    elif kind == "tiles":
        image = _tiles(rng, world.example(index, label=label, level_db=float(rng.uniform(-14, -4))).image)
    elif kind == "pieces":
        image = _pieces(rng, label, side)
    else:
        image = _stripes(rng, colour, side)
    noise = rng.normal(0, 2.0, (side, side, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).round().astype(np.uint8)
    return Image.fromarray(pixels), label


def negatives(world: ToyWorld, start: int, count: int) -> list[Image.Image]:
    """Hard negatives start .. start+count-1."""
    return [negative(world, i)[0] for i in range(start, start + count)]
