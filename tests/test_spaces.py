"""Hosting: the Gradio-SDK Space layout, ZeroGPU's decorator on every GPU handler, and model choice in one place."""

from __future__ import annotations

import inspect
import json
import platform
import sys
import types
from importlib.metadata import version
from pathlib import Path

import gradio as gr
import pytest
from packaging.requirements import Requirement

from wavbrivl import hosting
from wavbrivl.cli.common import choice_from_args
from wavbrivl.errors import InputError
from wavbrivl.generation import GenerationConfig
from wavbrivl.loading.sources import model_choice, read_settings

ROOT = Path(__file__).resolve().parents[1]
GPU_HANDLERS = {"rank", "generate", "classify", "volume_study"}
LIVE_GPU_CALLS = {"live_references", "live_picture"}  # the Live tab's short calls inside its stream (not endpoints)
MAKE_GPU_CALLS = {"make_strip", "picture_at", "segments"}  # Blend's strip and one position, Segments' study


def _front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("---\n")[1]
    return dict(line.split(": ", 1) for line in block.strip().splitlines())


def _requirements(name: str) -> list[Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]


def test_readme_front_matter_is_a_gradio_space_matching_what_is_installed():
    meta = _front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == version("gradio")  # the Space runs the Gradio the tests ran
    assert meta["python_version"].strip('"') == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (ROOT / meta["app_file"]).is_file() and (ROOT / "packages.txt").is_file()


def test_the_space_requirements_are_satisfied_by_the_tested_pins():
    """requirements.txt (what a Space installs) allows exactly what this suite runs on, and names `spaces`."""
    space = _requirements("requirements.txt")
    names = {r.name.lower() for r in space}
    assert {"spaces", "gradio", "torch", "pandas"} <= names
    for req in space:
        installed = version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} is outside {req}"
    pinned = {r.name.lower(): r for r in _requirements("requirements-pinned.txt")}
    gradio_pin = str(pinned["gradio"].specifier)
    assert gradio_pin == f"=={_front_matter()['sdk_version']}", gradio_pin


def test_spaces_decorator_is_a_no_op_off_zero_gpu(monkeypatch):
    import spaces

    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def handler(x):
        return x + 1

    assert spaces.GPU(duration=5)(handler) is handler
    assert hosting.gpu(7)(handler)(1) == 2 and handler.gpu_duration == 7


@pytest.fixture
def decorated(monkeypatch, tiny_pipeline):
    """Build the app with a recording `spaces` module: which functions got @spaces.GPU, and with which duration."""
    seen: dict[str, object] = {}
    fake = types.ModuleType("spaces")

    def GPU(duration=None):  # noqa: N802 - the real decorator's name
        def wrap(fn):
            seen[fn.__name__] = duration
            return fn

        return wrap

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    import app

    app.build_app(tiny_pipeline)
    return seen


def test_every_gpu_handler_is_decorated(decorated):
    assert set(decorated) == GPU_HANDLERS | LIVE_GPU_CALLS | MAKE_GPU_CALLS
    assert all(callable(decorated[name]) for name in MAKE_GPU_CALLS)  # sized per request, like a generation
    assert decorated["rank"] == decorated["classify"] == hosting.SHORT_CALL_SECONDS
    assert decorated["live_picture"] == decorated["live_references"] == hosting.SHORT_CALL_SECONDS


def test_a_full_size_generation_fits_the_declared_duration(decorated):
    """At the full-size defaults, the declared time covers the counted work at the assumed GPU speed, in one call."""
    figures = json.loads((ROOT / "bench" / "figures.json").read_text())
    gflop = figures["generation_step_gflop_256px_8_cutouts"]
    assert gflop == hosting.STEP_GFLOP_256PX_8CUTS  # the estimate uses the benchmark's own figure
    full = GenerationConfig()  # the full-size sets' defaults: 100 steps, 256 px, 16 cutouts
    declared = decorated["generate"](None, 0, full.steps, 0, full.size, full.lr, full.cutn, None, "")
    work = full.steps * gflop * full.cutn / 8  # 16 cutouts are twice the 8 the figure counts
    assert work / hosting.ASSUMED_GPU_GFLOPS < declared <= hosting.ZEROGPU_MAX_SECONDS, declared
    study = decorated["volume_study"](None, "-12 0 12", full.steps, 0, full.size, full.cutn)
    assert study > declared  # three images cost more than one


def test_on_zero_gpu_a_request_beyond_one_call_is_refused_with_a_message(monkeypatch):
    from wavbrivl.frontend.gpu import generation_gpu_seconds, within_one_gpu_call

    ran = []

    def handler(*args):
        ran.append(args)
        yield "image"

    wrapped = within_one_gpu_call(handler, generation_gpu_seconds)
    big = (None, 0, 300, 0, 512, 0.1, 32, None, "")
    assert list(wrapped(*big)) == ["image"]  # off ZeroGPU no budget applies
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    with pytest.raises(gr.Error, match="ZeroGPU call may last 300 s"):
        list(wrapped(*big))
    assert list(wrapped(None, 0, 100, 0, 256, 0.1, 16, None, "")) == ["image"] and len(ran) == 2


def test_model_choice_flag_beats_variable_beats_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for env in ("WAVBRIVL_CONFIG", "WAVBRIVL_PRESET", "WAVBRIVL_IMAGE", "WAVBRIVL_AUDIO", "WAVBRIVL_DEVICE"):
        monkeypatch.delenv(env, raising=False)
    (tmp_path / "weights").mkdir()
    (tmp_path / "wavbrivl.json").write_text(
        json.dumps({"preset": "brivl", "image": "weights", "audio": "owner/audio", "device": "cpu", "vqgan": None})
    )
    choice = model_choice()
    assert (choice.preset, choice.image, choice.audio) == ("brivl", str(tmp_path / "weights"), "owner/audio")
    assert choice.sources["preset"].endswith("wavbrivl.json") and "vqgan" not in choice.sources
    monkeypatch.setenv("WAVBRIVL_AUDIO", "other/audio")
    monkeypatch.setenv("WAVBRIVL_PRESET", "clip")
    choice = model_choice({"preset": "tiny-random"})
    assert (choice.preset, choice.audio) == ("tiny-random", "other/audio")
    assert choice.sources == {
        "preset": "--preset",
        "audio": "$WAVBRIVL_AUDIO",
        "image": str(tmp_path / "wavbrivl.json"),
        "device": str(tmp_path / "wavbrivl.json"),
    }


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a readable JSON"),
        ('["brivl"]', "expected a JSON object"),
        ('{"presett": "brivl"}', "unknown settings \\['presett'\\]"),
        ('{"preset": "huge"}', "unknown preset 'huge'"),
        ('{"audio": 3}', "must be a non-empty string or null"),
    ],
)
def test_a_bad_settings_file_is_named_and_explained(tmp_path, content, message):
    path = tmp_path / "mine.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_settings(path)
    assert str(path) in str(info.value)


def test_app_and_cli_read_the_same_settings(tmp_path, monkeypatch):
    """The shipped wavbrivl.json names the offline default, and both front ends resolve it alike."""
    import argparse

    from wavbrivl.cli.common import add_model_args

    monkeypatch.chdir(ROOT)
    for env in ("WAVBRIVL_CONFIG", "WAVBRIVL_PRESET", "WAVBRIVL_PRETRAINED"):
        monkeypatch.delenv(env, raising=False)
    shipped = read_settings()
    assert shipped == {"preset": "toyworld"}
    parser = argparse.ArgumentParser()
    add_model_args(parser)
    choice = choice_from_args(parser.parse_args(["--config", str(ROOT / "wavbrivl.json"), "--device", "cpu"]))
    assert (choice.preset, choice.device, choice.sources["device"]) == ("toyworld", "cpu", "--device")


def test_trimmed_hands_memory_back_after_calls_errors_and_streams(monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr(hosting, "_TRIM", lambda: trims.append(1))

    @hosting.trimmed
    def add(x):
        return x + 1

    @hosting.trimmed
    def fail():
        raise ValueError("bad")

    @hosting.trimmed
    def stream(n):
        yield from range(n)

    assert add(1) == 2 and len(trims) == 1
    with pytest.raises(ValueError):
        fail()
    assert len(trims) == 2
    items = stream(3)
    assert next(items) == 0 and len(trims) == 2  # not while the stream is still running
    assert list(items) == [1, 2] and len(trims) == 3
    early = stream(3)
    next(early)
    early.close()  # a client that goes away mid-stream
    assert len(trims) == 4
    assert inspect.isgeneratorfunction(stream) and not inspect.isgeneratorfunction(add)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_trim_heap_hands_freed_pages_back():
    """Freed blocks scattered among live ones stay resident until the trim returns their pages to the system."""
    import gc

    import psutil

    process = psutil.Process()
    blocks = [bytearray(4000) for _ in range(40_000)]  # 160 MB of malloc'd blocks, below glibc's mmap threshold
    keep = blocks[::50]  # one in fifty stays alive, so the heap cannot simply shrink from its top
    del blocks
    gc.collect()
    before = process.memory_info().rss
    assert hosting.trim_heap() is True
    returned = (before - process.memory_info().rss) / 2**20
    assert returned >= 80, f"the trim returned {returned:.0f} MiB of about 156 MiB freed"
    assert len(keep) == 800


def test_every_model_handler_is_trimmed(monkeypatch, tiny_pipeline):
    """Each model handler trims once per request, even one refused before it starts (no sound given)."""
    import app

    trims: list[int] = []
    monkeypatch.setattr(hosting, "_TRIM", lambda: trims.append(1))
    demo = app.build_app(tiny_pipeline)
    handlers = {f.api_name: f.fn for f in demo.fns.values() if f.api_name in GPU_HANDLERS}
    assert set(handlers) == GPU_HANDLERS
    args = {"rank": (None, None, True, 0), "generate": (None, 0, 2, 0, 32, 0.1, 2, None, "")}
    args |= {"volume_study": (None, "0", 2, 0, 32, 2), "classify": (None, 0, "a, b", "")}
    for name, fn in handlers.items():
        before = len(trims)
        with pytest.raises(gr.Error):
            result = fn(*args[name])
            if inspect.isgenerator(result):
                list(result)
        assert len(trims) == before + 1, name


def test_one_pass_methods_declare_their_own_durations():
    from wavbrivl.frontend.gpu import generation_gpu_seconds, study_gpu_seconds

    base = (None, 0, 100, 0, 768, 0.1, 16, None, "")
    assert generation_gpu_seconds(*base, "decoder", 10, 4.0, 0) == hosting.SHORT_CALL_SECONDS
    # Worked by hand from the counted work (bench/bench_unclip_flops.py): 20 steps x 4298.2 GFLOP and 4 previews + the
    # final picture x 5754.3 GFLOP = 114,735.5 GFLOP at 768 px; at the assumed 5000 GFLOP/s that is 22.9 s, rounded
    # up to 23, plus 20 s to move the set and embed the sound: 43 s.
    unclip = generation_gpu_seconds(*base, "unclip", 20, 10.0, 0)
    assert unclip == 43 and unclip <= hosting.ZEROGPU_MAX_SECONDS
    assert generation_gpu_seconds(None, 0, 100, 0, 384, 0.1, 16, None, "", "unclip", 20, 10.0, 0) == 26  # a quarter
    three = study_gpu_seconds(None, "-6 0 6", 100, 0, 768, 16, "unclip", 20, 10.0, 0)
    assert three == 89  # three pictures: 344,206.5 GFLOP, 68.8 s -> 69 s, + 20 s
    assert study_gpu_seconds(None, "-6 0 6", 100, 0, 768, 16, "decoder", 10, 4.0, 0) == 30
