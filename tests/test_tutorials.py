"""The tutorials are code: every python and pycon block on every page runs under pytest (via Sybil)."""

import importlib.util
import re
from pathlib import Path

import pytest
from sybil import Sybil

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
PAGES = sorted(TUTORIALS.glob("*.md"))
FENCE = re.compile(r"^```\s*([\w+-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUNNABLE = {"python", "pycon"}

_spec = importlib.util.spec_from_file_location("tutorials_conftest", TUTORIALS / "conftest.py")
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)


def fences(text):
    """``(language, start, end, body)`` of every fenced block."""
    return [(m.group(1), m.start(), m.end(), m.group(2)) for m in FENCE.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_and_pycon_block_on_the_page_is_executed(page):
    blocks = fences(page.read_text())
    assert not [b for b in blocks if b[0] in {"py", "python3"}], (
        f"{page.name}: use ```python for code and ```pycon for >>> sessions")
    for language, start, _, body in blocks:
        if language == "python":
            assert not body.startswith(">>>"), (
                f"{page.name}: the >>> session at offset {start} should be fenced ```pycon")
        if language == "pycon":
            assert body.startswith(">>>"), f"{page.name}: the pycon block at {start} has no >>>"
    document = Sybil(_conftest.parsers(), path=str(TUTORIALS)).parse(page)
    starts = [example.start for example in document.examples()]
    for language, start, end, _ in blocks:
        if language in RUNNABLE:
            assert any(start <= s < end for s in starts), (
                f"{page.name}: the {language} block at offset {start} would not run")


def test_a_pycon_block_is_checked_like_a_doctest(tmp_path):
    """Self-check: a pycon block whose shown output is wrong fails."""
    page = tmp_path / "page.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n```\n")
    (example,) = Sybil(_conftest.parsers(), path=str(tmp_path)).parse(page).examples()
    with pytest.raises(Exception, match="Expected"):
        example.evaluate()


def test_the_nav_lists_every_page_and_every_page_exists():
    nav = (TUTORIALS.parent / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.MULTILINE))
    assert listed == {str(p.relative_to(TUTORIALS)) for p in TUTORIALS.rglob("*.md")}


def test_the_fence_finder_sees_every_block():
    """Self-check: the block finder is not vacuous."""
    text = "```python\nx=1\n```\n\n```pycon\n>>> 1\n1\n```\n\n```text\nhi\n```\n"
    assert [b[0] for b in fences(text)] == ["python", "pycon", "text"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_picture_the_markdown_shows_is_a_committed_file(page):
    """Read on a forge, a page shows its pictures too: they are files in the repository
    (`mkdocs build` regenerates them from real runs; commit what it changes)."""
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
        path = (page.parent / target).resolve()
        assert path.is_file(), f"{page.name}: {target} does not exist"
        assert (path.with_name(path.stem + "-full.svg")).is_file(), f"{target}: no full size"


CHAPTERS = [p for p in PAGES if re.match(r"\d\d-", p.name)]


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_the_chapter_notebook_runs_top_to_bottom(page, tmp_path, monkeypatch):
    """The downloadable notebook is the page: its code cells, run in order, raise nothing,
    and it holds every statement the page runs, with no prompts and no printed output."""
    jupytext = pytest.importorskip("jupytext")
    spec = importlib.util.spec_from_file_location("tutorials_hooks", TUTORIALS / "_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    nb = jupytext.reads(hooks.notebook(page.read_text()), fmt="ipynb")
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    statements = sum(len(c[0]) for _, _, _, body in fences(page.read_text())
                     for c in hooks._session_chunks(body))
    assert code and not any(line.startswith((">>>", "...")) for c in code for line in c.splitlines())
    assert sum(len(c.splitlines()) for c in code) >= statements
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for n, source in enumerate(code):
        exec(compile(source, f"{page.name}[cell {n}]", "exec"), namespace)
