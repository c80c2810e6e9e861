"""The departures from the paper (docs/design.md's table), kept as data: the docs and model cards share it."""

from __future__ import annotations

HEADER = ("topic", "paper / BriVL", "here", "why, and the measured effect")

# (topic, what the paper or BriVL's code says, what this implementation does, why and the measured effect)
DEPARTURES: tuple[tuple[str, str, str, str], ...] = (
    (
        "image backbone",
        "EfficientNet-B7",
        "timm `tf_efficientnet_b5` (`_ns` weights)",
        "the official BriVL-1.0 checkpoint holds B5 (its 908 image keys load strictly)",
    ),
    (
        "embedding size",
        '"512-dimensional"',
        "2048-d (`brivl`), 512-d (`clip`), 64-d (toy)",
        "the frozen image tower's own space: BriVL-1.0 outputs 2048-d",
    ),
    (
        "audio input",
        "waveform turned into a 2-D spectrum for WavLM",
        "raw 16 kHz waveform into WavLM",
        "WavLM's convolutional front end takes the waveform; there is no spectrum input",
    ),
    (
        "loudness",
        "not mentioned",
        (
            "the clip's mean and peak level (dBFS) join WavLM's pooled output in the head (`loudness_features`, on in "
            "every preset)"
        ),
        (
            "WavLM is nearly gain-blind, so without it the volume study cannot work: 0.25× and 4× of one clip embed "
            "differently, and this input carries over 10× more of that difference than WavLM alone "
            "(`tests/models/test_audio_tower.py`); turn it off with `AudioTowerConfig(loudness_features=False)`"
        ),
    ),
    (
        "WavLM training",
        "fine-tuned",
        "frozen by default (`--trainable-layers 0`); top-N layers optional",
        (
            "cheap, and the paper's layer weights + MLP are what it describes learning; frozen layers always run in "
            "eval mode, and dropout / time masking of trainable layers are explicit options (`train_dropout`, "
            "`time_mask_prob`, off by default) so runs resume exactly"
        ),
    ),
    (
        "training frame",
        "one random frame per video",
        "the middle frame by default (`prepare --frame random` for the paper's)",
        "deterministic shards; the same frame every epoch either way",
    ),
    (
        "image augmentation",
        "BriVL's random grayscale + colour jitter",
        "none: each frame is embedded once by the frozen tower",
        "the tower is frozen, so embeddings are precomputed (`embed-frames`)",
    ),
    (
        "boxes",
        "BriVL-1.0 feeds detector boxes",
        "a 6×6 grid + the whole image (37 boxes)",
        "no detector is needed; the paper itself names the detector-free design",
    ),
    (
        "transparent images",
        "not mentioned",
        "alpha blended onto white",
        "a defined look for PNGs with transparency",
    ),
    (
        "contrastive loss",
        "BriVL's MoCo (momentum encoders + queue)",
        "InfoNCE with a learnable temperature and a queue of earlier frame embeddings, both directions",
        ("the image side is frozen, so there is no encoder to keep a momentum copy of; the queue gives the negatives"),
    ),
    (
        "generation",
        "VQGAN guided by the towers, details not given",
        "VQGAN-CLIP's loop (above); the toy set adds a blob start and a total-variation penalty (weight 1)",
        (
            "the paper gives no recipe; VQGAN-CLIP is what Wav2CLIP's demo and the paper's figures resemble; without "
            "the penalty the toy optimisation drew dark specks and rims beside its objects in about half its pictures, "
            'with it in 0-4 % of its class pictures (BENCHMARKS.md, "The optimisation\'s total-variation weight")'
        ),
    ),
    (
        "VQGAN decoder norm",
        "not mentioned (taming's GroupNorm: each picture's own statistics)",
        "the toy set's VQGAN decoder: per-channel statistics measured once (`VQGANConfig.decoder_norm='fixed'`)",
        (
            "per-picture statistics let the decoder steer them with a few extreme pixels, drawn as a dark ring by "
            "every toy picture; fixed, the ring left the decoder's pictures (docs/toy-world.md); real checkpoints "
            "keep GroupNorm"
        ),
    ),
)


def departures_table() -> str:
    """The table as Markdown, row for row as docs/design.md holds it."""
    rows = [HEADER, ("---",) * len(HEADER), *DEPARTURES]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


if __name__ == "__main__":  # `python -m wavbrivl.departures` prints the table for docs/design.md
    print(departures_table())
