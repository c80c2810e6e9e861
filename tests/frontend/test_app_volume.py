"""The Volume slider beside the sound reaches Generate, Classify and Rank through the app (issue 31), on the shipped
toy set: at +12 dB the decoder draws the same class bigger than at 0 dB, at -12 dB smaller (judged by pixels, never by a
tower that guided the picture), Classify scores the sound at the slider's volume, its class holding, and Rank
orders the gallery by the sound at that volume.

Fast on purpose: `-m "not slow"` keeps this guard on the volume control and the decoder's judged output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from PIL import Image

from tests.helpers.audio import SR
from wavbrivl.toyworld import CLASSES, ToyWorld
from wavbrivl.toyworld.judge import class_colour_index, judge

LABEL = 7  # yellow triangle
VOLUMES = (-12.0, 0.0, 12.0)
NAMES = [c.name for c in CLASSES]
GALLERY = sorted((Path(__file__).resolve().parents[2] / "assets" / "examples" / "gallery").glob("*.png"))


@pytest.fixture(scope="module")
def sound(tmp_path_factory):
    """A held-out yellow triangle's sound at a middle level, as samples and as a wav file."""
    samples = ToyWorld(777).example(0, label=LABEL, level_db=-17).audio
    path = tmp_path_factory.mktemp("volume") / "yellow-triangle.wav"
    sf.write(path, samples, SR, subtype="FLOAT")
    return samples, str(path)


@pytest.fixture(scope="module")
def served(toy_pipeline):
    import app

    demo = app.build_app(toy_pipeline)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False), toy_pipeline
    finally:
        demo.close()


def test_the_volume_slider_reaches_generate_classify_and_rank(served, sound):
    """One test on purpose: the handlers are made when the app is built, so one test sees them all (mutation runs)."""
    client, pipe = served
    samples, path = sound
    verdicts = {}
    for volume in VOLUMES:
        args = (handle_file(path), volume, 1, 0, 64, 0.1, 1, None, "", "decoder", 6, 4.0, 0)
        final = list(client.submit(*args, api_name="/generate"))[-1]
        assert "final, decoder" in final[3]
        verdicts[volume] = judge(Image.open(final[0]))
    for volume, seen in verdicts.items():  # the class holds at every volume
        assert (seen.shape, seen.colour, seen.one_object) == ("triangle", class_colour_index(LABEL), True), volume
    quiet, middle, loud = (verdicts[v].object_area for v in VOLUMES)
    assert loud > 1.5 * middle and middle > 1.5 * quiet, (quiet, middle, loud)  # about 2.7x per 12 dB

    scores = {}
    for volume in VOLUMES:
        bars, best = client.predict(handle_file(path), volume, ", ".join(NAMES), "{}", api_name="/classify")
        assert bars["data"][0][0] == NAMES[LABEL] and f"**{NAMES[LABEL]}**" in best  # the class holds
        shown = dict((row[0], row[1]) for row in bars["data"])
        scores[volume] = np.array([shown[name] for name in NAMES])
        expected = pipe.zero_shot(pipe.embed_audio((SR, samples), volume), NAMES).scores[0].numpy()
        np.testing.assert_allclose(scores[volume], expected, atol=1e-5)  # scored at the slider's volume
    assert np.abs(scores[12.0] - scores[0.0]).max() > 1e-3 and np.abs(scores[-12.0] - scores[0.0]).max() > 1e-3

    ranked = {}
    for volume in (-12.0, 12.0):  # Rank, over the example gallery, at the slider's volume too
        _, bars = client.predict(handle_file(path), [], True, volume, "", api_name="/rank")
        ranked[volume] = {row[0].split(" ", 1)[1]: row[1] for row in bars["data"]}
        expected = pipe.rank(pipe.embed_audio((SR, samples), volume), GALLERY).scores[0].tolist()
        assert ranked[volume] == pytest.approx({p.stem: s for p, s in zip(GALLERY, expected)}, abs=1e-5)
    assert ranked[12.0] != pytest.approx(ranked[-12.0], abs=1e-3)
