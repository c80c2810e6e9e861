"""The model card written beside a toy-world model set."""

from __future__ import annotations

from pathlib import Path

from wavbrivl.model_card import BASE_TAGS, markdown_table, write_card
from wavbrivl.toyworld.world import CLASSES, LEVEL_RANGE_DB, SIZE_RANGE

# Hub front matter: the set is trained by this MIT-licensed project's code on its own synthetic data
METADATA = {
    "license": "mit",
    "library_name": "wavbrivl",
    "tags": [*BASE_TAGS, "brivl", "vqgan", "image-generation", "toyworld", "synthetic-data"],
}

BARS = {
    "image_class_accuracy": (">=", 0.95),
    "image_size_correlation": (">=", 0.9),
    "vqgan_psnr_db": (">=", 25.0),
    "audio_to_image_class_r1": (">=", 0.9),
    # the decoder (the set's default method)
    "decoder_judge_all_three_rate": (">=", 0.95),
    "decoder_judge_one_object_rate": (">=", 0.95),
    "decoder_judge_shape_iou_mean": (">=", 0.8),
    "decoder_cnn_class_rate": (">=", 0.95),
    "decoder_volume_area_spearman_min_class": (">=", 0.9),
    "decoder_volume_study_class_rate_min_volume": (">=", 0.9),
    "decoder_ring_score_max": ("<", 3.0),  # the droplet check (toyworld/rings.py): no dark ring in any picture
    "decoder_volume_study_ring_score_max": ("<", 3.0),
    # the paper's VQGAN optimisation
    "vqgan_judge_colour_rate": (">=", 0.9),
    "vqgan_judge_one_object_rate": (">=", 0.75),
    "vqgan_judge_all_three_rate": (">=", 0.7),
    "vqgan_volume_area_spearman_min_class": (">=", 0.8),
    "zero_shot_audio_class_accuracy": (">=", 0.8),
    "text_to_image_class_r1": (">=", 0.9),
}


def write_toyworld_card(folder: Path, result: dict) -> Path:
    """README.md: what the set is, how it was built, and its measured metrics against the bars."""
    classes = ", ".join(c.name for c in CLASSES)
    lines = [
        "# WavBriVL toy-world model set (offline default)",
        "",
        "**What it is.** Small models trained by WavBriVL's own code on a *synthetic* audio-visual world, so that",
        "ranking, generation and the volume control work with no downloads. They know nothing about real sounds",
        "or pictures.",
        "",
        f"**The world.** {len(CLASSES)} classes, each a sound paired with a picture: {classes}. The sound's",
        "pitch chooses the shape and its timbre the colour; every colour is shared by two shapes and every shape",
        "by two colours, so a picture is known only by both. A sound's peak level",
        f"({LEVEL_RANGE_DB[0]:g} to {LEVEL_RANGE_DB[1]:g} dBFS) sets the shape's size ({SIZE_RANGE[0]:g} to",
        f"{SIZE_RANGE[1]:g} of the picture side): louder sounds, bigger shapes.",
        "Augmented with random phase, timing, pitch detune, position and pixel noise; deterministic per seed.",
        "",
        "**How it was built** (`wavbrivl toyworld build`): an image tower of the BriVL architecture (timm",
        "`test_efficientnet` backbone, 37 RoI boxes, self-attention, MLP, 64-d) trained to embed class and size,",
        "with hard negatives (scattered blobs, shuffled tiles, stripes and scattered small copies in a class's",
        "colour, pushed to their own prototype) and one-step PGD adversarial training (L-inf 0.05), so its",
        "gradients draw one object of the right shape; a VQGAN from taming-transformers modules (f8: 8 x 8 codes",
        "of 8 px, 512 codes) trained to reconstruct the pictures; clips and",
        "frames written as WebDataset shards, frames embedded once (`embed-frames` path), and the audio tower (a",
        "small WavLM from scratch + layer weights + level input + MLP) trained with `wavbrivl train` (InfoNCE with",
        "a learnable temperature, a queue of 256 earlier frame embeddings, plus a cosine term). A text tower of",
        "BriVL's architecture (tiny BERT with its own WordPiece vocabulary, per-token L2, self-attention, masked",
        "mean, MLP) is trained on template captions ('a large red circle', 'the sound of a blue triangle') against",
        "the frozen image tower (InfoNCE where every matching picture is a positive), for text prompts and",
        "zero-shot classification. A decoder generator (a rectified-flow UNet from diffusers over the VQGAN's",
        "8 x 8 latents, conditioned on an embedding through an MLP, with classifier-free guidance) is trained on",
        "world pictures' quantised latents, each conditioned half the time on its picture's embedding and half on",
        "its paired sound's, so it turns a sound's embedding into a picture in one sampling pass (10 steps).",
        "",
        "## Build",
        "",
    ]
    lines += markdown_table(("stage", "seconds"), [(k, f"{v:.0f}") for k, v in result["timings_s"].items()])
    metrics = result.get("metrics")
    if metrics:
        lines += ["", "## Measured on held-out examples", ""]
        rows = []
        for key, value in metrics.items():
            bar = BARS.get(key)
            met = bar and (value >= bar[1] if bar[0] == ">=" else value < bar[1])
            bar_text = f"{bar[0]} {bar[1]:g} ({'met' if met else 'NOT met'})" if bar else ""
            rows.append((key, f"{value:.3f}", bar_text))
        lines += markdown_table(("metric", "value", "bar"), rows)
        lines += [
            "",
            "Generation metrics, per method (`decoder_*`: one sampling pass of the set's decoder, the default;",
            "`vqgan_*`: the paper's optimisation of VQGAN latents): every class's sound at -17 dBFS, seeds 0-2, at",
            "the set's own settings (the app's), graded by two judges that no tower guided. The pixel judge",
            "(`wavbrivl/toyworld/judge.py`, `judge_*`): the object's median colour against the palette, one object",
            "(the largest connected region holds >= 80 % of the foreground), and the silhouette against the world's",
            "shapes (IoU after cropping to the bounding box); `judge_all_three_rate` is all three right, the class",
            "a person would name. The CNN judge (`wavbrivl/toyworld/classifier.py`, `cnn_class_rate`): a small",
            "classifier trained on a world seed of its own, with blur and noise, that can also answer 'none'. The",
            "volume study generates -12, -6, 0, +6, +12 dB in one batch per class (seed 0), correlates the volume",
            "with the largest object's area (Spearman; the worst class is reported) and reports the class rate at",
            "the worst volume. The droplet check (`wavbrivl/toyworld/rings.py`, `ring_*`): how much darker than",
            "the background a thin annulus of background is than the background around it, at the worst place;",
            "`ring_score_max` is the highest over the pictures, `ring_rate` the share scoring 3 or more (a ring).",
        ]
    return write_card(folder, "\n".join(lines), METADATA)
