"""The pairing of clips and volumes in worked values (issue 31: mutation testing of wavbrivl/data/pairs.py): which
clip goes with which volume, the refusals word for word, and the notes a request shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavbrivl.data.audio import AudioClip
from wavbrivl.data.pairs import AudioEmbeddings, pair_clips
from wavbrivl.errors import InputError
from wavbrivl.volume import apply_gain


def sound(level: float, seconds: float = 0.1) -> tuple[int, np.ndarray]:
    return 16000, np.full(int(16000 * seconds), level, dtype=np.float32)


def refusal(*args) -> str:
    with pytest.raises(InputError) as refused:
        pair_clips(*args)
    return str(refused.value)


def test_one_clip_at_every_volume():
    clips, volumes = pair_clips(sound(0.1), [-6, 0, 6.5], 30.0)
    assert volumes == [-6.0, 0.0, 6.5] and all(isinstance(v, float) for v in volumes)
    assert len(clips) == 3 and all(c.waveform[0] == np.float32(0.1) for c in clips)
    clips, volumes = pair_clips([sound(0.2)], (3,), 30.0)  # a list of one clip, a tuple of one volume
    assert volumes == [3.0] and len(clips) == 1 and clips[0].waveform[0] == np.float32(0.2)


def test_one_volume_for_every_clip_and_one_volume_per_clip():
    clips, volumes = pair_clips([sound(0.1), sound(0.2), sound(0.3)], -3, 30.0)
    assert volumes == [-3.0] * 3 and [float(c.waveform[0]) for c in clips] == pytest.approx([0.1, 0.2, 0.3])
    clips, volumes = pair_clips([sound(0.1), sound(0.2)], [1, 2], 30.0)
    assert volumes == [1.0, 2.0] and [float(c.waveform[0]) for c in clips] == pytest.approx([0.1, 0.2])


def test_the_refusals_word_for_word():
    assert refusal([sound(0.1), sound(0.2)], [1, 2, 3], 30.0) == (
        "2 clips but 3 volumes: give one volume, or one per clip"
    )
    assert refusal([sound(0.1)] * 3, [1, 2], 30.0) == "3 clips but 2 volumes: give one volume, or one per clip"
    assert refusal([], 0.0, 30.0) == "no audio or no volume was given"
    assert refusal(sound(0.1), [], 30.0) == "no audio or no volume was given"


def test_clips_are_cropped_to_the_request_limit():
    clips, _ = pair_clips(sound(0.1, seconds=1.0), 0.0, 0.5)
    assert len(clips[0].waveform) == 8000 and clips[0].notes == ["cropped from 1.0 s to the first 0.5 s"]


def test_notes_name_the_clip_keep_each_note_once_and_say_only_clipping_gains():
    quiet = AudioClip(np.full(400, 0.5, dtype=np.float32), name="a.wav", notes=["resampled from 8000 Hz to 16000 Hz"])
    other = AudioClip(np.full(400, 0.5, dtype=np.float32), name="b.wav")
    reports = [
        apply_gain(quiet.waveform, 0.0)[1],
        apply_gain(quiet.waveform, 12.0)[1],
        apply_gain(other.waveform, 0)[1],
    ]
    embedded = AudioEmbeddings(torch.zeros(3, 2), [quiet, quiet, other], reports)
    assert embedded.notes == [
        "a.wav: resampled from 8000 Hz to 16000 Hz",
        "a.wav: gain +12.0 dB (×3.98), peak 1.991; 400 samples exceed full scale, kept beyond full scale "
        "(policy 'allow')",
    ]
