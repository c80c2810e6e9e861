"""Benchmark-only metrics: accuracy, SED F1 (sed_eval), caption scores; retrieval metrics are in wavbrivl.metrics."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def accuracy(scores: np.ndarray, labels: Sequence[int]) -> float:
    """Share of rows whose best-scoring class is the label."""
    return float(np.mean(np.asarray(scores).argmax(1) == np.asarray(labels)))


def sed_f1(
    reference: Sequence[dict], estimated: Sequence[dict], classes: Sequence[str], resolution: float = 1.0
) -> dict[str, float]:
    """Segment-based F1 (micro and class-wise macro) from sed_eval; events are dicts with
    filename, event_label, onset, offset."""
    import dcase_util
    import sed_eval

    metrics = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=list(classes), time_resolution=resolution)
    ref = dcase_util.containers.MetaDataContainer(list(reference))
    est = dcase_util.containers.MetaDataContainer(list(estimated))
    for filename in sorted({e["filename"] for e in reference} | {e["filename"] for e in estimated}):
        metrics.evaluate(
            reference_event_list=ref.filter(filename=filename), estimated_event_list=est.filter(filename=filename)
        )
    overall = metrics.results_overall_metrics()["f_measure"]
    classwise = metrics.results_class_wise_average_metrics()["f_measure"]
    return {
        "f1": float(overall["f_measure"]),
        "precision": float(overall["precision"]),
        "recall": float(overall["recall"]),
        "f1_macro": float(classwise["f_measure"]),
    }


def caption_scores(references: dict[str, list[str]], candidates: dict[str, str]) -> dict[str, float]:
    """BLEU-1..4, ROUGE-L and CIDEr (pycocoevalcap) of one candidate caption per clip against its references."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {k: [_tokens(c) for c in v] for k, v in references.items()}
    res = {k: [_tokens(candidates[k])] for k in references}
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its internals
        bleu, _ = Bleu(4).compute_score(gts, res)
        rouge, _ = Rouge().compute_score(gts, res)
        cider, _ = Cider().compute_score(gts, res)
    out = {f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)}
    out.update({"ROUGE-L": float(rouge), "CIDEr": float(cider)})
    return out


def _tokens(text: str) -> str:
    """Lower-case words without punctuation, space-joined (what the COCO tokenizer leaves)."""
    kept = "".join(ch if ch.isalnum() or ch.isspace() or ch == "'" else " " for ch in text.lower())
    return " ".join(kept.split())
