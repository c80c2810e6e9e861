"""Sounds the set does not know: world sounds pass, made-up ones are flagged, the sentence, and novelty.json."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pytest
import torch

from wavbrivl.data.audio import SAMPLE_RATE, load_audio
from wavbrivl.errors import WeightsError
from wavbrivl.loading import TOYWORLD_DIR
from wavbrivl.novelty import (
    NOVELTY_FILE,
    NoveltyCheck,
    calibrate,
    chord,
    embed,
    load,
    made_up_sounds,
    novelty_for,
    save,
    world_sounds,
)
from wavbrivl.toyworld.world import CLASSES

NAMES = [c.name for c in CLASSES]


@pytest.fixture(scope="module")
def check(toy_pipeline) -> NoveltyCheck:
    """The shipped check when the offline default has one, else a small one calibrated now (a few seconds)."""
    shipped = load(TOYWORLD_DIR)
    if shipped is not None and shipped.fits(toy_pipeline):
        return shipped
    return calibrate(toy_pipeline, references=240, per_cell=1)


def _peaks(sounds: list[np.ndarray]) -> list[float]:
    return [20 * math.log10(p) if (p := float(np.abs(s).max())) > 0 else -math.inf for s in sounds]


def _toy_check(threshold: float = 0.5) -> NoveltyCheck:
    """Eight classes, one reference each: the unit axes of an 8-d space."""
    return NoveltyCheck(NAMES, torch.eye(8), list(range(8)), threshold)


def _at_cosine(cosine: float, axis: int = 0) -> torch.Tensor:
    """A unit vector with this cosine to one axis and none to the others' positive side."""
    v = torch.zeros(8)
    v[axis], v[(axis + 1) % 8] = cosine, -math.sqrt(1 - cosine**2)
    return v[None]


def test_held_out_world_sounds_are_known(toy_pipeline, check):
    sounds = world_sounds(0, start=7_000_000, per_cell=1)  # every class at 7 levels, indices no build used
    verdicts = check.check(embed(toy_pipeline, [s for *_, s in sounds]), _peaks([s for *_, s in sounds]))
    flagged = [(NAMES[y], level) for (y, level, _), v in zip(sounds, verdicts) if not v.known]
    assert len(flagged) <= 3, flagged  # the bar is 0.05 of held-out world sounds (56 here)
    right = sum(v.nearest == NAMES[y] for (y, _, _), v in zip(sounds, verdicts))
    assert right >= 0.9 * len(sounds)  # the nearest known sound names the class


def test_made_up_sounds_are_flagged(toy_pipeline, check):
    made = made_up_sounds(seed=9, per_kind=3)
    verdicts = check.check(embed(toy_pipeline, [s for _, s in made]), _peaks([s for _, s in made]))
    missed = [kind for (kind, _), v in zip(made, verdicts) if v.known]
    assert len(missed) <= 2 and "silence" not in missed, missed  # chords of two classes are the hardest
    assert {kind for kind, _ in made} == {"white noise", "pink noise", "brown noise", "clicks", "silence", "chord",
                                          "melody"}  # fmt: skip
    assert all(v.sentence for v in verdicts if not v.known)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_speech_is_flagged(toy_pipeline, check, tmp_path):
    clips = []
    for i, (voice, phrase) in enumerate((("en-us", "make me a picture"), ("de", "what is this sound"))):
        path = tmp_path / f"speech{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), phrase], check=True)
        clips.append(load_audio(path).waveform)
    assert not any(v.known for v in check.check(toy_pipeline.embed_audio([(SAMPLE_RATE, c) for c in clips])))


def test_silence_is_flagged_by_its_level(toy_pipeline, check):
    sound = toy_pipeline.embed_audio([(SAMPLE_RATE, np.zeros(SAMPLE_RATE, np.float32))])  # peaks from the gains
    (verdict,) = check.check(sound)
    assert not verdict.known and verdict.peak_db == -math.inf
    assert verdict.sentence.startswith("too quiet for any of the 8 sounds this set was trained on (silent); nearest: ")
    assert check.notes(sound) == [f"audio: {verdict.sentence}"]  # as the pipeline's notes name a clip
    # a blue circle at -17 dBFS, then 30 dB louder (+13 dBFS)
    tone = toy_pipeline.embed_audio((SAMPLE_RATE, world_sounds(0, 7_100_000, 1)[27][2]), [0.0, 30.0])
    known, loud = check.check(tone)
    assert known.known and not loud.known and loud.sentence.endswith("theirs -30 to -4)")
    assert check.notes(tone) == [f"audio at +30 dB: {loud.sentence}"]


def test_a_chord_at_equal_levels_is_mostly_flagged(toy_pipeline, check):
    rng = np.random.default_rng(4)
    pairs = [(0, 2), (1, 5), (3, 6), (4, 7), (2, 5), (0, 6)]
    sounds = [chord(a, b, -12.0, rng) for a, b in pairs]
    assert sum(not v.known for v in check.check(embed(toy_pipeline, sounds))) >= 4


def test_sentence_wording():
    check = _toy_check()
    (far,) = check.check(_at_cosine(0.21))
    assert not far.known and far.nearest == "red circle" and far.cosine == pytest.approx(0.21, abs=1e-6)
    assert far.sentence == "unlike any of the 8 sounds this set was trained on; nearest: red circle, cosine 0.21"
    (near,) = check.check(_at_cosine(0.8, axis=2), peaks_db=[-12.0])
    assert near.known and near.nearest == "blue triangle" and near.sentence == ""
    loud, quiet = check.check(torch.cat([_at_cosine(0.3, 1), _at_cosine(0.3, 1)]), peaks_db=[1.6, -44.0])
    assert loud.sentence == (
        "unlike any of the 8 sounds this set was trained on; nearest: red cross, cosine 0.30; "
        "louder than any of them (peak 2 dBFS; theirs -30 to -4)"
    )
    assert quiet.sentence.endswith("; quieter than any of them (peak -44 dBFS; theirs -30 to -4)")
    (hush,) = check.check(_at_cosine(0.9, 3), peaks_db=[-72.4])
    assert not hush.known and hush.sentence == (
        "too quiet for any of the 8 sounds this set was trained on (peak -72 dBFS); nearest: blue circle, cosine 0.90"
    )
    assert "below 0.500" in check.describe()


def test_save_load_round_trip(tmp_path, check):
    path = save(check, tmp_path)
    assert path.name == NOVELTY_FILE and path.stat().st_size < 100_000
    again = load(tmp_path)
    assert again is not None and again.class_names == check.class_names
    assert again.threshold == pytest.approx(check.threshold, abs=1e-6)
    assert torch.allclose(again.references, check.references, atol=1e-4)
    assert again.reference_class == check.reference_class and again.probe == pytest.approx(check.probe, abs=1e-6)
    probe = torch.nn.functional.normalize(
        check.references[:3] + 0.3 * torch.randn(3, check.references.shape[1]), dim=-1
    )
    assert [v.known for v in again.check(probe)] == [v.known for v in check.check(probe)]
    assert load(tmp_path / "none") is None


def test_bad_files_and_other_sets_are_refused(tmp_path, check, toy_pipeline, tiny_pipeline):
    (tmp_path / NOVELTY_FILE).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(WeightsError, match="not a novelty check"):
        load(tmp_path)
    with pytest.raises(WeightsError, match="another model set"):
        check.check(torch.randn(2, check.references.shape[1] + 1))
    assert check.fits(toy_pipeline)
    moved = NoveltyCheck(check.class_names, check.references, check.reference_class, check.threshold,
                         probe=[-v for v in check.probe])  # fmt: skip
    assert not moved.fits(toy_pipeline) and not _toy_check().fits(toy_pipeline)  # another tower, or no probe
    assert novelty_for(tiny_pipeline) is None  # a set without the toy world's classes or a saved check


def test_novelty_for_reads_a_saved_check(tmp_path, toy_pipeline, check):
    save(check, tmp_path)
    found = novelty_for(toy_pipeline, tmp_path)
    assert found is not None and found.threshold == pytest.approx(check.threshold, abs=1e-6)


def test_the_cli_says_so_before_the_picture(tmp_path, capsys):
    """`generate` with noise on the offline default: the note comes first, and a world sound gets none."""
    import soundfile as sf

    from wavbrivl.cli import main
    from wavbrivl.toyworld.world import ToyWorld

    noise = tmp_path / "noise.wav"
    sf.write(noise, (0.05 * np.random.default_rng(3).standard_normal(16000)).astype(np.float32), 16000)
    assert main(["generate", "--audio", str(noise), "--every", "0", "--out", str(tmp_path / "a")]) == 0
    first = capsys.readouterr().err.strip().splitlines()[0]
    assert first.startswith(f"note: {noise}: unlike any of the 8 sounds this set was trained on; nearest: ")
    tone = tmp_path / "tone.wav"
    sf.write(tone, ToyWorld(5).example(3).audio, 16000)
    assert main(["generate", "--audio", str(tone), "--every", "0", "--out", str(tmp_path / "b")]) == 0
    assert "unlike any" not in capsys.readouterr().err
