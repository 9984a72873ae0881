"""The tutorials are code: every python block on every page runs under pytest (via Sybil)."""

import re
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
PAGES = sorted(TUTORIALS.glob("*.md"))
FENCE = re.compile(r"^```\s*([\w+-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUNNABLE = {"python", "py", "python3", "pycon"}


def fences(text):
    """``(language, start, end)`` of every fenced block."""
    return [(m.group(1), m.start(), m.end()) for m in FENCE.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_on_the_page_is_executed(page):
    blocks = fences(page.read_text())
    assert not [b for b in blocks if b[0] in RUNNABLE - {"python"}], (
        f"{page.name}: use ```python for runnable code (py/pycon blocks would not run)")
    document = Sybil([PythonCodeBlockParser(), SkipParser()], path=str(TUTORIALS)).parse(page)
    starts = [example.start for example in document.examples()]
    for language, start, end in blocks:
        if language == "python":
            assert any(start <= s < end for s in starts), (
                f"{page.name}: the python block at offset {start} would not run")


def test_the_nav_lists_every_page_and_every_page_exists():
    nav = (TUTORIALS.parent / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*([\w.-]+\.md)\s*$", nav, re.MULTILINE))
    assert listed == {p.name for p in PAGES}


def test_the_fence_finder_sees_every_block():
    """Self-check: the block finder is not vacuous."""
    text = "```python\nx=1\n```\n\n```text\nhi\n```\n"
    assert [b[0] for b in fences(text)] == ["python", "text"]
