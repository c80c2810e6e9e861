"""Every sound format a user brings, through the project's own loader and through the app, with no ffmpeg program."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file

from tests.helpers.sound_formats import FORMATS, SR, forbid_ffmpeg, write_sound
from wavbrivl import InputError, load_audio
from wavbrivl.toyworld.world import ToyWorld


@pytest.fixture(scope="module")
def toy():
    example = ToyWorld(0).example(0)
    assert example.audio.dtype == np.float32 and example.audio.ndim == 1
    return example


@pytest.fixture(scope="module")
def sounds(toy, tmp_path_factory) -> dict[str, Path]:
    """The toy example's 1 s sound written in every format."""
    folder = tmp_path_factory.mktemp("formats")
    return {name: write_sound(folder / name, name, toy.audio, toy.image) for name in FORMATS}


@pytest.fixture
def no_ffmpeg(monkeypatch):
    forbid_ffmpeg(monkeypatch)


def _rms_db(wave: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))


@pytest.mark.parametrize("name", list(FORMATS))
def test_load_audio_decodes_every_format(sounds, toy, name, no_ffmpeg):
    clip = load_audio(sounds[name], name=name)
    assert clip.sample_rate == SR and clip.waveform.dtype == np.float32 and clip.waveform.ndim == 1
    assert abs(clip.seconds - len(toy.audio) / SR) < 0.1  # codecs may add up to ~64 ms of priming
    assert abs(_rms_db(clip.waveform) - _rms_db(toy.audio)) < 1.5  # the level survives (it is an input)
    from_bytes = load_audio(sounds[name].read_bytes())
    assert abs(len(from_bytes.waveform) - len(clip.waveform)) <= 2


def test_a_webm_says_it_was_resampled(sounds):
    assert any("resampled from 48000 Hz" in n for n in load_audio(sounds["toy.webm"]).notes)


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_uploads_and_ranks(client, sounds, image_files, name, no_ffmpeg):
    gallery, bars = client.predict(
        handle_file(str(sounds[name])), [handle_file(str(p)) for p in image_files], False, 0, "", api_name="/rank"
    )
    assert len(gallery) == len(image_files) and gallery[0]["caption"].startswith("#1")
    assert len(bars["data"]) == len(image_files)


def test_bad_file_is_named_by_its_own_name_and_server_keeps_answering(client, sounds, image_files, tmp_path):
    bad = tmp_path / "x.mp3"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(Exception) as caught:
        client.predict(handle_file(str(bad)), [handle_file(str(image_files[0]))], False, 0, "", api_name="/rank")
    message = str(caught.value)
    assert "x.mp3: not a readable sound file" in message and "expected a sound file" in message
    assert "/tmp" not in message and "gradio" not in message.lower() and "Traceback" not in message
    gallery, _ = client.predict(
        handle_file(str(sounds["toy.mp3"])), [handle_file(str(image_files[0]))], False, 0, "", api_name="/rank"
    )
    assert len(gallery) == 1


def test_bad_image_is_named_by_its_own_name(client, sounds, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(Exception, match="broken.png: not a readable image") as caught:
        client.predict(handle_file(str(sounds["toy.wav"])), [handle_file(str(broken))], False, 0, "", api_name="/rank")
    assert "/tmp" not in str(caught.value)


def test_level_preview_decodes_each_file_once(sounds, monkeypatch, tmp_path):
    from wavbrivl.frontend import inputs as common

    calls = []
    real = common.load_audio
    monkeypatch.setattr(common, "load_audio", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    path = tmp_path / "level.m4a"
    path.write_bytes(sounds["toy.m4a"].read_bytes())
    views = [common.waveform_view(str(path), db) for db in (-6, 0, 6, 12)]
    assert len(calls) == 1
    assert all(frame is not None and "gain" in text for frame, text in views)
    assert views[3][0]["peak"].max() == pytest.approx(4 * views[1][0]["peak"].max(), rel=0.01)  # +12 dB ≈ ×4
    path.write_bytes(sounds["toy.flac"].read_bytes())  # a new file at the same path is decoded again
    common.waveform_view(str(path), 0)
    assert len(calls) == 2
    frame, text = common.waveform_view(str(tmp_path / "gone.ogg"), 0)
    assert frame is None and "gone.ogg: no such file" in text and str(tmp_path) not in text


def test_bad_file_message_through_the_loader(tmp_path, no_ffmpeg):
    bad = tmp_path / "x.mp3"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"^x\.mp3: not a readable sound file \(FFmpeg: .*; expected a sound file"):
        load_audio(bad, name="x.mp3")
    with pytest.raises(InputError, match="x.png: has no audio stream"):
        image = tmp_path / "x.png"
        from PIL import Image

        Image.new("RGB", (8, 8)).save(image)
        load_audio(image, name="x.png")
