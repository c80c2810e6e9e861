"""One picture per requested output (sound x volume), for every mix of steps, starts, clips, prompts and method."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wavbrivl.cli import main
from wavbrivl.toyworld.evaluate import class_sounds

SOUNDS = class_sounds(777)[:2]
VOLUMES = [0.0, 6.0, -6.0]


def run(pipe, method: str, steps: int, starts: int, start_steps: int, clips: int, volumes: int, prompt: bool):
    """Every step the pipeline yields for this request."""
    config = pipe.generation_config(
        method=method, steps=steps, sample_steps=steps, starts=starts, start_steps=start_steps, cutn=2, seed=0
    )
    prompts = "a large red circle:0.5 | blue:-0.3" if prompt else None
    return list(pipe.generate(SOUNDS[:clips], VOLUMES[:volumes], config, prompts=prompts))


@pytest.mark.slow  # 24 generations: over 5 s on 2 cores
@settings(max_examples=24, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["vqgan", "decoder"]),
    steps=st.integers(1, 4),
    starts=st.integers(1, 4),
    start_steps=st.integers(0, 6),
    clips=st.integers(1, 2),
    volumes=st.integers(1, 3),
    prompt=st.booleans(),
)
def test_every_step_has_one_picture_per_output(
    toy_pipeline, method, steps, starts, start_steps, clips, volumes, prompt
):
    assume(clips == 1 or volumes in (1, clips))  # one volume for all clips, or one per clip
    outputs = max(clips, volumes)
    stream = run(toy_pipeline, method, steps, starts, start_steps, clips, volumes, prompt)
    assert [s.final for s in stream] == [False] * steps + [True]
    for step in stream:
        assert step.pixels.shape[0] == outputs and len(step.similarity) == outputs == len(step.loss)
        assert len(step.images) == outputs


@pytest.mark.parametrize("method", ["vqgan", "decoder"])
def test_few_steps_several_volumes_from_the_cli(method, tmp_path, capsys):
    """The multi-volume command that used to crash (fewer steps than the toy set's start_steps)."""
    import soundfile as sf

    rate, wave = SOUNDS[0]
    sf.write(tmp_path / "a.wav", wave, rate)
    out = tmp_path / "out"
    args = ["generate", "--audio", str(tmp_path / "a.wav"), "--volumes", "0.5x", "1x", "2x", "--out", str(out)]
    assert main([*args, "--steps", "3", "--sample-steps", "3", "--method", method, "--every", "0"]) == 0
    finals = sorted(p.name for p in out.glob("*_final.png"))
    assert len(finals) == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == method and len(summary["results"]) == 3
