"""WavBriVLPipeline: one object to embed sounds and images, rank, generate, and compare volumes."""

from wavbrivl.pipeline.core import COMPONENT_DIRS as COMPONENT_DIRS
from wavbrivl.pipeline.core import FORMAT as FORMAT
from wavbrivl.pipeline.core import INDEX_NAME as INDEX_NAME
from wavbrivl.pipeline.core import TEXT_DIR as TEXT_DIR
from wavbrivl.pipeline.core import AudioEmbeddings, GenerationConfig, GenerationStep, WavBriVLPipeline
from wavbrivl.pipeline.core import default_device as default_device

__all__ = ["AudioEmbeddings", "GenerationConfig", "GenerationStep", "WavBriVLPipeline"]
