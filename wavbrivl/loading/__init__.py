"""Loading, the one package for it: which weights a request names and the ModelSet they make.

- components.py: the model settings, declared once (flags, variables, preset keys, folder names);
- sources.py: which weights a request names (the only reader of the model variables);
- presets.py: presets and model sizes as JSON data;
- hub.py: Hub ids to local files, fetching only what a loader reads; uploads;
- folders.py: the project's own component folders (config.json + model.safetensors);
- official.py: official checkpoint files (BriVL-1.0 .pth, taming VQGAN .ckpt), read without running code;
- towers.py: each component from what names it; provenance.py: where it came from;
- model_set.py: the ModelSet a choice makes, and the saved-set format.

It never imports the pipeline or training; the pipeline is built over a ModelSet.
"""

from wavbrivl.loading.model_set import INDEX_NAME, ModelSet, load_model_set, save_model_set
from wavbrivl.loading.provenance import Provenance
from wavbrivl.loading.sources import (
    OFFLINE_PRESET,
    TINY_PRESET,
    TOYWORLD_DIR,
    ModelChoice,
    argument_choice,
    load_preset,
    model_choice,
    preset_names,
)

__all__ = [
    "INDEX_NAME",
    "OFFLINE_PRESET",
    "TINY_PRESET",
    "TOYWORLD_DIR",
    "ModelChoice",
    "ModelSet",
    "Provenance",
    "argument_choice",
    "load_model_set",
    "load_preset",
    "model_choice",
    "preset_names",
    "save_model_set",
]
