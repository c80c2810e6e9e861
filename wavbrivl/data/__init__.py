"""Input readers: audio and images into the forms the towers take."""

from wavbrivl.data.audio import AudioClip, load_audio
from wavbrivl.data.image import load_image, load_images

__all__ = ["AudioClip", "load_audio", "load_image", "load_images"]
