"""The metrics at their edges, in worked values (issue 31: mutation testing of wavbrivl/metrics.py and
wavbrivl/evaluation/metrics.py): a rank of exactly k, the direction of each retrieval, lengths that must not matter,
classes without a positive, several files of events, and the words a caption is scored on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavbrivl.evaluation.metrics import _tokens, accuracy, caption_scores, sed_f1
from wavbrivl.metrics import (
    map_at_k,
    mean_average_precision,
    mean_reciprocal_rank,
    ranks_of_first_match,
    ranks_of_truth,
    recall_at_k,
    retrieval_metrics,
)

# truth on the diagonal at ranks 1, 2, 3 and 4
SCORES = np.array(
    [
        [0.9, 0.1, 0.0, 0.2],
        [0.8, 0.5, 0.1, 0.0],
        [0.3, 0.9, 0.2, 0.1],
        [0.5, 0.6, 0.7, 0.1],
    ]
)


def test_ranks_in_worked_values():
    assert ranks_of_truth(SCORES).tolist() == [1, 2, 3, 4]
    assert ranks_of_truth(SCORES, [3, 0, 1, 2]).tolist() == [2, 1, 1, 1]
    match = np.array([[False, True, False, True]] * 4)  # the best matching column counts
    assert ranks_of_first_match(SCORES, match).tolist() == [2, 2, 1, 2]
    assert ranks_of_first_match(np.array([[1, 1]]), np.array([[True, True]])).tolist() == [1]  # two truths tie: 1


def test_a_match_given_as_numbers_is_read_as_true_and_false():
    match = np.array([[0.0, 1.0, 0.0, 1.0]] * 4)  # a 0/1 float mask, as a label comparison may give
    assert ranks_of_first_match(SCORES, match).tolist() == [2, 2, 1, 2]


def test_recall_and_map_read_the_truth_they_are_given():
    truth = [3, 0, 1, 2]  # ranks 2, 1, 1, 1
    assert recall_at_k(SCORES, truth, ks=(1,)) == {"R@1": 0.75}
    assert map_at_k(SCORES, truth, k=1) == 0.75 and map_at_k(SCORES, truth) == pytest.approx((1 / 2 + 3) / 4)


def test_map_at_k_stops_at_ten_by_default():
    scores = np.zeros((2, 12))
    scores[0, 9:] = [0.5, 0.4, 0.3]  # row 0: its truth (column 11) ranks 12th, behind nine 0.9s, 0.5 and 0.4
    scores[0, :9] = 0.9
    scores[1, :10] = 0.9  # row 1's truth (column 10) ranks 11th too
    scores[1, 10:] = [0.1, 0.0]
    truth = [11, 10]
    assert ranks_of_truth(scores, truth).tolist() == [12, 11]
    assert map_at_k(scores, truth) == 0.0 and map_at_k(scores, truth, k=11) == pytest.approx(1 / 11 / 2)


def test_every_row_needs_a_match():
    match = np.eye(4, dtype=bool)
    match[2, 2] = False  # one row of four without a match
    with pytest.raises(ValueError, match="^every row needs at least one matching column$"):
        ranks_of_first_match(SCORES, match)


def test_recall_at_exactly_k_and_the_default_ks():
    assert recall_at_k(SCORES, ks=(2, 3)) == {"R@2": 0.5, "R@3": 0.75}
    assert recall_at_k(SCORES) == {"R@1": 0.25, "R@5": 1.0, "R@10": 1.0}
    assert mean_reciprocal_rank(SCORES) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)


def test_map_at_k_counts_a_rank_of_exactly_k():
    truth = [0, 1, 2, 3]
    assert map_at_k(SCORES, truth, k=3) == pytest.approx((1 + 1 / 2 + 1 / 3 + 0) / 4)
    assert map_at_k(SCORES, truth, k=4) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    assert map_at_k(SCORES, truth) == map_at_k(SCORES, truth, k=4)  # default k = 10


def test_average_precision_skips_classes_without_a_positive():
    scores = np.array([[0.9, 0.2, 0.5], [0.8, 0.7, 0.1], [0.1, 0.3, 0.4]])
    targets = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]])  # class 2 has no positive: left out, not scored 0
    assert mean_average_precision(scores, targets) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert mean_average_precision(scores, np.array([0, 1, 0])) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    with pytest.raises(ValueError, match="^no class has a positive example$"):
        mean_average_precision(scores, np.zeros((3, 3), dtype=int))


def test_retrieval_in_each_direction_ignores_lengths():
    audio = torch.tensor([[2.0, 0.0], [0.0, 5.0], [3.0, 3.0]])  # lengths differ: only directions count
    image = torch.tensor([[1.0, 0.1], [0.2, 1.0], [10.0, 0.0]])
    out = retrieval_metrics(audio, image)
    # audio -> image ranks: 2 (image 2 points exactly along audio 0), 1, 3 (both other images are nearer audio 2)
    # image -> audio ranks: 1, 1, 2
    assert out == {
        "a2i_r1": pytest.approx(1 / 3),
        "a2i_mrr": pytest.approx((1 / 2 + 1 + 1 / 3) / 3),
        "i2a_r1": pytest.approx(2 / 3),
        "i2a_mrr": pytest.approx((1 + 1 + 1 / 2) / 3),
    }


def test_label_matches_in_each_direction():
    audio = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    image = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, -1.0]])
    labels = torch.tensor([0, 0, 1])
    out = retrieval_metrics(audio, image, labels)
    # a2i: audio 0 and 1 find an image of their label first, audio 2's image (label 1) ranks 3rd
    # i2a: image 0 and 1 find an audio of label 0 first; image 2 (label 1) finds audio 2 behind audio 0
    assert out["a2i_r1"] == pytest.approx(2 / 3) and out["a2i_mrr"] == pytest.approx((1 + 1 + 1 / 3) / 3)
    assert out["i2a_r1"] == pytest.approx(2 / 3) and out["i2a_mrr"] == pytest.approx((1 + 1 + 1 / 2) / 3)


def test_accuracy_in_worked_values():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(scores, [1, 0, 0, 0]) == 0.75 and accuracy(scores.tolist(), (1, 1, 1, 1)) == 0.5


def test_segment_f1_over_several_files_and_classes():
    ref = [
        {"filename": "a.wav", "event_label": "dog", "onset": 0.0, "offset": 2.0},
        {"filename": "b.wav", "event_label": "cat", "onset": 0.0, "offset": 1.0},
    ]
    est = [
        {"filename": "a.wav", "event_label": "dog", "onset": 0.0, "offset": 2.0},
        {"filename": "c.wav", "event_label": "cat", "onset": 0.0, "offset": 1.0},  # a file only the estimate has
    ]
    # segments: dog TP 2; cat FN 1 (b.wav) and FP 1 (c.wav) -> micro P 2/3, R 2/3; class-wise F1 dog 1, cat 0
    out = sed_f1(ref, est, ["dog", "cat"])
    assert out == {
        "f1": pytest.approx(2 / 3),
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
        "f1_macro": pytest.approx(0.5),
    }
    coarse = sed_f1(ref, est, ["dog", "cat"], resolution=2.0)  # 2 s segments: dog is one segment
    assert coarse["precision"] == pytest.approx(1 / 2) and coarse["recall"] == pytest.approx(1 / 2)


def test_caption_scores_in_worked_values():
    refs = {"a": ["a dog barks", "a dog is barking"], "b": ["rain on a roof"]}
    same = caption_scores(refs, {"a": "a dog barks", "b": "Rain, on a roof!"})  # case and punctuation do not count
    assert list(same) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr"]
    assert same["BLEU-1"] == pytest.approx(1.0) and same["ROUGE-L"] == pytest.approx(1.0)
    half = caption_scores({"a": ["red dog"]}, {"a": "red cat"})
    assert half["BLEU-1"] == pytest.approx(0.5) and half["ROUGE-L"] == pytest.approx(0.5)
    assert _tokens("A dog's  Bark, loud!") == "a dog's bark loud" and _tokens("x-y") == "x y"
