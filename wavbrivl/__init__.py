"""WavBriVL: sound to image through a frozen vision-language embedding space."""

from wavbrivl.data import AudioClip, load_audio, load_image, load_images
from wavbrivl.errors import InputError, WavBriVLError, WeightsError
from wavbrivl.generation import GenerationConfig, GenerationStep
from wavbrivl.pipeline import WavBriVLPipeline
from wavbrivl.version import __version__
from wavbrivl.volume import apply_gain, parse_volume

__all__ = [
    "__version__",
    "AudioClip",
    "GenerationConfig",
    "GenerationStep",
    "InputError",
    "WavBriVLError",
    "WavBriVLPipeline",
    "WeightsError",
    "apply_gain",
    "load_audio",
    "load_image",
    "load_images",
    "parse_volume",
]
