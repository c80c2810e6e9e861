"""The app's constants: limits, labels, default class names, the page's CSS."""

from __future__ import annotations

from wavbrivl.data.audio import MAX_AUDIO_SECONDS
from wavbrivl.generation.checks import SETTINGS
from wavbrivl.generation.registry import REGISTRY

DEFAULT_CLASSES = ["dog", "rain", "siren", "engine"]  # for a set that names no classes of its own
LIMITS = {
    "images": 200,
    "steps": 300,
    "size": 512,
    "cutn": 32,
    "volumes": 6,
    "sample_steps": 100,
    "audio_seconds": MAX_AUDIO_SECONDS,
    "classes": 500,
    "blend_pictures": 16,
    "segments": 32,
}
MAX_LR = SETTINGS["lr"].high
METHOD_LABELS = {name: spec.label for name, spec in REGISTRY.items()}
# Generated pictures are sent at their own size and enlarged by the browser without blur.
APP_CSS = (
    ".pixelated img { image-rendering: pixelated; }\n"
    "#current-step img { width: 100%; height: 100%; object-fit: contain; }  /* the result, large: a 64 px final fills"
    " its box */"
    "\n.large-picture img { width: 100%; height: 100%; object-fit: contain; }  /* Blend's picture at a position */"
)
