"""The films of a run's steps offered after Generate and the Volume study end: made from the frames the run streamed
(one per step, the final picture last), in either format, decoding back to that many frames; and what a run keeps
for its film when its steps' pictures outgrow the budget."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from wavbrivl.film import read_film
from wavbrivl.frontend.films import StepFrames, write_steps_film


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    import soundfile as sf

    from tests.helpers.audio import SR, tone

    path = tmp_path_factory.mktemp("films") / "tone.wav"
    sf.write(path, tone(seconds=1.0), SR)
    return str(path)


@pytest.fixture
def session(client):
    """A fresh session (its own gr.State) on the module's server."""
    return Client(client.src, verbose=False)


def _frames(path: str) -> list[np.ndarray]:
    """A film's frames, a WebP's counted at the app's frame rate (a repeated frame is held, not stored twice)."""
    return read_film(path, fps=8) if path.endswith(".webp") else read_film(path)


def test_generate_offers_its_steps_as_a_film_in_either_format(session, wav):
    assert session.predict("webp", api_name="/generate_film") is None  # no run yet: nothing to download
    outputs = list(session.submit(handle_file(wav), 0, 4, 1, 32, 0.1, 2, None, "", api_name="/generate"))
    assert "final" in outputs[-1][3] and len(outputs) == 5  # 4 steps and the final picture, each streamed
    final = np.asarray(Image.open(outputs[-1][0]).convert("RGB"))
    for film_format in ("webp", "mp4"):
        film = session.predict(film_format, api_name="/generate_film")
        assert film.endswith(f".{film_format}")
        frames = _frames(film)
        assert len(frames) == len(outputs), film_format  # one frame per streamed step, no step run again
        assert frames[0].shape[0] >= 256 and frames[0].shape[0] % 32 == 0  # 32 px scaled up by a whole factor
    last = _frames(session.predict("webp", api_name="/generate_film"))[-1]
    factor = last.shape[0] // final.shape[0]
    assert np.array_equal(last[::factor, ::factor], final)  # the WebP is lossless: its last frame is the final


def test_the_volume_study_films_its_volumes_side_by_side(session, wav):
    outputs = list(session.submit(handle_file(wav), "-6 0 6", 2, 1, 32, 2, api_name="/volume_study"))
    film = session.predict("webp", api_name="/volume_study_film")
    frames = _frames(film)
    assert len(frames) == len(outputs) and "final" in outputs[-1][1]
    assert frames[0].shape[1] > 3 * frames[0].shape[0] * 0.9  # three pictures side by side, captioned below
    with pytest.raises(Exception, match="Film format: Value: 'gif'"):
        session.predict("gif", api_name="/volume_study_film")


def test_a_run_keeps_every_step_within_the_budget_then_every_other_one_and_always_the_final():
    picture = Image.new("RGB", (10, 10))
    kept = StepFrames(budget=10 * 10 * 8)
    for step in range(8):
        kept.add([picture], final=step == 7)
    assert [index for index, *_ in kept.steps] == list(range(8)) and kept.stride == 1
    kept = StepFrames(budget=10 * 10 * 8)
    for step in range(21):
        kept.add([picture], final=step == 20)
    indices = [index for index, *_ in kept.steps]
    assert kept.stride == 4 and indices == [0, 4, 8, 12, 16, 20] and kept.steps[-1][1]
    assert kept.pixels() <= 10 * 10 * 8
    assert write_steps_film(StepFrames(), "webp") is None  # a run that streamed nothing has no film
