"""The locks: the exact version of every package installed (direct and transitive), made by scripts/lock.sh from the
hand-written requirement files, which they must cover and satisfy; and the Space's ranges admit what they lock."""

from __future__ import annotations

import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEV_LOCK, LOCK = "requirements-dev-lock.txt", "requirements-lock.txt"
INPUTS = {DEV_LOCK: "requirements-dev.txt", LOCK: "requirements-pinned.txt"}  # each lock and what it is made from
PIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?==[0-9][A-Za-z0-9.+!]*")
TARGET = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "python_version": "3.11"}
REMAKE = "bash scripts/lock.sh"


def _content(name: str) -> list[str]:
    """Each line of a requirement file without its comment, blank lines left out."""
    lines = (ROOT / name).read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def _inputs(name: str) -> list[Requirement]:
    """The requirements a hand-written file names, through its `-r` includes."""
    found: list[Requirement] = []
    for line in _content(name):
        if line.startswith("-r "):
            found += _inputs(line[3:].strip())
        else:
            found.append(Requirement(line))
    return [req for req in found if req.marker is None or req.marker.evaluate(TARGET)]


def _locked(name: str) -> dict[str, str]:
    """A lock as {canonical name: version}."""
    pins: dict[str, str] = {}
    for line in _content(name):
        package, locked = line.split("==")
        pins[canonicalize_name(package)] = locked
    return pins


@pytest.mark.parametrize("lock", INPUTS)
def test_every_line_of_a_lock_is_one_exact_pin(lock):
    lines = _content(lock)
    assert len(lines) > 100, lines  # the transitive packages too, not only the direct ones
    wrong = [line for line in lines if not PIN.fullmatch(line)]
    assert wrong == [], f"{lock}: not `name==version`: {wrong}"
    names = [canonicalize_name(line.split("==")[0]) for line in lines]
    assert len(names) == len(set(names)), f"{lock} names a package twice"


@pytest.mark.parametrize("lock", INPUTS)
def test_a_lock_covers_and_satisfies_every_requirement_it_is_made_from(lock):
    pins = _locked(lock)
    for req in _inputs(INPUTS[lock]):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} ({INPUTS[lock]}) is missing from {lock}: run `{REMAKE}`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{lock} has {req.name}=={pins[name]}, outside {req} ({INPUTS[lock]}): run `{REMAKE}`"
        )


def test_the_runtime_lock_is_the_dev_lock_less_the_test_tools():
    dev, runtime = _locked(DEV_LOCK), _locked(LOCK)
    assert {name: dev.get(name) for name in runtime} == runtime
    assert {"pytest", "pytest-xdist", "ruff", "uv"} <= set(dev) - set(runtime)


@pytest.mark.parametrize("lock", INPUTS)
def test_the_space_requirements_admit_the_locked_versions(lock):
    """requirements.txt (what a Gradio-SDK Space installs) allows every version the locks hold. Its torch and
    torchvision stay ranges, not the locked versions: ZeroGPU accepts only its own list of torch versions."""
    pins = _locked(lock)
    for req in _inputs("requirements.txt"):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} (requirements.txt) is missing from {lock}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{lock}: {name}=={pins[name]} is outside {req}"
    space = {canonicalize_name(req.name): req for req in _inputs("requirements.txt")}
    for name in ("torch", "torchvision"):
        assert not any(spec.operator == "==" for spec in space[name].specifier), space[name]


@pytest.mark.parametrize("lock", INPUTS)
def test_a_lock_header_says_how_it_was_made_and_how_to_remake_it(lock):
    text = (ROOT / lock).read_text()
    header = text[: text.index("\n" + _content(lock)[0])]
    assert header.startswith("#") and all(line.startswith("#") for line in header.splitlines())
    assert REMAKE in header and "uv pip compile" in header and INPUTS[lock] in header
    assert lock in (ROOT / "scripts" / "lock.sh").read_text()


def test_setup_ci_and_the_dockerfile_install_the_locks():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"-r {DEV_LOCK}" in setup and "-r requirements-dev.txt" not in setup
    docker = (ROOT / "Dockerfile").read_text()
    assert f"-r {LOCK}" in docker and "-r requirements-pinned.txt" not in docker


@pytest.mark.skipif(
    (sys.platform, platform.machine(), sys.version_info[:2]) != ("linux", "x86_64", (3, 11)),
    reason="the locks are for Python 3.11 on Linux x86_64",
)
def test_the_suite_runs_on_the_locked_versions():
    """What scripts/setup.sh installed is the dev lock (re-run it after a lock changes)."""
    differ = {}
    for name, locked in _locked(DEV_LOCK).items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed is None or not SpecifierSet(f"=={locked}").contains(installed):  # a +cu130 label is no change
            differ[name] = (installed, locked)
    assert differ == {}, f"installed vs locked: {differ}; run `bash scripts/setup.sh`"
