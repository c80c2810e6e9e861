"""Candidate starts: each image keeps its best candidate at start_steps, or later while it is still far from its
targets (start_similarity, start_steps_max), and one image's longer candidate phase leaves the others alone."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavbrivl.generation import GenerationConfig, generate_images
from wavbrivl.generation.candidates import Candidates
from wavbrivl.loading.towers import random_components


def test_rows_are_candidate_major_and_an_image_keeps_its_lowest_loss_candidate():
    z = torch.arange(6.0).view(6, 1, 1, 1)  # 3 candidates x 2 images, candidate-major
    candidates = Candidates(z, starts=3, lr=0.1)
    assert torch.equal(candidates.latents(), z) and candidates.pending == [0, 1]
    assert candidates.owner.tolist() == [0, 1, 0, 1, 0, 1]
    loss = torch.tensor([5.0, 1.0, 4.0, 3.0, 0.5, 2.0])
    assert candidates.best_rows(loss).tolist() == [4, 1]
    # image 1 keeps its first candidate (loss 1.0); image 0 keeps all three
    candidates.keep_best([1], candidates.best_rows(loss))
    assert candidates.pending == [0]
    assert candidates.latents().flatten().tolist() == [0.0, 1.0, 2.0, 4.0]
    assert candidates.owner.tolist() == [0, 1, 0, 0]
    candidates.latents().sum().backward()
    assert all(torch.equal(g.grad, torch.ones_like(g)) for g in candidates.groups)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    starts=st.integers(1, 5),
    batch=st.integers(1, 4),
    rounds=st.lists(st.tuples(st.sets(st.integers(0, 3)), st.integers(0, 2**16)), max_size=3),
)
def test_any_order_of_keeping_leaves_each_image_its_lowest_loss_candidate(starts, batch, rounds):
    """Whichever images keep their best, in whatever rounds: rows stay candidate-major, every image keeps one row
    per candidate still held, and what an image keeps is its candidate with the lowest loss that round."""
    z = torch.randn(starts * batch, 2, 1, 1, generator=torch.Generator().manual_seed(0))
    candidates = Candidates(z, starts, lr=0.1)
    held = {i: [z[k * batch + i] for k in range(starts)] for i in range(batch)}
    for images, seed in rounds:
        loss = torch.rand(len(candidates.rows), generator=torch.Generator().manual_seed(seed))
        chosen = sorted(i for i in images if i < batch)
        for i in chosen:
            mine = [row for row, (owner, _) in enumerate(candidates.rows) if owner == i]
            held[i] = [held[i][min(range(len(mine)), key=lambda j: float(loss[mine[j]]))]]
        candidates.keep_best(chosen, candidates.best_rows(loss))
        ranks = [k for _, k in candidates.rows]
        assert ranks == sorted(ranks)  # candidate-major
        assert candidates.pending == [i for i in range(batch) if len(held[i]) > 1]
        latents = candidates.latents()
        for i in range(batch):
            mine = [row for row, (owner, _) in enumerate(candidates.rows) if owner == i]
            assert torch.equal(latents[mine], torch.stack(held[i]))


@pytest.fixture(scope="module")
def parts():
    _, tower, vqgan = random_components(seed=0)
    targets = torch.nn.functional.normalize(
        torch.randn(2, tower.embed_dim, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    config = GenerationConfig(steps=6, size=32, lr=0.3, cutn=2, cut_batch=2, init="blob", starts=3, start_steps=2)
    return vqgan, tower, targets, config


@pytest.mark.parametrize("last", [3, 6])
def test_images_that_never_come_near_keep_their_candidates_until_start_steps_max(parts, last):
    vqgan, tower, targets, config = parts
    held = replace(config, start_similarity=1.0, start_steps_max=last)  # no picture reaches cosine 1
    plain = replace(config, start_steps=last)
    for a, b in zip(generate_images(vqgan, tower, targets, held), generate_images(vqgan, tower, targets, plain)):
        assert torch.allclose(a.pixels, b.pixels, atol=1e-5), a.step


def test_one_far_image_keeps_its_candidates_and_the_near_one_is_unchanged(parts):
    vqgan, tower, targets, config = parts
    base = list(generate_images(vqgan, tower, targets, config))
    near, far = sorted(range(2), key=lambda i: -base[config.start_steps - 1].similarity[i])
    between = sum(base[config.start_steps - 1].similarity) / 2
    held = list(generate_images(vqgan, tower, targets, replace(config, start_similarity=between, start_steps_max=6)))
    assert [s.pixels.shape[0] for s in held] == [2] * 7  # one picture per image at every step
    for a, b in zip(base, held):
        assert torch.allclose(a.pixels[near], b.pixels[near], atol=1e-5), a.step
    assert not torch.allclose(base[-1].pixels[far], held[-1].pixels[far], atol=1e-3)
