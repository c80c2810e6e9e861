"""Evaluation harness: every task on miniature layouts (metrics and cache: tests/evaluation/test_eval_metrics.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers.eval_layouts import make_clotho, make_desed, make_esc50, make_us8k, make_vggsound
from tests.helpers.threads import TORCH_THREADS
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main
from wavbrivl.errors import WeightsError
from wavbrivl.evaluation import EvalConfig, run_task
from wavbrivl.loading import TOYWORLD_DIR

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- every task on miniature layouts
@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(TORCH_THREADS)
    return WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu")


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp("benchmarks")
    return {
        "esc50": make_esc50(root / "ESC-50-master"),
        "us8k": make_us8k(root / "UrbanSound8K"),
        "vggsound": make_vggsound(root / "vggsound"),
        "desed": make_desed(root / "DESED"),
        "clotho": make_clotho(root / "clotho"),
    }


def _cli(capsys, *argv) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("task", ["esc50", "us8k"])
def test_fold_classification_from_the_cli(task, layouts, tmp_path, capsys):
    metrics = _cli(capsys, "evaluate", "--task", task, "--root", str(layouts[task]), "--out", str(tmp_path))
    folds = 5 if task == "esc50" else 10
    assert len(metrics["per_fold"]) == folds
    assert metrics["accuracy"] >= 0.8  # 8 classes: chance 0.125
    assert metrics["zero_shot_accuracy"] >= 0.6
    report = (tmp_path / "report.md").read_text().splitlines()
    paper = "0.9117" if task == "esc50" else "0.8832"  # the paper's figure, beside our own computed one
    assert f"| accuracy | {metrics['accuracy']:.4f} | {paper} |" in report
    assert f"| zero_shot_accuracy | {metrics['zero_shot_accuracy']:.4f} |" in "\n".join(report)


def test_vggsound_classification_and_retrieval(layouts, tmp_path, capsys):
    root = str(layouts["vggsound"])
    cls = _cli(capsys, "evaluate", "--task", "vggsound", "--root", root, "--out", str(tmp_path))
    assert cls["mAP"] >= 0.7 and cls["zero_shot_mAP"] >= 0.5 and cls["test_clips"] == 16
    cmr = _cli(capsys, "evaluate", "--task", "vggsound-cmr", "--root", root, "--out", str(tmp_path))
    # 16 pairs: a random ranking has MRR ≈ 0.21
    assert cmr["pairs"] == 16 and cmr["mrr_a2i"] >= 0.5 and cmr["mrr_i2a"] >= 0.5
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["tasks"]) == {"vggsound", "vggsound-cmr"}


def test_desed_detection(layouts, toy, tmp_path):
    result = run_task(toy, EvalConfig("desed", str(layouts["desed"]), cache=str(tmp_path)))
    assert result["metrics"]["clips"] == 24
    assert result["metrics"]["f1"] >= 0.6


def test_clotho_retrieval_and_captioning(layouts, toy, tmp_path):
    metrics = run_task(toy, EvalConfig("clotho", str(layouts["clotho"]), cache=str(tmp_path)))["metrics"]
    assert metrics["t2a_R@1"] >= 0.2 and metrics["a2t_R@1"] >= 0.25  # 24 clips: chance R@1 ≈ 0.04
    assert metrics["t2a_R@10"] >= 0.8
    assert metrics["BLEU-1"] >= 0.5 and "leave-one-out" in metrics["caption_pool"]


def test_second_run_reads_the_cache(layouts, toy, tmp_path, monkeypatch):
    config = EvalConfig("esc50", str(layouts["esc50"]), cache=str(tmp_path))
    first = run_task(toy, config)["metrics"]
    monkeypatch.setattr(toy, "embed_audio", lambda *a, **k: pytest.fail("embedded again despite the cache"))
    assert run_task(toy, config)["metrics"] == first


def test_models_without_a_text_tower(layouts, tiny_pipeline, tmp_path):
    metrics = run_task(tiny_pipeline, EvalConfig("esc50", str(layouts["esc50"]), cache=str(tmp_path)))["metrics"]
    assert "zero_shot_accuracy" not in metrics
    with pytest.raises(WeightsError, match="text tower"):
        run_task(tiny_pipeline, EvalConfig("clotho", str(layouts["clotho"]), cache=str(tmp_path)))


def test_cli_names_the_missing_file(tmp_path, capsys):
    assert main(["evaluate", "--task", "esc50", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "meta/esc50.csv" in err and "Traceback" not in err


def test_zero_shot_wording_can_be_replaced(layouts, toy, tmp_path):
    from wavbrivl.evaluation.datasets import DatasetError
    from wavbrivl.evaluation.tasks import prompt_names

    classes = ["red_circle", "green_square"]
    mapping = tmp_path / "names.json"
    mapping.write_text(json.dumps({"red_circle": "green square"}))
    assert prompt_names(classes, str(mapping)) == ["green square", "green_square"]
    lines = tmp_path / "names.txt"
    lines.write_text("one\n")
    with pytest.raises(DatasetError, match="1 lines but the dataset has 2 classes"):
        prompt_names(classes, str(lines))
    # Swapping two classes' wording must swap the zero-shot answers: accuracy drops by those classes' share.
    swap = tmp_path / "swap.json"
    swap.write_text(json.dumps({"red_circle": "blue circle", "blue_circle": "red circle"}))
    base = EvalConfig("esc50", str(layouts["esc50"]), cache=str(tmp_path / "c"))
    plain = run_task(toy, base)["metrics"]["zero_shot_accuracy"]
    base.class_names = str(swap)
    swapped = run_task(toy, base)["metrics"]["zero_shot_accuracy"]
    assert swapped <= plain - 2 / 8 + 0.05


def test_unreadable_clips_are_skipped_named_and_retried(layouts, toy, tmp_path):
    import shutil

    root = tmp_path / "esc50"
    shutil.copytree(layouts["esc50"], root)
    victim = sorted((root / "audio").glob("*.wav"))[0]
    good = victim.read_bytes()
    victim.write_bytes(b"not audio at all")
    config = EvalConfig("esc50", str(root), cache=str(tmp_path / "cache"))
    result = run_task(toy, config)
    assert result["unreadable_count"] == 1 and victim.stem in result["unreadable"]
    assert result["metrics"]["clips"] == 79
    victim.write_bytes(good)  # fixed on disk: the next run embeds it instead of trusting a stale failure
    assert run_task(toy, config)["metrics"]["clips"] == 80


def test_whole_videos_are_cut_at_the_csv_start_and_audio_only_containers_read(tmp_path):
    """A VGGSound video saved whole (named by its id) is read from the csv's start second; .m4a goes through FFmpeg."""
    import av

    from tests.helpers.eval_layouts import encode_sound
    from wavbrivl.evaluation.datasets import read_vggsound
    from wavbrivl.evaluation.embed import read_clip

    sr = 16000
    wave = np.concatenate([np.zeros(3 * sr), 0.5 * np.sin(np.arange(2 * sr) * 2 * np.pi * 440 / sr)]).astype(np.float32)
    path = tmp_path / "media" / "abcdefghijk.m4a"
    path.parent.mkdir()
    with av.open(str(path), "w", format="mp4") as out:  # audio only: no video stream at all
        encode_sound(out, out.add_stream("aac", rate=sr, layout="mono"), wave)
    (tmp_path / "vggsound.csv").write_text("abcdefghijk,3,a tone,test\nabcdefghijk,0,silence,train\n")
    data = read_vggsound(tmp_path)
    starts = {it.id: it.start for it in data.items}
    assert starts == {"abcdefghijk_000003": 3.0, "abcdefghijk_000000": 0.0}
    by_id = {it.id: it for it in data.items}
    tone = read_clip(by_id["abcdefghijk_000003"], seconds=1.0).waveform
    silence = read_clip(by_id["abcdefghijk_000000"], seconds=1.0).waveform
    assert len(tone) == sr and np.abs(tone).max() > 0.3 and np.abs(silence).max() < 0.05


def test_zero_shot_says_why_it_is_missing(layouts, tiny_pipeline, tmp_path):
    metrics = run_task(tiny_pipeline, EvalConfig("esc50", str(layouts["esc50"]), cache=str(tmp_path)))["metrics"]
    assert "no text tower" in metrics["zero_shot_skipped"]


def test_evaluation_loads_no_generator(tmp_path, toy):
    pipe = WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu", load_generators=False)
    assert pipe.vqgan is None and pipe.text_tower is not None


@pytest.mark.parametrize("task", ["esc50", "vggsound-cmr", "desed"])
def test_two_torchrun_ranks_write_the_same_report_as_one_process(task, layouts, toy, tmp_path):
    """Each rank embeds its share (whole clips, video frames, windows), unreadable clips are merged, and rank 0
    writes the results one process gets."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path / "data"
    shutil.copytree(layouts[task.removesuffix("-cmr")], root)
    if task == "esc50":
        sorted((root / "audio").glob("*.wav"))[3].write_bytes(b"not audio at all")
    one = run_task(toy, EvalConfig(task, str(root), cache=str(tmp_path / "one")))
    args = ["-m", "wavbrivl.cli", "evaluate", "--task", task, "--root", str(root), "--device", "cpu"]
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    two = subprocess.run([sys.executable, *launcher, *args, "--out", str(tmp_path / "two")], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert two.returncode == 0, two.stdout + two.stderr
    report = json.loads((tmp_path / "two" / "report.json").read_text())["tasks"][task]
    for key in ("metrics", "unreadable", "unreadable_count", "missing_media"):
        assert report[key] == json.loads(json.dumps(one[key])), key
    assert len(list((tmp_path / "two" / "cache").rglob("chunk-r1-*.npz"))) > 0  # rank 1 did embed its share
    assert report["unreadable_count"] == (1 if task == "esc50" else 0)
