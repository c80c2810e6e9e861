"""Long sounds segment by segment: the cut (a last piece kept if at least half), one embedding per segment, a picture
each judged by the pixel judge, which segment matches each gallery image, the contact sheet and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from wavbrivl.cli import main
from wavbrivl.data.audio import SAMPLE_RATE, AudioClip
from wavbrivl.errors import InputError
from wavbrivl.segments import embed_segments, rank_by_segments, segment_sheet, split_sound, study_segments
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB, class_sounds, grade
from wavbrivl.toyworld.world import ToyWorld


def _clip(seconds: float) -> AudioClip:
    return AudioClip(np.arange(round(seconds * SAMPLE_RATE), dtype=np.float32), name="long.wav")


def test_segments_are_non_overlapping_and_a_last_piece_is_kept_if_at_least_half():
    clips, spans, notes = split_sound(_clip(2.6), 1.0)
    assert spans == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.6)] and [len(c.waveform) for c in clips] == [16000, 16000, 9600]
    assert clips[2].waveform[0] == 32000 and "shorter segment" in notes[0]  # never padded, never overlapping
    _, spans, notes = split_sound(_clip(2.3), 1.0)
    assert spans == [(0.0, 1.0), (1.0, 2.0)] and "0.30 s were left out" in notes[0]
    _, spans, notes = split_sound(_clip(2.5), 1.0)
    assert spans[-1] == (2.0, 2.5)  # exactly half is kept
    _, spans, notes = split_sound(_clip(0.3), 1.0)
    assert spans == [(0.0, 0.3)] and "one segment" in notes[0]
    _, spans, notes = split_sound(_clip(3.0), 0.5)
    assert len(spans) == 6 and notes == []


def test_rank_by_segments_names_each_images_best_segment():
    segments = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    images = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.2, 0.0], [0.0, 0.0, 1.0]])
    ranking = rank_by_segments(segments, images)
    assert ranking.best_segment == [1, 0, 0] and ranking.order == [0, 1, 2]
    assert ranking.best_score[0] == pytest.approx(0.9 / np.hypot(0.1, 0.9))


def test_segment_length_is_checked(toy_pipeline):
    with pytest.raises(InputError, match="segment length"):
        embed_segments(toy_pipeline, (SAMPLE_RATE, np.zeros(SAMPLE_RATE, np.float32)), 0.01)
    with pytest.raises(InputError, match="segment length"):
        embed_segments(toy_pipeline, (SAMPLE_RATE, np.zeros(SAMPLE_RATE, np.float32)), 31.0)


def _two_classes(first: int, second: int) -> tuple[int, np.ndarray]:
    """Two classes' 1 s world sounds (mid level, a world no build saw) one after the other."""
    sounds = class_sounds(777, MID_LEVEL_DB)
    return SAMPLE_RATE, np.concatenate([sounds[first][1], sounds[second][1]])


def _gallery(labels: list[int]) -> list:
    """One world picture per class, from a world seed of their own."""
    world = ToyWorld(4242)
    return [world.example(k, label=label, level_db=MID_LEVEL_DB).image for k, label in enumerate(labels)]


@pytest.mark.parametrize("first, second", [(0, 4), (6, 3)])
def test_two_classes_one_after_the_other_give_two_segments_judged_in_order(toy_pipeline, first, second):
    gallery = _gallery(list(range(8)))
    study = study_segments(toy_pipeline, _two_classes(first, second), 1.0, gallery, top=2)
    assert study.segments.spans == [(0.0, 1.0), (1.0, 2.0)]
    assert [note for note in study.segments.notes if "unlike any" not in note] == []  # nothing cut off
    for picture, label in zip(study.pictures, (first, second)):
        colour, one_object, shape, _ = grade(picture, label)
        assert colour and one_object and shape, (label, grade(picture, label))
    assert [m[0][0] for m in study.matches] == [first, second]  # each segment's best gallery match is its class
    assert study.ranking.best_segment[first] == 0 and study.ranking.best_segment[second] == 1
    sheet = segment_sheet(study, gallery, [f"class {k}" for k in range(8)])
    assert sheet.height >= 2 * 128 and sheet.width % 2 == 0 == sheet.height % 2


def test_the_segments_and_rank_commands(tmp_path, capsys):
    rate, wave = _two_classes(2, 5)
    sf.write(tmp_path / "long.wav", np.concatenate([wave, wave[:9000]]), rate)  # 2.56 s: a third, shorter segment
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for label, picture in zip((2, 5), _gallery([2, 5])):
        picture.save(gallery / f"class{label}.png")
    out = tmp_path / "seg"
    args = ["--audio", str(tmp_path / "long.wav"), "--segment", "1.0", "--images", str(gallery)]
    assert main(["segments", *args, "--sample-steps", "4", "--out", str(out)]) == 0
    facts = json.loads((out / "segments.json").read_text())
    assert [(s["start"], s["end"]) for s in facts["segments"]] == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.5625)]
    assert any("shorter segment" in note for note in facts["notes"])
    assert (out / "sheet.png").is_file() and (out / "segment_02.png").is_file()
    assert {row["image"].rsplit("/", 1)[-1]: row["segment"] for row in facts["images"]}["class5.png"] == 1
    capsys.readouterr()
    assert main(["rank", *args, "--json"]) == 0
    rows = {row["image"].rsplit("/", 1)[-1]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["class2.png"]["segment"] in (0, 2) and rows["class5.png"]["segment"] == 1
    assert rows["class5.png"]["start"] == 1.0 and rows["class5.png"]["end"] == 2.0
    assert main(["rank", "--text", "a red circle", "--segment", "1.0", "--images", str(gallery)]) == 2
    assert "needs --audio" in capsys.readouterr().err


def test_a_segment_the_set_does_not_know_is_said_first(toy_pipeline):
    from tests.helpers.audio import tone

    rate, wave = _two_classes(0, 4)
    segments = embed_segments(toy_pipeline, (rate, np.concatenate([wave[:SAMPLE_RATE], tone()])), 1.0)
    assert len(segments.notes) == 1 and segments.notes[0].startswith("audio @ 1.00-2.00 s: unlike any of the 8 sounds")
