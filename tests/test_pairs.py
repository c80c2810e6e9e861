"""pair_clips pairs every clip with a volume: one of either side is shared, otherwise they must be as many."""

from __future__ import annotations

import numpy as np
import pytest

from wavbrivl.data.pairs import pair_clips
from wavbrivl.errors import InputError


def _sound(k: int) -> tuple[int, np.ndarray]:
    return 16000, np.sin(np.arange(1600) * (0.01 + 0.01 * k)).astype(np.float32)


@pytest.mark.parametrize("clips", [None, 1, 2, 3])  # None: one bare (rate, samples) source, not in a list
@pytest.mark.parametrize("volumes", [None, 1, 2, 3])  # None: one bare number, not in a list
def test_pairs_are_as_many_as_the_longer_side(clips, volumes):
    audio = _sound(0) if clips is None else [_sound(k) for k in range(clips)]
    volumes_db = 6.0 if volumes is None else [float(-6 * v) for v in range(volumes)]
    try:
        paired, gains = pair_clips(audio, volumes_db, max_seconds=30.0)
    except InputError:  # several clips and a different number of volumes: refused
        assert clips not in (None, 1) and volumes not in (None, 1) and clips != volumes
        return
    n_clips = 1 if clips is None else clips
    n_volumes = 1 if volumes is None else volumes
    assert len(paired) == len(gains) == max(n_clips, n_volumes, 1)
    assert [float(g) for g in gains] == (
        [6.0] * len(paired) if volumes is None else [float(-6 * v) for v in range(volumes)] * (len(paired) // volumes)
    )
