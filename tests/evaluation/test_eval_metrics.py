"""Evaluation metrics on hand-computed cases and the resumable embedding cache (fast; the tasks themselves run on
miniature layouts in tests/evaluation/test_evaluation.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavbrivl.data.audio import windows
from wavbrivl.evaluation.cache import EmbeddingStore, model_fingerprint
from wavbrivl.evaluation.datasets import ClipItem
from wavbrivl.evaluation.metrics import accuracy, caption_scores, sed_f1
from wavbrivl.evaluation.tasks import _window_targets, _windows_to_events
from wavbrivl.metrics import map_at_k, mean_average_precision, mean_reciprocal_rank, recall_at_k


# ---------------------------------------------------------------- metrics, by hand
def test_mrr_recall_and_map_at_k_by_hand():
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.5, 0.1], [0.3, 0.9, 0.2]])  # truth on the diagonal: ranks 1, 2, 3
    assert mean_reciprocal_rank(scores) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert recall_at_k(scores, ks=(1, 2)) == {"R@1": pytest.approx(1 / 3), "R@2": pytest.approx(2 / 3)}
    assert map_at_k(scores, [0, 1, 2], k=2) == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert mean_reciprocal_rank(np.array([[0.5, 0.5], [0.0, 1.0]])) == pytest.approx((1 / 2 + 1) / 2)  # ties lose
    assert mean_reciprocal_rank(scores.T, truth=[2, 0, 1]) == pytest.approx((1 / 3 + 1 / 2 + 1 / 3) / 3)


def test_mean_average_precision_by_hand():
    scores = np.array([[0.9, 0.2], [0.8, 0.7], [0.1, 0.3]])
    targets = np.array([[1, 0], [0, 1], [1, 0]])
    # class 0: ranked 0 (hit), 1, 2 (hit) -> AP = (1/1 + 2/3) / 2; class 1: item 1 ranked first -> AP = 1
    assert mean_average_precision(scores, targets) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert mean_average_precision(scores, np.array([0, 1, 0])) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert accuracy(scores, [0, 1, 0]) == pytest.approx(1 / 3)  # row argmaxes 0, 0, 1


def test_segment_f1_by_hand():
    ref = [
        {"filename": "a.wav", "event_label": "dog", "onset": 0.0, "offset": 2.0},
        {"filename": "a.wav", "event_label": "cat", "onset": 3.0, "offset": 4.0},
    ]
    est = [
        {"filename": "a.wav", "event_label": "dog", "onset": 0.0, "offset": 1.0},
        {"filename": "a.wav", "event_label": "cat", "onset": 5.0, "offset": 6.0},
    ]
    # 1 s segments: reference dog{0,1} cat{3}; estimate dog{0} cat{5} -> TP 1, FP 1, FN 2
    out = sed_f1(ref, est, ["dog", "cat"])
    assert out["precision"] == pytest.approx(0.5) and out["recall"] == pytest.approx(1 / 3)
    assert out["f1"] == pytest.approx(0.4)
    assert sed_f1(ref, ref, ["dog", "cat"])["f1"] == pytest.approx(1.0)


def test_caption_scores_reward_the_right_caption():
    refs = {"a": ["a dog barks loudly", "the dog is barking"], "b": ["rain falls on a tin roof", "heavy rain"]}
    right = caption_scores(refs, {"a": "a dog is barking", "b": "rain on a roof"})
    wrong = caption_scores(refs, {"a": "rain on a roof", "b": "a dog is barking"})
    assert right["BLEU-1"] > wrong["BLEU-1"] and right["CIDEr"] > wrong["CIDEr"] and right["ROUGE-L"] > wrong["ROUGE-L"]


def test_windows_labels_and_events():
    parts = windows(np.ones(16000 * 3 + 9000, dtype=np.float32), 1.0)
    assert len(parts) == 4 and all(len(p) == 16000 for p in parts)  # the 0.56 s tail is kept, zero-padded
    item = ClipItem("x", None, events=[(0.5, 2.2, 1), (3.0, 3.1, 0)])  # type: ignore[arg-type]
    targets = _window_targets(item, 4, 2, 1.0)
    assert targets[:, 1].tolist() == [1, 1, 0, 0]  # 0.2 s in window 2 is under a quarter
    assert targets[:, 0].tolist() == [0, 0, 0, 0]
    events = _windows_to_events(np.array([[1, 0], [1, 1], [0, 0], [1, 0]], bool), "f.wav", ["a", "b"], 1.0)
    assert [(e["event_label"], e["onset"], e["offset"]) for e in events] == [("a", 0, 2), ("a", 3, 4), ("b", 1, 2)]


# ---------------------------------------------------------------- cache
def test_store_resumes_after_an_interruption(tmp_path):
    calls: list[list[str]] = []

    def compute(ids):
        calls.append(list(ids))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return np.array([[float(i)] * 4 for i in ids], dtype=np.float32)

    ids = [str(i) for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        EmbeddingStore(tmp_path).fill(ids, compute, chunk=3)
    calls.clear()
    store = EmbeddingStore(tmp_path)  # a new process: two chunks (6 ids) are on disk
    assert len(store) == 6
    out = store.fill(ids, lambda part: np.array([[float(i)] * 4 for i in part], dtype=np.float32), chunk=3)
    assert out[:, 0].tolist() == [float(i) for i in range(10)]
    (tmp_path / "chunk-00000.npz").write_bytes(b"damaged")
    assert len(EmbeddingStore(tmp_path)) == 7  # the damaged chunk is dropped, to be recomputed


def test_fingerprint_follows_the_weights(tiny_pipeline):
    before = model_fingerprint(tiny_pipeline.audio_tower)
    assert before == model_fingerprint(tiny_pipeline.audio_tower)
    with torch.no_grad():
        tiny_pipeline.audio_tower.layer_weights[0] += 1.0
    try:
        assert model_fingerprint(tiny_pipeline.audio_tower) != before
    finally:
        with torch.no_grad():
            tiny_pipeline.audio_tower.layer_weights[0] -= 1.0
