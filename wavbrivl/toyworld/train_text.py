"""Train the toy text tower (BriVL architecture, tiny BERT) against the frozen toy image tower."""

from __future__ import annotations

import string
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from wavbrivl.configs import BriVLTextConfig
from wavbrivl.loading.presets import model_size
from wavbrivl.models import BriVLTextTower, ImageTower
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.world import CLASSES, SIZE_RANGE, ToyExample

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SIZE_WORDS = {0: ["small", "tiny", "quiet", "soft"], 1: ["medium", "moderate"], 2: ["large", "big", "loud"]}
TEMPLATES = [
    "{name}",
    "a {name}",
    "a {size} {name}",
    "the {size} {name}",
    "a picture of a {name}",
    "a picture of a {size} {name}",
    "a drawing of a {name}",
    "the sound of a {name}",
    "the sound of a {size} {name}",
    "something like a {name}",
    "a {name} is playing",
    "a {name} shape",
]
TOY_BERT = model_size("toy")["text"]["bert"]


def toy_vocabulary() -> list[str]:
    """Special tokens, the toy world's words, then single letters and '##' pieces so any word tokenises."""
    words = {w for t in TEMPLATES for w in t.replace("{name}", "").replace("{size}", "").split()}
    words |= {w for c in CLASSES for w in c.name.split()} | {w for ws in SIZE_WORDS.values() for w in ws}
    chars = list(string.ascii_lowercase + string.digits)
    return SPECIALS + sorted(words) + [c for c in chars if c not in words] + ["##" + c for c in chars]


def make_toy_tokenizer(folder: str | Path | None = None):
    """A WordPiece BERT tokenizer (transformers) over toy_vocabulary(), saved to folder when given."""
    from transformers import BertTokenizer

    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(toy_vocabulary())}, do_lower_case=True)
    if folder is not None:
        tokenizer.save_pretrained(str(folder))
    return tokenizer


def toy_text_tower(embed_dim: int, seed: int = 0) -> BriVLTextTower:
    """An untrained tiny BriVL text tower with the toy tokenizer attached."""
    torch.manual_seed(seed)
    tokenizer = make_toy_tokenizer()
    config = BriVLTextConfig(
        bert={**TOY_BERT, "vocab_size": len(tokenizer)},
        tokenizer="toyworld",
        max_length=16,
        num_layers=2,
        num_heads=4,
        ffn_dim=128,
        embed_dim=embed_dim,
        dropout=0.0,
    )
    tower = BriVLTextTower(config)
    tower.tokenizer = tokenizer
    return tower


def size_bin(size: float) -> int:
    """0 small, 1 medium, 2 large: thirds of the world's size range."""
    lo, hi = SIZE_RANGE
    return min(int(3 * (size - lo) / (hi - lo)), 2)


def caption(label: int, size: float, rng: np.random.Generator) -> tuple[str, bool]:
    """A random caption of an example, and whether it names the size."""
    template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    words = SIZE_WORDS[size_bin(size)]
    text = template.format(name=CLASSES[label].name, size=words[int(rng.integers(len(words)))])
    return text, "{size}" in template


def train_text_tower(
    image_tower: ImageTower,
    examples: list[ToyExample],
    steps: int = 300,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> BriVLTextTower:
    """Fit captions to the frozen image embeddings (soft-target InfoNCE: every matching picture is a positive)."""
    with torch.no_grad():
        images = torch.cat(
            [
                image_tower.encode_pixels(torch.stack(pil_to_tensor([e.image for e in examples[i : i + 128]])))
                for i in range(0, len(examples), 128)
            ]
        )
    labels = torch.tensor([e.label for e in examples])
    bins = torch.tensor([size_bin(e.size) for e in examples])
    tower = toy_text_tower(image_tower.embed_dim, seed).train()
    log_scale = torch.nn.Parameter(torch.tensor(np.log(20.0), dtype=torch.float32))
    optimizer = torch.optim.AdamW([*tower.parameters(), log_scale], lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(len(examples), size=batch))
        texts, sized = zip(*(caption(int(labels[i]), examples[i].size, rng) for i in idx))
        match = labels[idx][:, None] == labels[idx][None, :]
        same_bin = bins[idx][:, None] == bins[idx][None, :]
        match &= same_bin | ~torch.tensor(sized)[:, None]
        targets = match.float() / match.float().sum(-1, keepdim=True)
        text = tower.encode_text(list(texts))
        logits = log_scale.exp().clamp(max=100) * text @ images[idx].T
        loss = torch.sum(-targets * F.log_softmax(logits, -1), -1).mean()
        loss = loss + (1 - (text * images[idx]).sum(-1)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress:
            progress(step, float(loss.detach()))
    return tower.eval()
