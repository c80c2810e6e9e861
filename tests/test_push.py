"""Publishing a trained set: the upload folder, its model card, push_to_hub and `wavbrivl push` (no network)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

from tests.helpers.audio import SR, tone
from tests.helpers.threads import TORCH_THREADS
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main
from wavbrivl.data.shards import Sample, write_shard
from wavbrivl.departures import departures_table
from wavbrivl.errors import InputError, WavBriVLError
from wavbrivl.loading import ModelSet
from wavbrivl.loading.towers import random_components
from wavbrivl.model_card import NOT_RECORDED, wavlm_base_model
from wavbrivl.publish import prepare_push_folder
from wavbrivl.toyworld import ToyWorld
from wavbrivl.training.embed_frames import embed_frames
from wavbrivl.training.trainer import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
REPO = "someone/tiny-wavbrivl"
DESCRIPTION = "toy-world clips made for the push test"
PARTS = ("audio_tower", "image_tower", "vqgan")


def _shards(folder: Path, image_tower, count: int, seed: int) -> Path:
    examples = ToyWorld(seed).examples(0, count)
    write_shard(
        folder / "shard-000000.tar",
        [Sample(f"s{seed}-{i}", e.audio, e.image, {"label": e.label}) for i, e in enumerate(examples)],
    )
    embed_frames(folder, image_tower)
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny set whose audio tower `wavbrivl train` trained for 4 steps (3, then resumed), with validation."""
    root = tmp_path_factory.mktemp("push")
    torch.set_num_threads(TORCH_THREADS)
    audio, image, vqgan = random_components(seed=3)
    WavBriVLPipeline(ModelSet(audio, image, vqgan), device="cpu").save_pretrained(root / "base")
    config = dict(
        shards=[str(_shards(root / "train", image, 16, seed=0))],
        val_shards=[str(_shards(root / "val", image, 8, seed=1))],
        out=str(root / "run"),
        base=str(root / "base"),
        steps=4,
        batch_size=8,
        warmup=1,
        queue_size=8,
        clip_seconds=0.5,
        checkpoint_every=2,
        val_every=2,
        log_every=1,
        progress=False,
        data_description=DESCRIPTION,
    )
    train(TrainConfig(**config, stop_after=3))
    train(TrainConfig(**config))  # resumed: the record keeps the start and the data, and gains the last validation
    return root / "run"


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records the calls and what the uploaded folder held at upload time."""

    calls: list[tuple[str, dict]] = []
    uploaded: Path | None = None

    def __init__(self, token: str | None = None) -> None:
        FakeHub.calls.append(("init", {"token": token}))

    def create_repo(self, repo_id: str, **kwargs) -> str:
        FakeHub.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id: str, folder_path: str, **kwargs) -> str:
        FakeHub.calls.append(("upload_folder", {"repo_id": repo_id, "folder_path": folder_path, **kwargs}))
        shutil.copytree(folder_path, FakeHub.uploaded)  # the temporary folder is gone once push returns
        return f"https://huggingface.co/{repo_id}/commit/0123abc"


@pytest.fixture
def hub(monkeypatch, tmp_path) -> type[FakeHub]:
    """huggingface_hub.HfApi replaced by FakeHub (nothing reaches the network)."""
    import huggingface_hub

    FakeHub.calls, FakeHub.uploaded = [], tmp_path / "uploaded"
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    return FakeHub


def _embed(pipe: WavBriVLPipeline) -> torch.Tensor:
    return pipe.embed_audio((SR, tone(523.0, seconds=0.5)), [-6.0, 0.0]).embeddings


def _assert_same_set(folder: Path, run: Path) -> None:
    """folder holds every part, a card, no trainer files, and loads as the trained set (same embeddings)."""
    for part in PARTS:
        assert {p.name for p in (folder / part).iterdir()} == {"config.json", "model.safetensors"}, part
    assert (folder / "README.md").is_file() and (folder / "model_index.json").is_file()
    assert not (folder / "trainer-state.pt").exists() and not (folder / "metrics.jsonl").exists()
    original = WavBriVLPipeline.from_pretrained(run, device="cpu")
    again = WavBriVLPipeline.from_pretrained(folder, device="cpu")
    torch.testing.assert_close(_embed(again), _embed(original), atol=0, rtol=0)
    assert again.training_record == original.training_record and again.training_record["steps"] == 4


def test_training_records_what_the_card_needs(run):
    record = json.loads((run / "model_index.json").read_text())["training"]
    assert record["steps"] == record["planned_steps"] == 4 and record["clips_seen"] == 32
    assert record["data"]["description"] == DESCRIPTION
    assert record["data"]["clips"] == 16 and record["validation_data"]["clips"] == 8
    assert record["start"]["audio_tower"]["source"] == "in memory"  # the base's tower, kept across the resume
    val_log = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    assert record["validation"] == {"step": 4, "clips": 8, **val_log[-1]["val"]}


def test_prepared_folder_has_every_part_and_a_card_with_the_recorded_facts(run, tmp_path):
    pipe = WavBriVLPipeline.from_pretrained(run, device="cpu")
    folder = prepare_push_folder(pipe, tmp_path / "upload", REPO, license="mit")
    _assert_same_set(folder, run)
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "wavbrivl" and card.data.license == "mit"
    assert {"wavbrivl", "audio", "sound-to-image", "brivl", "vqgan"} <= set(card.data.tags)
    assert card.data.base_model is None  # the tiny WavLM was made from scratch: no Hub backbone to name
    val = pipe.training_record["validation"]
    text = card.text
    for expected in (
        f"| training data | {DESCRIPTION} |",
        "(1 shard files, 16 clips)",
        "(1 shard files, 8 clips)",
        "| training steps | 4 of 4 planned |",
        "| clips seen (steps x global batch) | 32 |",
        "| started from | in memory |",
        "At step 4, on 8 held-out clips:",
        f"| audio → image | {val['a2i_r1']:.3f} | {val['a2i_mrr']:.3f} |",
        f"| image → audio | {val['i2a_r1']:.3f} | {val['i2a_mrr']:.3f} |",
        f"| preset | {pipe.preset} |",
        "| image tower source | in memory |",
        "| generators | VQGAN optimisation (the paper's method) — the default |",
        "| these weights | mit |",
        "| code (wavbrivl) | MIT |",
        f'WavBriVLPipeline.from_pretrained("{REPO}")',
        departures_table(),
    ):
        assert expected in text, expected
    with pytest.raises(InputError, match="new or empty"):
        prepare_push_folder(pipe, folder, REPO)


def test_the_card_says_not_recorded_and_names_a_hub_backbone(run, tmp_path):
    pipe = WavBriVLPipeline.from_pretrained(run.parent / "base", device="cpu")  # never trained: no record
    wavlm = pipe.audio_tower.config.wavlm
    wavlm["_name_or_path"] = "microsoft/wavlm-base-plus"
    assert wavlm_base_model(pipe) == "microsoft/wavlm-base-plus"
    # what transformers keeps after factory.load_audio_tower: the Hub cache snapshot that resolve() fetched
    wavlm["_name_or_path"] = "/root/.cache/huggingface/hub/models--microsoft--wavlm-base-plus/snapshots/0a1b2c"
    card = ModelCard.load(prepare_push_folder(pipe, tmp_path / "upload") / "README.md")
    assert card.data.base_model == "microsoft/wavlm-base-plus" and card.data.license is None
    for field in ("training data", "training steps", "started from", "these weights"):
        assert f"| {field} | {NOT_RECORDED}" in card.text, field
    assert f"Validation R@1 and MRR: {NOT_RECORDED}." in card.text
    assert "| WavLM backbone | microsoft/wavlm-base-plus |" in card.text


def test_the_card_states_each_components_licence(run, tmp_path):
    """Each component row carries the licence its source states; the set's own trained parts take --license."""
    from wavbrivl.loading import Provenance

    pipe = WavBriVLPipeline.from_pretrained(run.parent / "base", device="cpu")
    pipe.provenance["image_tower"] = Provenance("shunxing1234/BriVL", True, "official BriVL-1.0 image")
    pipe.provenance["vqgan"] = Provenance("/cache/models--boris--vqgan_f16_16384/snapshots/0a1b", True, "taming")
    pipe.provenance["audio_tower"] = Provenance("runs/my-run", True)
    text = ModelCard.load(prepare_push_folder(pipe, tmp_path / "upload", license="cc-by-4.0") / "README.md").text
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert (
        "| none tagged (an unofficial mirror; BriVL's code is MIT, its weights come from BAAI) |" in rows["image_tower"]
    )
    assert "| none tagged (taming-transformers' code is MIT) |" in rows["vqgan"]
    assert "| cc-by-4.0 |" in rows["audio_tower"]


def test_push_to_hub_creates_the_repo_and_uploads_the_prepared_folder(run, hub):
    pipe = WavBriVLPipeline.from_pretrained(run, device="cpu")
    url = pipe.push_to_hub(REPO, private=True, token="hf_test", commit_message="first upload")
    assert url == f"https://huggingface.co/{REPO}/commit/0123abc"
    (_, init), (_, create), (_, upload) = hub.calls
    assert init == {"token": "hf_test"}
    assert create == {"repo_id": REPO, "private": True, "exist_ok": True, "repo_type": "model"}
    assert upload["repo_id"] == REPO and upload["commit_message"] == "first upload"
    assert not Path(upload["folder_path"]).exists()  # the temporary folder is cleaned up
    _assert_same_set(hub.uploaded, run)
    assert f"# WavBriVL model set: {REPO}" in (hub.uploaded / "README.md").read_text()


def test_push_refuses_a_bad_repo_id_and_reports_hub_failures(run, hub, monkeypatch):
    pipe = WavBriVLPipeline.from_pretrained(run, device="cpu")
    with pytest.raises(InputError, match="owner/name"):
        pipe.push_to_hub("not a repo")
    assert hub.calls == []

    def offline(self, repo_id, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(FakeHub, "create_repo", offline)
    with pytest.raises(WavBriVLError, match="could not upload .* network unreachable"):
        pipe.push_to_hub(REPO)


def test_cli_push_goes_through_the_same_path(run, hub, capsys):
    assert main(["push", str(run), "--repo", REPO, "--license", "apache-2.0", "--private"]) == 0
    assert f"https://huggingface.co/{REPO}/commit/0123abc" in capsys.readouterr().out
    names = [name for name, _ in hub.calls]
    assert names == ["init", "create_repo", "upload_folder"]
    assert hub.calls[1][1]["repo_id"] == hub.calls[2][1]["repo_id"] == REPO and hub.calls[1][1]["private"] is True
    _assert_same_set(hub.uploaded, run)
    assert ModelCard.load(hub.uploaded / "README.md").data.license == "apache-2.0"


def test_cli_push_dry_run_keeps_the_folder_and_uploads_nothing(run, hub, tmp_path):
    folder = tmp_path / "prepared"
    args = ["push", "--pretrained", str(run), "--repo", REPO, "--dry-run", "--folder", str(folder)]
    assert main([*args, "--data-description", "described at push time"]) == 0
    assert hub.calls == []
    _assert_same_set(folder, run)
    assert "| training data | described at push time |" in (folder / "README.md").read_text()
    assert main(["push", str(run), "--repo", REPO, "--dry-run"]) == 2  # nowhere to keep it
    assert main(["push", str(run), "--repo", "bad repo", "--dry-run", "--folder", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_readme_holds_the_departures_table_the_cards_use():
    message = "edit wavbrivl/departures.py, then paste `python -m wavbrivl.departures` into docs/design.md's table"
    assert departures_table() in (ROOT / "docs" / "design.md").read_text(), message
