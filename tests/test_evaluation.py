"""Evaluation harness: metrics on hand-computed cases, the resumable cache, and every task on miniature layouts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.eval_layouts import make_clotho, make_desed, make_esc50, make_us8k, make_vggsound
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main
from wavbrivl.data.audio import windows
from wavbrivl.errors import WeightsError
from wavbrivl.evaluation import EvalConfig, run_task
from wavbrivl.evaluation.cache import EmbeddingStore, model_fingerprint
from wavbrivl.evaluation.datasets import ClipItem
from wavbrivl.evaluation.metrics import accuracy, caption_scores, sed_f1
from wavbrivl.evaluation.tasks import _window_targets, _windows_to_events
from wavbrivl.factory import TOYWORLD_DIR
from wavbrivl.metrics import map_at_k, mean_average_precision, mean_reciprocal_rank, recall_at_k

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- metrics, by hand
def test_mrr_recall_and_map_at_k_by_hand():
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.5, 0.1], [0.3, 0.9, 0.2]])  # truth on the diagonal: ranks 1, 2, 3
    assert mean_reciprocal_rank(scores) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert recall_at_k(scores, ks=(1, 2)) == {"R@1": pytest.approx(1 / 3), "R@2": pytest.approx(2 / 3)}
    assert map_at_k(scores, [0, 1, 2], k=2) == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert mean_reciprocal_rank(np.array([[0.5, 0.5], [0.0, 1.0]])) == pytest.approx((1 / 2 + 1) / 2)  # ties lose
    assert mean_reciprocal_rank(scores.T, truth=[2, 0, 1]) == pytest.approx((1 / 3 + 1 / 2 + 1 / 3) / 3)


def test_mean_average_precision_by_hand():
    scores = np.array([[0.9, 0.2], [0.8, 0.7], [0.1, 0.3]])
    targets = np.array([[1, 0], [0, 1], [1, 0]])
    # class 0: ranked 0 (hit), 1, 2 (hit) -> AP = (1/1 + 2/3) / 2; class 1: item 1 ranked first -> AP = 1
    assert mean_average_precision(scores, targets) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert mean_average_precision(scores, np.array([0, 1, 0])) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert accuracy(scores, [0, 1, 0]) == pytest.approx(1 / 3)  # row argmaxes 0, 0, 1


def test_segment_f1_by_hand():
    ref = [
        {"filename": "a.wav", "event_label": "dog", "onset": 0.0, "offset": 2.0},
        {"filename": "a.wav", "event_label": "cat", "onset": 3.0, "offset": 4.0},
    ]
    est = [
        {"filename": "a.wav", "event_label": "dog", "onset": 0.0, "offset": 1.0},
        {"filename": "a.wav", "event_label": "cat", "onset": 5.0, "offset": 6.0},
    ]
    # 1 s segments: reference dog{0,1} cat{3}; estimate dog{0} cat{5} -> TP 1, FP 1, FN 2
    out = sed_f1(ref, est, ["dog", "cat"])
    assert out["precision"] == pytest.approx(0.5) and out["recall"] == pytest.approx(1 / 3)
    assert out["f1"] == pytest.approx(0.4)
    assert sed_f1(ref, ref, ["dog", "cat"])["f1"] == pytest.approx(1.0)


def test_caption_scores_reward_the_right_caption():
    refs = {"a": ["a dog barks loudly", "the dog is barking"], "b": ["rain falls on a tin roof", "heavy rain"]}
    right = caption_scores(refs, {"a": "a dog is barking", "b": "rain on a roof"})
    wrong = caption_scores(refs, {"a": "rain on a roof", "b": "a dog is barking"})
    assert right["BLEU-1"] > wrong["BLEU-1"] and right["CIDEr"] > wrong["CIDEr"] and right["ROUGE-L"] > wrong["ROUGE-L"]


def test_windows_labels_and_events():
    parts = windows(np.ones(16000 * 3 + 9000, dtype=np.float32), 1.0)
    assert len(parts) == 4 and all(len(p) == 16000 for p in parts)  # the 0.56 s tail is kept, zero-padded
    item = ClipItem("x", None, events=[(0.5, 2.2, 1), (3.0, 3.1, 0)])  # type: ignore[arg-type]
    targets = _window_targets(item, 4, 2, 1.0)
    assert targets[:, 1].tolist() == [1, 1, 0, 0]  # 0.2 s in window 2 is under a quarter
    assert targets[:, 0].tolist() == [0, 0, 0, 0]
    events = _windows_to_events(np.array([[1, 0], [1, 1], [0, 0], [1, 0]], bool), "f.wav", ["a", "b"], 1.0)
    assert [(e["event_label"], e["onset"], e["offset"]) for e in events] == [("a", 0, 2), ("a", 3, 4), ("b", 1, 2)]


# ---------------------------------------------------------------- cache
def test_store_resumes_after_an_interruption(tmp_path):
    calls: list[list[str]] = []

    def compute(ids):
        calls.append(list(ids))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return np.array([[float(i)] * 4 for i in ids], dtype=np.float32)

    ids = [str(i) for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        EmbeddingStore(tmp_path).fill(ids, compute, chunk=3)
    calls.clear()
    store = EmbeddingStore(tmp_path)  # a new process: two chunks (6 ids) are on disk
    assert len(store) == 6
    out = store.fill(ids, lambda part: np.array([[float(i)] * 4 for i in part], dtype=np.float32), chunk=3)
    assert out[:, 0].tolist() == [float(i) for i in range(10)]
    (tmp_path / "chunk-00000.npz").write_bytes(b"damaged")
    assert len(EmbeddingStore(tmp_path)) == 7  # the damaged chunk is dropped, to be recomputed


def test_fingerprint_follows_the_weights(tiny_pipeline):
    before = model_fingerprint(tiny_pipeline.audio_tower)
    assert before == model_fingerprint(tiny_pipeline.audio_tower)
    with torch.no_grad():
        tiny_pipeline.audio_tower.layer_weights[0] += 1.0
    try:
        assert model_fingerprint(tiny_pipeline.audio_tower) != before
    finally:
        with torch.no_grad():
            tiny_pipeline.audio_tower.layer_weights[0] -= 1.0


# ---------------------------------------------------------------- every task on miniature layouts
@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(2)
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
    report = (tmp_path / "report.md").read_text()
    assert "0.9117" in report if task == "esc50" else "0.8832" in report


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

    from tests.eval_layouts import encode_sound
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
    pipe = WavBriVLPipeline.from_pretrained(TOYWORLD_DIR, device="cpu", need_vqgan=False)
    assert pipe.vqgan is None and pipe.text_tower is not None
