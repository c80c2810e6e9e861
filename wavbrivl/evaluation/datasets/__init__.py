"""Readers for the official on-disk layouts of the audio benchmarks (moved to the common module)."""

from wavbrivl.evaluation.datasets.common import *  # noqa: F403
