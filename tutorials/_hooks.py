"""mkdocs hook: the pictures, tables and callouts of the tutorials site, made at build time.

* **Pictures.** Each picture is drawn by replicalab from a real run or a real
  structure (:mod:`_figures`), so the pages always show what the library does
  today. Every picture comes in two files: ``NAME.svg``, laid out for the page
  column (what the Markdown shows, also on a forge, since the files are
  committed), and ``NAME-full.svg``, the full-size drawing the figure links to.
  Files are written only when their bytes change, so ``mkdocs serve`` does not
  rebuild in a loop.
* **Printed tables.** Where a ``pycon`` session prints a column-aligned table
  (a ledger, final items, the comparison of patterns), the site shows it as a
  real HTML table under the statement that printed it. The Markdown source, and
  so the doctest the test suite runs, is unchanged.
* **Step-through pages.** Under each picture of a scenario run, the site embeds
  that run's step-through page (``replicalab run --html``), folded.
* **Run buttons.** With Pyodide vendored (``npm ci --prefix .ci/pyodide``; see
  :mod:`_playground`), every python and pycon block gets a Run button that runs it
  in the reader's browser, from files served by the site itself.
* **Callouts.** A paragraph that asks the reader to **Predict** becomes a
  *Predict* admonition, and a "Try this" section a *Try this* admonition.
* **Exercises.** The exercises page gets its table from the exercise registry,
  in the order of the chapters, each row linked to its chapter.
* **Notebooks.** Every chapter is also a Jupyter notebook, generated from its
  page with jupytext (``notebooks/NAME.ipynb``, linked at the top of the page):
  each ``>>>`` statement becomes a code cell, shown output is left for the
  notebook to produce, and the prose stays Markdown.
"""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _figures():
    """The figure drawers (tutorials/_figures.py), loaded by path: hooks are not a package."""
    if "_tutorial_figures" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_tutorial_figures", HERE / "_figures.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_tutorial_figures"] = module
        spec.loader.exec_module(module)
    return sys.modules["_tutorial_figures"]


def _playground():
    """The playground vendoring (tutorials/_playground.py), loaded by path."""
    if "_tutorial_playground" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_tutorial_playground",
                                                      HERE / "_playground.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_tutorial_playground"] = module
        spec.loader.exec_module(module)
    return sys.modules["_tutorial_playground"]


def on_config(config, **_kwargs):
    """Run buttons only when Pyodide is vendored (``npm ci --prefix .ci/pyodide``)."""
    if _playground().available() and "javascripts/playground.js" not in config.extra_javascript:
        config.extra_javascript.append("javascripts/playground.js")
    return config


def on_pre_build(config, **_kwargs) -> None:
    out = Path(config["docs_dir"]) / "generated"
    out.mkdir(exist_ok=True)
    for filename, svg in _figures().all_pictures():
        path = out / filename
        if not path.exists() or path.read_text(encoding="utf-8") != svg:
            path.write_text(svg, encoding="utf-8")


# ---------------------------------------------------------------- exercises

#: Where exercises.md wants the generated table.
EXERCISE_TABLE = "<!-- exercise-table -->"

#: The chapter after which each built-in exercise makes sense (the order the page recommends).
EXERCISE_CHAPTER = {
    "lamport": "02-lamport.md",
    "vector-clock": "03-vector-clocks.md",
    "hlc": "05-skew.md",
    "lww-register": "06-keep-both.md",
    "mv-register": "06-keep-both.md",
    "gcounter": "07-crdts.md",
    "pncounter": "07-crdts.md",
    "orset": "07-crdts.md",
    "find-the-bug": "08-own-crdt.md",
    "merkle-diff": "09-merkle.md",
    "anti-entropy": "10-repair.md",
    "london-fix": "11-playbook.md",
    "version-forks": "11-playbook.md",
    "gossip": "12-own-replica.md",
    "choose-quorum": "14-quorums.md",
    "read-repair": "14-quorums.md",
    "explore-invariant": "15-explore.md",
}


def exercise_table() -> str:
    """A Markdown table of every built-in exercise, in chapter order, from the registry.

    Exercises this map does not place yet (added later) follow, by id.
    """
    from replicalab import exercises

    specs = [spec for spec in exercises.catalog([]).values() if spec.builtin]
    order = list(EXERCISE_CHAPTER)
    specs.sort(key=lambda spec: (order.index(spec.id) if spec.id in order else len(order),
                                 spec.id))
    rows = ["| after | id | exercise | concepts | time | points | checks |",
            "|---|---|---|---|---|---|---|"]
    for spec in specs:
        chapter = EXERCISE_CHAPTER.get(spec.id)
        after = f"[chapter {int(chapter[:2])}]({chapter})" if chapter else "—"
        kinds = ", ".join(sorted({c.kind for c in spec.checks}))
        rows.append(f"| {after} | `{spec.id}` | {spec.title} | {', '.join(spec.concepts)} | "
                    f"{spec.minutes} min | {spec.points} | {kinds} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- printed tables

FENCE = re.compile(r"^```pycon[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
GAP = re.compile(r"(?<=\S)  +(?=\S)")


def _starts(line: str) -> list[int]:
    """Where each column of a line begins (columns are separated by two or more spaces)."""
    indent = len(line) - len(line.lstrip(" "))
    return [indent] + [m.end() for m in GAP.finditer(line)]


def _fits(line: str, starts: list[int]) -> bool:
    """True if every column of the header starts a cell in ``line`` too."""
    indent = len(line) - len(line.lstrip(" "))
    if indent != starts[0]:
        return False
    return all(c < len(line) and line[c] != " " and line[c - 1] == " " for c in starts[1:])


def _cells(line: str, starts: list[int]) -> list[str]:
    ends = [*starts[1:], len(line)]
    return [line[a:b].strip() for a, b in zip(starts, ends, strict=True)]


def output_table(lines: list[str]) -> str | None:
    """An HTML table for printed output laid out in aligned columns, else None.

    A header with at least three columns, then rows whose cells start where the
    header's do. Lines indented deeper than the rows (a ledger's ``why:``) span the
    row above; lines before the header (an item's key) become the caption.
    """
    for h, header in enumerate(lines):
        starts = _starts(header)
        if len(starts) < 3 or h + 1 >= len(lines) or not _fits(lines[h + 1], starts):
            continue
        if any(line.strip() and len(line) - len(line.lstrip()) >= starts[0] for line in lines[:h]):
            return None
        rows: list[list[str]] = []
        notes: dict[int, list[str]] = {}
        for line in lines[h + 1:]:
            if _fits(line, starts):
                rows.append(_cells(line, starts))
            elif rows and len(line) - len(line.lstrip()) > starts[0]:
                notes.setdefault(len(rows) - 1, []).append(line.strip())
            else:
                return None
        cells = _cells(header, starts)
        caption = " ".join(line.strip() for line in lines[:h] if line.strip())
        out = ['<div class="output-table" markdown="0"><table class="output">']
        if caption:
            out.append(f"<caption>{html.escape(caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells)
                   + "</tr></thead><tbody>")
        for n, row in enumerate(rows):
            out.append("<tr>" + "".join(f'<td data-label="{html.escape(h)}">{html.escape(c)}</td>'
                                        for h, c in zip(cells, row, strict=True)) + "</tr>")
            for note in notes.get(n, []):
                out.append(f'<tr class="note"><td></td><td colspan="{len(cells) - 1}">'
                           f"{html.escape(note)}</td></tr>")
        out.append("</tbody></table></div>")
        return "\n".join(out)
    return None


def _session_chunks(body: str) -> list[tuple[list[str], list[str]]]:
    """``(statement lines, output lines)`` of each ``>>>`` statement in a pycon block."""
    chunks: list[tuple[list[str], list[str]]] = []
    for line in body.splitlines():
        if line.startswith(">>>"):
            chunks.append(([line], []))
        elif line.startswith("...") and chunks and not chunks[-1][1]:
            chunks[-1][0].append(line)
        elif chunks:
            chunks[-1][1].append(line)
    return chunks


def tables_in_sessions(markdown: str) -> str:
    """Split pycon blocks after each statement that printed a table, and show it as a table."""
    def split(match: re.Match) -> str:
        parts: list[str] = []
        pending: list[str] = []
        for statement, output in _session_chunks(match.group(1)):
            table = output_table(output) if len(output) >= 2 else None
            pending += statement
            if table is None:
                pending += output
                continue
            parts.append("```pycon\n" + "\n".join(pending) + "\n```")
            parts.append(table)
            pending = []
        if pending:
            parts.append("```pycon\n" + "\n".join(pending) + "\n```")
        return "\n\n".join(parts)

    return FENCE.sub(split, markdown)


# ---------------------------------------------------------------- callouts

TRY_THIS = re.compile(r"^## Try this[ \t]*\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
OPEN_FENCE = re.compile(r"^```")


def _indent(text: str) -> str:
    return "\n".join("    " + line if line.strip() else "" for line in text.strip("\n").splitlines())


def callouts(markdown: str) -> str:
    """**Predict** paragraphs and "Try this" sections as admonitions (outside code fences)."""
    out: list[str] = []
    in_fence = False
    for block in re.split(r"\n{2,}", markdown):
        fences = sum(1 for line in block.splitlines() if OPEN_FENCE.match(line))
        if (not in_fence and fences == 0 and "**Predict**" in block
                and not block.lstrip().startswith(("-", "#", "|", "!", "<"))):
            block = '!!! question "Predict"\n\n' + _indent(block.replace("**Predict**", "Predict", 1))
        if fences % 2:
            in_fence = not in_fence
        out.append(block)
    markdown = "\n\n".join(out)
    return TRY_THIS.sub(lambda m: '!!! tip "Try this"\n\n' + _indent(m.group(1)) + "\n\n",
                        markdown)


# ---------------------------------------------------------------- notebooks

CHAPTER = re.compile(r"^\d\d-[\w-]+\.md$")
ANY_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def notebook_markdown(markdown: str) -> str:
    """A chapter's Markdown with each pycon session turned into python blocks, one per statement
    that shows output (statements without output share a block); the output is dropped."""
    def convert(match: re.Match) -> str:
        if match.group(1) != "pycon":
            return match.group(0)
        blocks: list[list[str]] = [[]]
        for statement, output in _session_chunks(match.group(2)):
            blocks[-1] += [line[4:] for line in statement]
            if any(line.strip() for line in output):
                blocks.append([])
        return "\n\n".join("```python\n" + "\n".join(code) + "\n```" for code in blocks if code)

    markdown = ANY_FENCE.sub(convert, markdown)
    return markdown.replace("](generated/", "](../generated/")


def notebook(markdown: str) -> str:
    """The chapter as an ``.ipynb`` document (JSON text)."""
    import jupytext

    nb = jupytext.reads(notebook_markdown(markdown), fmt="md")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("jupytext", None)
    return jupytext.writes(nb, fmt="ipynb")


def on_post_build(config, **_kwargs) -> None:
    if _playground().available():
        _playground().vendor(Path(config["site_dir"]))
    out = Path(config["site_dir"]) / "notebooks"
    out.mkdir(exist_ok=True)
    for page in sorted(Path(config["docs_dir"]).glob("*.md")):
        if CHAPTER.match(page.name):
            (out / f"{page.stem}.ipynb").write_text(notebook(page.read_text(encoding="utf-8")),
                                                    encoding="utf-8")


def on_page_markdown(markdown: str, page, **_kwargs) -> str:
    if EXERCISE_TABLE in markdown:
        markdown = markdown.replace(EXERCISE_TABLE, exercise_table())
    markdown = callouts(tables_in_sessions(markdown))
    if page is not None and CHAPTER.match(Path(page.file.src_path).name):
        stem = Path(page.file.src_path).stem
        title, _, body = markdown.partition("\n")
        markdown = (f"{title}\n\n<p class=\"notebook-link\"><a href=\"../notebooks/{stem}.ipynb\" "
                    f"download>Download this chapter as a Jupyter notebook</a></p>\n{body}")
    return markdown


# ---------------------------------------------------------------- figures

GO = re.compile(r'<span class="go">(.*?)</span>\n', re.S)
IMG = re.compile(r'<p>(<img alt="([^"]*)" src="((?:\.\./)*generated/([\w-]+))\.svg" />)</p>')


def on_page_content(content: str, page, config, **_kwargs) -> str:
    """Each generated picture: scrolls (not shrinks) on a phone, and links to its full size."""
    docs = Path(config["docs_dir"])

    def figure(match: re.Match) -> str:
        img, alt, stem, name = match.group(1), match.group(2), match.group(3), match.group(4)
        full = f"{stem}-full.svg"
        steps = ""
        if (docs / "generated" / f"{name}-steps.html").exists():
            steps = (f'<details class="stepper"><summary>Step through this run</summary>'
                     f'<iframe src="{stem}-steps.html" loading="lazy" '
                     f'title="Step through the run: {html.escape(alt)}"></iframe>'
                     f'<p><a href="{stem}-steps.html">Open the step-through page on its own</a>'
                     f" (keys: ← → or j k, Home, End)</p></details>")
        return (f'<figure class="diagram"><div class="diagram-scroll">'
                f'<a href="{full}" title="Open the full-size picture">{img}</a></div>'
                f'<figcaption>{alt} · <a href="{full}">full size</a></figcaption></figure>'
                + steps)

    # A session's output line keeps its newline inside its span, so a copy without the
    # (hidden) output has no blank lines where the output was.
    content = GO.sub(lambda m: f'<span class="go">{m.group(1)}\n</span>', content)
    return IMG.sub(figure, content)
