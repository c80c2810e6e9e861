"""Loading: which weights a request names (sources.py, the only reader of the model variables) and the ModelSet
they make (model_set.py). It never imports the pipeline; the pipeline is built over a ModelSet."""

from wavbrivl.loading.model_set import INDEX_NAME, ModelSet, load_model_set, save_model_set
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
    "argument_choice",
    "load_model_set",
    "load_preset",
    "model_choice",
    "preset_names",
    "save_model_set",
]
