"""A wheel built from the source tree carries the offline default: installed into a fresh environment without
the source tree, its console script ranks and its pipeline generates with the shipped toyworld set, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOYWORLD_IN_TREE = ROOT / "wavbrivl" / "assets" / "toyworld"
GALLERY = ROOT / "assets" / "examples" / "gallery"
SOUND = ROOT / "assets" / "examples" / "red-circle_-12dB.wav"
SKIP = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a command; on failure show its output in the assertion."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _copy_source(dest: Path) -> Path:
    """What a build sees (top-level files and the package), without stale build/ or egg-info leftovers."""
    dest.mkdir()
    for path in ROOT.iterdir():
        if path.is_file():
            shutil.copy2(path, dest / path.name)
    shutil.copytree(ROOT / "wavbrivl", dest / "wavbrivl", ignore=lambda _, names: [n for n in names if n in SKIP])
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, venv, env, cwd): the wheel built from this tree, installed into a fresh venv outside the repo."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_source(tmp / "src")
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)], cwd=tmp)
    (wheel,) = dist.glob("wavbrivl-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    new_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    # a plain path line: the heavy dependencies already installed here become importable there, but .pth files
    # in that folder (among them this checkout's editable install of wavbrivl) are not processed
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (new_site / "_wavbrivl_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))

    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVBRIVL_") and k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    env.setdefault("NUMBA_CACHE_DIR", str(tmp / "numba-cache"))
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    probe = "import importlib.util as u; print(u.find_spec('wavbrivl') is None, u.find_spec('torch') is not None)"
    assert _run([str(python), "-c", probe], env=env, cwd=cwd).stdout.split() == ["True", "True"], (
        "before the install, the fresh venv must see the dependencies but not the editable wavbrivl"
    )

    # --ignore-installed: never touch the editable install that the .pth line makes visible to pip
    install = ["install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)]
    _run([*pip, "--python", str(python), *install], env=env, cwd=cwd)
    assert (venv / "bin" / "wavbrivl").is_file(), "the console script was not installed"
    return wheel, venv, env, cwd


def test_wheel_lists_every_toyworld_file(installed):
    wheel = installed[0]
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        "wavbrivl/" + p.relative_to(ROOT / "wavbrivl").as_posix()
        for p in TOYWORLD_IN_TREE.rglob("*")
        if p.is_file() and not SKIP & set(p.parts)
    }
    for name in ("model_index.json", "build.json", "README.md", "vqgan/model.safetensors"):
        assert f"wavbrivl/assets/toyworld/{name}" in shipped
    assert {"audio_tower", "image_tower", "text_tower", "vqgan"} <= {
        n.split("/")[3] for n in shipped if n.count("/") > 3
    }
    assert shipped - names == set(), f"missing from the wheel: {sorted(shipped - names)}"


def test_installed_console_script_ranks_offline(installed):
    _, venv, env, cwd = installed
    names = ["green-bar_medium.png", "blue-triangle_medium.png", "red-circle_medium.png", "yellow-triangle_medium.png"]
    images = [str(GALLERY / n) for n in names]
    out = _run(
        [str(venv / "bin" / "wavbrivl"), "rank", "--audio", str(SOUND), "--images", *images, "--json"], env=env, cwd=cwd
    )
    ranked = json.loads(out.stdout)
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    assert sorted(Path(r["image"]).name for r in ranked) == sorted(names)
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert Path(ranked[0]["image"]).name == "red-circle_medium.png"  # the shipped set knows its own world


GENERATE = """
import sys
from pathlib import Path

import torch

torch.set_num_threads(2)
import wavbrivl
from wavbrivl import WavBriVLPipeline
from wavbrivl.loading import TOYWORLD_DIR

venv, repo = Path(sys.prefix).resolve(), Path(sys.argv[2]).resolve()
where = Path(wavbrivl.__file__).resolve()
assert venv in where.parents and repo not in where.parents, where
assert venv in TOYWORLD_DIR.resolve().parents, TOYWORLD_DIR
pipe = WavBriVLPipeline.from_preset(device="cpu")
assert pipe.preset == "toyworld" and pipe.untrained == [], (pipe.preset, pipe.untrained)
assert pipe.methods() == ["decoder", "vqgan"], pipe.methods()  # the set's decoder came with the wheel
(drawn,) = pipe.generate_final(sys.argv[1], config=pipe.generation_config(sample_steps=3)).images
assert drawn.size == (64, 64), drawn.size  # the decoder draws at its VQGAN's own resolution
config = pipe.generation_config(method="vqgan", steps=3, size=32, cutn=2, cut_batch=2, starts=2, start_steps=1)
last = pipe.generate_final(sys.argv[1], config=config)
(image,) = last.images
assert image.size == (32, 32), image.size
from wavbrivl.toyworld.classifier import classify

assert int(classify([drawn])[0]) == 0, int(classify([drawn])[0])  # the CNN judge (shipped in the wheel too) sees
# the red circle that the sound is (class 0; 8 would be no object of the world)
print("generated", image.size, where)
"""


def test_installed_package_generates_from_its_default(installed):
    _, venv, env, cwd = installed
    out = _run([str(venv / "bin" / "python"), "-c", GENERATE, str(SOUND), str(ROOT)], env=env, cwd=cwd)
    assert "generated (32, 32)" in out.stdout
