"""Acceptance measurements of a toy-world model set (inference only)."""

from __future__ import annotations

import numpy as np
import torch

from wavbrivl.models.image_tower import pil_to_tensor
from wavbrivl.toyworld.train_vqgan import psnr
from wavbrivl.toyworld.world import BACKGROUND, CLASSES, ToyExample, ToyWorld
from wavbrivl.training.metrics import retrieval_metrics

MID_LEVEL_DB = -17.0
STUDY_VOLUMES_DB = (-12.0, -6.0, 0.0, 6.0, 12.0)


def foreground_fraction(pixels: torch.Tensor, threshold: float = 60 / 255) -> torch.Tensor:
    """Share of pixels that differ clearly from the world's background colour, per image (B, 3, H, W)."""
    background = torch.tensor(BACKGROUND, dtype=pixels.dtype).view(1, 3, 1, 1) / 255
    return ((pixels - background).abs().amax(1) > threshold).float().flatten(1).mean(1)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (no ties expected)."""
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def _embed(tower, examples: list[ToyExample]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat(
            [
                tower.encode_pixels(tower.preprocess([e.image for e in examples[i : i + 64]]))
                for i in range(0, len(examples), 64)
            ]
        )


def evaluate_toyworld(
    pipe, train: list[ToyExample], held_out: list[ToyExample], seed: int = 0, steps: int = 30, size: int = 64
) -> dict[str, float]:
    """Image tower class accuracy / size correlation, VQGAN PSNR, audio→image R@1, generation class and volume."""
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

    audio = pipe.embed_audio([(16000, e.audio) for e in held_out]).embeddings
    retrieval = retrieval_metrics(audio, test_e, labels=test_y)

    world = ToyWorld(seed + 777)
    clips = [(16000, world.example(c, label=c, level_db=MID_LEVEL_DB).audio) for c in range(len(CLASSES))]
    config = pipe.generation_config(steps=steps, size=size, seed=seed)
    final = pipe.generate_final(clips, 0.0, config)
    with torch.no_grad():
        gen_e = tower.encode_pixels(final.pixels.to(pipe.device)).cpu()
    gen_class = (gen_e @ centroids.T).argmax(1)
    generation_accuracy = float((gen_class == torch.arange(len(CLASSES))).float().mean())

    correlations, tower_correlations = [], []
    for clip in clips:
        study = pipe.generate_final(clip, list(STUDY_VOLUMES_DB), config)
        fg = foreground_fraction(study.pixels).numpy()
        correlations.append(spearman(np.array(STUDY_VOLUMES_DB), fg))
        with torch.no_grad():
            e = tower.encode_pixels(study.pixels.to(pipe.device)).cpu()
        readout = (torch.cat([e, torch.ones(len(e), 1)], 1).double() @ weights).squeeze(1).numpy()
        tower_correlations.append(spearman(np.array(STUDY_VOLUMES_DB), readout))
    return {
        "image_class_accuracy": accuracy,
        "image_size_correlation": size_corr,
        "vqgan_psnr_db": psnr_db,
        "audio_to_image_class_r1": retrieval["a2i_r1"],
        "image_to_audio_class_r1": retrieval["i2a_r1"],
        "generation_class_accuracy": generation_accuracy,
        "volume_size_spearman_pixels_mean": float(np.mean(correlations)),
        "volume_size_spearman_pixels_min": float(np.min(correlations)),
        "volume_size_spearman_tower_mean": float(np.mean(tower_correlations)),
    }


def evaluate_text(pipe, held_out: list[ToyExample]) -> dict[str, float]:
    """Text tower: zero-shot audio classification by class names, text→image class R@1, size-word ordering."""
    labels = torch.tensor([e.label for e in held_out])
    names = [c.name for c in CLASSES]
    audio = pipe.embed_audio([(16000, e.audio) for e in held_out]).embeddings
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
