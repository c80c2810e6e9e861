"""Image generation from sound: VQGAN latents optimised against the frozen image tower."""

from wavbrivl.generation.config import GenerationConfig, GenerationStep, resolve_seed
from wavbrivl.generation.cutouts import MakeCutouts
from wavbrivl.generation.loss import spherical_distance_sq
from wavbrivl.generation.optimize import generate_images
from wavbrivl.generation.prompts import Prompt, parse_prompts

__all__ = [
    "resolve_seed",
    "GenerationConfig",
    "GenerationStep",
    "MakeCutouts",
    "Prompt",
    "generate_images",
    "parse_prompts",
    "spherical_distance_sq",
]
