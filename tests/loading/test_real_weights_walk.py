"""Each real preset walked as a new user with a network meets it, from the Hub's real repo ids and file names.

The repos are served by the stand-in Hub on 127.0.0.1 (tiny but faithful: tests/helpers/real_repos.py) to the
real huggingface_hub client, with an empty HF_HOME: `info --json`, ranking by text, a sound refused because the
audio tower is untrained, a picture from a text prompt; then the same again offline from the cache, with no
request reaching the server. Which files were fetched is checked against what each loader needs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.helpers import real_repos as repos
from tests.helpers.stand_in_hub import StandInHub, hub_environment, offline_environment
from wavbrivl.cli import main

PROMPTS = {"brivl": "红色的圆", "clip": "a red circle", "unclip": "a red circle"}
FETCHED = {  # what each preset may download, by repo: nothing else
    "brivl": {
        repos.WAVLM: {"config.json", "preprocessor_config.json", "pytorch_model.bin"},
        repos.BRIVL: {f"{repos.BRIVL_FOLDER}/BriVL-1.0-5500w.pth"},
        repos.ROBERTA: {
            "config.json",
            "vocab.txt",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "added_tokens.json",
        },  # fmt: skip
        repos.VQGAN: {"config.yaml", "model.ckpt"},
    },
    "clip": {
        repos.WAVLM: {"config.json", "preprocessor_config.json", "pytorch_model.bin"},
        repos.CLIP_B32: {
            "config.json",
            "model.safetensors",
            "preprocessor_config.json",
            "vocab.json",
            "merges.txt",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
        },  # fmt: skip
        repos.VQGAN: {"config.yaml", "model.ckpt"},
    },
}
UNTRAINED = f"error: the audio tower ({repos.WAVLM}) is UNTRAINED, so sounds would give meaningless results"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The repos, built once for the module."""
    return repos.build_repos(tmp_path_factory.mktemp("repos"))


@pytest.fixture
def hub(built, tmp_path, monkeypatch):
    """The stand-in Hub serving every repo, this process pointed at it with an empty HF_HOME."""
    with StandInHub() as stand_in:
        repos.serve(stand_in, built)
        hub_environment(stand_in, monkeypatch, tmp_path / "hf_home")
        yield stand_in


@pytest.fixture
def media(tmp_path):
    """A sound and a small gallery."""
    sf.write(tmp_path / "bark.wav", (0.2 * np.sin(np.linspace(0, 2000, 16000))).astype(np.float32), 16000)
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for i, colour in enumerate(("red", "blue", "green")):
        Image.new("RGB", (40, 40), colour).save(gallery / f"{i}-{colour}.png")
    return tmp_path / "bark.wav", gallery


def run(capfd, *args: str) -> tuple[int, str, str]:
    """The CLI in this process; (exit code, stdout, stderr) read at the file-descriptor level."""
    capfd.readouterr()
    code = main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


def _generate_args(preset: str, out) -> list[str]:
    size = ["--size", "64", "--sample-steps", "2"] if preset == "unclip" else ["--size", "64", "--steps", "2"]
    return ["generate", "--preset", preset, "--prompt", PROMPTS[preset], "--every", "0", "--out", str(out), *size]


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["brivl", "clip", "unclip"])
def test_a_preset_walks_from_the_hub_then_offline(preset, hub, media, capfd, monkeypatch, tmp_path):
    sound, gallery = media
    code, out, err = run(capfd, "info", "--preset", preset, "--json")
    assert code == 0, err
    info = json.loads(out)  # valid JSON, whatever the libraries printed
    assert info["components"]["audio_tower"]["trained"] is False
    assert info["components"]["image_tower"]["trained"] is True
    assert "vqgan" not in info["components"] and "unclip" not in info["components"]  # info loads no generator
    assert info["sound"].startswith(f"the audio tower ({repos.WAVLM}) is UNTRAINED")

    by_text = ["rank", "--preset", preset, "--text", PROMPTS[preset], "--images", str(gallery), "--json"]
    code, out, err = run(capfd, *by_text)
    assert code == 0, err
    assert sorted(row["rank"] for row in json.loads(out)) == [1, 2, 3]

    code, out, err = run(
        capfd, "classify", "--preset", preset, "--images", str(gallery), "--classes", "红,蓝,绿", "--json"
    )
    assert code == 0, err
    assert [len(row["top"]) for row in json.loads(out)] == [3, 3, 3]  # zero-shot labels of images: no sound needed

    code, out, err = run(capfd, "rank", "--preset", preset, "--audio", str(sound), "--images", str(gallery))
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith(UNTRAINED) and "Traceback" not in err
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]

    code, out, err = run(capfd, *_generate_args(preset, tmp_path / "out"))
    assert code == 0, err
    assert Image.open(tmp_path / "out" / "text_final.png").size == (64, 64)

    _check_fetched(hub, preset)
    offline_environment(monkeypatch)
    hub.clear_log()
    code, out, err = run(capfd, "info", "--preset", preset, "--json")
    assert code == 0, err
    json.loads(out)
    code, out, err = run(capfd, *_generate_args(preset, tmp_path / "again"))
    assert code == 0, err
    assert hub.requests == []


def _check_fetched(hub: StandInHub, preset: str) -> None:
    """Only the files the loaders read: one weight format per repo, never TF or Flax, never the extras."""
    every = {repo: hub.fetched(repo) for repo in (repos.WAVLM, repos.BRIVL, repos.ROBERTA, repos.CLIP_B32,
                                                   repos.CLIP_L14, repos.VQGAN, repos.UNCLIP)}  # fmt: skip
    names = {name.rsplit("/", 1)[-1] for files in every.values() for name in files}
    assert not names & {"tf_model.h5", "flax_model.msgpack", "tf_efficientnet_b5_ns-6f26d0cf.pth"}
    assert not {n for n in names if ".fp16." in n or n.endswith(".ckpt") and n != "model.ckpt"}
    for files in every.values():
        assert not {"model.safetensors", "pytorch_model.bin"} <= {f.rsplit("/", 1)[-1] for f in files}
    assert "pytorch_model.bin" not in every[repos.ROBERTA]
    if preset in FETCHED:
        assert {repo: files for repo, files in every.items() if files} == FETCHED[preset]
    else:  # unclip: WavLM, CLIP ViT-L/14 and the pipeline, one format per component
        assert set(repo for repo, files in every.items() if files) == {repos.WAVLM, repos.CLIP_L14, repos.UNCLIP}
        weights = sorted(f for f in every[repos.UNCLIP] if f.endswith((".safetensors", ".bin")))
        folders = [f.split("/")[0] for f in weights]
        assert len(folders) == len(set(folders)) and "unet" in folders


@pytest.mark.slow
def test_an_allowed_untrained_head_ranks_the_same_twice(hub, media, capfd):
    """The head of an untrained audio tower is drawn from a fixed seed: two runs agree."""
    sound, gallery = media
    args = ["rank", "--preset", "clip", "--audio", str(sound), "--images", str(gallery), "--json", "--allow-untrained"]
    orders = []
    for _ in range(2):
        code, out, err = run(capfd, *args)
        assert code == 0, err
        orders.append([(row["image"], row["score"]) for row in json.loads(out)])
    assert orders[0] == orders[1]
    assert len({score for _, score in orders[0]}) == 3  # three different scores: an order, not a tie


@pytest.mark.parametrize("layout", ["root", "folder"])
def test_brivl_checkpoint_found_wherever_the_repo_keeps_it(layout, built, tmp_path, monkeypatch):
    """Found from the repo's file list at the root or under BriVL-pretrain-model/; the init beside it never."""
    from wavbrivl.loading.hub import plan

    source = built[repos.BRIVL] / repos.BRIVL_FOLDER
    with StandInHub() as stand_in:
        prefix = "" if layout == "root" else f"{repos.BRIVL_FOLDER}/"
        for path in source.iterdir():
            stand_in.add_file(repos.BRIVL, prefix + path.name, path)
        hub_environment(stand_in, monkeypatch, tmp_path / "hf_home")
        assert plan(repos.BRIVL, "image") == [f"{prefix}BriVL-1.0-5500w.pth"]
        assert stand_in.fetched(repos.BRIVL) == set()  # listed, nothing downloaded


def test_a_wrong_repo_or_file_is_refused_before_any_download(built, tmp_path, monkeypatch, capfd):
    """A VQGAN repo without its config: refused from the listing, before a byte of any weights."""
    with StandInHub() as stand_in:
        repos.serve(stand_in, built)
        stand_in.add_file("someone/ckpt-only", "model.ckpt", b"weights")
        hub_environment(stand_in, monkeypatch, tmp_path / "hf_home")
        args = ["generate", "--preset", "clip", "--vqgan-weights", "someone/ckpt-only", "--prompt", "a", "--out",
                str(tmp_path / "out")]  # fmt: skip
        code, out, err = run(capfd, *args)
        assert code == 2
        assert err.strip().splitlines()[-1] == (
            "error: someone/ckpt-only: model.ckpt has no model config beside it "
            "(one of ('config.yaml', 'model.yaml', 'project.yaml'))"
        )
        assert all(not stand_in.fetched(repo) for repo in built)


@pytest.mark.slow
def test_download_fetches_a_preset_ahead_then_it_runs_offline(hub, media, capfd, monkeypatch, tmp_path):
    """`wavbrivl download --preset brivl` fetches what the loaders read, no more; then generation needs no network."""
    code, out, err = run(capfd, "download", "--preset", "brivl", "--json")
    assert code == 0, err
    fetched = {row["repo"]: set(row["files"]) for row in json.loads(out)}
    assert fetched == FETCHED["brivl"]
    assert {repo: hub.fetched(repo) for repo in fetched} == FETCHED["brivl"]
    offline_environment(monkeypatch)
    hub.clear_log()
    code, out, err = run(capfd, *_generate_args("brivl", tmp_path / "out"))
    assert code == 0, err
    assert (tmp_path / "out" / "text_final.png").is_file() and hub.requests == []
