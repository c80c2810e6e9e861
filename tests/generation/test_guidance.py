"""VQGAN-CLIP guidance parts: cutouts and their augmentation, ClampWithGrad, total variation, blob start."""

from __future__ import annotations

import pytest
import torch

from wavbrivl.generation.cutouts import AugmentConfig, MakeCutouts
from wavbrivl.generation.optimize import clamp_with_grad, ellipse_mask, total_variation


def test_cutouts_are_seeded_shared_across_the_batch_and_differentiable():
    cuts = MakeCutouts(32, cutn=6, noise=0.05, fill=(0.1, 0.1, 0.1))
    image = torch.rand(1, 3, 48, 48)
    pair = torch.cat([image, image]).requires_grad_(True)
    a = cuts(pair, torch.Generator().manual_seed(3))
    b = cuts(pair, torch.Generator().manual_seed(3))
    c = cuts(pair, torch.Generator().manual_seed(4))
    assert a.shape == (6, 2, 3, 32, 32)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert torch.allclose(a[:, 0], a[:, 1])  # every batch member sees the same views
    a.sum().backward()
    assert pair.grad is not None and pair.grad.abs().sum() > 0


def test_geometric_augmentation_pads_with_the_fill_colour():
    fill = (0.2, 0.3, 0.4)
    plain = torch.tensor(fill).view(1, 3, 1, 1).expand(1, 3, 40, 40)
    no_colour = AugmentConfig(
        degrees=30, translate=0.2, scale=0.2, perspective=0.5, brightness=0, contrast=0, saturation=0
    )
    views = MakeCutouts(40, cutn=8, noise=0.0, augment=no_colour, fill=fill)(plain, torch.Generator().manual_seed(0))
    assert torch.allclose(views, plain.expand_as(views[:, :1]).expand_as(views), atol=1e-5)


def test_cutout_sizes_run_from_the_tower_input_to_the_whole_image():
    cuts = MakeCutouts(16, cutn=1, noise=0.0, augment=AugmentConfig(0, 0, 0, 0, 0, 0, 0, 0, False))
    image = torch.arange(64.0).repeat(64, 1)[None, None].expand(1, 3, 64, 64) / 64
    spans = []
    for seed in range(40):
        view = cuts(image, torch.Generator().manual_seed(seed))[0, 0, 0]
        spans.append(float(view[0, -1] - view[0, 0]) * 64 * 16 / 15)  # columns covered by the crop
    assert min(spans) >= 15 and max(spans) <= 64 and max(spans) - min(spans) > 20


def test_clamp_with_grad_blocks_only_gradients_that_push_further_out():
    x = torch.tensor([-0.5, 0.5, 1.5], requires_grad=True)
    y = clamp_with_grad(x)
    assert y.tolist() == [0.0, 0.5, 1.0]
    y.backward(torch.tensor([1.0, 1.0, 1.0]))  # a descent step moves each value down
    assert x.grad.tolist() == [0.0, 1.0, 1.0]  # below range: blocked; above range: passes (brings it back)
    x.grad = None
    clamp_with_grad(x).backward(torch.tensor([-1.0, -1.0, -1.0]))
    assert x.grad.tolist() == [-1.0, -1.0, 0.0]


def test_total_variation_and_blob_place():
    flat, noisy = torch.zeros(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    assert total_variation(flat).item() == 0 and total_variation(noisy).item() > 0.1
    a = ellipse_mask(8, torch.Generator().manual_seed(0))
    b = ellipse_mask(8, torch.Generator().manual_seed(1))
    assert a.shape == (8, 8) and not torch.equal(a, b)
    assert 0.05 < a.mean() < 0.5 and 0.05 < b.mean() < 0.5  # one blob, not the whole picture


@pytest.mark.slow
def test_hue_starts_keep_one_image_per_target_and_are_seeded():
    from wavbrivl.generation import GenerationConfig, generate_images
    from wavbrivl.loading.towers import random_components

    _, tower, vqgan = random_components(seed=0)
    targets = torch.nn.functional.normalize(
        torch.randn(2, tower.embed_dim, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    config = GenerationConfig(steps=4, size=32, cutn=2, cut_batch=2, init="blob", starts=3, start_steps=2, seed=5)
    first = list(generate_images(vqgan, tower, targets, config))
    again = list(generate_images(vqgan, tower, targets, config))
    assert [s.pixels.shape[0] for s in first] == [2] * 5  # during and after the candidate phase, one image each
    assert torch.equal(first[-1].pixels, again[-1].pixels)
    with pytest.raises(ValueError, match="init"):
        GenerationConfig(init="grey")


def test_the_total_variation_weight_smooths_the_optimised_pictures():
    """The loop adds tv_weight x total variation to each picture's loss: a large weight leaves smoother pictures
    than none from the same start, and the loss it reports includes the penalty."""
    from wavbrivl.generation import GenerationConfig, generate_images
    from wavbrivl.loading.towers import random_components

    _, tower, vqgan = random_components(seed=0)
    targets = torch.nn.functional.normalize(
        torch.randn(2, tower.embed_dim, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    runs = {}
    for weight in (0.0, 50.0):
        config = GenerationConfig(steps=6, size=32, lr=0.3, cutn=2, cut_batch=2, seed=1, tv_weight=weight)
        runs[weight] = list(generate_images(vqgan, tower, targets, config))
    assert torch.equal(runs[0.0][0].pixels, runs[50.0][0].pixels)  # one start: the first step's pictures agree
    smooth, rough = (total_variation(runs[w][-1].pixels) for w in (50.0, 0.0))
    assert (smooth < 0.9 * rough).all(), (smooth, rough)
    first = runs[50.0][0]
    assert all(loss > 50.0 * tv for loss, tv in zip(first.loss, total_variation(first.pixels).tolist()))
