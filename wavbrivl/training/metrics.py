"""Retrieval metrics: recall@1 and mean reciprocal rank in both directions."""

from __future__ import annotations

import torch


def retrieval_metrics(audio: torch.Tensor, image: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
    """R@1 and MRR for audio→image and image→audio (item i matches item i, or any item of the same label)."""
    sims = torch.nn.functional.normalize(audio, dim=-1) @ torch.nn.functional.normalize(image, dim=-1).T
    n = sims.shape[0]
    if labels is None:
        match = torch.eye(n, dtype=torch.bool)
    else:
        match = labels[:, None] == labels[None, :]
    out = {}
    for name, s, m in (("a2i", sims, match), ("i2a", sims.T, match.T)):
        order = s.argsort(dim=1, descending=True)
        hits = torch.gather(m, 1, order)
        first = hits.float().argmax(dim=1)  # rank (0-based) of the first correct item
        out[f"{name}_r1"] = float((first == 0).float().mean())
        out[f"{name}_mrr"] = float((1.0 / (first.float() + 1)).mean())
    return out
