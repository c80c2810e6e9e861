"""A judge of toy-world pictures that uses no network: colour, object count, shape and area, from pixels alone.

It grades generated pictures by what a person would see, so it never shares a blind spot with a tower that
guided the generation. Every measure compares the picture with the world's own drawing rules (`world.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from wavbrivl.toyworld.world import BACKGROUND, CLASSES, SHAPES, draw_shape

FOREGROUND_THRESHOLD = 60 / 255  # a pixel is foreground when a channel differs this much from the background
ONE_OBJECT_SHARE = 0.8  # one object: the largest connected region holds this share of the foreground
GRID = 32  # shapes are compared on a GRID x GRID square around their bounding box


@dataclass(frozen=True)
class Verdict:
    """What the judge saw in one picture."""

    area: float  # foreground share of the picture
    object_area: float  # the largest connected region's share of the picture
    largest_share: float  # the largest connected region's share of the foreground
    colour: int  # index into the world's palette of the object's median colour (-1: nothing drawn)
    shape: str  # the world shape whose silhouette best overlaps the object ("" when nothing is drawn)
    overlaps: dict[str, float]  # IoU of the object's silhouette with each world shape's

    @property
    def one_object(self) -> bool:
        """Whether the foreground is essentially one connected object."""
        return self.area > 0 and self.largest_share >= ONE_OBJECT_SHARE

    def overlap(self, shape: str) -> float:
        """IoU of the object's silhouette with that world shape's (0 when nothing is drawn)."""
        return self.overlaps.get(shape, 0.0)


def to_array(picture: Image.Image | np.ndarray | torch.Tensor) -> np.ndarray:
    """(H, W, 3) float array in [0, 1] from a PIL image, a uint8/float array, or a (3, H, W) tensor."""
    if isinstance(picture, Image.Image):
        return np.asarray(picture.convert("RGB"), dtype=np.float32) / 255
    if isinstance(picture, torch.Tensor):
        return picture.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    array = np.asarray(picture)
    return array.astype(np.float32) / 255 if array.dtype == np.uint8 else array.astype(np.float32)


def foreground(pixels: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the pixels that differ clearly from the world's background colour."""
    background = np.asarray(BACKGROUND, dtype=np.float32) / 255
    return np.abs(pixels - background).max(-1) > FOREGROUND_THRESHOLD


def silhouette(mask: np.ndarray, grid: int = GRID) -> np.ndarray:
    """The mask cropped to its bounding box, centred on a square (aspect kept), resized to grid x grid."""
    rows, cols = np.nonzero(mask)
    crop = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    side = max(crop.shape)
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    resized = Image.fromarray((square * 255).astype(np.uint8)).resize((grid, grid), Image.Resampling.BILINEAR)
    return np.asarray(resized) >= 128


@lru_cache(maxsize=1)
def templates() -> dict[str, np.ndarray]:
    """Each world shape's silhouette, drawn large and centred."""
    out = {}
    for shape in SHAPES:
        cls = next(c for c in CLASSES if c.shape == shape)
        out[shape] = silhouette(foreground(to_array(draw_shape(cls, 0.9, (128.0, 128.0), 256))))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def palette() -> np.ndarray:
    """The world's distinct colours, (K, 3) in [0, 1], in first-use order."""
    return np.asarray(list(dict.fromkeys(c.colour for c in CLASSES)), dtype=np.float32) / 255


def judge(picture: Image.Image | np.ndarray | torch.Tensor) -> Verdict:
    """Measure one picture: foreground area, its largest region's share, its colour and its shape."""
    pixels = to_array(picture)
    mask = foreground(pixels)
    if not mask.any():
        return Verdict(0.0, 0.0, 0.0, -1, "", {})
    labels, _ = ndimage.label(mask)  # 4-connected: touching corners do not join two regions
    sizes = np.bincount(labels.ravel())[1:]
    largest = labels == (int(sizes.argmax()) + 1)
    colour = np.median(pixels[largest], axis=0)
    colour_index = int(np.abs(palette() - colour).sum(-1).argmin())
    shape = silhouette(largest)
    overlaps = {name: iou(shape, template) for name, template in templates().items()}
    best = max(overlaps, key=overlaps.get)
    share = float(sizes.max() / sizes.sum())
    return Verdict(float(mask.mean()), float(largest.mean()), share, colour_index, best, overlaps)


def class_colour_index(label: int) -> int:
    """The palette index of a class's colour."""
    return list(dict.fromkeys(c.colour for c in CLASSES)).index(CLASSES[label].colour)
