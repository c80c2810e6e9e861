"""Acceptance measurements of a toy-world model set (inference only)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from scipy import stats

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.generation import GenerationConfig
from wavbrivl.metrics import retrieval_metrics
from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.classifier import classify
from wavbrivl.toyworld.judge import class_colour_index, judge
from wavbrivl.toyworld.rings import RING_THRESHOLD, ring_score
from wavbrivl.toyworld.train_vqgan import psnr
from wavbrivl.toyworld.world import CLASSES, ToyExample, ToyWorld

MID_LEVEL_DB = -17.0
STUDY_VOLUMES_DB = (-12.0, -6.0, 0.0, 6.0, 12.0)
GENERATION_SEEDS = (0, 1, 2)
JUDGE_WORLD = 777  # the world seed whose sounds generations are judged on (evaluate_toyworld: seed + JUDGE_WORLD)
VOLUME_STUDY_SEEDS = (0,)  # one volume study per class (five pictures each): the study is the costly part


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (ties share their mean rank); 0 when either side is constant."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:  # scipy would warn and give nan
        return 0.0
    rho = stats.spearmanr(x, y).statistic
    return 0.0 if np.isnan(rho) else float(rho)


def _embed(tower, examples: list[ToyExample]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat(
            [
                tower.encode_pixels(tower.preprocess([e.image for e in examples[i : i + 64]]))
                for i in range(0, len(examples), 64)
            ]
        )


def evaluate_toyworld(
    pipe,
    train: list[ToyExample],
    held_out: list[ToyExample],
    seed: int = 0,
    config: GenerationConfig | None = None,
    methods: tuple[str, ...] | None = None,
) -> dict[str, float]:
    """Image tower class accuracy / size correlation, VQGAN PSNR, audio→image R@1, and the judged generations of
    each method (every method the set has unless methods names some; judged from the world seed seed + JUDGE_WORLD)."""
    tower = pipe.image_tower
    train_e, test_e = _embed(tower, train), _embed(tower, held_out)
    train_y = torch.tensor([e.label for e in train])
    test_y = torch.tensor([e.label for e in held_out])
    centroids = torch.nn.functional.normalize(
        torch.stack([train_e[train_y == c].mean(0) for c in range(len(CLASSES))]), dim=-1
    )
    accuracy = float(((test_e @ centroids.T).argmax(1) == test_y).float().mean())
    design = torch.cat([train_e, torch.ones(len(train_e), 1)], 1).double()
    sizes = torch.tensor([e.size for e in train], dtype=torch.float64)
    weights = torch.linalg.lstsq(design, sizes[:, None]).solution
    predicted = (torch.cat([test_e, torch.ones(len(test_e), 1)], 1).double() @ weights).squeeze(1)
    size_corr = float(np.corrcoef(predicted.numpy(), [e.size for e in held_out])[0, 1])

    pixels = torch.stack(pil_to_tensor([e.image for e in held_out]))
    with torch.no_grad():
        recon = torch.cat(
            [(pipe.vqgan(pixels[i : i + 32].to(pipe.device) * 2 - 1).cpu() + 1) / 2 for i in range(0, len(pixels), 32)]
        ).clamp(0, 1)
    psnr_db = float(psnr(recon, pixels).mean())

    audio = pipe.embed_audio([(SAMPLE_RATE, e.audio) for e in held_out]).embeddings
    retrieval = retrieval_metrics(audio, test_e, labels=test_y)
    metrics = {
        "image_class_accuracy": accuracy,
        "image_size_correlation": size_corr,
        "vqgan_psnr_db": psnr_db,
        "audio_to_image_class_r1": retrieval["a2i_r1"],
        "image_to_audio_class_r1": retrieval["i2a_r1"],
    }
    for method in pipe.methods() if methods is None else methods:  # each graded by both judges
        run = replace(config, method=method) if config else pipe.generation_config(method=method)
        metrics.update({f"{method}_{k}": v for k, v in judge_generations(pipe, seed + JUDGE_WORLD, config=run).items()})
    return metrics


def class_sounds(world_seed: int, level_db: float = MID_LEVEL_DB) -> list[tuple[int, np.ndarray]]:
    """One sound per class at level_db, from a world the build never saw."""
    world = ToyWorld(world_seed)
    return [(SAMPLE_RATE, world.example(c, label=c, level_db=level_db).audio) for c in range(len(CLASSES))]


def judge_generations(
    pipe,
    world_seed: int = JUDGE_WORLD,
    seeds: tuple[int, ...] = GENERATION_SEEDS,
    config: GenerationConfig | None = None,
    study_seeds: tuple[int, ...] = VOLUME_STUDY_SEEDS,
) -> dict[str, float]:
    """Generate from every class's sound with every seed (the model set's defaults unless config is given) and
    grade the pictures with the pixel judge, which no tower guides: colour, one object, shape, and the volume
    study's Spearman(volume, object area) per class."""
    return {
        **judge_class_pictures(pipe, world_seed, seeds, config),
        **judge_volume_study(pipe, world_seed, study_seeds, config),
    }


def judge_class_pictures(
    pipe,
    world_seed: int = JUDGE_WORLD,
    seeds: tuple[int, ...] = GENERATION_SEEDS,
    config: GenerationConfig | None = None,
) -> dict[str, float]:
    """One picture per class's sound (one batch) for every seed, graded by the pixel judge and the CNN judge."""
    config = config or pipe.generation_config()
    clips = class_sounds(world_seed)
    rows: list[tuple[bool, bool, bool, float]] = []
    cnn_right, rings = [], []
    for seed in seeds:
        final = pipe.generate_final(clips, 0.0, replace(config, seed=seed))
        rows += [grade(picture, label) for label, picture in enumerate(final.pixels)]
        cnn_right += (classify(final.pixels) == torch.arange(len(clips))).tolist()
        rings += [ring_score(picture) for picture in final.pixels]
    table = np.array(rows, dtype=float)
    return {
        "judge_colour_rate": float(table[:, 0].mean()),
        "judge_one_object_rate": float(table[:, 1].mean()),
        "judge_shape_rate": float(table[:, 2].mean()),
        "judge_shape_iou_mean": float(table[:, 3].mean()),
        "judge_all_three_rate": float(table[:, :3].all(1).mean()),
        "cnn_class_rate": float(np.mean(cnn_right)),
        "ring_score_max": float(max(rings)),
        "ring_rate": float(np.mean(np.array(rings) >= RING_THRESHOLD)),
    }


def judge_volume_study(
    pipe,
    world_seed: int = JUDGE_WORLD,
    study_seeds: tuple[int, ...] = VOLUME_STUDY_SEEDS,
    config: GenerationConfig | None = None,
    classes: tuple[int, ...] | None = None,
) -> dict[str, float]:
    """The volume study (one class's sound at every STUDY_VOLUMES_DB, one call) for each class (all unless
    classes names some) and seed: Spearman(volume, object area) per class, the class right per volume."""
    config = config or pipe.generation_config()
    clips = class_sounds(world_seed)
    labels = tuple(range(len(clips))) if classes is None else tuple(classes)
    rho = np.zeros((len(study_seeds), len(labels)))
    study_right = np.zeros((len(study_seeds), len(labels), len(STUDY_VOLUMES_DB)))
    study_cnn = np.zeros_like(study_right)
    rings = []
    for s, seed in enumerate(study_seeds):
        for row, label in enumerate(labels):
            study = pipe.generate_final(clips[label], list(STUDY_VOLUMES_DB), replace(config, seed=seed))
            areas = [judge(p).object_area for p in study.pixels]
            rho[s, row] = spearman(np.array(STUDY_VOLUMES_DB), np.array(areas))
            study_right[s, row] = [all(grade(p, label)[:3]) for p in study.pixels]
            study_cnn[s, row] = (classify(study.pixels) == label).numpy()
            rings += [ring_score(p) for p in study.pixels]
    per_class = rho.mean(0)
    per_volume = study_right.mean((0, 1))
    return {
        "volume_area_spearman_min_class": float(per_class.min()),
        "volume_area_spearman_mean": float(per_class.mean()),
        "volume_study_class_rate_min_volume": float(per_volume.min()),
        "volume_study_cnn_class_rate_min_volume": float(study_cnn.mean((0, 1)).min()),
        "volume_study_ring_score_max": float(max(rings)),
        "volume_study_ring_rate": float(np.mean(np.array(rings) >= RING_THRESHOLD)),
        **{f"volume_study_class_rate_{v:+g}dB": float(r) for v, r in zip(STUDY_VOLUMES_DB, per_volume)},
    }


def grade(picture, label: int) -> tuple[bool, bool, bool, float]:
    """(colour right, one object, shape right, silhouette IoU with the class's shape) of one picture."""
    verdict, shape = judge(picture), CLASSES[label].shape
    return (
        verdict.colour == class_colour_index(label),
        verdict.one_object,
        verdict.shape == shape,
        verdict.overlap(shape),
    )


def evaluate_text(pipe, held_out: list[ToyExample]) -> dict[str, float]:
    """Text tower: zero-shot audio classification by class names, text→image class R@1, size-word ordering."""
    labels = torch.tensor([e.label for e in held_out])
    names = [c.name for c in CLASSES]
    audio = pipe.embed_audio([(SAMPLE_RATE, e.audio) for e in held_out]).embeddings
    zero_shot = float((torch.tensor(pipe.zero_shot(audio, names).predictions) == labels).float().mean())
    images = _embed(pipe.image_tower, held_out)
    best = pipe.rank_text(names, images).order[:, 0]
    text_r1 = float((labels[best] == torch.arange(len(names))).float().mean())
    small = pipe.embed_text([f"a small {n}" for n in names])
    large = pipe.embed_text([f"a large {n}" for n in names])
    preference = ((images @ large.T) - (images @ small.T))[torch.arange(len(held_out)), labels]
    size_rho = spearman(preference.numpy(), np.array([e.size for e in held_out]))
    return {
        "zero_shot_audio_class_accuracy": zero_shot,
        "text_to_image_class_r1": text_r1,
        "size_word_spearman": size_rho,
    }
