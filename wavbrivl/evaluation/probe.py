"""The paper's downstream protocol: an MLP classifier trained on frozen embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ProbeConfig:
    """MLP probe: one hidden layer, Adam, early stopping on a held-out tenth of the training clips."""

    hidden: int = 512
    dropout: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 200
    batch_size: int = 128
    patience: int = 20
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"  # "auto": the GPU when there is one


def _mlp(dim: int, classes: int, config: ProbeConfig) -> nn.Module:
    return nn.Sequential(
        nn.Linear(dim, config.hidden), nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(config.hidden, classes)
    )


def _loss(logits: torch.Tensor, targets: torch.Tensor, multilabel: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, targets) if multilabel else F.cross_entropy(logits, targets)


class Probe:
    """A trained MLP with standardised inputs; predict() gives class probabilities."""

    def __init__(self, model: nn.Module, mean: torch.Tensor, std: torch.Tensor, multilabel: bool) -> None:
        self.model, self.mean, self.std, self.multilabel = model.eval(), mean, std, multilabel

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, C) probabilities: softmax for single-label, per-class sigmoid for multi-label."""
        x_t = torch.as_tensor(x, dtype=torch.float32, device=self.mean.device)
        logits = self.model((x_t - self.mean) / self.std)
        return (logits.sigmoid() if self.multilabel else logits.softmax(-1)).cpu().numpy()


def train_probe(x: np.ndarray, y: np.ndarray, classes: int, config: ProbeConfig | None = None) -> Probe:
    """Fit on (N, D) embeddings; y is (N,) labels or (N, C) 0/1 targets (multi-label)."""
    config = config or ProbeConfig()
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if config.device == "auto" else config.device)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    x_t = torch.as_tensor(x, dtype=torch.float32, device=device)
    multilabel = np.asarray(y).ndim == 2
    y_t = torch.as_tensor(y, dtype=torch.float32 if multilabel else torch.long, device=device)
    mean, std = x_t.mean(0), x_t.std(0).clamp_min(1e-6)
    x_t = (x_t - mean) / std
    order = torch.randperm(len(x_t), generator=gen).to(device)
    n_val = int(len(x_t) * config.val_fraction) if len(x_t) >= 20 else 0
    val, train = order[:n_val], order[n_val:]
    model = _mlp(x_t.shape[1], classes, config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best, best_state, waited = float("inf"), None, 0
    for _ in range(config.epochs):
        model.train()
        for batch in train[torch.randperm(len(train), generator=gen)].to(device).split(config.batch_size):
            loss = _loss(model(x_t[batch]), y_t[batch], multilabel)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if n_val == 0:
            continue
        model.eval()
        with torch.no_grad():
            val_loss = float(_loss(model(x_t[val]), y_t[val], multilabel))
        if val_loss < best - 1e-4:
            best, best_state, waited = val_loss, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            waited += 1
            if waited >= config.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return Probe(model, mean, std, multilabel)
