"""The droplet check: world pictures have no dark ring; one drawn beside the object is found wherever it is."""

from __future__ import annotations

import numpy as np
import pytest

from wavbrivl.toyworld.judge import foreground
from wavbrivl.toyworld.rings import RING_THRESHOLD, ring_score
from wavbrivl.toyworld.world import ToyWorld

WORLD = ToyWorld(5).examples(0, 48)


def test_world_pictures_have_no_ring():
    scores = [ring_score(e.image) for e in WORLD]
    assert max(scores) < 2.0 and np.median(scores) < 1.5, scores  # a third below RING_THRESHOLD


def _with_ring(pixels: np.ndarray, centre: tuple[int, int], darker: float, radius: float = 4.0) -> np.ndarray:
    y, x = np.mgrid[: pixels.shape[0], : pixels.shape[1]]
    ring = np.abs(np.hypot(y - centre[0], x - centre[1]) - radius) <= 0.75
    ring &= ~foreground(pixels)
    out = pixels.copy()
    out[ring] = np.clip(out[ring] - darker / 255, 0, 1)
    return out


@pytest.mark.parametrize("example", [0, 7, 21])
@pytest.mark.parametrize("where", ["top-right", "bottom-left"])
def test_a_faint_ring_beside_the_object_is_found(example, where):
    pixels = np.asarray(WORLD[example].image, np.float32) / 255
    ys, xs = np.nonzero(foreground(pixels))
    top, right, bottom, left = ys.min(), xs.max(), ys.max(), xs.min()
    if where == "top-right":
        centre = (max(top - 3, 10), min(right + 4, 53))
    else:
        centre = (min(bottom + 3, 53), max(left - 4, 10))
    before = ring_score(pixels)
    faint, darker = ring_score(_with_ring(pixels, centre, darker=10)), ring_score(_with_ring(pixels, centre, darker=16))
    assert faint > max(before + 2.5, 4.5) and darker > faint + 2


def test_a_uniformly_darker_background_is_no_ring():
    pixels = np.asarray(WORLD[3].image, np.float32) / 255
    drawn = foreground(pixels)
    darker = pixels.copy()
    darker[~drawn] = np.clip(darker[~drawn] - 8 / 255, 0, 1)
    assert ring_score(darker) < RING_THRESHOLD
