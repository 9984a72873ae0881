"""The t-visibility chart: P(a read sees the write) against time since the write committed.

One line per curve (a label such as ``"N=3 R=1 W=1"`` and its ``[(t, p)]`` points, as
:func:`replicalab.scenarios.pbs.t_visibility` returns them), a shared time axis in ms and a
probability axis from the lowest point (rounded down to a tenth) to 1. Colours are the Okabe–Ito palette the other pictures use, in
the order the curves are given; the legend says which is which.

    >>> svg = visibility_chart({"N=3 R=1 W=1": [(0, 0.76), (10, 0.91), (50, 1.0)]})
    >>> svg.startswith("<svg") and "N=3 R=1 W=1" in svg
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.viz import _svg as s

__all__ = ["visibility_chart"]

COLOURS = (s.BLUE, s.VERMILLION, s.GREEN, s.ORANGE, s.SKY, s.INK, s.GREY)


def _checked(curves: object) -> dict[str, list[tuple[int, float]]]:
    if not isinstance(curves, Mapping) or not 1 <= len(curves) <= len(COLOURS):
        raise ConfigError(f"curves must map 1 to {len(COLOURS)} labels to [(t, p)] points, "
                          f"got {_validate.shown(curves)}")
    out = {}
    for label, points in curves.items():
        if not isinstance(label, str) or not isinstance(points, Sequence) or not points:
            raise ConfigError(f"each curve is a label and a non-empty list of (t, p), got "
                              f"{_validate.shown(label)}: {_validate.shown(points)}")
        for point in points:
            if (not isinstance(point, Sequence) or len(point) != 2 or type(point[0]) is not int
                    or point[0] < 0 or type(point[1]) not in (int, float) or not 0 <= point[1] <= 1):
                raise ConfigError(f"a point is (t ms >= 0, probability in [0, 1]), got {_validate.shown(point)}")
        out[label] = sorted((int(t), float(p)) for t, p in points)
    return out


def visibility_chart(curves: Mapping[str, Sequence[tuple[int, float]]],
                     title: str = "t-visibility: P(consistent read) vs time after the write") -> str:
    """The chart as standalone SVG (see the module docs)."""
    data = _checked(curves)
    if not isinstance(title, str):
        raise ConfigError(f"title must be a string, got {_validate.shown(title)}")
    # Laid out for a 680 px page column; no text under 11 px.
    x0, y0, w, h = 60.0, 60.0, 420.0, 260.0
    end = max(t for points in data.values() for t, _ in points) or 1
    # The probability axis starts at the lowest point rounded down to a tenth (curves of
    # partial quorums live near 1: a 0-to-1 axis would squash them into a sliver).
    low = min(p for points in data.values() for _, p in points)
    floor = min(0.9, int(low * 10) / 10)
    body = [s.text(16, 28, title, size=14, font_weight="bold", fill=s.INK)]
    steps = round((1 - floor) * 10)
    for i in range(steps + 1):  # probability grid, one line per tenth
        p = floor + i / 10
        y = y0 + h - h * (p - floor) / (1 - floor)
        body.append(s.line(x0, y, x0 + w, y, stroke=s.FAINT, stroke_width=1))
        body.append(s.text(x0 - 8, y + 4, f"{p:.1f}", size=11, fill=s.GREY, text_anchor="end"))
    body.append(s.line(x0, y0 + h, x0 + w, y0 + h, stroke=s.INK, stroke_width=1))
    for i in range(6):  # time ticks
        t = end * i / 5
        x = x0 + w * i / 5
        body.append(s.text(x, y0 + h + 16, f"{t:g}", size=11, fill=s.GREY, text_anchor="middle"))
    body.append(s.text(x0 + w / 2, y0 + h + 34, "ms after the write was acknowledged", size=11,
                       fill=s.INK, text_anchor="middle"))
    for n, (label, points) in enumerate(data.items()):
        colour = COLOURS[n]
        xy = [(x0 + w * t / end, y0 + h - h * (p - floor) / (1 - floor)) for t, p in points]
        body.append(s.tag("polyline", None, points=" ".join(f"{s.num(a)},{s.num(b)}" for a, b in xy),
                          fill="none", stroke=colour, stroke_width=2))
        for a, b in xy:
            body.append(s.circle(a, b, 2.5, colour, stroke=colour))
        ly = y0 + 8 + 18 * n
        body.append(s.line(x0 + w + 14, ly, x0 + w + 34, ly, stroke=colour, stroke_width=3))
        body.append(s.text(x0 + w + 40, ly + 4, label, size=11, fill=s.INK))
    return s.document(x0 + w + 200, y0 + h + 50, title, body,
                      desc="Probability that a read sees a write, by time since the write.")
