"""pair_count says, without reading a sound, how many (clip, volume) pairs pair_clips makes."""

from __future__ import annotations

import numpy as np
import pytest

from wavbrivl.data.pairs import pair_clips, pair_count
from wavbrivl.errors import InputError


def _sound(k: int) -> tuple[int, np.ndarray]:
    return 16000, np.sin(np.arange(1600) * (0.01 + 0.01 * k)).astype(np.float32)


@pytest.mark.parametrize("clips", [None, 1, 2, 3])  # None: one bare (rate, samples) source, not in a list
@pytest.mark.parametrize("volumes", [None, 1, 2, 3])  # None: one bare number, not in a list
def test_pair_count_is_the_number_of_pairs_pair_clips_makes(clips, volumes):
    audio = _sound(0) if clips is None else [_sound(k) for k in range(clips)]
    volumes_db = 6.0 if volumes is None else [float(-6 * v) for v in range(volumes)]
    try:
        paired, gains = pair_clips(audio, volumes_db, max_seconds=30.0)
    except InputError:  # several clips and a different number of volumes: refused
        assert clips not in (None, 1) and volumes not in (None, 1) and clips != volumes
        return
    assert pair_count(audio, volumes_db) == len(paired) == len(gains)
