"""The documentation a newcomer navigates: a short README with contents, every docs/ page linked, no broken
relative link or anchor, example files that exist, and no sentence about how the project was made."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *PAGES]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# how a project is made is not what its documents are about
MAKING = ["build machine", "was lent", "this session", "(issue:", "our machines", "sessions so far", "work item"]


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    heads = re.findall(r"^#+\s+(.*)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_the_readme_is_short_with_contents_and_links_every_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    assert "## Contents" in text
    for page in PAGES:
        assert f"(docs/{page.name})" in text, page.name


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(document):
    assert _anchors(ROOT / "README.md") >= {"two-commands", "contents"}  # the anchor reader itself works
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        assert resolved.exists(), f"{document.name}: {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{document.name}: {target}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_example_files_named_in_the_docs_exist(document):
    for name in re.findall(r"assets/examples/[\w./-]*\w", document.read_text()):
        assert (ROOT / name).exists(), f"{document.name}: {name}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_no_sentence_about_how_the_project_was_made(document):
    text = document.read_text().lower()
    assert [phrase for phrase in MAKING if phrase in text] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_page_opens_with_what_it_is_for(page):
    lines = [line for line in page.read_text().splitlines() if line.strip()]
    assert lines[0].startswith("# ") and not lines[1].startswith("#")


@pytest.mark.slow
def test_the_readmes_python_example_runs(tmp_path, monkeypatch):
    """The ten lines in the README, as a newcomer pastes them, from the repository's root."""
    code = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    monkeypatch.chdir(ROOT)
    code = code.replace('save_pretrained("my-set")', f'save_pretrained("{tmp_path / "my-set"}")')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    assert namespace["ranked"][0][0] == 0  # the red circle's sound ranks the red circle first
    assert len(namespace["final"].images) == 1 and (tmp_path / "my-set" / "model_index.json").is_file()


def test_the_python_api_page_names_every_public_name():
    import wavbrivl

    page = (ROOT / "docs" / "python-api.md").read_text()
    assert [name for name in wavbrivl.__all__ if f"`{name}" not in page] == []
