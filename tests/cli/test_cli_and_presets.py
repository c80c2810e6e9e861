"""The CLI end to end on the offline default, and presets built from local files only (no downloads)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import WavLMConfig, WavLMModel

from tests.generation.test_vqgan_clip import TAMING_YAML, _fake_taming_ckpt
from wavbrivl import WavBriVLPipeline, WeightsError
from wavbrivl.cli import main
from wavbrivl.loading.folders import save_component
from wavbrivl.loading.hub import resolve
from wavbrivl.loading.towers import random_components
from wavbrivl.testing import TINY_WAVLM


def test_rank_json(wav_file, image_files, capsys):
    assert (
        main(
            [
                "rank",
                "--preset",
                "tiny-random",
                "--audio",
                str(wav_file),
                "--images",
                str(image_files[0].parent),
                "--json",
                "--volume",
                "-6dB",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    rows = json.loads(out.out)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["score"] >= rows[-1]["score"]
    assert "UNTRAINED" in out.err


def test_generate_writes_steps_and_finals(wav_file, tmp_path, capsys):
    out = tmp_path / "gen"
    code = main(
        [
            "generate",
            "--preset",
            "tiny-random",
            "--audio",
            str(wav_file),
            "--steps",
            "4",
            "--size",
            "32",
            "--cutn",
            "2",
            "--seed",
            "3",
            "--volumes",
            "-6",
            "0",
            "+6dB",
            "--every",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    for vol in ("vol-6dB", "vol+0dB", "vol+6dB"):
        assert f"{vol}_final.png" in names and f"{vol}_step0000.png" in names and f"{vol}_step0002.png" in names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and len(summary["results"]) == 3


def test_info_and_errors(tmp_path, capsys):
    assert main(["info", "--json", "--preset", "tiny-random"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["preset"] == "tiny-random" and not info["components"]["audio_tower"]["trained"]
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert main(["embed", "--preset", "tiny-random", "--audio", str(bad)]) == 2
    assert "bad.wav: not a readable sound" in capsys.readouterr().err


def test_hub_ids_fail_clearly_offline(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    expected = "image tower: shunxing1234/BriVL is not in the local Hub cache and HF_HUB_OFFLINE is set"
    with pytest.raises(WeightsError, match=expected):
        resolve("shunxing1234/BriVL", "image", "image tower")
    with pytest.raises(WeightsError, match="neither an existing path nor a Hub id"):
        resolve("/no/such/dir/weights.pth", "image")


def test_brivl_preset_from_local_files(tmp_path, monkeypatch):
    """The preset path: a WavLM folder (untrained head), an image tower folder, a taming .ckpt + .yaml."""
    wavlm = WavLMModel(WavLMConfig(**TINY_WAVLM))
    wavlm.save_pretrained(tmp_path / "wavlm")
    _, image, vqgan = random_components(seed=5)
    save_component(image, tmp_path / "image")
    torch.save(_fake_taming_ckpt(vqgan), tmp_path / "last.ckpt")
    (tmp_path / "model.yaml").write_text(TAMING_YAML)
    monkeypatch.setenv("WAVBRIVL_VQGAN", str(tmp_path / "last.ckpt"))
    monkeypatch.setenv("WAVBRIVL_VQGAN_CONFIG", str(tmp_path / "model.yaml"))
    pipe = WavBriVLPipeline.from_preset(
        "brivl", audio=str(tmp_path / "wavlm"), image=str(tmp_path / "image"), device="cpu"
    )
    assert pipe.untrained == ["audio_tower"] and pipe.audio_tower.embed_dim == 64
    assert "UNTRAINED" in pipe.provenance["audio_tower"].note
    torch.testing.assert_close(pipe.vqgan.codebook, vqgan.codebook)


def test_a_preset_without_a_generator_is_refused_for_generation_before_loading(tmp_path, monkeypatch, capsys):
    """A preset that names no VQGAN nor unCLIP: `generate` says what to pass before any weights are read."""
    monkeypatch.delenv("WAVBRIVL_VQGAN", raising=False)
    monkeypatch.setenv("WAVBRIVL_PRESETS", str(tmp_path / "presets"))
    (tmp_path / "presets").mkdir()
    no_vqgan = {"description": "towers only", "audio": str(tmp_path / "no-such-audio"), "image": "owner/not-fetched"}
    (tmp_path / "presets" / "towers-only.json").write_text(json.dumps(no_vqgan))
    args = ["generate", "--preset", "towers-only", "--prompt", "a dog", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: preset 'towers-only' names no generator. VQGAN weights are needed: pass --vqgan-weights (a Hub "
        "repo such as boris/vqgan_f16_16384, a taming .ckpt with its config .yaml, or a folder written by "
        "save_pretrained) or set $WAVBRIVL_VQGAN"
    )


def test_brivl_preset_without_a_usable_text_source_still_loads(tmp_path, monkeypatch):
    """A converted image folder holds no text tower: the preset loads and says why text is unavailable."""
    monkeypatch.delenv("WAVBRIVL_TEXT", raising=False)
    _, image, _ = random_components()
    save_component(image, tmp_path / "image")
    WavLMModel(WavLMConfig(**TINY_WAVLM)).save_pretrained(tmp_path / "wavlm")
    pipe = WavBriVLPipeline.from_preset(
        "brivl",
        audio=str(tmp_path / "wavlm"),
        image=str(tmp_path / "image"),
        load_generators=False,
        device="cpu",
        allow_untrained=True,
    )
    assert pipe.vqgan is None and pipe.text_tower is None
    assert "BriVLImageTower" in pipe.info()["text"]
    with pytest.raises(WeightsError, match="no text tower.*Note"):
        pipe.embed_text("a dog")
    with pytest.raises(WeightsError, match="without a VQGAN"):
        pipe.generate_final((16000, np.zeros(16000, np.float32)))
    with pytest.raises(WeightsError, match="expected a BriVLTextTower|holds a BriVLImageTower"):
        WavBriVLPipeline.from_preset(
            "brivl",
            audio=str(tmp_path / "wavlm"),
            image=str(tmp_path / "image"),
            text=str(tmp_path / "image"),
            load_generators=False,
        )


def test_rank_reads_the_sound_before_embedding_the_gallery(tmp_path, image_files, monkeypatch, capsys):
    from wavbrivl import WavBriVLPipeline

    notes = tmp_path / "notes.txt"
    notes.write_text("not a sound")

    def gallery_embedded(*args, **kwargs):
        raise AssertionError("the gallery was embedded before the sound was read")

    monkeypatch.setattr(WavBriVLPipeline, "embed_images", gallery_embedded)
    args = ["rank", "--preset", "tiny-random", "--audio", str(notes), "--images", str(image_files[0].parent)]
    assert main(args) == 2
    assert "notes.txt" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-2", "4294967296"])
def test_a_bad_seed_is_one_line_and_exit_2_from_the_cli_as_in_python(seed, wav_file, tmp_path, capsys):
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.errors import InputError

    assert main(["generate", "--audio", str(wav_file), "--seed", seed, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "summary.json").exists()
    pipe = WavBriVLPipeline.from_preset(device="cpu")
    with pytest.raises(InputError) as python:
        pipe.check_inputs(pipe.generation_config(seed=int(seed)))
    assert err == f"error: {python.value}"
