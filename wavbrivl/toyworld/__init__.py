"""A synthetic audio-visual world with known structure, and the offline default model set built on it."""

from wavbrivl.toyworld.world import CLASSES, ToyExample, ToyWorld

__all__ = ["CLASSES", "ToyExample", "ToyWorld"]
