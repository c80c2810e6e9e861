"""The Blend and Segments tabs through the HTTP API on the shipped toy set: the strip's ends judged (by pixels) as
their sounds' classes, the slider's pictures at 0 and 1 equal to the strip's ends, a film of the strip that decodes
to N frames; two toy classes back to back give two segments judged in order, each matching its class in the
gallery; bad inputs answered with what is wrong and what is accepted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from PIL import Image

from wavbrivl.film import read_film
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB, class_sounds, grade
from wavbrivl.toyworld.world import ToyWorld

FIRST, SECOND = 0, 4  # red circle, then a class of another colour and shape


@pytest.fixture(scope="module")
def served(toy_pipeline):
    import app

    demo = app.build_app(toy_pipeline)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield demo, toy_pipeline
    finally:
        demo.close()


@pytest.fixture
def client(served):
    """A fresh session (its own gr.State) on the module's server."""
    return Client(served[0].local_url, verbose=False)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    """Held-out world sounds of two classes (1 s each, mid level), alone and back to back, as wav files."""
    folder = tmp_path_factory.mktemp("make")
    waves = {label: wave for label, (_, wave) in enumerate(class_sounds(777, MID_LEVEL_DB))}
    files = {}
    both = [waves[FIRST], waves[SECOND]]
    made = {"a": both[0], "b": both[1], "both": np.concatenate(both), "twice": np.concatenate(both * 2)}
    for name, wave in made.items():
        files[name] = str(folder / f"{name}.wav")
        sf.write(files[name], wave, 16000, subtype="FLOAT")
    return files


def _settings(pipe) -> tuple:
    """The Generate tab's seed, size, cutouts, method, sampling steps, guidance and noise level: the decoder."""
    config = pipe.generation_config(method="decoder")
    return 0, config.size, config.cutn, "decoder", config.sample_steps, config.guidance_scale, 0


def _ends(sounds: dict) -> tuple:
    """End A: the Sound box's sound; end B: its own uploaded sound (kind, text, image for each, the page's volume)."""
    return "sound", "", None, handle_file(sounds["a"]), 0, "sound", handle_file(sounds["b"]), "", None


def test_the_blend_strip_ends_are_the_sounds_classes_and_the_slider_repeats_them(served, client, sounds):
    pipe = served[1]
    outputs = list(client.submit(*_ends(sounds), 3, *_settings(pipe), "webp", api_name="/blend"))
    assert len(outputs) == 4  # one message per picture as it is made, then the strip with its film
    strip, status, film = outputs[-1][:3]
    assert [shown["caption"] for shown in strip] == ["t=0.00", "t=0.50", "t=1.00"]
    pictures = [Image.open(shown["image"]).convert("RGB") for shown in strip]
    assert all(grade(pictures[0], FIRST)[:3]), grade(pictures[0], FIRST)
    assert all(grade(pictures[-1], SECOND)[:3]), grade(pictures[-1], SECOND)
    assert "seed 0, decoder: 3 pictures" in status and "a.wav" in status and "b.wav" in status
    to_a, to_b = ([float(c) for c in row.split("|")[2:-1]] for row in status.splitlines()[-2:])
    assert to_a[0] > to_b[0] and to_b[-1] > to_a[-1]  # each end's picture is nearer its own end
    assert len(read_film(film, fps=4)) == 3  # one frame per picture
    for t, end in ((0.0, pictures[0]), (1.0, pictures[-1])):  # the session's ends and seed: the strip's pictures
        shown, where = client.predict(*_ends(sounds), t, *_settings(pipe), api_name="/blend_at")
        assert np.array_equal(np.asarray(Image.open(shown).convert("RGB")), np.asarray(end)), t
        assert where.startswith(f"t={t:.2f}, seed 0")


def test_the_blend_takes_a_text_or_an_image_as_an_end_and_films_as_mp4(served, client, sounds, tmp_path):
    pipe = served[1]
    picture = tmp_path / "yellow.png"
    ToyWorld(4242).example(0, label=SECOND, level_db=MID_LEVEL_DB).image.save(picture)
    a = ("sound", "", None, handle_file(sounds["a"]), 0)
    for end_b in (("image", None, "", handle_file(str(picture))), ("text", None, "a yellow bar", None)):
        strip, status, film = client.predict(*a, *end_b, 2, *_settings(pipe), "mp4", api_name="/blend")
        assert all(grade(Image.open(strip[0]["image"]), FIRST)[:3]) and f"to {end_b[0]}" in status
        assert film.endswith(".mp4") and len(read_film(film)) == 2


@pytest.mark.parametrize(
    "change, said",
    [
        ({9: 1}, "Pictures (N): a blend needs a whole number of pictures from 2 to 16 in this app; got 1"),
        ({9: 3.5}, "Pictures (N): a blend needs a whole number of pictures from 2 to 16 in this app; got 3.5"),
        ({3: None}, "End A is a sound: record or upload one in the Sound box above"),
        ({5: "text"}, "End B is a text: write some words"),
        ({5: "image"}, "End B is an image: upload one"),
        ({5: "noise"}, "End B: Value: 'noise' .* is not in the list of choices: ['sound', 'text', 'image']"),
        ({17: "gif"}, "Film format: Value: 'gif' .* is not in the list of choices: ['webp', 'mp4']"),
    ],
)
def test_bad_blend_inputs_are_said(served, client, sounds, change, said):
    args = [*_ends(sounds), 2, *_settings(served[1]), "webp"]
    for index, value in change.items():
        args[index] = value
    with pytest.raises(Exception, match=said.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        client.predict(*args, api_name="/blend")


def _gallery(folder) -> list[str]:
    """One world picture per class (a world of its own), as files named by class."""
    world, paths = ToyWorld(4242), []
    for label in range(8):
        path = folder / f"class{label}.png"
        world.example(label, label=label, level_db=MID_LEVEL_DB).image.save(path)
        paths.append(str(path))
    return paths


def test_two_classes_back_to_back_give_two_segments_in_order(served, client, sounds, tmp_path):
    gallery = _gallery(tmp_path)
    args = (handle_file(sounds["both"]), 0, 1.0, [handle_file(p) for p in gallery], False, 2, *_settings(served[1]))
    outputs = list(client.submit(*args, api_name="/segments"))
    timeline, status, matches, ranked, sheet, files = outputs[-1]
    assert len(outputs) == 3  # a message per segment's picture, then the whole study
    assert [shown["caption"] for shown in timeline] == ["#0 0.0-1.0 s", "#1 1.0-2.0 s"]
    for shown, label in zip(timeline, (FIRST, SECOND)):
        assert all(grade(Image.open(shown["image"]), label)[:3]), label
    best = {row[0]: row[2] for row in matches["data"] if row[1] == 1}
    assert best == {"#0 0.0-1.0 s": f"class{FIRST}.png", "#1 1.0-2.0 s": f"class{SECOND}.png"}
    by_image = {Path(shown["image"]).name: shown["caption"].split(" s ")[0] for shown in ranked}
    assert by_image[f"class{FIRST}.png"] == "0.0-1.0" and by_image[f"class{SECOND}.png"] == "1.0-2.0"
    assert {Path(shown["image"]).name for shown in ranked[:2]} == {f"class{FIRST}.png", f"class{SECOND}.png"}
    assert "2 segments of 1 s, 8 images ranked by their best segment" in status
    facts = json.loads(open(next(f for f in files if f.endswith(".json"))).read())
    assert [(s["start"], s["end"]) for s in facts["segments"]] == [(0.0, 1.0), (1.0, 2.0)]
    assert [s["matches"][0]["image"] for s in facts["segments"]] == [f"class{FIRST}.png", f"class{SECOND}.png"]
    assert Image.open(sheet).height >= 2 * 128 and any(f.endswith(".png") for f in files)


@pytest.mark.parametrize(
    "seconds, said",
    [
        (0.05, "the segment length must be from 0.1 to 30 s; got 0.05"),
        (0.1, "0.1 s cuts this 4.0 s sound into 40 segments; this app makes at most 32 pictures per request, so "
              "give at least 0.12 s"),
    ],
)  # fmt: skip
def test_bad_segment_lengths_are_said(served, client, sounds, seconds, said):
    with pytest.raises(Exception, match=said):
        client.predict(
            handle_file(sounds["twice"]), 0, seconds, [], True, 3, *_settings(served[1]), api_name="/segments"
        )
    with pytest.raises(Exception, match="Record or upload a sound first"):
        client.predict(None, 0, 1.0, [], True, 3, *_settings(served[1]), api_name="/segments")


def test_ranking_by_a_long_sound_points_to_the_segments(served, sounds, capsys):
    """Rank embeds a sound as one; a sound longer than two seconds is told where each segment's matches are."""
    demo = served[0]
    rank = next(block.fn for block in demo.fns.values() if block.api_name == "rank")
    rank(sounds["twice"], [], True, 0, "")
    assert "twice.wav is 4.0 s long, ranked as one sound; the Segments tab ranks" in capsys.readouterr().out
    rank(sounds["a"], [], True, 0, "")
    assert "Segments tab" not in capsys.readouterr().out
