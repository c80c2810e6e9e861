"""WavBriVL: sound to image through a frozen vision-language embedding space."""

from wavbrivl.data import AudioClip, load_audio, load_image, load_images
from wavbrivl.errors import InputError, WavBriVLError, WeightsError
from wavbrivl.generation import GenerationConfig, GenerationStep
from wavbrivl.pipeline import WavBriVLPipeline
from wavbrivl.volume import apply_gain, parse_volume

__version__ = "0.1.0"

__all__ = [
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
