"""One retrieval-metric module: training logs and evaluation reports rank ties the same way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavbrivl.metrics import ranks_of_first_match, ranks_of_truth, recall_at_k, retrieval_metrics


def test_ties_count_against_the_truth_in_training_and_evaluation_alike():
    same = torch.ones(4, 3)  # every audio embedding equals every image embedding: all scores tie
    logged = retrieval_metrics(same, same)
    reported = recall_at_k((same @ same.T).numpy(), ks=(1,))
    assert logged["a2i_r1"] == reported["R@1"] == 0.0
    assert logged["a2i_mrr"] == pytest.approx(1 / 4)  # the truth ranks behind the three it ties with


def test_training_metrics_equal_the_evaluation_metrics_on_the_same_scores():
    gen = torch.Generator().manual_seed(0)
    audio, image = torch.randn(12, 8, generator=gen), torch.randn(12, 8, generator=gen)
    image[:6] = audio[:6] + 0.1 * image[:6]  # half the pairs are close
    logged = retrieval_metrics(audio, image)
    sims = (torch.nn.functional.normalize(audio, dim=-1) @ torch.nn.functional.normalize(image, dim=-1).T).numpy()
    assert logged["a2i_r1"] == recall_at_k(sims, ks=(1,))["R@1"]
    assert logged["i2a_mrr"] == pytest.approx(float(np.mean(1.0 / ranks_of_truth(sims.T))))
    assert 0.4 <= logged["a2i_r1"] <= 0.8


def test_label_matches_rank_the_best_matching_item():
    scores = np.array([[0.9, 0.5, 0.7], [0.2, 0.3, 0.3]])
    match = np.array([[False, True, True], [True, False, False]])
    assert ranks_of_first_match(scores, match).tolist() == [2, 3]  # row 1: both wrong columns score higher
    labels = torch.tensor([0, 0, 1])
    emb = torch.eye(3)
    assert retrieval_metrics(emb, emb, labels)["a2i_r1"] == 1.0
    with pytest.raises(ValueError, match="at least one matching"):
        ranks_of_first_match(scores, np.zeros_like(match))
