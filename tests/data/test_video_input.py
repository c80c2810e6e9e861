"""One frame per clip from a video: the frame a decode from the start would pick, found by seeking."""

from __future__ import annotations

import random

import av
import numpy as np
import pytest

from tests.helpers.media import make_video
from wavbrivl.data.video import extract_clip


def _first_frame_at_or_after(path, at: float) -> tuple[np.ndarray, float]:
    with av.open(str(path)) as container:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in container.decode(video=0)]
    return next(((pixels, t) for pixels, t in frames if t >= at), frames[-1])


@pytest.mark.parametrize("start", [0.0, 1.3, 4.0])
@pytest.mark.parametrize("frame", ["middle", "random"])
def test_the_clip_frame_is_the_one_a_full_decode_picks(tmp_path, start, frame):
    path = make_video(tmp_path / "v.mp4", seconds=6.0, fps=10, size=(64, 48))  # keyframes every 12 frames
    clip = extract_clip(path, seconds=2.0, start=start, frame=frame, max_side=480, rng=random.Random(7))
    span = len(clip.audio) / 16000
    at = clip.start + (span / 2 if frame == "middle" else random.Random(7).uniform(0, span))
    pixels, time = _first_frame_at_or_after(path, at)
    assert clip.frame_time == pytest.approx(time)
    assert np.array_equal(np.asarray(clip.frame), pixels)
