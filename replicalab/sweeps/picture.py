"""The distributions of a sweep as one SVG: a row per pattern, a small histogram per quantity.

Columns are the per-run counts that tell the patterns apart — silently lost,
detected, rejected, stale strong reads — and the pooled write latency. Every
cell of a column shares one x axis (value 0 at the left), and bar heights are
the *fraction* of runs (of writes, for latency) with that value, on the same
0–100 % scale everywhere, so two rows compare at a glance. Under each
histogram: the mean, p99 and max. Columns with many distinct values are
binned into at most :data:`MAX_BINS` bins of a round width (1, 2 or 5 × 10^k).

The same sweep always gives the same bytes (numbers through
:func:`replicalab.viz._svg.num`, nothing from the clock).
"""

from __future__ import annotations

from collections.abc import Sequence

from replicalab.sweeps.aggregate import Distribution, GroupStats
from replicalab.viz import _svg as s

__all__ = ["COLUMNS", "MAX_BINS", "bin_width", "sweep_svg"]

MAX_BINS = 24
#: A column is never drawn with fewer slots than this, so an all-zero column shows a thin bar
#: at 0 rather than one block as wide as the cell.
MIN_SLOTS = 12
#: The picture rounds means to this many decimals (the JSON keeps four).
SHOWN_DECIMALS = 2
#: (header, which distribution, colour)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("silently lost", "silently_lost", s.VERMILLION),
    ("detected", "detected", s.ORANGE),
    ("rejected", "rejected", s.GREY),
    ("stale reads", "stale_reads", s.SKY),
    ("latency ms", "latency", s.BLUE),
)

#: The picture fits a 680 px page column at its own size, with no text under 11 px, so it
#: reads the same in the tutorial, in Jupyter and opened alone.
WIDTH = 680.0
MIN_TEXT = 11
LABEL_W, CELL_W, BARS_H, ROW_H, TOP = 192.0, 97.6, 30.0, 74.0, 112.0


def bin_width(largest: int) -> int:
    """The smallest 1/2/5 × 10^k giving at most :data:`MAX_BINS` bins over 0..``largest``.

        >>> bin_width(3), bin_width(23), bin_width(24), bin_width(300)
        (1, 1, 2, 20)
    """
    scale = 1
    while True:
        for n in (1, 2, 5):
            if (largest // (n * scale)) + 1 <= MAX_BINS:
                return n * scale
        scale *= 10


def _wrap(text: str, width: float, bold_em: float = 0.64) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` px of 11 px bold text."""
    limit = max(1, int(width / (MIN_TEXT * bold_em)))
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _dist(stats: GroupStats, key: str) -> Distribution:
    return stats.latency if key == "latency" else stats.counts[key]


def _mean(d: Distribution) -> str:
    mean = d.mean
    if mean is None:
        return "-"
    text = f"{float(round(mean, SHOWN_DECIMALS)):.{SHOWN_DECIMALS}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cell(x: float, y: float, d: Distribution, largest: int, width: int, colour: str) -> list[str]:
    span = CELL_W - 10
    out = [s.line(x, y + BARS_H, x + span, y + BARS_H, stroke=s.FAINT, stroke_width=1)]
    if not d.count:
        out.append(s.text(x, y + BARS_H - 4, "none", size=MIN_TEXT, fill=s.GREY))
        return out
    bw = span / max(largest // width + 1, MIN_SLOTS)
    heights: dict[int, int] = {}
    for value, times in d.histogram:
        heights[value // width] = heights.get(value // width, 0) + times
    for b, times in sorted(heights.items()):
        h = max(BARS_H * times / d.count, 1.0)  # a value seen at all is never invisible
        out.append(s.tag("rect", None, x=x + b * bw + 0.5, y=y + BARS_H - h, width=max(bw - 1, 1),
                         height=h, fill=colour))
    out.append(s.text(x, y + BARS_H + 14, f"mean {_mean(d)}", size=MIN_TEXT, fill=s.INK))
    out.append(s.text(x, y + BARS_H + 28, f"p99 {d.percentile(0.99)} max {d.max}", size=MIN_TEXT,
                      fill=s.GREY))
    return out


def sweep_svg(rows: Sequence[GroupStats], title: str, subtitle: str = "") -> str:
    """The sweep's distributions as a standalone SVG document (see the module docs)."""
    largest = {key: max((_dist(r, key).max or 0 for r in rows), default=0) for _, key, _ in COLUMNS}
    widths = {key: bin_width(v) for key, v in largest.items()}
    body = [s.text(12, 26, title, size=15, font_weight="bold", fill=s.INK)]
    if subtitle:
        body.append(s.text(12, 45, subtitle, size=MIN_TEXT, fill=s.GREY))
    for n, (name, key, _colour) in enumerate(COLUMNS):
        x = LABEL_W + n * CELL_W
        body.append(s.text(x, TOP - 36, name, size=12, font_weight="bold", fill=s.INK))
        last = (largest[key] // widths[key] + 1) * widths[key] - 1
        body.append(s.text(x, TOP - 21, f"0 … {last}", size=MIN_TEXT, fill=s.GREY))
        if widths[key] > 1:
            body.append(s.text(x, TOP - 8, f"bins of {widths[key]}", size=MIN_TEXT, fill=s.GREY))
    for i, stats in enumerate(rows):
        y = TOP + i * ROW_H
        if i % 2:
            body.append(s.tag("rect", None, x=4, y=y - 8, width=WIDTH - 8, height=ROW_H,
                              fill="#F4F4F4"))
        lines = _wrap(stats.group.name, LABEL_W - 14)
        for k, line in enumerate(lines):
            body.append(s.text(10, y + 14 + 15 * k, line, size=MIN_TEXT, font_weight="bold",
                               fill=s.INK))
        body.append(s.text(10, y + 16 + 15 * len(lines),
                           f"{stats.runs} runs · {stats.latency.count} writes", size=MIN_TEXT,
                           fill=s.GREY))
        for n, (_name, key, colour) in enumerate(COLUMNS):
            body += _cell(LABEL_W + n * CELL_W, y, _dist(stats, key), largest[key], widths[key],
                          colour)
    height = TOP + len(rows) * ROW_H + 34
    for n, note in enumerate(("bar height: the share of runs (of writes, for latency) with that",
                              "value; one x axis per column, from 0 at the left")):
        body.append(s.text(12, height - 20 + 14 * n, note, size=MIN_TEXT, fill=s.GREY))
    return s.document(WIDTH, height, title, body,
                      desc=f"{subtitle} Histograms per pattern of silently lost, detected, "
                           "rejected writes, stale strong reads and write latency.")
