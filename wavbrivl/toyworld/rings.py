"""A pixel check for the droplet: a dark ring on the background beside the object, which no world picture has.

A decoder with one channel per normalisation group can park a few pixels of huge activation beside the object to
steer each channel's statistics (StyleGAN's "water droplet"); through the last layers it shows as a faint dark
ring, 6-10 px across, just off the object. The judge (judge.py) scores colour, shape and size and does not see it;
this check looks for exactly that: how much darker than the world's background a thin annulus of background is,
than the background just outside it, at the worst place in the picture.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from wavbrivl.toyworld.judge import FOREGROUND_THRESHOLD, to_array
from wavbrivl.toyworld.world import BACKGROUND

RING_RADII = (3.0, 5.0)  # the annulus looked at, in pixels from its centre
OUTSIDE_RADII = (6.5, 8.5)  # the background it is compared with
# pixels this close to the object are its edge, not background: a world picture's anti-aliased edge is 1 px wide,
# and a decoder's edge a little softer (a 1 px margin left world pictures scoring up to 2.8; 2 px, up to 1.7)
OBJECT_MARGIN = 2
RING_THRESHOLD = 3.0  # a score at or above it is a ring


def _disk(inner: float, outer: float, reach: int = 9) -> np.ndarray:
    y, x = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    r = np.hypot(y, x)
    return ((r >= inner) & (r <= outer)).astype(np.float32)


ANNULUS, OUTSIDE = _disk(*RING_RADII), _disk(*OUTSIDE_RADII)


def ring_map(picture) -> np.ndarray:
    """Each centre's ring strength (H, W): mean darkness below the world background (levels 0-255, the darkest
    channel) on an annulus of background pixels, minus the same just outside it; -inf where too little background
    is seen. The object and its edge (OBJECT_MARGIN) never count."""
    pixels = to_array(picture)
    background = np.asarray(BACKGROUND, np.float32) / 255
    drawn = np.abs(pixels - background).max(-1) > FOREGROUND_THRESHOLD
    usable = ~ndimage.binary_dilation(drawn, iterations=OBJECT_MARGIN) if drawn.any() else np.ones(drawn.shape, bool)
    usable = usable.astype(np.float32)
    dark = (background - pixels).max(-1) * 255 * usable

    def mean_over(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count = ndimage.correlate(usable, kernel, mode="constant")
        return ndimage.correlate(dark, kernel, mode="constant") / np.maximum(count, 1), count

    ring, ring_count = mean_over(ANNULUS)
    outside, outside_count = mean_over(OUTSIDE)
    valid = (ring_count >= 0.5 * ANNULUS.sum()) & (outside_count >= 0.3 * OUTSIDE.sum()) & (usable > 0)
    return np.where(valid, ring - outside, -np.inf)


def ring_score(picture) -> float:
    """The strongest dark ring in the picture (ring_map's highest value). World pictures score under 2; a drawn
    droplet 3 and up."""
    return float(ring_map(picture).max())


def ring_place(picture) -> tuple[float, int, int]:
    """The strongest dark ring's score and its centre (row, column) in the picture."""
    strength = ring_map(picture)
    row, column = np.unravel_index(int(np.argmax(strength)), strength.shape)
    return float(strength[row, column]), int(row), int(column)
