"""Ranking in worked values (issue 31: mutation testing of wavbrivl/ranking.py): the scores, the order (ties keep
the gallery's order), one row's list, the content key of a picture and the embedding cache."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from wavbrivl.ranking import EmbeddingCache, RankResult, image_key, rank_embeddings

AUDIO = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
IMAGES = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])


def test_scores_and_order_in_worked_values():
    result = rank_embeddings(AUDIO, IMAGES)
    torch.testing.assert_close(result.scores, torch.tensor([[0.6, 1.0, 0.0, 0.6], [0.8, 0.0, 1.0, 0.8]]))
    assert result.order.tolist() == [[1, 0, 3, 2], [2, 0, 3, 1]]  # best first; a tie keeps the gallery's order
    assert result.ranked(1) == [(2, 1.0), (0, 0.800000011920929), (3, 0.800000011920929), (1, 0.0)]
    assert result.ranked() == result.ranked(0) and [i for i, _ in result.ranked()] == [1, 0, 3, 2]
    assert all(isinstance(i, int) and isinstance(s, float) for i, s in result.ranked())


def test_ties_keep_the_gallery_order_however_many():
    result = rank_embeddings(torch.ones(1, 3), torch.ones(40, 3))
    assert result.order[0].tolist() == list(range(40))


def test_half_precision_embeddings_are_scored_in_float32():
    result = rank_embeddings(AUDIO.half(), IMAGES.double())
    assert result.scores.dtype == torch.float32 and result.order.tolist() == [[1, 0, 3, 2], [2, 0, 3, 1]]


def test_a_ranked_result_reads_the_order_it_is_given():
    result = RankResult(torch.tensor([[0.1, 0.9, 0.5]]), torch.tensor([[2, 0, 1]]))
    assert result.ranked() == [(2, 0.5), (0, 0.10000000149011612), (1, 0.8999999761581421)]


def test_image_key_is_the_pixels_and_the_size():
    grey = Image.new("L", (3, 2), 7)
    assert image_key(grey) == image_key(grey.convert("RGB"))  # the same pixels in another mode
    assert image_key(Image.new("RGB", (3, 2))) != image_key(Image.new("RGB", (2, 3)))  # same bytes, other size
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[1, 2, 0] = 1
    assert image_key(Image.fromarray(pixels)) != image_key(Image.new("RGB", (3, 2)))
    black = "0ec9b60f9066b286dade8ab8c9a56c4db58a3d3dcea14291d39f0a500260a293"  # sha256(b"1x1" + bytes(3))
    assert image_key(Image.new("RGB", (1, 1))) == black


def test_the_cache_keeps_cpu_float32_copies_up_to_its_size():
    cache = EmbeddingCache(max_items=2)
    stored = cache.put("a", torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True))
    assert stored.dtype == torch.float32 and not stored.requires_grad and stored.device.type == "cpu"
    cache.put("b", torch.zeros(2))
    cache.get("a")  # a is now the most recently used
    cache.put("c", torch.ones(2))
    assert cache.get("b") is None and cache.get("a") is not None and len(cache) == 2
    assert EmbeddingCache().max_items == 50_000
