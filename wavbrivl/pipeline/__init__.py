"""WavBriVLPipeline: one object to embed sounds and images, rank, generate, and compare volumes.

The class lives in core.py, composed of one part per role: loading.py (presets, save_pretrained, the Hub),
embedding.py (sounds, images, ranking), text.py (text tower features) and generation.py (VQGAN images).
"""

from wavbrivl.generation import GenerationConfig, GenerationStep
from wavbrivl.pipeline.common import COMPONENT_DIRS as COMPONENT_DIRS
from wavbrivl.pipeline.common import DECODER_DIR as DECODER_DIR
from wavbrivl.pipeline.common import FORMAT as FORMAT
from wavbrivl.pipeline.common import INDEX_NAME as INDEX_NAME
from wavbrivl.pipeline.common import TEXT_DIR as TEXT_DIR
from wavbrivl.pipeline.common import AudioEmbeddings
from wavbrivl.pipeline.common import default_device as default_device
from wavbrivl.pipeline.core import WavBriVLPipeline

__all__ = ["AudioEmbeddings", "GenerationConfig", "GenerationStep", "WavBriVLPipeline"]
