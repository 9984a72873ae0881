"""Griffe extension for the reference pages: docstrings read as their authors meant them.

replicalab's docstrings use Sphinx roles (``:class:`VectorClock```) and doctest
examples indented under the text. Markdown knows neither: roles showed as raw
text and ``>>>`` lines as nested quotes. Before mkdocstrings renders a
docstring, this extension

* turns every role into a cross-reference to the named object, resolved in the
  docstring's own scope (``~`` shows the last name only, ``title <target>`` the
  title); a target the reference does not render stays plain code, and
* fences every run of ``>>>`` lines (with their continuation and output lines)
  as a ``pycon`` block, so examples are highlighted code.
"""

from __future__ import annotations

import html
import re
import textwrap

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const):`([^`]+)`")


def _full_path(obj: griffe.Object, target: str) -> str | None:
    """The full dotted path of ``target`` as seen from ``obj``, or None if it cannot be found."""
    if target.startswith("replicalab"):
        return target
    head, _, rest = target.partition(".")
    scope = obj
    while scope is not None:
        try:
            resolved = scope.resolve(head)
        except (griffe.NameResolutionError, ValueError, KeyError, AttributeError):
            scope = scope.parent
            continue
        return f"{resolved}.{rest}" if rest else resolved
    return None


def roles(text: str, obj: griffe.Object) -> str:
    def link(match: re.Match) -> str:
        content = match.group(1).strip()
        titled = re.fullmatch(r"(.*?)\s*<([^>]+)>", content)
        if titled:
            title, target = titled.group(1), titled.group(2)
        else:
            target = content.lstrip("~")
            title = target.rsplit(".", 1)[-1] if content.startswith("~") else target
        target = target.lstrip("~").removesuffix("()")
        path = _full_path(obj, target)
        code = f"<code>{html.escape(title)}</code>"
        if path is None:
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return ROLE.sub(link, text)


def doctests(text: str) -> str:
    """Fence each run of ``>>>`` lines (up to a blank line) as pycon, at its context's indent."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if in_fence or not stripped.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i].strip():
            i += 1
        block = textwrap.dedent("\n".join(lines[start:i]))
        own = len(line) - len(stripped)
        # The fence sits at the indent of the text the example belongs to: the nearest line
        # above that is indented less than the example (an indented literal block before the
        # example, at its own indent, belongs to the example's level, not the text's).
        above = [len(x) - len(x.lstrip()) for x in out if x.strip()]
        indent = " " * next((n for n in reversed(above) if n < own), 0)
        out += [indent + "```pycon", *(indent + b if b else b for b in block.split("\n")),
                indent + "```"]
    return "\n".join(out)


class ReadableDocstrings(griffe.Extension):
    """Resolve Sphinx roles and fence doctests in every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = roles(doctests(obj.docstring.value), obj)
