"""The droplet check: world pictures have no dark ring; one drawn beside the object is found wherever it is."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from wavbrivl.generation import GenerationConfig
from wavbrivl.toyworld.evaluate import judge_class_pictures, judge_volume_study
from wavbrivl.toyworld.judge import foreground
from wavbrivl.toyworld.rings import RING_THRESHOLD, ring_place, ring_score
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
    score, row, column = ring_place(_with_ring(pixels, centre, darker=10))
    assert score == faint and abs(row - centre[0]) <= 1 and abs(column - centre[1]) <= 1, (row, column, centre)


def test_a_uniformly_darker_background_is_no_ring():
    pixels = np.asarray(WORLD[3].image, np.float32) / 255
    drawn = foreground(pixels)
    darker = pixels.copy()
    darker[~drawn] = np.clip(darker[~drawn] - 8 / 255, 0, 1)
    assert ring_score(darker) < RING_THRESHOLD


class _WorldPictures:
    """Stands in for a pipeline: each 'generation' is the world's own picture of the class (one per clip or
    volume); the seed named by ringed gets a ring drawn beside the object of its first picture."""

    def __init__(self, ringed: int) -> None:
        self.ringed = ringed

    def generate_final(self, clips, volumes, config: GenerationConfig) -> SimpleNamespace:
        labels = range(len(clips)) if isinstance(clips, list) else [0] * len(volumes)  # classes, or one class's study
        world = ToyWorld(6)
        pictures = [np.asarray(world.example(k, label=label).image, np.float32) / 255 for k, label in enumerate(labels)]
        if config.seed == self.ringed:
            ys, xs = np.nonzero(foreground(pictures[0]))
            pictures[0] = _with_ring(pictures[0], (max(ys.min() - 3, 10), min(xs.max() + 4, 53)), darker=16)
        return SimpleNamespace(pixels=torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2))


@pytest.mark.parametrize("ringed", [0, 2])
def test_the_judged_ring_figures_are_the_worst_picture_and_the_share_flagged(ringed):
    """ring_score_max is the worst of the judged pictures (one ring among clean ones shows), ring_rate its share."""
    config = GenerationConfig(seed=0)
    classes = judge_class_pictures(_WorldPictures(ringed), seeds=(0, 1, 2), config=config)
    assert classes["ring_score_max"] >= RING_THRESHOLD + 1.5 and classes["ring_rate"] == pytest.approx(1 / 24)
    study = judge_volume_study(_WorldPictures(ringed), study_seeds=(0, 1, 2), config=config, classes=(0,))
    assert study["volume_study_ring_score_max"] >= RING_THRESHOLD + 1.5
    assert study["volume_study_ring_rate"] == pytest.approx(1 / 15)
    clean = judge_class_pictures(_WorldPictures(ringed=-1), seeds=(0, 1, 2), config=config)
    assert clean["ring_score_max"] < 2.0 and clean["ring_rate"] == 0
