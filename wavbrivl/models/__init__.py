"""The towers and the generator; one module per paper concept."""

from wavbrivl.models.audio_tower import WavBriVLAudioTower
from wavbrivl.models.brivl_image import BriVLImageTower
from wavbrivl.models.brivl_text import BriVLTextTower
from wavbrivl.models.clip_image import CLIPImageTower
from wavbrivl.models.clip_text import CLIPTextTower
from wavbrivl.models.decoder import EmbeddingDecoder
from wavbrivl.models.image_tower import ImageTower
from wavbrivl.models.text_tower import TextTower
from wavbrivl.models.vqgan import VQGAN

__all__ = [
    "VQGAN",
    "BriVLImageTower",
    "BriVLTextTower",
    "CLIPImageTower",
    "CLIPTextTower",
    "EmbeddingDecoder",
    "ImageTower",
    "TextTower",
    "WavBriVLAudioTower",
]
