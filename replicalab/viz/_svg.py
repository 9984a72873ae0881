"""Small helpers shared by the SVG pictures: escaping, fixed number format, text, shapes, palette.

Everything returns strings, so a picture is a list of lines joined at the end;
numbers go through :func:`num` (at most one decimal, no exponent), so the same
drawing always gives the same bytes.

    >>> num(3.0), num(2.25), num(-0.04)
    ('3', '2.2', '0')
    >>> text(10, 20, 'a < b', size=11)
    '<text x="10" y="20" font-size="11">a &lt; b</text>'
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
GREEN = "#009E73"
SKY = "#56B4E9"
GREY = "#777777"
INK = "#222222"
FAINT = "#BBBBBB"

SANS = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"

#: Rough advance widths (em) used to lay out text without measuring fonts.
SANS_EM = 0.58
MONO_EM = 0.61


def esc(value: object) -> str:
    """Escape text for XML content and double-quoted attributes.

    The replacements of ``xml.sax.saxutils.escape(text, {'"': "&quot;"})``, in its order,
    written out: importing ``xml.sax.saxutils`` pulls in ``urllib.request`` and with it
    ``http``, ``email``, ``ssl`` and ``socket``, about a third of ``import replicalab``.
    """
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def num(value: float) -> str:
    """A coordinate with at most one decimal (round half to even on the decimal), never ``-0``."""
    rounded = round(float(value), 1)
    if rounded == 0:
        return "0"
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.1f}"


def attrs_text(attributes: dict[str, object]) -> str:
    """`` name="value"`` pairs in the order given; numbers through :func:`num`, None skipped."""
    out = []
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = num(value)
        out.append(f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"')
    return "".join(out)


def tag(name: str, body: str | None = None, **attributes: object) -> str:
    """One element; ``body`` None makes it self-closing. ``font_size=`` becomes ``font-size``."""
    head = f"<{name}{attrs_text(attributes)}"
    return f"{head}/>" if body is None else f"{head}>{body}</{name}>"


def text(x: float, y: float, content: str, **attributes: object) -> str:
    """A ``<text>`` element with escaped content."""
    return tag("text", esc(content), x=x, y=y, **_size(attributes))


def _size(attributes: dict[str, object]) -> dict[str, object]:
    if "size" in attributes:
        attributes["font_size"] = attributes.pop("size")
    return attributes


def halo_text(x: float, y: float, content: str, **attributes: object) -> str:
    """Text with a white outline under it, readable on top of lines."""
    return text(x, y, content, stroke="#FFFFFF", stroke_width=3, paint_order="stroke",
                stroke_linejoin="round", **attributes)


def text_width(content: str, size: float, mono: bool = False) -> float:
    """Estimated width in px of ``content`` at ``size`` px."""
    return len(content) * size * (MONO_EM if mono else SANS_EM)


def document(width: float, height: float, title: str, body: list[str], desc: str = "") -> str:
    """A complete standalone SVG document with a ``<title>`` (and ``<desc>``)."""
    head = tag("svg", None, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
               viewBox=f"0 0 {num(width)} {num(height)}", font_family=SANS, role="img")[:-2] + ">"
    lines = [head, tag("title", esc(title))]
    if desc:
        lines.append(tag("desc", esc(desc)))
    lines.append(tag("rect", None, x=0, y=0, width=width, height=height, fill="#FFFFFF"))
    lines.extend(body)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Shapes. Every verdict has its own shape, so colour is never the only cue.


def circle(x: float, y: float, r: float, fill: str, stroke: str = INK, width: float = 1) -> str:
    """A circle."""
    return tag("circle", None, cx=x, cy=y, r=r, fill=fill, stroke=stroke, stroke_width=width)


def polygon(points: list[tuple[float, float]], **attributes: object) -> str:
    """A polygon through ``points``."""
    return tag("polygon", None, points=" ".join(f"{num(x)},{num(y)}" for x, y in points),
               **attributes)


def line(x1: float, y1: float, x2: float, y2: float, **attributes: object) -> str:
    """A straight line."""
    return tag("line", None, x1=x1, y1=y1, x2=x2, y2=y2, **attributes)


def cross(x: float, y: float, r: float, stroke: str, width: float = 2) -> str:
    """An X centred on (x, y)."""
    return tag("path", None, d=f"M{num(x - r)},{num(y - r)}L{num(x + r)},{num(y + r)}"
               f"M{num(x - r)},{num(y + r)}L{num(x + r)},{num(y - r)}",
               stroke=stroke, stroke_width=width, stroke_linecap="round", fill="none")


def lost_mark(x: float, y: float, r: float = 8) -> str:
    """The silently-lost mark: a vermillion square with a white X and a dark rim."""
    return (tag("rect", None, x=x - r, y=y - r, width=2 * r, height=2 * r, rx=2,
                fill=VERMILLION, stroke=INK, stroke_width=1.2)
            + cross(x, y, r * 0.55, "#FFFFFF", 2.2))


def diamond(x: float, y: float, r: float, fill: str, stroke: str = INK) -> str:
    """A diamond (a merge)."""
    return polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=fill, stroke=stroke,
                   stroke_width=1)


def triangle(x: float, y: float, r: float, fill: str) -> str:
    """An upward triangle (a detected conflict)."""
    return polygon([(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)], fill=fill,
                   stroke=INK, stroke_width=1)


def rejected_mark(x: float, y: float, r: float = 6) -> str:
    """A hollow square with a slash (a write refused with an error)."""
    return (tag("rect", None, x=x - r, y=y - r, width=2 * r, height=2 * r, fill="#FFFFFF",
                stroke=INK, stroke_width=1.2)
            + line(x - r, y + r, x + r, y - r, stroke=INK, stroke_width=1.2))


def write_mark(x: float, y: float, verdict: str | None, scale: float = 1.0) -> str:
    """The marker of a client write with ``verdict`` (None: unknown, e.g. a bare trace)."""
    if verdict in ("silently-lost", "lost"):  # "lost": the quorum ledger's acknowledged-then-gone
        return lost_mark(x, y, 8 * scale)
    if verdict == "sibling":  # kept, beside a concurrent write: the reader must resolve them
        return triangle(x, y, 7 * scale, SKY)
    if verdict == "hint-only":  # acknowledged, but held only in a hint that never came home
        return tag("circle", None, cx=x, cy=y, r=6 * scale, fill="#FFFFFF", stroke=VERMILLION,
                   stroke_width=2, stroke_dasharray="3 2")
    if verdict == "kept":
        return circle(x, y, 6 * scale, BLUE)
    if verdict == "superseded":
        return circle(x, y, 6 * scale, "#FFFFFF", GREY, 2)
    if verdict == "detected":
        return triangle(x, y, 7 * scale, ORANGE)
    if verdict == "rejected":
        return rejected_mark(x, y, 6 * scale)
    if verdict == "unreplicated":  # held by some regions only: a dashed blue ring
        return tag("circle", None, cx=x, cy=y, r=6 * scale, fill="#FFFFFF", stroke=BLUE,
                   stroke_width=2, stroke_dasharray="3 2")
    return circle(x, y, 6 * scale, INK)


def arrow(x1: float, y1: float, x2: float, y2: float, *, gap1: float = 9, gap2: float = 10,
          colour: str = GREY, width: float = 1.2, head: float = 8, dash: str | None = None,
          opacity: float | None = None) -> str:
    """A line from (x1, y1) to (x2, y2) with an arrowhead, pulled back from both markers."""
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    sx, sy = x1 + ux * gap1, y1 + uy * gap1
    ex, ey = x2 - ux * gap2, y2 - uy * gap2
    bx, by = ex - ux * head, ey - uy * head
    px, py = -uy * head * 0.45, ux * head * 0.45
    return (line(sx, sy, bx, by, stroke=colour, stroke_width=width, stroke_dasharray=dash,
                 opacity=opacity)
            + polygon([(ex, ey), (bx + px, by + py), (bx - px, by - py)], fill=colour,
                      opacity=opacity))


def unique_names(names: list[str] | tuple[str, ...], clean: Callable[[str], str]) -> dict[str, str]:
    """``{name: clean(name)}``, with ``_2``, ``_3`` ... appended where cleaned names collide."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = clean(name)
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        out[name] = candidate
    return out
