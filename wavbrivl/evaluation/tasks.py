"""The six benchmark tasks of the paper's Table 2, each a function of (pipeline, dataset, config) -> metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from wavbrivl.errors import WeightsError
from wavbrivl.evaluation.datasets import (
    ClipItem,
    DatasetError,
    EvalDataset,
    read_clotho,
    read_clotho_captions,
    read_desed,
    read_esc50,
    read_us8k,
    read_vggsound,
)
from wavbrivl.evaluation.embed import Embedder, Progress, is_video
from wavbrivl.evaluation.metrics import accuracy, caption_scores, sed_f1
from wavbrivl.evaluation.probe import ProbeConfig, train_probe
from wavbrivl.metrics import map_at_k, mean_average_precision, mean_reciprocal_rank, recall_at_k

TASKS = ("esc50", "us8k", "vggsound", "desed", "vggsound-cmr", "clotho")
CLIP_SECONDS = {"esc50": 5.0, "us8k": 4.0, "vggsound": 10.0, "desed": 10.0, "vggsound-cmr": 10.0, "clotho": 30.0}
ZERO_SHOT_TEMPLATES = ("{}", "the sound of {}", "a photo of {}")


@dataclass
class EvalConfig:
    """One evaluation run: which task, where its data and cache are, and the protocol's knobs."""

    task: str
    root: str
    cache: str = "eval-cache"
    csv: str | None = None  # VGGSound: its csv if not root/vggsound.csv
    split: str | None = None  # DESED / Clotho split (default validation / evaluation)
    seconds: float | None = None  # audio per clip (default: the dataset's clip length)
    window: float = 1.0  # DESED: window length = sed_eval segment length, seconds
    threshold: float = 0.5  # DESED: probability above which a class is active in a window
    sed_folds: int = 5  # DESED: file-level cross-validation folds (the validation set has no official folds)
    zero_shot: bool = True
    templates: tuple[str, ...] = ZERO_SHOT_TEMPLATES
    class_names: str | None = None  # zero-shot wording per class: JSON {label: words} or one line per class
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    limit: int | None = None  # use only the first N clips (smoke runs)


def load_dataset(config: EvalConfig) -> EvalDataset:
    """Read the task's dataset from its official layout (VGGSound tasks share one reader)."""
    root = config.root
    if config.task in ("esc50", "us8k"):
        dataset = (read_esc50 if config.task == "esc50" else read_us8k)(root)
    elif config.task in ("vggsound", "vggsound-cmr"):
        dataset = read_vggsound(root, config.csv)
    elif config.task == "desed":
        dataset = read_desed(root, config.split or "validation")
    elif config.task == "clotho":
        dataset = read_clotho(root, config.split or "evaluation")
    else:
        raise DatasetError(f"unknown task {config.task!r}; choose one of {', '.join(TASKS)}")
    if config.limit:
        dataset.items = dataset.items[: config.limit]
    return dataset


def _labels(items: list[ClipItem]) -> np.ndarray:
    return np.array([it.label for it in items])


def prompt_names(classes: list[str], spec: str | None) -> list[str]:
    """The words used for each class in zero-shot prompts: the labels, or a user's wording (e.g. a translation)."""
    if spec is None:
        return classes
    path = Path(spec)
    if not path.is_file():
        raise DatasetError(f"{spec}: no such class-names file (JSON {{label: words}} or one line per class)")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path}: not valid JSON ({err})") from None
        unknown = sorted(set(mapping) - set(classes))
        if unknown:
            raise DatasetError(f"{path}: labels not in the dataset: {unknown[:5]}")
        return [str(mapping.get(c, c)) for c in classes]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != len(classes):
        raise DatasetError(f"{path}: {len(lines)} lines but the dataset has {len(classes)} classes (one per line)")
    return lines


def _zero_shot(pipe, embeddings: np.ndarray, classes: list[str], config: EvalConfig, result: dict, score) -> None:
    """Add zero-shot figures (score(similarities) -> dict) to result, or say why there are none."""
    if not config.zero_shot:
        return
    if pipe.text_tower is None:
        result["zero_shot_skipped"] = pipe.text_unavailable or "the model set has no text tower"
        return
    names = prompt_names(classes, config.class_names)
    result.update(score(pipe.zero_shot(torch.from_numpy(embeddings), names, config.templates).scores.numpy()))


def _need(count: int, least: int, what: str, data: EvalDataset, skipped: int) -> None:
    """Stop with a clear message when too few clips could be used."""
    if count < least:
        raise DatasetError(
            f"{data.root}: {count} {what} could be used ({skipped} unreadable); this task needs at least {least}"
        )


def fold_classification(pipe, data: EvalDataset, config: EvalConfig, embedder: Embedder) -> dict:
    """ESC-50 / UrbanSound8K: MLP probe per official fold (train on the rest), accuracy mean ± std; zero-shot."""
    items, x = embedder.audio(data.items, config.seconds or CLIP_SECONDS[config.task])
    _need(len({it.fold for it in items}), 2, "folds with readable clips", data, len(embedder.skipped))
    y, folds = _labels(items), np.array([it.fold for it in items])
    per_fold = {}
    for fold in sorted(set(folds.tolist())):
        test = folds == fold
        if test.all():
            raise DatasetError(f"{data.root}: only fold {fold} is present; cross-validation needs at least two folds")
        probe = train_probe(x[~test], y[~test], len(data.classes), config.probe)
        per_fold[int(fold)] = accuracy(probe.predict(x[test]), y[test])
    scores = list(per_fold.values())
    result = {"accuracy": float(np.mean(scores)), "accuracy_std": float(np.std(scores)), "per_fold": per_fold}
    _zero_shot(pipe, x, data.classes, config, result, lambda zs: {"zero_shot_accuracy": accuracy(zs, y)})
    result["clips"] = len(items)
    return result


def vggsound_classification(pipe, data: EvalDataset, config: EvalConfig, embedder: Embedder) -> dict:
    """VGGSound: MLP probe on the train split, mAP (and accuracy) on the test split; zero-shot mAP."""
    train_items, test_items = data.split("train"), data.split("test")
    if not train_items or not test_items:
        raise DatasetError(
            f"{data.root}: VGGSound classification needs clips of both splits; found {len(train_items)} train and "
            f"{len(test_items)} test clips with media"
        )
    seconds = config.seconds or CLIP_SECONDS["vggsound"]
    train_items, x_train = embedder.audio(train_items, seconds)
    test_items, x_test = embedder.audio(test_items, seconds)
    _need(min(len(train_items), len(test_items)), 1, "clips of the smaller split", data, len(embedder.skipped))
    probe = train_probe(x_train, _labels(train_items), len(data.classes), config.probe)
    probs, y = probe.predict(x_test), _labels(test_items)
    result = {"mAP": mean_average_precision(probs, y), "accuracy": accuracy(probs, y)}
    _zero_shot(
        pipe,
        x_test,
        data.classes,
        config,
        result,
        lambda zs: {"zero_shot_mAP": mean_average_precision(zs, y), "zero_shot_accuracy": accuracy(zs, y)},
    )
    result.update(train_clips=len(train_items), test_clips=len(test_items))
    return result


def vggsound_retrieval(pipe, data: EvalDataset, config: EvalConfig, embedder: Embedder) -> dict:
    """VGGSound cross-modal retrieval on the test split: each clip's sound vs its middle frame, MRR both ways."""
    videos = [it for it in data.split("test") if is_video(it.path)]
    if len(videos) < 2:
        raise DatasetError(
            f"{data.root}: cross-modal retrieval needs at least 2 test-split videos, found {len(videos)}"
        )
    items, audio, frames = embedder.audio_and_frames(videos, config.seconds or CLIP_SECONDS["vggsound-cmr"])
    _need(len(items), 2, "test videos", data, len(embedder.skipped))
    scores = audio @ frames.T
    result = {"mrr_a2i": mean_reciprocal_rank(scores), "mrr_i2a": mean_reciprocal_rank(scores.T)}
    result.update({f"a2i_{k}": v for k, v in recall_at_k(scores).items()})
    result.update({f"i2a_{k}": v for k, v in recall_at_k(scores.T).items()})
    result["pairs"] = len(items)
    return result


def _window_targets(item: ClipItem, count: int, classes: int, window: float) -> np.ndarray:
    """(W, C) 0/1: a class is active in a window when its events cover at least a quarter of it."""
    targets = np.zeros((count, classes), dtype=np.float32)
    for onset, offset, label in item.events:
        for w in range(count):
            overlap = min(offset, (w + 1) * window) - max(onset, w * window)
            if overlap >= 0.25 * window:
                targets[w, label] = 1.0
    return targets


def _windows_to_events(active: np.ndarray, filename: str, classes: list[str], window: float) -> list[dict]:
    """Runs of consecutive active windows per class as events."""
    events = []
    for c in range(active.shape[1]):
        w = 0
        while w < len(active):
            if active[w, c]:
                end = w
                while end + 1 < len(active) and active[end + 1, c]:
                    end += 1
                events.append(
                    {"filename": filename, "event_label": classes[c], "onset": w * window, "offset": (end + 1) * window}
                )
                w = end + 1
            else:
                w += 1
    return events


def desed_detection(pipe, data: EvalDataset, config: EvalConfig, embedder: Embedder) -> dict:
    """DESED: window embeddings, multi-label MLP probe with file-level k-fold cross-validation, sed_eval F1."""
    per_file = embedder.windows(data.items, config.window, config.seconds or CLIP_SECONDS["desed"])
    items = [it for it in data.items if it.id in per_file]
    if len(items) < config.sed_folds:
        raise DatasetError(
            f"{data.root}: {len(items)} readable clips; DESED evaluation needs at least {config.sed_folds}"
        )
    targets = {it.id: _window_targets(it, len(per_file[it.id]), len(data.classes), config.window) for it in items}
    fold_of = {it.id: n % config.sed_folds for n, it in enumerate(sorted(items, key=lambda it: it.id))}
    estimated: list[dict] = []
    for fold in range(config.sed_folds):
        train = [it.id for it in items if fold_of[it.id] != fold]
        probe = train_probe(
            np.concatenate([per_file[i] for i in train]),
            np.concatenate([targets[i] for i in train]),
            len(data.classes),
            config.probe,
        )
        for it in (it for it in items if fold_of[it.id] == fold):
            active = probe.predict(per_file[it.id]) >= config.threshold
            estimated += _windows_to_events(active, it.path.name, data.classes, config.window)
    reference = [
        {"filename": it.path.name, "event_label": data.classes[label], "onset": onset, "offset": offset}
        for it in items
        for onset, offset, label in it.events
    ]
    result = sed_f1(reference, estimated, data.classes, resolution=config.window)
    result["clips"] = len(items)
    return result


def clotho_captions(pipe, data: EvalDataset, config: EvalConfig, embedder: Embedder) -> dict:
    """Clotho: text↔audio retrieval (R@k, mAP@10) and captioning by retrieving the nearest caption (COCO scores)."""
    if pipe.text_tower is None:
        raise WeightsError(f"the Clotho task needs a text tower; the model set {pipe.preset!r} has none")
    items, audio = embedder.audio(data.items, config.seconds or CLIP_SECONDS["clotho"])
    _need(len(items), 2, "clips", data, len(embedder.skipped))
    captions = [c for it in items for c in it.captions]
    owner = np.array([n for n, it in enumerate(items) for _ in it.captions])
    text = embedder.texts(captions)
    t2a = text @ audio.T
    result = {f"t2a_{k}": v for k, v in recall_at_k(t2a, owner).items()}
    result["t2a_mAP@10"] = map_at_k(t2a, owner, 10)
    a2t, own = t2a.T, owner[None, :] == np.arange(len(items))[:, None]
    own_best = np.where(own, a2t, -np.inf).max(1)
    best_rank = (np.where(own, -np.inf, a2t) >= own_best[:, None]).sum(1) + 1  # ties count against the match
    result.update({f"a2t_R@{k}": float(np.mean(best_rank <= k)) for k in (1, 5, 10)})
    pool, pool_owner = _caption_pool(data, config, captions, owner)
    pool_text = embedder.texts(pool)
    similarity = audio @ pool_text.T
    if pool_owner is not None:  # leave-one-out: a clip may not retrieve its own captions
        similarity[pool_owner[None, :] == np.arange(len(items))[:, None]] = -np.inf
    chosen = {it.id: pool[int(j)] for it, j in zip(items, similarity.argmax(1))}
    result.update(caption_scores({it.id: it.captions for it in items}, chosen))
    result["caption_pool"] = "development split" if pool_owner is None else "other evaluation clips (leave-one-out)"
    result["clips"] = len(items)
    return result


def _caption_pool(data: EvalDataset, config: EvalConfig, captions: list[str], owner: np.ndarray):
    """Candidate captions: the development split's csv when it lies beside the evaluated split, else the
    evaluated split's own captions (then each clip may not pick its own)."""
    if (config.split or "evaluation") != "development" and (data.root / "clotho_captions_development.csv").is_file():
        return read_clotho_captions(data.root, "development"), None
    return captions, owner


RUNNERS: dict[str, Callable[..., dict]] = {
    "esc50": fold_classification,
    "us8k": fold_classification,
    "vggsound": vggsound_classification,
    "desed": desed_detection,
    "vggsound-cmr": vggsound_retrieval,
    "clotho": clotho_captions,
}


def run_task(pipe, config: EvalConfig, progress: Progress | None = None) -> dict:
    """Read the dataset, embed (cached), run the protocol; returns metrics plus what was skipped and why."""
    if config.task not in RUNNERS:
        raise DatasetError(f"unknown task {config.task!r}; choose one of {', '.join(TASKS)}")
    data = load_dataset(config)
    dataset_name = "vggsound" if config.task.startswith("vggsound") else config.task
    embedder = Embedder(pipe, Path(config.cache), dataset_name, progress)
    metrics = RUNNERS[config.task](pipe, data, config, embedder)
    return {
        "task": config.task,
        "root": str(data.root),
        "metrics": metrics,
        "missing_media": len(data.missing),
        "unreadable": dict(sorted(embedder.skipped.items())[:20]),
        "unreadable_count": len(embedder.skipped),
    }
