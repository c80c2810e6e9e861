"""Following a microphone (wavbrivl.live): the rolling window, the chunks a page sends, when a picture is drawn, the
timeline, and each session's state kept apart."""

from __future__ import annotations

import io
import math
import wave

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from wavbrivl.data.audio import SAMPLE_RATE
from wavbrivl.errors import InputError
from wavbrivl.live import (
    MAX_TIMELINE,
    MOVE_THRESHOLD,
    Drawn,
    LiveSession,
    RollingWindow,
    chunk_samples,
    cosine_move,
    level_bar,
    peak_dbfs,
    read_window,
    should_draw,
    wav_chunk,
)

PICTURE = Image.new("RGB", (64, 64), (200, 40, 40))


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 9000), min_size=1, max_size=12), seconds=st.sampled_from([0.1, 0.5, 1.0]))
def test_the_window_keeps_the_last_seconds_of_16_khz_chunks(lengths, seconds):
    window, heard = RollingWindow(seconds), []
    for n, length in enumerate(lengths):
        chunk = np.random.default_rng(n).uniform(-1, 1, length).astype(np.float32)
        window.append(SAMPLE_RATE, chunk)
        heard.append(chunk)
    everything = np.concatenate(heard)
    keep = int(round(seconds * SAMPLE_RATE))
    np.testing.assert_array_equal(window.samples, everything[-keep:])
    assert window.heard_seconds == pytest.approx(len(everything) / SAMPLE_RATE)
    assert window.samples.dtype == np.float32


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.tuples(st.integers(1, 6000), st.floats(0.0, 1.0)), min_size=1, max_size=15),
    max_age=st.sampled_from([0.3, 1.5]),
)
def test_the_window_forgets_chunks_that_arrived_too_long_ago(chunks, max_age):
    """Chunks arrive at increasing times (gaps: chunks the server skipped); the window holds the last second of the
    chunks that arrived within max_age of the latest, in order, and its arrivals account for every sample."""
    window, now, kept = RollingWindow(1.0, max_age), 0.0, []
    for n, (length, gap) in enumerate(chunks):
        now += gap
        chunk = np.full(length, n / 100, np.float32)
        window.append(SAMPLE_RATE, chunk, now=now)
        kept = [(t, c) for t, c in kept if t >= now - max_age] + [(now, chunk)]
        expected = np.concatenate([c for _, c in kept])[-SAMPLE_RATE:]
        np.testing.assert_array_equal(window.samples, expected)
        assert sum(count for _, count in window.arrivals) == len(window.samples)
        assert all(t >= now - max_age for t, _ in window.arrivals)


@settings(max_examples=25, deadline=None)
@given(rate=st.sampled_from([8000, 22050, 44100, 48000]), chunks=st.integers(1, 30), stereo=st.booleans())
def test_chunks_at_other_rates_are_resampled_to_16_khz_and_cropped(rate, chunks, stereo):
    window = RollingWindow(1.0)
    size = rate // 10  # 0.1 s, as a page sends them
    t = np.arange(chunks * size) / rate
    sound = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    for k in range(chunks):
        part = sound[k * size : (k + 1) * size]
        window.append(rate, np.stack([part, part], 1) if stereo else part)
    assert window.heard_seconds == pytest.approx(chunks * 0.1)
    assert len(window.samples) <= SAMPLE_RATE  # never more than the window
    assert len(window.samples) >= min(chunks * 0.1, 1.0) * SAMPLE_RATE - 1700  # the resampler holds back <= 0.1 s
    if chunks >= 5:  # a steady 440 Hz tone at half scale, resampled without clicks at the chunks' edges
        middle = window.samples[len(window.samples) // 4 :]
        assert 0.45 < np.abs(middle).max() < 0.55


def test_chunk_samples_scale_integers_and_average_channels():
    np.testing.assert_allclose(chunk_samples(np.array([32767, -32768, 0], np.int16)), [1.0, -1.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(chunk_samples(np.array([255, 0, 128], np.uint8)), [0.992, -1.0, 0.0], atol=1e-2)
    stereo = np.array([[0.5, -0.5], [1.0, 0.0], [0.2, 0.2]], np.float32)
    np.testing.assert_allclose(chunk_samples(stereo), [0.0, 0.5, 0.2], atol=1e-6)
    np.testing.assert_allclose(chunk_samples(stereo.T.copy()), [0.0, 0.5, 0.2], atol=1e-6)  # (channels, samples)
    with pytest.raises(InputError, match="dimensions"):
        chunk_samples(np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="NaN"):
        chunk_samples(np.array([0.0, np.nan]))
    with pytest.raises(InputError, match="Hz"):
        RollingWindow().append(10, np.zeros(100))


def _wav(samples: np.ndarray, rate: int = 48000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype(np.int16).tobytes())
    return buffer.getvalue()


def test_a_page_chunk_is_read_past_its_stale_header():
    """The page sends its first chunk's header before chunks that queued up: every frame after it counts."""
    first = _wav(np.arange(4800) % 100, channels=2)  # 2400 stereo frames, and the header says so
    later = (np.arange(9600) % 50).astype(np.int16).tobytes()
    rate, samples = wav_chunk(first + later)
    assert rate == 48000 and samples.shape == (2400 + 4800, 2)
    np.testing.assert_array_equal(samples[2400:].ravel(), np.arange(9600) % 50)
    with pytest.raises(InputError, match="not a WAV"):
        wav_chunk(b"OggS" + bytes(40))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    threshold=st.floats(1e-3, 2.0),
    same_seed=st.booleans(),
    dim=st.integers(2, 16),
)
def test_a_picture_is_drawn_only_when_the_move_exceeds_the_threshold(seed, threshold, same_seed, dim):
    rng = np.random.default_rng(seed)
    before, after = (torch.from_numpy(rng.normal(size=dim)).float() for _ in range(2))
    last = Drawn(before, 7, PICTURE, "red circle")
    move = 1 - float(torch.dot(before, after) / (before.norm() * after.norm()))
    assert cosine_move(before, after) == pytest.approx(move, abs=1e-5)
    if abs(move - threshold) > 1e-5:  # away from the boundary float rounding decides
        assert should_draw(last, after, 7 if same_seed else 8, threshold) == (move > threshold or not same_seed)
    assert should_draw(None, after, 7, threshold)  # the first picture
    assert not should_draw(last, before * 3.0, 7, threshold)  # the same direction, louder or not, never moved


def test_the_threshold_separates_one_sound_from_a_change_of_sound():
    axis = torch.eye(4)
    steady = torch.tensor([math.cos(0.5), math.sin(0.5), 0, 0])  # 1 - cos(0.5) = 0.12
    changed = torch.tensor([math.cos(1.0), math.sin(1.0), 0, 0])  # 0.46
    last = Drawn(axis[0], 0, PICTURE, "a")
    assert not should_draw(last, steady, 0) and should_draw(last, changed, 0)
    assert 1 - math.cos(0.5) < MOVE_THRESHOLD < 1 - math.cos(1.0)


def test_read_window_scores_like_the_pipeline_and_decides():
    classes = torch.nn.functional.normalize(torch.randn(8, 3), dim=0)
    gallery = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    embedding = torch.nn.functional.normalize(torch.randn(8), dim=0)
    reading = read_window(embedding, classes, gallery, None, 0)
    np.testing.assert_allclose(reading.class_scores, (embedding @ classes).numpy(), atol=1e-6)
    np.testing.assert_allclose(reading.gallery_scores, (gallery @ embedding).numpy(), atol=1e-6)
    assert reading.draw and reading.move is None
    again = read_window(embedding, classes, gallery, Drawn(embedding, 0, PICTURE, "x"), 0)
    assert not again.draw and again.move == pytest.approx(0, abs=1e-6)
    assert read_window(embedding, torch.zeros(8, 0), torch.zeros(0, 8), None, 0).gallery_scores == []
    newest = torch.nn.functional.normalize(torch.randn(8), dim=0)  # the picture follows the window's newest part
    followed = read_window(embedding, classes, gallery, Drawn(embedding, 0, PICTURE, "x"), 0, follow=newest)
    assert torch.equal(followed.embedding, newest) and followed.move == pytest.approx(cosine_move(embedding, newest))
    np.testing.assert_allclose(followed.class_scores, reading.class_scores)  # the labels read the whole window
    assert followed.draw == (cosine_move(embedding, newest) > MOVE_THRESHOLD)


def test_each_session_keeps_its_own_state():
    one, two = LiveSession(), LiveSession()
    assert one.window is not two.window and one.timeline is not two.timeline and one.shown is not two.shown
    one.window.append(SAMPLE_RATE, np.ones(8000, np.float32) * 0.5)
    one.drew(torch.ones(4), 3, PICTURE, "red circle")
    one.note("red circle", PICTURE)
    one.shown["matches"] = [1, 2]
    assert len(two.window.samples) == 0 and two.drawn is None and two.timeline == [] and two.shown == {}
    assert two.pictures == 0 and one.pictures == 1


def test_the_timeline_keeps_changes_and_new_pictures():
    session = LiveSession()
    session.window.append(SAMPLE_RATE, np.full(16000, 0.5, np.float32))
    assert session.note("red circle", PICTURE)
    assert not session.note("red circle")  # the same moment goes on
    assert session.note("silence")  # a new label: its picture is still the last one
    assert session.timeline[-1].thumbnail is session.timeline[0].thumbnail
    assert session.timeline[0].thumbnail.size == (32, 32) and session.timeline[0].caption == "1.0 s red circle"
    for n in range(MAX_TIMELINE + 10):
        session.note(f"label {n % 2}")
    assert len(session.timeline) == MAX_TIMELINE


def test_silence_and_the_level():
    session = LiveSession()
    assert session.silent()  # nothing yet
    session.window.append(SAMPLE_RATE, np.full(16000, 1e-4, np.float32))  # -80 dBFS
    assert session.silent() and not session.silent(gain=1e3)  # +60 dB lifts it over the floor
    assert peak_dbfs(np.array([0.5])) == pytest.approx(-6.02, abs=0.01) and peak_dbfs(np.zeros(3)) == -math.inf
    assert level_bar(0.0) == "▮" * 12 and level_bar(-math.inf) == "▯" * 12 and level_bar(-30).count("▮") == 6
