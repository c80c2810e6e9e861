"""One generation from a sound at the offline default's (the app's) settings, timed end to end on this machine:
embedding the sound, every optimisation step, the final decode. Best of 3 runs, plus 5 volumes in one batch."""

from __future__ import annotations

import torch

from bench.common import machine, timed
from wavbrivl import WavBriVLPipeline
from wavbrivl.toyworld.evaluate import MID_LEVEL_DB, STUDY_VOLUMES_DB
from wavbrivl.toyworld.world import ToyWorld


def main() -> None:
    pipe = WavBriVLPipeline.from_preset("toyworld", device="cpu")
    config = pipe.generation_config(seed=0)
    clip = (16000, ToyWorld(777).example(0, label=0, level_db=MID_LEVEL_DB).audio)
    one = timed(lambda: pipe.generate_final(clip, 0.0, config), repeat=3)
    five = timed(lambda: pipe.generate_final(clip, list(STUDY_VOLUMES_DB), config), repeat=1)
    print(
        f"toy generation at the app defaults ({config.steps} steps, {config.size} px, {config.cutn} cutouts): "
        f"{one:.2f} s for one image; {five:.2f} s for 5 volumes in one batch ({five / one:.2f}x one) | "
        f"{machine()}"
    )


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    main()
