"""Audio input: formats, dtypes, channels, rates, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers.audio import SR, tone
from wavbrivl import InputError, load_audio


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg", "mp3"])
def test_files_of_each_format_load_as_mono_16k(tmp_path, suffix):
    path = tmp_path / f"a.{suffix}"
    sf.write(path, np.stack([tone(300, sr=22050), tone(300, sr=22050)], axis=1), 22050)
    clip = load_audio(path)
    assert clip.sample_rate == SR and clip.waveform.dtype == np.float32 and clip.waveform.ndim == 1
    assert abs(clip.seconds - 1.0) < 0.1
    assert any("resampled from 22050" in n for n in clip.notes)


@pytest.mark.parametrize(
    "dtype,scale", [(np.int16, 32767), (np.int32, 2**31 - 1), (np.float64, 1.0), (np.float32, 1.0)]
)
def test_array_dtypes_map_to_unit_range(dtype, scale):
    wave = tone(amp=0.5)
    clip = load_audio((SR, (wave * scale).astype(dtype)))
    np.testing.assert_allclose(clip.waveform, wave, atol=1e-3)


def test_uint8_pcm_is_centred():
    clip = load_audio((SR, np.full(8000, 128, dtype=np.uint8)))
    assert np.abs(clip.waveform).max() == 0.0


def test_channels_first_or_last_are_averaged():
    left, right = tone(200), tone(500)
    a = load_audio((SR, np.stack([left, right], axis=1))).waveform
    b = load_audio(np.stack([left, right]), sample_rate=SR).waveform
    np.testing.assert_allclose(a, (left + right) / 2, atol=1e-6)
    np.testing.assert_allclose(a, b)


def test_resampling_changes_length_by_rate():
    clip = load_audio((44100, tone(sr=44100, seconds=2.0)))
    assert abs(len(clip.waveform) - 2 * SR) <= 2


def test_long_audio_is_cropped_and_user_told():
    clip = load_audio((SR, tone(seconds=3.0)), max_seconds=1.5)
    assert len(clip.waveform) == int(1.5 * SR)
    assert any("cropped" in n for n in clip.notes)


def test_silence_is_noted_not_refused():
    clip = load_audio((SR, np.zeros(SR, dtype=np.float32)))
    assert any("silent" in n for n in clip.notes)


@pytest.mark.parametrize(
    "source,message",
    [
        ((SR, np.zeros(0, dtype=np.float32)), "empty"),
        ((SR, np.array([0.1, np.nan] * 400, dtype=np.float32)), "NaN"),
        ((SR, np.array([0.1, np.inf] * 400, dtype=np.float32)), "NaN or infinite"),
        ((SR, np.zeros(100, dtype=np.float32)), "at least 400"),
        ((0, np.zeros(1000, dtype=np.float32)), "sample rate"),
        (np.zeros(1000, dtype=np.float32), "sample rate"),
        (None, "no audio"),
        (12, "unsupported"),
    ],
)
def test_bad_arrays_give_clear_errors(source, message):
    with pytest.raises(InputError, match=message):
        load_audio(source)


def test_bad_files_name_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all " * 20)
    with pytest.raises(InputError, match="empty.wav: the file is empty"):
        load_audio(empty)
    with pytest.raises(InputError, match="notes.wav: not a readable sound"):
        load_audio(text)
    with pytest.raises(InputError, match="missing.wav: no such file"):
        load_audio(tmp_path / "missing.wav")


def test_bytes_input(wav_file):
    clip = load_audio(wav_file.read_bytes())
    assert len(clip.waveform) == SR


def test_the_sample_rate_is_stated_once():
    """Decoding, resampling and windowing share one 16 kHz constant: no other module writes the number."""
    import wavbrivl

    root = Path(wavbrivl.__file__).parent
    stated = [
        f"{p.relative_to(root)}:{n}"
        for p in root.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if ("16000" in line or "16_000" in line) and "usual" not in line
    ]
    assert stated == ["data/audio.py:16"], stated
