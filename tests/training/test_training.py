"""The trainer and its data: embed-frames, train, exact resume, kill -9, 2 processes (prepare: test_prepare.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from wavbrivl import WavBriVLPipeline
from wavbrivl.configs import AudioTowerConfig
from wavbrivl.data.shards import Sample, list_shards, read_shard, write_shard
from wavbrivl.loading import ModelSet
from wavbrivl.loading.folders import load_component
from wavbrivl.loading.towers import random_components
from wavbrivl.models import WavBriVLAudioTower
from wavbrivl.testing import TINY_WAVLM
from wavbrivl.toyworld import ToyWorld
from wavbrivl.training.embed_frames import embed_frames
from wavbrivl.training.trainer import TrainConfig, train

# The tiny sizes with WavLM's shipped regularisation left as it is: dropout 0.1, layerdrop, time masking on.
SHIPPED_REGULARISATION = {k: v for k, v in TINY_WAVLM.items() if k != "apply_spec_augment"}

ROOT = Path(__file__).resolve().parents[2]


def _toy_shards(folder: Path, tower, count: int, per_shard: int, seed: int) -> Path:
    world = ToyWorld(seed)
    examples = world.examples(0, count)
    for shard_index in range(0, count, per_shard):
        group = examples[shard_index : shard_index + per_shard]
        write_shard(
            folder / f"shard-{shard_index // per_shard:06d}.tar",
            [Sample(f"s{seed}-{shard_index + i}", e.audio, e.image, {"label": e.label}) for i, e in enumerate(group)],
        )
    embed_frames(folder, tower)
    return folder


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    """A base pipeline (tiny audio tower with WavLM's shipped dropout, layerdrop and time masking, tiny image
    tower, VQGAN) and embedded toy shards."""
    root = tmp_path_factory.mktemp("train")
    _, image, vqgan = random_components(seed=2)
    torch.manual_seed(0)
    audio = WavBriVLAudioTower(
        AudioTowerConfig(wavlm=dict(SHIPPED_REGULARISATION), embed_dim=64, mlp_hidden=64, trainable_layers=-1)
    )
    WavBriVLPipeline(ModelSet(audio, image, vqgan), device="cpu").save_pretrained(root / "base")
    train_dir = _toy_shards(root / "shards", image, 48, 16, seed=0)
    val_dir = _toy_shards(root / "val", image, 16, 16, seed=1)
    return root, train_dir, val_dir


def _config(toy_data, out: Path, **kw) -> TrainConfig:
    root, train_dir, val_dir = toy_data
    base = dict(
        shards=[str(train_dir)],
        val_shards=[str(val_dir)],
        out=str(out),
        base=str(root / "base"),
        steps=6,
        batch_size=8,
        lr=1e-3,
        warmup=2,
        queue_size=16,
        clip_seconds=0.5,
        checkpoint_every=3,
        val_every=3,
        log_every=1,
        progress=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_embed_frames_stores_embeddings_once(toy_data):
    _, train_dir, _ = toy_data
    sample = next(read_shard(list_shards(train_dir)[0]))
    assert sample.embedding.shape == (64,) and sample.meta["image_tower"] == "image_tower"
    before = {p: p.stat().st_mtime_ns for p in list_shards(train_dir)}
    _, image, _ = random_components(seed=2)
    embed_frames(train_dir, image)
    assert {p: p.stat().st_mtime_ns for p in list_shards(train_dir)} == before


def test_training_output_loads_as_a_pipeline(toy_data, tmp_path):
    last = train(_config(toy_data, tmp_path / "run"))
    assert last["step"] == 6 and "a2i_r1" in last and "i2a_mrr" in last
    pipe = WavBriVLPipeline.from_pretrained(tmp_path / "run", device="cpu")
    assert "audio_tower" not in pipe.untrained
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == [1, 2, 3, 4, 5, 6]


def test_resume_continues_exactly(toy_data, tmp_path):
    # The top WavLM layer trains with its dropout and the tower masks frames: every random draw must resume.
    base = tmp_path / "base"
    shutil.copytree(toy_data[0] / "base", base)
    config_file = base / "audio_tower" / "config.json"
    config = json.loads(config_file.read_text())
    config["config"].update(trainable_layers=1, train_dropout=True, time_mask_prob=0.2)
    config_file.write_text(json.dumps(config))
    train(_config(toy_data, tmp_path / "straight", base=str(base)))
    train(_config(toy_data, tmp_path / "split", stop_after=4, base=str(base)))
    assert json.loads((tmp_path / "split" / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4
    train(_config(toy_data, tmp_path / "split", base=str(base)))
    a = load_component(tmp_path / "straight" / "audio_tower").state_dict()
    b = load_component(tmp_path / "split" / "audio_tower").state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0, msg=key)


def _cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
    )


def _train_args(toy_data, out: Path, steps: int, extra: list[str] = ()) -> list[str]:
    root, train_dir, val_dir = toy_data
    return [
        "-m",
        "wavbrivl.cli",
        "train",
        "--shards",
        str(train_dir),
        "--base",
        str(root / "base"),
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--batch-size",
        "8",
        "--lr",
        "1e-3",
        "--warmup",
        "2",
        "--queue-size",
        "16",
        "--clip-seconds",
        "0.5",
        "--log-every",
        "1",
        *extra,
    ]


@pytest.mark.slow
def test_kill_9_then_resume_loses_at_most_one_interval(toy_data, tmp_path):
    out = tmp_path / "killed"
    proc = _cli(_train_args(toy_data, out, 400, ["--checkpoint-every", "5"]))
    metrics = out / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        lines = metrics.read_text().splitlines() if metrics.exists() else []
        if len(lines) >= 12:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    logged = max(json.loads(x)["step"] for x in metrics.read_text().splitlines())
    saved = torch.load(out / "trainer-state.pt", weights_only=True)["step"]
    assert saved >= 10 and logged - saved <= 5
    resumed = _cli(_train_args(toy_data, out, saved + 3, ["--checkpoint-every", "5", "--resume"]))
    assert resumed.wait(timeout=180) == 0, resumed.stdout.read()
    steps = [json.loads(x)["step"] for x in metrics.read_text().splitlines()]
    assert steps[-3:] == [saved + 1, saved + 2, saved + 3]


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(toy_data, tmp_path):
    single = _cli(_train_args(toy_data, tmp_path / "one", 3, ["--checkpoint-every", "3"]))
    assert single.wait(timeout=180) == 0, single.stdout.read()
    double = _cli(
        [
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--standalone",  # a free port of its own: parallel test runs never share one
            *_train_args(toy_data, tmp_path / "two", 3, ["--checkpoint-every", "3"]),
        ]
    )
    assert double.wait(timeout=240) == 0, double.stdout.read()
    read = lambda run: [json.loads(x)["loss"] for x in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    one, two = read("one"), read("two")
    assert len(one) == len(two) == 3
    for a, b in zip(one, two):
        assert abs(a - b) < 1e-4, (one, two)


def test_gradient_accumulation_trains_in_micro_batches(toy_data, tmp_path):
    last = train(_config(toy_data, tmp_path / "accum", steps=2, accumulate=2, checkpoint_every=2, val_every=2))
    assert last["step"] == 2 and last["loss"] > 0
    before = load_component(Path(toy_data[0]) / "base" / "audio_tower").state_dict()
    after = load_component(tmp_path / "accum" / "audio_tower").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def _decoder_args(toy_data, out: Path, steps: int, *extra: str) -> list[str]:
    root, train_dir, _ = toy_data
    args = ["train-decoder", "--shards", str(train_dir), "--pretrained", str(root / "base"), "--out", str(out)]
    return [*args, "--steps", str(steps), "--batch-size", "8", "--checkpoint-every", "2", "--log-every", "1", *extra]


def _close(a, b) -> bool:
    """Equal through dicts and lists: floating tensors to 1e-6, other tensors and values exactly."""
    if torch.is_tensor(a):
        if not (torch.is_tensor(b) and a.shape == b.shape and a.dtype == b.dtype):
            return False
        return torch.allclose(a, b, rtol=0, atol=1e-6) if a.is_floating_point() else torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_close, a, b))
    return a == b


@pytest.mark.slow
def test_train_decoder_on_shards_resumes_exactly_and_joins_the_set(toy_data, tmp_path):
    from wavbrivl.cli import main

    assert main(_decoder_args(toy_data, tmp_path / "whole", 4)) == 0
    assert main(_decoder_args(toy_data, tmp_path / "split", 2)) == 0
    assert main(_decoder_args(toy_data, tmp_path / "split", 4)) == 2  # a run is there: --resume or another --out
    assert main(_decoder_args(toy_data, tmp_path / "split", 4, "--resume")) == 0
    read = lambda run: [json.loads(x) for x in (tmp_path / run / "decoder-log.jsonl").read_text().splitlines()]  # noqa: E731
    whole, split = read("whole"), read("split")
    assert [r["step"] for r in whole] == [r["step"] for r in split] == [1, 2, 3, 4]
    for a, b in zip(whole, split):
        assert abs(a["loss"] - b["loss"]) < 1e-6, (whole, split)
    assert whole[0]["examples"] == 48  # every frame of the shards
    from wavbrivl.training.decoder_run import STATE_NAME

    whole_end, split_end = (torch.load(tmp_path / run / STATE_NAME, weights_only=True) for run in ("whole", "split"))
    assert split_end["step"] == 4
    # the resumed run ends where one run does: the same schedule position and batch stream, the same weights, EMA and
    # optimiser moments (to float rounding: the two runs' kernels may add in another order)
    for key in ("decoder", "ema", "optimizer", "schedule", "generator"):
        assert _close(whole_end[key], split_end[key]), key

    root = toy_data[0]
    folder = tmp_path / "set"
    shutil.copytree(root / "base", folder)
    args = _decoder_args(toy_data, tmp_path / "add", 2, "--add-to-set")
    args[args.index("--pretrained") + 1] = str(folder)
    assert main(args) == 0
    pipe = WavBriVLPipeline.from_pretrained(folder, device="cpu")
    assert pipe.decoder is not None and pipe.generation_config().method == "decoder"
    final = pipe.generate_final([(16000, ToyWorld(5).example(0).audio)], [0.0, 6.0], pipe.generation_config())
    assert final.final and final.pixels.shape[0] == 2
