"""What a run cost over time: messages and bytes on the wire, and siblings, as a small SVG chart.

Three panels share one time axis, cut into buckets of ``bucket`` ms (default:
a round size giving at most 40 buckets):

* **messages** sent per bucket, the ones the network dropped stacked on top;
* **bytes** on the wire per bucket, split into attribute values and metadata
  (write ids, stamps, version vectors). Bytes are an estimate — the canonical
  JSON of the item each message carries, known when the run could be replayed
  (see :mod:`replicalab.viz.story`); otherwise the panel says so;
* **siblings**: how many (replica, key) pairs hold more than one concurrent
  version at the end of each bucket (from the ``siblings`` count of each merge).

    >>> from replicalab import scenarios
    >>> series = cost_series(scenarios.run("london", merge="causal", seed=0), bucket=50)
    >>> messages, siblings = series["messages"], series["siblings"]
    >>> series["start"], messages, siblings
    (100, [2, 2, 0, 0], [0, 0, 1, 3])
"""

from __future__ import annotations

from typing import Any

from replicalab import _validate
from replicalab.viz import _svg as s
from replicalab.viz.story import Story, build

__all__ = ["cost_chart", "cost_series"]

MAX_BUCKETS = 40
NICE = (1, 2, 5)


def _nice_bucket(span: int) -> int:
    """The smallest 1/2/5 x 10^k ms giving at most :data:`MAX_BUCKETS` buckets over ``span``.

        >>> _nice_bucket(144), _nice_bucket(3000)
        (5, 100)
    """
    scale = 1
    while True:
        for n in NICE:
            if span / (n * scale) <= MAX_BUCKETS:
                return n * scale
        scale *= 10


def cost_series(source: Any, bucket: int | None = None) -> dict[str, Any]:
    """The chart's data: per bucket, messages sent and dropped, bytes and metadata, siblings.

    ``start`` is the first bucket's start time (ms, a multiple of ``bucket``).
    """
    story = source if isinstance(source, Story) else build(source)
    times = [st.time for st in story.steps] or [0]
    if bucket is None:
        bucket = _nice_bucket(max(1, max(times) - min(times) + 1))
    if type(bucket) is not int or bucket <= 0:
        from replicalab.errors import ConfigError

        raise ConfigError(f"bucket must be a positive integer number of ms, got {_validate.shown(bucket)}")
    start = min(times) // bucket * bucket
    count = (max(times) - start) // bucket + 1
    messages, dropped = [0] * count, [0] * count
    size, metadata = [0] * count, [0] * count
    sized = all(m.size is not None for m in story.messages)
    for m in story.messages:
        b = (m.sent_time - start) // bucket
        messages[b] += 1
        dropped[b] += m.dropped
        if sized:
            size[b] += m.size or 0
            metadata[b] += m.metadata or 0
    siblings = [0] * count
    held: dict[tuple[str, str], int] = {}
    for st in story.steps:
        for e in st.events:
            key = e.get("key")
            if e.kind == "Merged" and isinstance(e.get("siblings"), int):
                held[(st.replica or "", key)] = e.get("siblings")
            elif e.kind == "Wrote":
                held[(st.replica or "", key)] = 1
        b = (st.time - start) // bucket
        siblings[b] = sum(1 for n in held.values() if n > 1)
    for b in range(1, count):  # a bucket without steps keeps the previous count
        if not any((st.time - start) // bucket == b for st in story.steps):
            siblings[b] = siblings[b - 1]
    return {"bucket": bucket, "start": start, "messages": messages, "dropped": dropped,
            "bytes": size if sized else None, "metadata": metadata if sized else None,
            "siblings": siblings}


def _panel(x: float, y: float, w: float, h: float, title: str, stacks: list[list[int]],
           colours: list[str], step_line: bool = False) -> list[str]:
    out = [s.text(x, y - 12, title, size=12, font_weight="bold", fill=s.INK)]
    totals = [sum(col) for col in zip(*stacks, strict=True)] if stacks else []
    top = max(totals, default=0) or 1
    out.append(s.line(x, y + h, x + w, y + h, stroke=s.INK, stroke_width=1))
    out.append(s.line(x, y, x, y + h, stroke=s.FAINT, stroke_width=1))
    out.append(s.text(x - 6, y + 4, str(top), size=10, fill=s.GREY, text_anchor="end"))
    out.append(s.text(x - 6, y + h + 3, "0", size=10, fill=s.GREY, text_anchor="end"))
    n = len(totals)
    bw = w / max(n, 1)
    if step_line:
        points = []
        for i, v in enumerate(stacks[0]):
            yy = y + h - h * v / top
            points += [(x + i * bw, yy), (x + (i + 1) * bw, yy)]
        out.append(s.tag("polyline", None, points=" ".join(f"{s.num(a)},{s.num(b)}" for a, b in points),
                         fill="none", stroke=colours[0], stroke_width=2))
        return out
    for i in range(n):
        base = y + h
        for stack, colour in zip(stacks, colours, strict=True):
            v = stack[i]
            if not v:
                continue
            bh = h * v / top
            out.append(s.tag("rect", None, x=x + i * bw + 1, y=base - bh, width=max(bw - 2, 1),
                             height=bh, fill=colour))
            base -= bh
    return out


def cost_chart(source: Any, bucket: int | None = None) -> str:
    """The cost-over-time chart of a Result (or a bare Trace) as standalone SVG."""
    story = source if isinstance(source, Story) else build(source)
    data = cost_series(story, bucket)
    x, w, h = 70.0, 560.0, 90.0
    body = [
        s.text(16, 26, f"cost over time: {story.title}", size=15, font_weight="bold", fill=s.INK),
        s.text(16, 44, f"per {data['bucket']} ms of simulated time", size=11, fill=s.GREY),
    ]
    y = 80.0
    kept = [m - d for m, d in zip(data["messages"], data["dropped"], strict=True)]
    body += _panel(x, y, w, h, "messages sent", [kept, data["dropped"]], [s.GREY, s.VERMILLION])
    body += _legend(x + w + 12, y, [(s.GREY, "sent"), (s.VERMILLION, "dropped")])
    y += h + 50
    if data["bytes"] is not None:
        values = [b - m for b, m in zip(data["bytes"], data["metadata"], strict=True)]
        body += _panel(x, y, w, h, "bytes on the wire (estimate)", [values, data["metadata"]],
                       [s.BLUE, s.ORANGE])
        body += _legend(x + w + 12, y, [(s.BLUE, "values"), (s.ORANGE, "metadata")])
    else:
        body.append(s.text(x, y - 12, "bytes on the wire", size=12, font_weight="bold", fill=s.INK))
        body.append(s.text(x, y + 20, "unknown: the run could not be replayed to size its items",
                           size=11, fill=s.GREY))
    y += h + 50
    body += _panel(x, y, w, h, "replica·keys holding siblings", [data["siblings"]], [s.GREEN],
                   step_line=True)
    y += h
    end = data["start"] + data["bucket"] * len(data["messages"])
    body.append(s.text(x, y + 16, f"t={data['start']}", size=10, fill=s.GREY))
    body.append(s.text(x + w, y + 16, f"t={end} ms", size=10, fill=s.GREY, text_anchor="end"))
    return s.document(x + w + 110, y + 32, f"Cost over time: {story.title}", body)


def _legend(x: float, y: float, items: list[tuple[str, str]]) -> list[str]:
    out = []
    for n, (colour, label) in enumerate(items):
        out.append(s.tag("rect", None, x=x, y=y + n * 16, width=10, height=10, fill=colour))
        out.append(s.text(x + 14, y + 9 + n * 16, label, size=10, fill=s.INK))
    return out
