"""The stand-in Hub (tests/helpers/stand_in_hub.py) answers the real huggingface_hub client and transformers'
`from_pretrained` as the Hub does: downloads, listings, errors, the cache, offline mode, and a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from huggingface_hub import HfApi, constants, hf_hub_download, model_info, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError
from transformers import WavLMConfig, WavLMModel

from tests.helpers.stand_in_hub import StandInHub, hub_environment, offline_environment

REPO = "stand-in/tiny"
FILES = {
    "config.json": json.dumps({"model_type": "bert", "hidden_size": 8}),
    "tokenizer_config.json": json.dumps({"do_lower_case": True}),
    "vocab.txt": "[PAD]\n[UNK]\nhello\nworld\n",
    "README.md": "# tiny\n",
    "weights/model.safetensors": bytes(range(256)) * 4,
    "weights/extra/notes.txt": "deep in a subfolder\n",
}
WAVLM = "microsoft/wavlm-base-plus"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A started stand-in serving REPO, with this process and its subprocesses pointed at it on an empty HF_HOME."""
    stand_in = StandInHub()
    for path, data in FILES.items():
        stand_in.add_file(REPO, path, data)
    with stand_in:
        hub_environment(stand_in, monkeypatch, tmp_path / "hf_home")
        yield stand_in


@pytest.fixture
def wavlm(hub, tmp_path):
    """A tiny WavLM served as microsoft/wavlm-base-plus, with a pytorch_model.bin as that repo has; its state dict."""
    config = WavLMConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=[32] * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    )
    torch.manual_seed(0)
    model = WavLMModel(config)
    folder = tmp_path / "wavlm"
    # transformers 5 dropped save_pretrained(safe_serialization=False): it writes model.safetensors whatever is
    # asked, so the .bin of the real repo is written by hand
    config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    hub.add_folder(WAVLM, folder)
    return model.state_dict()


def _same_weights(expected: dict, model: torch.nn.Module) -> bool:
    loaded = model.state_dict()
    return loaded.keys() == expected.keys() and all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_hf_hub_download_fetches_a_root_file_and_a_subfolder_file(hub, tmp_path):
    for path in ("config.json", "weights/extra/notes.txt"):
        hub.clear_log()
        local = hf_hub_download(REPO, path)
        assert open(local, "rb").read() == FILES[path].encode()
        assert str(tmp_path / "hf_home" / "hub") in local
        assert [r for r in hub.requests if r[0] == "GET"] == [("GET", f"/{REPO}/resolve/main/{path}")]
        assert hub.fetched(REPO) == {path}


def test_an_lfs_file_is_cached_under_its_sha256_and_its_bytes_are_right(hub, tmp_path):
    import hashlib

    local = hf_hub_download(REPO, "weights/model.safetensors")
    data = FILES["weights/model.safetensors"]
    assert open(local, "rb").read() == data
    blobs = tmp_path / "hf_home" / "hub" / "models--stand-in--tiny" / "blobs"
    assert [p.name for p in blobs.iterdir()] == [hashlib.sha256(data).hexdigest()]


def test_a_range_request_gets_the_rest_of_the_file(hub):
    """What http_get sends to resume a broken download."""
    import urllib.request

    request = urllib.request.Request(f"{hub.url}/{REPO}/resolve/main/vocab.txt", headers={"Range": "bytes=7-"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 7-{len(FILES['vocab.txt']) - 1}/{len(FILES['vocab.txt'])}"
        assert response.read() == FILES["vocab.txt"][7:].encode()


def test_snapshot_download_fetches_only_the_allowed_files_then_all(hub):
    folder = snapshot_download(REPO, allow_patterns=["*.json", "vocab.txt"])
    assert hub.fetched(REPO) == {"config.json", "tokenizer_config.json", "vocab.txt"}
    assert sorted(os.listdir(folder)) == ["config.json", "tokenizer_config.json", "vocab.txt"]
    assert ("GET", f"/api/models/{REPO}/revision/main") in hub.requests

    hub.clear_log()
    folder = snapshot_download(REPO)
    assert hub.fetched(REPO) == set(FILES) - {"config.json", "tokenizer_config.json", "vocab.txt"}  # the rest
    for path, data in FILES.items():
        assert open(os.path.join(folder, path), "rb").read() == (data.encode() if isinstance(data, str) else data)


def test_snapshot_download_honours_ignore_patterns(hub):
    snapshot_download(REPO, ignore_patterns=["weights/*"])
    assert hub.fetched(REPO) == {"config.json", "tokenizer_config.json", "vocab.txt", "README.md"}


def test_list_repo_files_model_info_and_the_tree_list_the_files(hub):
    api = HfApi()
    assert sorted(api.list_repo_files(REPO)) == sorted(FILES)
    info = model_info(REPO)  # the module-level function: huggingface_hub.hf_api.api, made at import
    assert info.id == REPO and info.sha == hub.commit(REPO)
    assert sorted(s.rfilename for s in info.siblings) == sorted(FILES)
    sizes = {s.rfilename: (s.size, s.lfs) for s in api.model_info(REPO, files_metadata=True).siblings}
    assert sizes["config.json"] == (len(FILES["config.json"]), None)
    assert sizes["weights/model.safetensors"][1].size == 1024
    top = {entry.path for entry in api.list_repo_tree(REPO)}
    assert top == {"weights", "config.json", "tokenizer_config.json", "vocab.txt", "README.md"}
    assert {entry.path for entry in api.list_repo_tree(REPO, path_in_repo="weights", recursive=True)} == {
        "weights/extra",
        "weights/model.safetensors",
        "weights/extra/notes.txt",
    }


def test_a_missing_repo_or_file_raises_the_hub_errors_at_once(hub):
    start = time.monotonic()
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("stand-in/no-such-repo", "config.json")
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("stand-in/no-such-repo")
    with pytest.raises(EntryNotFoundError):  # RemoteEntryNotFoundError in huggingface_hub 1.x and 2.x
        hf_hub_download(REPO, "no-such-file.json")
    assert time.monotonic() - start < 2  # no retry loop
    assert hub.requests.count(("HEAD", f"/{REPO}/resolve/main/no-such-file.json")) == 1


def test_wavlm_from_pretrained_loads_the_served_weights(hub, wavlm):
    model = WavLMModel.from_pretrained(WAVLM)
    assert _same_weights(wavlm, model)
    assert hub.fetched(WAVLM) == {"config.json", "pytorch_model.bin"}


def test_a_second_load_offline_is_served_from_the_cache_without_a_request(hub, wavlm, monkeypatch):
    WavLMModel.from_pretrained(WAVLM)
    offline_environment(monkeypatch)
    hub.clear_log()
    model = WavLMModel.from_pretrained(WAVLM)
    assert _same_weights(wavlm, model)
    assert hub.requests == []


def test_a_subprocess_downloads_through_the_environment_variables_alone(hub):
    code = (
        "from huggingface_hub import hf_hub_download\n"
        f"print(open(hf_hub_download({REPO!r}, 'vocab.txt')).read(), end='')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == FILES["vocab.txt"]
    assert ("GET", f"/{REPO}/resolve/main/vocab.txt") in hub.requests


def test_the_environment_is_restored_after_use(tmp_path):
    import huggingface_hub.hf_api

    before = (constants.ENDPOINT, constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE, huggingface_hub.hf_api.api.endpoint)
    env_before = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    with StandInHub() as stand_in, pytest.MonkeyPatch.context() as monkeypatch:
        hub_environment(stand_in, monkeypatch, tmp_path)
        assert (constants.ENDPOINT, constants.HF_HUB_OFFLINE) == (stand_in.url, False)
        assert huggingface_hub.hf_api.api.endpoint == stand_in.url
        offline_environment(monkeypatch)
        assert constants.HF_HUB_OFFLINE is True and constants.HF_HUB_CACHE == str(tmp_path / "hub")
    after = (constants.ENDPOINT, constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE, huggingface_hub.hf_api.api.endpoint)
    assert after == before
    assert {k: os.environ.get(k) for k in env_before} == env_before
    assert stand_in._server is None
