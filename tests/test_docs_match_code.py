"""The documents read from the code: docs/cli.md is what scripts/make_cli_docs.py writes from the parsers, every
signature in docs/python-api.md is the code's own, its example calls what exists, one version everywhere, and no
document says how the project was made (session letters, machine letters, commit hashes, ...)."""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "cli.md"
API_PAGE = ROOT / "docs" / "python-api.md"
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "BENCHMARKS.md",
    ROOT / "CHANGELOG.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "CITATION.cff",
    ROOT / "requirements-pinned.txt",
    ROOT / "Dockerfile",
    ROOT / "wavbrivl.json",
]


def _generator():
    spec = importlib.util.spec_from_file_location("make_cli_docs", ROOT / "scripts" / "make_cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------- docs/cli.md


def test_the_cli_page_is_what_the_generator_writes_from_the_parsers():
    written, expected = CLI_PAGE.read_text(), _generator().render()
    diff = "\n".join(list(difflib.unified_diff(written.splitlines(), expected.splitlines(), lineterm=""))[:40])
    assert written == expected, f"docs/cli.md is out of date: run `python scripts/make_cli_docs.py`\n{diff}"


def test_the_cli_page_depends_on_neither_the_terminal_nor_the_environment(tmp_path, monkeypatch):
    generator = _generator()
    first = generator.render()
    (tmp_path / "mine.json").write_text((ROOT / "wavbrivl" / "presets" / "clip.json").read_text())
    monkeypatch.setenv("WAVBRIVL_PRESETS", str(tmp_path))  # would add a --preset choice
    monkeypatch.setenv("WAVBRIVL_PRESET", "clip")
    monkeypatch.setenv("WAVBRIVL_CONFIG", str(tmp_path / "wavbrivl.json"))
    monkeypatch.setenv("COLUMNS", "37")
    assert generator.render() == first
    assert str(ROOT) not in first and str(Path.home()) + "/" not in first


def test_the_cli_page_covers_every_command_and_flag():
    from wavbrivl.cli import build_parser

    page = CLI_PAGE.read_text()
    generator = _generator()
    for words, _, parser in generator._commands(build_parser()):
        assert f"`{' '.join(('wavbrivl', *words))}`" in page
        for action in generator._listed(parser._actions):
            for flag in action.option_strings:
                assert f"`{flag}`" in page, f"{' '.join(words)} {flag}"


def test_the_cli_page_names_every_generation_method_and_only_true_model_flag_users():
    from wavbrivl.cli import build_parser
    from wavbrivl.generation.checks import METHODS

    generator = _generator()
    page = CLI_PAGE.read_text()
    notes = page.split("## Notes", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{m}`" in notes for m in METHODS)
    takers = [" ".join(w) for w, _, p in generator._commands(build_parser()) if "--preset" in p._option_string_actions]
    assert "Every command takes" not in page
    assert f"({', '.join(f'`{t}`' for t in takers)})" in " ".join(page.split())


# ------------------------------------------------------------------------------------ docs/python-api.md


SIGNATURE = re.compile(r"^([A-Za-z_][\w.]*)\((.*)\)$")
NO_DEFAULT = object()


def _api_signatures() -> list[tuple[str, str, list[object], str]]:
    """(section heading, signature text, objects that may own it, module) for every signature in the page."""
    found = []
    module_name, owners, heading = None, [], ""
    in_code = False
    for line in API_PAGE.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("## "):
            heading = line[3:]
            named = re.search(r"\(`([\w.]+)`\)\s*$", heading)
            module_name = named.group(1) if named else None
            module = importlib.import_module(module_name) if module_name else None
            owners = [
                getattr(module, n) for n in re.findall(r"`(\w+)`", heading) if inspect.isclass(getattr(module, n, None))
            ]
            continue
        spans = re.findall(r"`([^`]+)`", line)
        row_owner = []
        if line.startswith("|") and module_name:
            first = line.strip("|").split("|")[0]
            name = re.match(r"\s*`(\w+)`", first)
            obj = getattr(importlib.import_module(module_name), name.group(1), None) if name else None
            row_owner = [obj] if inspect.isclass(obj) else []
        for span in spans:
            if SIGNATURE.match(span):
                found.append((heading, span, [*row_owner, *owners], module_name))
    return found


def _resolve(name: str, owners: list[object], module_name: str | None):
    module = importlib.import_module(module_name)
    for base in [*owners, module]:
        obj = base
        try:
            for part in name.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return obj
    return None


def _page_parameters(text: str, module_name: str) -> list[tuple[str, inspect._ParameterKind, object]]:
    """The parameters a page signature writes: (name, kind, default or NO_DEFAULT; Ellipsis for '...')."""
    tree = ast.parse(f"def f({text}): pass").body[0].args
    module = importlib.import_module(module_name)

    def value(node):
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return Ellipsis
        if isinstance(node, ast.Name):
            return getattr(module, node.id)
        return ast.literal_eval(node)

    kinds = inspect.Parameter
    positional = [*tree.posonlyargs, *tree.args]
    defaults = [NO_DEFAULT] * (len(positional) - len(tree.defaults)) + [value(d) for d in tree.defaults]
    params = [
        (a.arg, kinds.POSITIONAL_ONLY if a in tree.posonlyargs else kinds.POSITIONAL_OR_KEYWORD, d)
        for a, d in zip(positional, defaults)
    ]
    if tree.vararg:
        params.append((tree.vararg.arg, kinds.VAR_POSITIONAL, NO_DEFAULT))
    for a, d in zip(tree.kwonlyargs, tree.kw_defaults):
        params.append((a.arg, kinds.KEYWORD_ONLY, NO_DEFAULT if d is None else value(d)))
    if tree.kwarg:
        params.append((tree.kwarg.arg, kinds.VAR_KEYWORD, NO_DEFAULT))
    return params


def _real_parameters(obj) -> list[inspect.Parameter]:
    params = list(inspect.signature(obj).parameters.values())
    if params and params[0].name in ("self", "cls") and not inspect.isclass(obj):
        params = params[1:]  # a method read from its class
    return params


API_SIGNATURES = _api_signatures()


def test_the_python_api_page_writes_signatures_where_a_module_is_named():
    assert len(API_SIGNATURES) >= 25
    assert [(h, s) for h, s, _, module in API_SIGNATURES if module is None] == []


@pytest.mark.parametrize(
    ("heading", "text", "owners", "module_name"), API_SIGNATURES, ids=[s[1] for s in API_SIGNATURES]
)
def test_each_signature_in_the_python_api_page_is_the_codes(heading, text, owners, module_name):
    name, params = SIGNATURE.match(text).groups()
    obj = _resolve(name, owners, module_name)
    assert obj is not None and callable(obj), f"{heading}: {name} is not found in {module_name}"
    written = _page_parameters(params, module_name)
    real = _real_parameters(obj)
    shown = f"{name}{inspect.signature(obj)}"
    assert [(n, k) for n, k, _ in written] == [(p.name, p.kind) for p in real], f"the page: {text}\nthe code: {shown}"
    for (n, _, default), param in zip(written, real):
        if default is NO_DEFAULT:
            continue  # the page does not say
        assert param.default is not inspect.Parameter.empty, f"{text}: {n} has no default in the code ({shown})"
        if default is not Ellipsis:
            assert default == param.default, f"{text}: {n}={default!r} but the code's default is {param.default!r}"


def _methods_offered(preset_name: str) -> set[str]:
    """The generation methods a preset's set offers, read from the preset and its folder (nothing loaded)."""
    from wavbrivl.loading import OFFLINE_PRESET, TOYWORLD_DIR, load_preset

    preset = load_preset(preset_name)
    if preset.random:
        return {"vqgan", "decoder"}
    if preset.pretrained:
        folder = Path(TOYWORLD_DIR if preset_name == OFFLINE_PRESET else preset.pretrained)
        return {m for m in ("vqgan", "decoder", "unclip") if (folder / m).is_dir()}
    return {m for m in ("vqgan", "unclip") if preset.spec(m)}


def test_the_python_api_pages_example_calls_what_exists_with_arguments_it_takes():
    import wavbrivl
    from wavbrivl import WavBriVLPipeline
    from wavbrivl.loading import OFFLINE_PRESET

    source = re.search(r"```python\n(.*?)```", API_PAGE.read_text(), flags=re.S).group(1)
    tree = ast.parse(source)
    imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    presets: dict[str, str | None] = {}  # pipeline variables and the preset each was made from
    problems = []
    for node in tree.body:
        for call in [n for n in ast.walk(node) if isinstance(n, ast.Call)]:
            func = call.func
            on_instance = False
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in presets:
                obj, on_instance = getattr(WavBriVLPipeline, func.attr, None), True
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in imported:
                obj = getattr(getattr(wavbrivl, func.value.id), func.attr, None)
            elif isinstance(func, ast.Name) and func.id in imported:
                obj = getattr(wavbrivl, func.id, None)
            else:
                continue
            if obj is None or not callable(obj):
                problems.append(f"{ast.unparse(func)} is not something to call")
                continue
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                continue
            signature = inspect.signature(obj)
            if on_instance and inspect.isfunction(inspect.getattr_static(WavBriVLPipeline, func.attr)):
                signature = signature.replace(parameters=list(signature.parameters.values())[1:])  # self
            try:
                signature.bind(*call.args, **{k.arg: k.value for k in call.keywords})
            except TypeError as err:
                problems.append(f"{ast.unparse(call)}: {err}")
            method = next((k.value for k in call.keywords if k.arg == "method"), None)
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
            if isinstance(method, ast.Constant) and presets.get(owner):
                if method.value not in _methods_offered(presets[owner]):
                    problems.append(f"{ast.unparse(call)}: preset {presets[owner]!r} has no {method.value!r}")
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "WavBriVLPipeline"
            ):
                first = node.value.args[0] if node.value.args else None
                name = first.value if isinstance(first, ast.Constant) else OFFLINE_PRESET
                for target in node.targets:
                    presets[target.id] = name if func.attr == "from_preset" else None
    for line in source.splitlines():  # "x.methods()  # ["vqgan"]" says what a preset offers
        said = re.match(r"\s*(\w+)\.methods\(\)\s*#\s*(\[[^\]]*\])", line)
        if said and presets.get(said.group(1)):
            offered = _methods_offered(presets[said.group(1)])
            if set(json.loads(said.group(2))) != offered:
                problems.append(f"{line.strip()}: preset {presets[said.group(1)]!r} offers {sorted(offered)}")
    assert problems == []


# --------------------------------------------------------------------------------- how it was made, versions

MAKING = {
    "a session letter": re.compile(r"\bsessions? [a-e]\b", re.I),
    "a machine letter": re.compile(r"\bmachines? [A-Z]\b"),
    "a commit hash": re.compile(r"\b(?:[0-9a-f]{40}|(?=[0-9a-f]{0,11}[0-9])(?=[0-9a-f]{0,11}[a-f])[0-9a-f]{7,12})\b"),
    "'bar met'": re.compile(r"\bbars? (?:was |were |is )?met\b", re.I),
    "an issue number": re.compile(r"\(issues? #?\d+\)", re.I),
    "'verified here'": re.compile(r"\bverified here\b", re.I),
    "'this N-core machine'": re.compile(r"\bthis \d+-core machine\b", re.I),
    "a sibling working folder": re.compile(r"\.\./shared\b"),
    "a local package index": re.compile(r"\blocal (?:package )?index\b", re.I),
}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_no_document_says_how_the_project_was_made(document):
    text = document.read_text()
    found = [f"{what}: {m.group(0)!r}" for what, pattern in MAKING.items() for m in pattern.finditer(text)]
    assert found == []


def test_the_changelog_records_what_users_see_not_the_test_runner():
    text = (ROOT / "CHANGELOG.md").read_text().lower()
    assert [w for w in ("xdist", "maxschedchunk", "worker processes", "pytest") if w in text] == []


def _changelog_versions() -> list[tuple[str, str]]:
    text = (ROOT / "CHANGELOG.md").read_text()
    heads = re.findall(r"^## (.*)$", text, flags=re.M)
    dated = [re.fullmatch(r"(\d+\.\d+\.\d+) — (\d{4}-\d{2}-\d{2})", h) for h in heads]
    assert all(dated), f"each CHANGELOG heading is '## X.Y.Z — YYYY-MM-DD': {heads}"
    return [m.groups() for m in dated]


def test_one_version_in_the_package_pyproject_citation_and_changelog():
    from wavbrivl import __version__

    project = re.search(r"^\[project\]\n(.*?)(?=^\[|\Z)", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    pyproject = re.search(r'^version = "([^"]+)"$', project.group(1), re.M)
    citation = (ROOT / "CITATION.cff").read_text()
    cited = re.search(r'^version: "?([^"\n]+)"?$', citation, re.M)
    released = re.search(r'^date-released: "?(\d{4}-\d{2}-\d{2})"?$', citation, re.M)
    versions = _changelog_versions()
    newest_version, newest_date = versions[0]
    assert pyproject and cited and released
    assert __version__ == pyproject.group(1) == cited.group(1) == newest_version
    assert released.group(1) == newest_date
    numbers = [tuple(int(x) for x in v.split(".")) for v, _ in versions]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers), "newest first, each once"
    assert [d for _, d in versions] == sorted((d for _, d in versions), reverse=True)
