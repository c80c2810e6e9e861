"""`prepare`: videos into shards, bad videos listed, resumed without redoing a shard, and the same bytes whether one
process, DataLoader workers or two torchrun ranks wrote them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.media import make_video
from wavbrivl.data import shards as shard_io
from wavbrivl.data.shards import list_shards, read_shard
from wavbrivl.training import prepare as prepare_module
from wavbrivl.training.prepare import REPORT_NAME, ClipSettings, prepare

ROOT = Path(__file__).resolve().parents[2]
ONE_SECOND = ClipSettings(seconds=1.0, frame="random", seed=3)  # random frames: each video's draw must not move


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """Seven good videos and two bad ones (no sound track; not a video at all), sorted among them."""
    folder = tmp_path_factory.mktemp("videos")
    for i in range(7):
        make_video(folder / f"good{i}.mp4", freq=300 + 100 * i, seconds=1.5)
    make_video(folder / "good3-silent.mp4", audio=False)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 but then nothing")
    return folder


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tar"))}


def test_prepare_writes_shards_skips_bad_videos_and_resumes(videos, tmp_path):
    report = prepare(videos, tmp_path / "shards", settings=ONE_SECOND, per_shard=2)
    assert report.samples == 7 and len(report.shards_written) == 5
    assert set(Path(k).name for k in report.skipped_files) == {"good3-silent.mp4", "broken.mp4"}
    assert "no audio stream" in report.skipped_files[str(videos / "good3-silent.mp4")]
    samples = [s for shard in list_shards(tmp_path / "shards") for s in read_shard(shard)]
    assert sorted(s.key for s in samples) == [f"good{i}" for i in range(7)]
    assert all(len(s.audio) == 16000 and max(s.frame.size) <= 480 for s in samples)
    again = prepare(videos, tmp_path / "shards", settings=ONE_SECOND, per_shard=2)
    assert again.shards_written == [] and len(again.shards_skipped) == 5
    assert again.skipped_files == report.skipped_files  # the failures of skipped shards are still listed
    merged = json.loads((tmp_path / "shards" / REPORT_NAME).read_text())
    assert merged["samples"] == 7 and len(merged["skipped_files"]) == 2


def test_prepare_with_vggsound_csv(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "abc_000001.mp4", seconds=3.0)
    make_video(videos / "xyz_000000.mp4")
    make_video(videos / "unlisted.mp4")
    csv_path = tmp_path / "vggsound.csv"
    csv_path.write_text("abc,1,dog barking,train\nxyz,0,rain,test\n")
    report = prepare(videos, tmp_path / "shards", csv_path=csv_path, split="train", settings=ClipSettings(seconds=1.0))
    samples = [s for shard in list_shards(tmp_path / "shards") for s in read_shard(shard)]
    assert report.samples == 1 and samples[0].meta["label"] == "dog barking" and samples[0].meta["start"] == 1.0


def test_workers_write_the_same_bytes_as_one_process(videos, tmp_path):
    prepare(videos, tmp_path / "one", settings=ONE_SECOND, per_shard=3)
    prepare(videos, tmp_path / "workers", settings=ONE_SECOND, per_shard=3, workers=2)
    assert _bytes(tmp_path / "one") == _bytes(tmp_path / "workers") and len(_bytes(tmp_path / "one")) == 3
    report = lambda run: (tmp_path / run / REPORT_NAME).read_text()  # noqa: E731
    assert report("one") == report("workers")


def test_a_crashed_run_resumes_without_redoing_a_finished_shard(videos, tmp_path, monkeypatch):
    prepare(videos, tmp_path / "whole", settings=ONE_SECOND, per_shard=2)
    written: list[str] = []
    real_write = shard_io.write_records

    def crash_on_the_third(path, samples):
        if len(written) == 2:
            raise KeyboardInterrupt("killed")  # what a kill mid-run leaves: two shards done, the third never
        written.append(Path(path).name)
        return real_write(path, samples)

    monkeypatch.setattr(prepare_module, "write_records", crash_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        prepare(videos, tmp_path / "resumed", settings=ONE_SECOND, per_shard=2)
    first = list(written)
    written.clear()
    monkeypatch.setattr(prepare_module, "write_records", lambda path, samples: (written.append(Path(path).name),
                                                                             real_write(path, samples))[1])  # fmt: skip
    report = prepare(videos, tmp_path / "resumed", settings=ONE_SECOND, per_shard=2)
    assert first == ["shard-000000.tar", "shard-000001.tar"]
    assert written == ["shard-000002.tar", "shard-000003.tar", "shard-000004.tar"]  # none twice
    assert report.shards_skipped == first
    assert _bytes(tmp_path / "resumed") == _bytes(tmp_path / "whole")
    assert report.skipped_files == json.loads((tmp_path / "whole" / REPORT_NAME).read_text())["skipped_files"]


@pytest.mark.slow
def test_two_torchrun_ranks_write_the_same_shards_and_report_as_one_process(videos, tmp_path):
    prepare(videos, tmp_path / "one", settings=ONE_SECOND, per_shard=2)
    args = ["--videos", str(videos), "--out", str(tmp_path / "two"), "--seconds", "1", "--frame", "random",
            "--seed", "3", "--per-shard", "2"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
         "-m", "wavbrivl.cli", "prepare", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert _bytes(tmp_path / "one") == _bytes(tmp_path / "two") and len(_bytes(tmp_path / "two")) == 5
    assert (tmp_path / "one" / REPORT_NAME).read_text() == (tmp_path / "two" / REPORT_NAME).read_text()
    assert "7 clips in 5 new shards" in run.stdout and "2 videos skipped" in run.stdout
