"""Shared fixtures: tiny models, sounds and images made on the spot; nothing is downloaded."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from tests.helpers.audio import SR, tone  # noqa: E402
from tests.helpers.threads import TORCH_THREADS  # noqa: E402

torch.set_num_threads(TORCH_THREADS)


def pytest_collection_modifyitems(config, items):
    """In a parallel run's workers (pytest -n), the slow tests first: the long ones start early, on both
    workers, and the quick ones fill the end. A serial run keeps the files' order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def tiny_pipeline():
    """The offline tiny-random pipeline on the CPU."""
    from wavbrivl import WavBriVLPipeline

    torch.set_num_threads(TORCH_THREADS)
    return WavBriVLPipeline.from_preset("tiny-random", device="cpu")


@pytest.fixture(scope="module")
def client(tiny_pipeline):
    """The app on the tiny pipeline, served on loopback for the module, through gradio_client."""
    from gradio_client import Client

    import app

    demo = app.build_app(tiny_pipeline)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


@pytest.fixture
def wav_file(tmp_path):
    """A 1 s 16 kHz mono wav file."""
    path = tmp_path / "tone.wav"
    sf.write(path, tone(), SR)
    return path


@pytest.fixture
def image_files(tmp_path):
    """Five small random RGB images on disk."""
    folder = tmp_path / "gallery"
    folder.mkdir()
    paths = []
    for i in range(5):
        rng = np.random.default_rng(i)
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (48 + i, 64, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def toy_pipeline():
    """The shipped offline default (toy world) set on the CPU."""
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.loading import TOYWORLD_DIR

    torch.set_num_threads(TORCH_THREADS)
    return WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu")
