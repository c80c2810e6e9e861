"""The Live tab's handler driven directly with the chunks a page sends, on the shipped toy set through the model
thread (as the app runs on the CPU): the picture follows a sound that changes class, judged by pixels; a steady
tone draws nothing new; the seed, novelty and refused sounds; five sessions at once keep apart with flat memory."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import psutil
import pytest
import soxr

from wavbrivl import load_audio
from wavbrivl.frontend.live import LiveModels, live_handler
from wavbrivl.frontend.model_thread import OnModelThread
from wavbrivl.frontend.streaming import UNCHANGED, Inline
from wavbrivl.frontend.tabs import Shared
from wavbrivl.live import WINDOW_SECONDS, LiveSession
from wavbrivl.toyworld import CLASSES, ToyWorld
from wavbrivl.toyworld.judge import class_colour_index, judge

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
GALLERY = sorted(str(p) for p in (EXAMPLES / "gallery").glob("*.png"))
RATE = 48000  # a browser's rate: every chunk goes through the resampler
CHUNK = 0.25  # seconds per chunk
FIRST, SECOND = 0, 2  # red circle, then blue triangle
SWITCH_WITHIN = 4  # updates (1 s of sound) after the change for the picture to show the second class


def switching_sound(first: int, second: int, seconds: float = 3.0, seed: int = 3) -> np.ndarray:
    """`seconds` of one toy class then `seconds` of another, at 16 kHz."""
    parts = [ToyWorld(seed).example(i, label=label, level_db=-12).audio for label in (first, second)
             for i in range(int(seconds))]  # fmt: skip
    return np.concatenate(parts)


def page_chunks(sound: np.ndarray, seconds: float = CHUNK) -> list[tuple[int, np.ndarray]]:
    """The sound as a page sends it: 48 kHz stereo int16, in chunks of `seconds`."""
    loud = (soxr.resample(sound, 16000, RATE) * 32767).astype(np.int16)
    size = int(seconds * RATE)
    return [(RATE, np.stack([loud[k : k + size]] * 2, 1)) for k in range(0, len(loud) - size + 1, size)]


@pytest.fixture(scope="module")
def handler(toy_pipeline):
    """The Live handler over the toy set behind the model thread, and its models."""
    pipe = OnModelThread(toy_pipeline)
    shared = Shared(pipe, None, None, 30, {}, pipe.generation_config(), "")
    models = LiveModels(pipe, GALLERY)
    return live_handler(shared, models, clock=lambda: 0.0), models  # every chunk in time: the window is by length


def _is(picture, label: int) -> bool:
    verdict = judge(picture)
    return verdict.shape == CLASSES[label].shape and verdict.colour == class_colour_index(label)


def test_the_picture_follows_the_sound_and_a_steady_tone_draws_nothing(handler):
    live, _ = handler
    session, seen, page = None, [], {}  # per update: seconds heard, pictures drawn so far, the picture shown
    for chunk in page_chunks(switching_sound(FIRST, SECOND)):
        *outputs, session = live(chunk, session, 0, 0)
        page |= {k: v for k, v in zip(("level", "matches", "labels", "picture"), outputs) if v is not UNCHANGED}
        picture, status = outputs[3], outputs[4]
        assert "dBFS" in page["level"] and status.startswith(f"update {session.updates} ")
        if picture is not UNCHANGED:
            assert isinstance(picture, Inline) and picture.image is session.drawn.picture
        seen.append((session.window.heard_seconds, session.pictures, session.drawn and session.drawn.picture))
    switch = next(n for n, (heard, *_) in enumerate(seen) if heard > 3.0)  # the first update with the second sound
    assert _is(seen[switch - 1][2], FIRST), "the first sound's picture"
    follows = [n for n in range(switch, len(seen)) if _is(seen[n][2], SECOND)]
    assert follows and follows[0] - switch < SWITCH_WITHIN, (switch, follows)
    for start, end in ((WINDOW_SECONDS + CHUNK, 3.0), (3.0 + WINDOW_SECONDS + CHUNK, 6.0)):  # one sound fills it
        steady = [pictures for heard, pictures, _ in seen if start <= heard <= end]
        assert len(steady) >= 4 and steady[0] == steady[-1], (start, steady)  # no new picture
    assert all(_is(picture, SECOND) for heard, _, picture in seen if heard >= 3.0 + WINDOW_SECONDS)
    names = [m.label for m in session.timeline]
    assert CLASSES[FIRST].name in names and CLASSES[SECOND].name in names
    assert names.index(CLASSES[FIRST].name) < names.index(CLASSES[SECOND].name)
    assert page["labels"].split("**")[1] == CLASSES[SECOND].name  # the best zero-shot label comes first, in bold
    assert all(Path(path).name.startswith("blue-triangle") for path, _ in page["matches"][:2])


def test_the_seed_and_the_volume_apply_live(handler):
    live, _ = handler
    session = None
    for chunk in page_chunks(switching_sound(FIRST, FIRST, 1.0))[:6]:
        *_, session = live(chunk, session, 0, 0)
    drawn = session.pictures
    *_, picture, status, _, session = live(page_chunks(switching_sound(FIRST, FIRST, 1.0))[6], session, 0, 5)
    assert session.pictures == drawn + 1 and "new seed" in status and session.drawn.seed == 5
    level, *_ = live(page_chunks(switching_sound(FIRST, FIRST, 1.0))[7], session, 12, 5)
    quiet, *_ = live(page_chunks(switching_sound(FIRST, FIRST, 1.0))[7], session, -12, 5)
    assert float(level.split("peak ")[1].split(" ")[0]) > float(quiet.split("peak ")[1].split(" ")[0]) + 20


def test_silence_costs_nothing_and_an_unknown_sound_is_said(handler):
    live, models = handler
    session, calls = None, []
    original = models.picture_call
    models.picture_call = lambda *args: calls.append(args) or original(*args)
    try:
        for _ in range(8):
            *_, picture, status, _, session = live((16000, np.zeros(4000, np.int16)), session, 0, 0)
            assert picture is UNCHANGED
        assert calls == [] and "silence" in status and [m.label for m in session.timeline] == ["silence"]
        noise = np.random.default_rng(0).uniform(-0.3, 0.3, 16000).astype(np.float32)
        *_, status, _, session = live((16000, noise), session, 0, 0)
        assert "does not know" in status and session.timeline[-1].label.endswith("?")
    finally:
        models.picture_call = original


def test_refused_sounds_and_bad_chunks_are_said(toy_pipeline):
    pipe = OnModelThread(toy_pipeline)
    refusing = Shared(pipe, None, None, 30, {}, pipe.generation_config(), "the audio tower is UNTRAINED")
    live = live_handler(refusing, LiveModels(pipe, []), clock=lambda: 0.0)
    *_, status, _, session = live((16000, np.ones(8000, np.int16)), None, 0, 0)
    assert "Sounds are off" in status and "UNTRAINED" in status and session.updates == 0
    live = live_handler(
        Shared(pipe, None, None, 30, {}, pipe.generation_config(), ""), LiveModels(pipe, []), clock=lambda: 0.0
    )
    *_, status, _, session = live((5, np.ones(800)), None, 0, 0)
    assert status.startswith("⚠️") and "Hz" in status


@pytest.mark.slow  # some 20 s on two cores: each session draws a few pictures per round
def test_five_sessions_at_once_keep_apart_with_flat_memory(handler):
    """Five recordings of different sounds through one handler at once, three rounds of the same work each."""
    live, _ = handler
    pairs = [(0, 2), (2, 0), (5, 7), (7, 5), (4, 1)]
    chunks = [page_chunks(switching_sound(a, b, 2.0, seed=10 + n)) for n, (a, b) in enumerate(pairs)]
    process, rss, errors = psutil.Process(), [], []

    def record(n: int, out: list) -> None:
        session = None
        try:
            for chunk in chunks[n]:
                *_, session = live(chunk, session, 0, n)
        except Exception as err:  # noqa: BLE001 - reported by the test
            errors.append(err)
        out[n] = session

    for _ in range(3):
        sessions: list[LiveSession | None] = [None] * len(pairs)
        threads = [threading.Thread(target=record, args=(n, sessions)) for n in range(len(pairs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        rss.append(process.memory_info().rss / 2**20)
        for n, ((first, second), session) in enumerate(zip(pairs, sessions)):
            assert session.updates == len(chunks[n]) and session.drawn.seed == n
            labels = [m.label for m in session.timeline]
            assert labels.index(CLASSES[first].name) < labels.index(CLASSES[second].name), labels
            assert _is(session.drawn.picture, second), n
    assert rss[2] - rss[0] < 30, rss  # MiB: later rounds of the same work hold no more


def test_the_scores_are_the_pipelines_own_and_the_cpu_copy_embeds_alike(toy_pipeline):
    """The labels and matches score as Classify and Rank do; the audio tower's CPU copy (ZeroGPU's) embeds alike."""
    from wavbrivl.live import read_window

    pipe = OnModelThread(toy_pipeline)
    sound = (16000, switching_sound(FIRST, FIRST, 1.0))
    models, twin = LiveModels(pipe, GALLERY), LiveModels(pipe, GALLERY, twin=True)
    embedded = models.embed(load_audio(sound, name="microphone"), -6.0)
    np.testing.assert_allclose(embedded.embeddings, pipe.embed_audio(sound, -6.0).embeddings, atol=1e-6)
    copied = twin.embed(load_audio(sound, name="microphone"), -6.0)
    np.testing.assert_allclose(copied.embeddings, embedded.embeddings, atol=1e-5)
    assert copied.volumes[0].gain_db == -6.0 and twin.twin is not None and models.twin is None
    reading = read_window(embedded.embeddings[0], *models.references(), None, 0)
    names = [c.name for c in CLASSES]
    expected = pipe.zero_shot(embedded.embeddings, names).scores[0]
    np.testing.assert_allclose(reading.class_scores, expected.numpy(), atol=1e-5)
    ranked = pipe.rank(embedded, GALLERY).scores[0]
    np.testing.assert_allclose(reading.gallery_scores, ranked.numpy(), atol=1e-5)


def test_the_live_picture_is_drawn_by_the_decoders_student(toy_pipeline):
    """The set's default is the full sampler (10 guided steps); the Live tab draws with its 2-step student."""
    pipe, calls = toy_pipeline, {"teacher": 0, "student": 0}
    assert pipe.generation_config().sample_steps > pipe.decoder.config.distilled_steps == 2
    hooks = [
        pipe.decoder.unet.register_forward_hook(lambda *_: calls.__setitem__("teacher", calls["teacher"] + 1)),
        pipe.decoder.student.unet.register_forward_hook(lambda *_: calls.__setitem__("student", calls["student"] + 1)),
    ]
    try:
        sound = (16000, ToyWorld(3).example(0, label=0, level_db=-17).audio)
        picture = LiveModels(pipe, []).draw(load_audio(sound), 0.0, seed=0)
    finally:
        for hook in hooks:
            hook.remove()
    assert calls == {"teacher": 0, "student": 2} and picture.size == (64, 64)
