"""The pixel judge that grades toy-world generations: calibrated on clean pictures and on look-alikes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from wavbrivl.toyworld import negatives as hard
from wavbrivl.toyworld.evaluate import grade
from wavbrivl.toyworld.judge import judge, palette
from wavbrivl.toyworld.world import BACKGROUND, CLASSES, ToyWorld


def test_clean_world_pictures_score_near_perfect():
    world = ToyWorld(31)  # any size, any position, pixel noise
    rows = np.array([grade(e.image, e.label) for e in world.examples(0, 160)], dtype=float)
    assert rows[:, 0].mean() == 1.0 and rows[:, 1].mean() == 1.0
    assert rows[:, 2].mean() >= 0.98
    assert rows[:, 3].mean() >= 0.9


@pytest.mark.parametrize("kind", ["blobs", "stripes", "tiles", "pieces"])
def test_look_alikes_in_the_right_colour_fail(kind):
    world, rows = ToyWorld(31), []
    for i in range(96):
        rng, label = np.random.default_rng([5, i]), i % len(CLASSES)
        if kind == "blobs":
            picture = hard._blobs(rng, CLASSES[label].colour, 64)
        elif kind == "stripes":
            picture = hard._stripes(rng, CLASSES[label].colour, 64)
        elif kind == "tiles":
            picture = hard._tiles(rng, world.example(i, label=label, level_db=-6).image)
        else:
            picture = hard._pieces(rng, label, 64)
        rows.append(grade(picture, label))
    rows = np.array(rows, dtype=float)
    assert rows[:, 0].mean() == 1.0  # the colour is right...
    assert rows[:, :3].all(1).mean() <= 0.2  # ...but colour, one object and shape together mostly fail


def test_nothing_drawn_and_object_area():
    blank = Image.new("RGB", (64, 64), BACKGROUND)
    verdict = judge(blank)
    assert verdict.area == 0 and not verdict.one_object and verdict.colour == -1 and verdict.overlap("circle") == 0
    world = ToyWorld(2)
    areas = [judge(world.example(0, label=3, level_db=level).image).object_area for level in (-28, -20, -12, -5)]
    assert areas == sorted(areas) and areas[-1] > 4 * areas[0]
    assert len(palette()) == len({c.colour for c in CLASSES})


def test_world_needs_both_colour_and_shape():
    colours = {c.colour for c in CLASSES}
    shapes = {c.shape for c in CLASSES}
    assert len(colours) < len(CLASSES) and len(shapes) < len(CLASSES)
    for colour in colours:
        assert sum(c.colour == colour for c in CLASSES) >= 2
    for shape in shapes:
        assert sum(c.shape == shape for c in CLASSES) >= 2


def _cnn_right(pictures, labels) -> float:
    from wavbrivl.toyworld.classifier import classify

    return float((classify(pictures) == torch.tensor(labels)).float().mean())


def test_cnn_judge_names_world_pictures_even_blurred():
    import kornia

    from wavbrivl.models.image_tower import pil_to_tensor

    examples = ToyWorld(31).examples(0, 160)  # a world seed the judge never saw
    pixels, labels = torch.stack(pil_to_tensor([e.image for e in examples])), [e.label for e in examples]
    assert _cnn_right(pixels, labels) >= 0.98
    soft = kornia.filters.gaussian_blur2d(pixels, (7, 7), (1.2, 1.2))  # as soft as a generated picture
    assert _cnn_right(soft, labels) >= 0.95


def test_cnn_judge_rejects_look_alikes():
    from wavbrivl.toyworld.classifier import OTHER, classify

    world = ToyWorld(31)
    pictures, labels = zip(*(hard.negative(world, i) for i in range(200)))
    predicted = classify(list(pictures))
    assert float((predicted == torch.tensor(labels)).float().mean()) <= 0.1  # rarely the class it borrows from
    assert float((predicted == OTHER).float().mean()) >= 0.85
