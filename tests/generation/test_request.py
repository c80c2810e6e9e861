"""One checked request: `prepare` checks a generation request once, and the CLI and the app each check once."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import wavbrivl.generation.checks as checks_module
import wavbrivl.pipeline as pipeline_module
from wavbrivl import WavBriVLPipeline
from wavbrivl.cli import main
from wavbrivl.errors import InputError
from wavbrivl.generation.registry import METHODS, REGISTRY, unused_settings
from wavbrivl.generation.request import GenerationRequest


@pytest.fixture(scope="module")
def pipe():
    return WavBriVLPipeline.from_preset(device="cpu")


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, (0.2 * np.sin(np.linspace(0, 2 * np.pi * 440, 16000))).astype(np.float32), 16000)
    return path


@pytest.fixture
def counted(monkeypatch):
    """How often each check runs: the request check, the seed rule, prompt parsing, sound embedding."""
    counts = {"check_generation": 0, "resolve_seed": 0, "parse_prompts": 0, "embed_audio": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(pipeline_module, "check_generation")
    counting(checks_module, "resolve_seed")
    counting(pipeline_module, "parse_prompts")
    counting(WavBriVLPipeline, "embed_audio")
    return counts


def test_prepare_checks_once_and_generate_runs_the_request_without_checking_again(pipe, wav, counted):
    request = pipe.prepare(str(wav), [0.0, 6.0], pipe.generation_config(seed=-1), "red circle:0.5")
    assert isinstance(request, GenerationRequest) and request.pictures == 2
    assert request.targets.shape[:2] == (2, 2) and request.weights.tolist() == [1.0, 0.5]
    assert 0 <= request.config.seed < 2**31  # the random seed, resolved once
    steps = list(pipe.generate(request))
    assert steps[-1].final and len(steps[-1].images) == 2
    assert counted == {"check_generation": 1, "resolve_seed": 1, "parse_prompts": 1, "embed_audio": 1}
    with pytest.raises(AttributeError):
        request.config = None  # frozen


def test_a_request_checks_the_cheap_things_before_the_sound_is_read(pipe, counted):
    with pytest.raises(InputError, match="the seed must be a whole number"):
        pipe.prepare("no/such/file.wav", 0.0, pipe.generation_config(seed=-5))
    assert counted["embed_audio"] == 0


def test_the_cli_checks_a_request_once(wav, tmp_path, counted, capsys):
    args = ["generate", "--audio", str(wav), "--volumes", "0", "6", "--prompt", "red circle", "--seed", "-1"]
    assert main([*args, "--every", "0", "--out", str(tmp_path / "out")]) == 0
    assert counted == {"check_generation": 1, "resolve_seed": 1, "parse_prompts": 1, "embed_audio": 1}
    assert "seed " in capsys.readouterr().out  # the seed used is printed


def test_a_setting_the_method_does_not_use_is_said(wav, tmp_path, capsys):
    assert main(["generate", "--audio", str(wav), "--steps", "3", "--cutn", "2", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "note: cutn is not used by method 'decoder'; ignored" in err
    assert "note: steps is not used by method 'decoder'; ignored" in err


@pytest.mark.parametrize("method", METHODS)
def test_every_method_uses_the_seed_rules_and_owns_its_settings(method):
    spec = REGISTRY[method]
    assert unused_settings(method, spec.settings) == []
    others = set().union(*(s.settings for name, s in REGISTRY.items() if name != method)) - spec.settings
    assert unused_settings(method, others | {"seed", "method"}) == sorted(others)


@pytest.mark.slow
def test_the_app_checks_a_request_once(pipe, wav, counted):
    from gradio_client import Client, handle_file

    import app

    demo = app.build_app(pipe)
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        args = [handle_file(str(wav)), 0, 10, -1, 64, 0.1, 2, None, "red circle", "decoder", 4, 4.0, 0]
        outputs = list(client.submit(*args, api_name="/generate"))
        assert "final" in outputs[-1][3]
        assert counted == {"check_generation": 1, "resolve_seed": 1, "parse_prompts": 1, "embed_audio": 1}
        for key in counted:
            counted[key] = 0
        study = [handle_file(str(wav)), "-6 0 6", 10, 3, 64, 2, "decoder", 4, 4.0, 0]
        assert "final" in list(client.submit(*study, api_name="/volume_study"))[-1][1]
        assert counted == {"check_generation": 1, "resolve_seed": 1, "parse_prompts": 1, "embed_audio": 1}
    finally:
        demo.close()
