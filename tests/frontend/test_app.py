"""The Gradio app through gradio_client on loopback: rank, streamed generation, volume study, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from tests.helpers.audio import SR, tone


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    import soundfile as sf

    path = tmp_path_factory.mktemp("app") / "tone.wav"
    sf.write(path, tone(seconds=1.0), SR)
    return str(path)


def test_rank_endpoint(client, wav, image_files):
    gallery, bars = client.predict(
        handle_file(wav), [handle_file(str(p)) for p in image_files], False, 0, "", api_name="/rank"
    )
    assert len(gallery) == 5 and gallery[0]["caption"].startswith("#1")
    scores = [row[1] for row in bars["data"]]
    assert scores == sorted(scores, reverse=True)
    upload = [handle_file(str(image_files[0]))]
    with_examples, _ = client.predict(handle_file(wav), upload, True, 0, "", api_name="/rank")
    assert len(with_examples) == 1 + 24  # the shipped example gallery joins the upload


def test_generate_streams_every_step(client, wav):
    job = client.submit(handle_file(wav), 0, 4, 1, 32, 0.1, 2, None, "", api_name="/generate")
    outputs = list(job)
    assert len(outputs) >= 5  # 4 steps + the final image
    assert "final" in outputs[-1][3] and "seed 1" in outputs[-1][3]
    assert len(outputs[-1][2]["data"]) == 5  # the similarity curve has every step
    shown = np.asarray(Image.open(outputs[-1][0]).convert("RGB"))
    assert shown.shape == (32, 32, 3)  # sent at its own size; the page enlarges it without blur (APP_CSS)
    assert len(outputs[-1][1]) == 5  # the strip: every step of 4 (k = max(1, 4 // 10)) and the final picture
    steps = [o[0] for o in outputs[:-1]]  # each passing step's picture inside its message, not a file to fetch
    assert len(steps) >= 4 and all(s["path"] is None and s["url"].startswith("data:image/png") for s in steps)
    skip = {"__type__": "update"}  # between the twice-a-second updates the rest stays as the page shows it
    for _, strip, curve, status in outputs[:-1]:
        assert strip == skip or all(shown["image"]["url"].startswith("data:image/png") for shown in strip)
        assert curve == skip or curve["data"]
        assert status == skip or status.startswith("seed 1 — step")


@pytest.mark.parametrize("method", ["vqgan", "decoder"])
def test_volume_study_one_image_per_volume_per_step(client, wav, method):
    job = client.submit(handle_file(wav), "-6 0 6", 3, 1, 32, 2, method, 3, 4.0, 0, api_name="/volume_study")
    outputs = list(job)
    assert len(outputs) >= 4 and all(len(o[0]) == 3 for o in outputs)
    assert f"final, {method}" in outputs[-1][1]
    passing = [shown["image"] for o in outputs[:-1] for shown in o[0]]  # inline, never a skip or an update
    assert all(p["path"] is None and p["url"].startswith("data:image/png") for p in passing)
    assert all(Path(shown["image"]).is_file() for shown in outputs[-1][0])  # the final pictures: files
    tables = [o[2] for o in outputs]  # the cosine table: with the first step and the final, unchanged between
    assert tables[0].startswith("| cosine |") and tables[-1] == tables[0]
    assert all(t == {"__type__": "update"} for t in tables[1:-1])


def test_bad_input_is_an_error_not_a_crash(client, tmp_path, wav):
    bad = tmp_path / "bad.wav"
    bad.write_text("no audio here")
    with pytest.raises(Exception, match="bad.wav: not a readable sound"):
        client.predict(handle_file(str(bad)), "0 6", 2, 1, 32, 2, api_name="/volume_study")
    said = "volume 'loud': expected decibels like '-6', '+6dB' or a factor like '0.5x'"  # as parse_volume says it
    with pytest.raises(Exception, match=re.escape(said)):
        client.predict(handle_file(wav), "loud", 2, 1, 32, 2, api_name="/volume_study")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(Exception, match="not a readable image"):
        client.predict(handle_file(wav), [handle_file(str(broken))], False, 0, "", api_name="/rank")
    job = client.submit(handle_file(wav), 0, 2, 1, 32, 0.1, 1, None, "", api_name="/generate")
    assert len(list(job)) >= 3  # the server still works


def test_app_and_cli_rank_alike(client, wav, image_files, capsys):
    """The same request (sound, images, volume) through the app and through `wavbrivl rank` gives the same order
    and scores: both load the set through one settings module and parse the volume in one place. (Both run one
    pipeline, so a wrong gain inside it passes here: tests/frontend/test_app_volume.py judges what the volume does.)"""
    import json

    from wavbrivl.cli import main

    files = [str(p) for p in image_files]
    _, bars = client.predict(handle_file(wav), [handle_file(p) for p in files], False, -6, "", api_name="/rank")
    app_rows = [(row[0].split(" ", 1)[1], row[1]) for row in bars["data"]]
    assert (
        main(["rank", "--preset", "tiny-random", "--audio", wav, "--images", *files, "--json", "--volume", "-6"]) == 0
    )
    cli_rows = [(Path(r["image"]).stem, r["score"]) for r in json.loads(capsys.readouterr().out)]
    assert [name for name, _ in app_rows] == [name for name, _ in cli_rows]
    assert np.allclose([s for _, s in app_rows], [s for _, s in cli_rows], atol=1e-5)
