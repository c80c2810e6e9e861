"""`embed-frames`: the frozen image tower over every shard's frames, the same vectors whether one process, DataLoader
workers or two torchrun ranks ran it, and a crashed run resumed without redoing a shard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wavbrivl import WavBriVLPipeline
from wavbrivl.data.shards import Sample, list_shards, read_shard, write_shard
from wavbrivl.loading import ModelSet
from wavbrivl.loading.towers import random_components
from wavbrivl.toyworld import ToyWorld
from wavbrivl.training import embed_frames as embed_module
from wavbrivl.training.embed_frames import embed_frames

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Five shards of toy-world samples without embeddings, one sample without a frame."""
    folder = tmp_path_factory.mktemp("raw")
    examples = ToyWorld(4).examples(0, 18)
    for k in range(5):
        group = examples[k * 4 : (k + 1) * 4]
        samples = [Sample(f"s{k}-{i}", e.audio, e.image, {"label": e.label}) for i, e in enumerate(group)]
        if k == 1:
            samples[2].frame = None
        write_shard(folder / f"shard-{k:06d}.tar", samples)
    return folder


@pytest.fixture(scope="module")
def tower():
    return random_components(seed=2)[1]


def vectors(folder: Path) -> dict[str, np.ndarray]:
    """Every sample's stored frame embedding by key."""
    return {s.key: s.embedding for shard in list_shards(folder) for s in read_shard(shard, frames=False)}


def test_workers_give_the_same_vectors_in_the_same_order(raw, tower, tmp_path):
    embed_frames(raw, tower, tmp_path / "one", batch_size=3)
    embed_frames(raw, tower, tmp_path / "workers", batch_size=3, workers=2)
    one, two = vectors(tmp_path / "one"), vectors(tmp_path / "workers")
    assert list(one) == list(two) and len(one) == 17  # stored order kept; the frame-less sample left out
    assert max(float(np.abs(one[k] - two[k]).max()) for k in one) <= 1e-6  # workers preprocess on one thread


def test_each_stored_vector_is_the_towers_embedding_of_its_own_frame(raw, tower, tmp_path):
    """Checked against the tower itself, one frame at a time (not against another run of embed_frames)."""
    embed_frames(raw, tower, tmp_path / "out", batch_size=3)
    stored = vectors(tmp_path / "out")
    frames = {s.key: s.frame for shard in list_shards(raw) for s in read_shard(shard) if s.frame is not None}
    assert list(stored) == list(frames)
    with torch.no_grad():
        for key, frame in frames.items():
            expected = tower.encode_pixels(tower.preprocess([frame]))[0].numpy()
            np.testing.assert_allclose(stored[key], expected, atol=1e-5, err_msg=key)


def test_a_crashed_run_resumes_without_redoing_a_shard(raw, tower, tmp_path, monkeypatch):
    written: list[str] = []
    real_write = embed_module.write_shard

    def crash_on_the_third(path, samples):
        if len(written) == 2:
            raise KeyboardInterrupt("killed")
        written.append(Path(path).name)
        return real_write(path, samples)

    monkeypatch.setattr(embed_module, "write_shard", crash_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        embed_frames(raw, tower, tmp_path / "run", batch_size=3)
    written.clear()
    monkeypatch.setattr(embed_module, "write_shard", lambda p, s: (written.append(Path(p).name), real_write(p, s))[1])
    embed_frames(raw, tower, tmp_path / "run", batch_size=3)
    assert written == ["shard-000002.tar", "shard-000003.tar", "shard-000004.tar"]
    embed_frames(raw, tower, tmp_path / "whole", batch_size=3)
    assert vectors(tmp_path / "run").keys() == vectors(tmp_path / "whole").keys()


@pytest.mark.slow
def test_two_torchrun_ranks_store_the_same_vectors_as_one_process(raw, tower, tmp_path):
    WavBriVLPipeline(ModelSet(random_components(seed=0)[0], tower), device="cpu").save_pretrained(tmp_path / "set")
    embed_frames(raw, tower, tmp_path / "one", batch_size=3)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
         "-m", "wavbrivl.cli", "embed-frames", "--shards", str(raw), "--tower", str(tmp_path / "set"),
         "--out", str(tmp_path / "two"), "--batch-size", "3", "--workers", "1", "--device", "cpu"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    one, two = vectors(tmp_path / "one"), vectors(tmp_path / "two")
    assert list(one) == list(two)
    assert max(float(np.abs(one[k] - two[k]).max()) for k in one) <= 1e-6
    assert "5 shards with frame embeddings (2 process(es))" in run.stdout
