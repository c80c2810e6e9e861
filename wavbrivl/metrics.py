"""Retrieval metrics (rank of the truth, R@k, MRR, mAP@k, class mAP), one module for training logs and evaluation.

Tie rule, everywhere: an item scored the same as the truth ranks ahead of it (ties count against the truth). A
scorer that gives every item the same score therefore gets the worst rank, never a lucky first place, and the
R@1 in a training log and in an evaluation report agree on the same scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def ranks_of_first_match(scores: np.ndarray, match: np.ndarray) -> np.ndarray:
    """1-based rank of each row's best-scored matching column: 1 + the non-matching columns scored at least as high."""
    scores, match = np.asarray(scores, dtype=np.float64), np.asarray(match, dtype=bool)
    if not match.any(axis=1).all():
        raise ValueError("every row needs at least one matching column")
    best = np.where(match, scores, -np.inf).max(axis=1)
    return 1 + ((scores >= best[:, None]) & ~match).sum(axis=1)


def ranks_of_truth(scores: np.ndarray, truth: Sequence[int] | None = None) -> np.ndarray:
    """1-based rank of each row's true column (default: the diagonal), ties counting against the truth."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.arange(len(scores)) if truth is None else np.asarray(truth)
    match = np.zeros(scores.shape, dtype=bool)
    match[np.arange(len(scores)), truth] = True
    return ranks_of_first_match(scores, match)


def mean_reciprocal_rank(scores: np.ndarray, truth: Sequence[int] | None = None) -> float:
    """MRR of the true column per row (paired retrieval: row i's match is column i by default)."""
    return float(np.mean(1.0 / ranks_of_truth(scores, truth)))


def recall_at_k(scores: np.ndarray, truth: Sequence[int] | None = None, ks: Sequence[int] = (1, 5, 10)) -> dict:
    """Share of rows whose true column ranks within the top k, for each k."""
    ranks = ranks_of_truth(scores, truth)
    return {f"R@{k}": float(np.mean(ranks <= k)) for k in ks}


def map_at_k(scores: np.ndarray, truth: Sequence[int], k: int = 10) -> float:
    """mAP@k with one relevant item per query (DCASE language-based retrieval): mean of 1/rank if rank <= k."""
    ranks = ranks_of_truth(scores, truth)
    return float(np.mean(np.where(ranks <= k, 1.0 / ranks, 0.0)))


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean over classes (with at least one positive) of average precision; targets (N, C) 0/1 or labels (N,)."""
    from sklearn.metrics import average_precision_score

    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if targets.ndim == 1:
        targets = np.eye(scores.shape[1], dtype=np.int64)[targets]
    present = targets.sum(0) > 0
    if not present.any():
        raise ValueError("no class has a positive example")
    return float(np.mean([average_precision_score(targets[:, c], scores[:, c]) for c in np.flatnonzero(present)]))


def retrieval_metrics(audio: torch.Tensor, image: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
    """R@1 and MRR for audio→image and image→audio (item i matches item i, or any item of the same label)."""
    a = torch.nn.functional.normalize(audio.detach().float(), dim=-1)
    i = torch.nn.functional.normalize(image.detach().float(), dim=-1)
    sims = (a @ i.T).cpu().numpy()
    n = sims.shape[0]
    match = np.eye(n, dtype=bool) if labels is None else (labels[:, None] == labels[None, :]).cpu().numpy()
    out = {}
    for name, s, m in (("a2i", sims, match), ("i2a", sims.T, match.T)):
        ranks = ranks_of_first_match(s, m)
        out[f"{name}_r1"] = float(np.mean(ranks == 1))
        out[f"{name}_mrr"] = float(np.mean(1.0 / ranks))
    return out
