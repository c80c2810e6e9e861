"""The package's shape, read from its source: no import circle, one reader of the model variables, small files."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wavbrivl"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside `if TYPE_CHECKING:` blocks (imports for annotations only, never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str) -> set[str]:
    """The package modules `name` imports anywhere (module level or inside functions), as dotted names."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (Tarjan)."""
    graph = {name: imports_of(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return groups


def _reads_environment(path: Path) -> bool:
    """Whether the module touches os.environ or calls getenv (in any form)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            return True
        if isinstance(node, ast.Name) and node.id in ("environ", "getenv"):
            return True
    return False


def test_the_import_reader_sees_imports_at_every_level():
    assert "wavbrivl.loading.model_set" in imports_of("wavbrivl.pipeline")
    assert "wavbrivl.pipeline" in imports_of("wavbrivl.cli.common")  # inside a function
    assert "wavbrivl.errors" in imports_of("wavbrivl.loading.sources")


def test_no_import_circle_inside_the_package():
    assert cycles() == []


def test_the_loading_package_never_imports_the_pipeline_training_or_generation():
    for name in MODULES:
        if name.startswith("wavbrivl.loading"):
            upward = {m for m in imports_of(name) if m.startswith(("wavbrivl.pipeline", "wavbrivl.training"))}
            assert upward == set(), name
            assert not {m for m in imports_of(name) if m.startswith("wavbrivl.generation")}, name


def test_loading_is_one_package():
    """Weights are read in loading/ only: no loader module beside it."""
    for gone in ("wavbrivl.factory", "wavbrivl.presets", "wavbrivl.checkpoints", "wavbrivl.hub"):
        assert gone not in MODULES, gone


def test_model_setting_names_are_declared_once():
    """Flags and variables of the model settings are derived from loading/components.py, never written out."""
    from wavbrivl.loading.components import SETTINGS

    literals = [s.flag for s in SETTINGS if s.weights] + [s.env for s in SETTINGS]
    for name, path in MODULES.items():
        text = path.read_text()
        for literal in literals:
            assert f'"{literal}"' not in text, (name, literal)


def test_only_the_loading_module_reads_the_model_variables():
    """Environment reads live in loading/sources.py, except torchrun's WORLD_SIZE and the Space's own flag."""
    allowed = {"wavbrivl.loading.sources", "wavbrivl.distributed", "wavbrivl.hosting"}
    assert _reads_environment(MODULES["wavbrivl.loading.sources"])  # the reader itself is seen
    readers = {name for name, path in MODULES.items() if _reads_environment(path)}
    assert readers <= allowed, sorted(readers - allowed)
    for name in allowed - {"wavbrivl.loading.sources"}:
        assert "WAVBRIVL_" not in MODULES[name].read_text(), name


def test_the_pipeline_is_one_class_in_one_file_without_mixins():
    tree = ast.parse(MODULES["wavbrivl.pipeline"].read_text())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert [c.name for c in classes] == ["WavBriVLPipeline"] and classes[0].bases == []


def test_no_file_over_400_lines_and_no_function_over_80():
    for name, path in MODULES.items():
        text = path.read_text()
        assert text.count("\n") <= 400, name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 80, f"{name}.{node.name}"


def test_no_module_imports_another_modules_underscore_names():
    """Private names stay in their module: a name another module needs is public."""
    found = []
    for name, path in [*MODULES.items(), ("app", PACKAGE.parent / "app.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("wavbrivl", ".")):
                found += [f"{name}: {a.name}" for a in node.names if a.name.startswith("_") and a.name != "__version__"]
    assert found == []


def test_the_app_file_exports_what_a_space_runs_and_nothing_for_tests():
    tree = ast.parse((PACKAGE.parent / "app.py").read_text())
    exported = [n for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "__all__"]
    assert [ast.literal_eval(n.value) for n in exported] == [["build_app", "main"]]
