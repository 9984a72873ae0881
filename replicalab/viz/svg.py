"""Space-time (Lamport) diagrams of a run, as standalone SVG.

One vertical lane per replica (sorted by id); **time flows down**, one row per
step (a handler run: a client write, a delivery and its merge, ...). Rows keep
the run's order but are not to scale: the left gutter gives the simulated time
``t`` in ms, and the notes column on the right says what each numbered step did.

* a client write is a marker on its replica's lane, labelled with the write id,
  the client and the stamp the policy used (the wall stamp for the LWW
  policies, the version vector for ``causal``); its *shape* gives the ledger's
  verdict: ● kept, ○ superseded, ▲ detected, a slashed square rejected, a dashed
  ring unreplicated (held by some regions when the run ended), and a
  **vermillion square with a white X** for a write that was silently lost;
* a message is an arrow from the step that sent it to the step that got it,
  labelled with the write it carries; a message the network dropped on the way is a
  dashed stub ending in an X; one lost on arrival (its destination down, or cut off
  when it got there) a dashed line ending in an X on the receiver's lane, at the row
  of its arrival (``w1 dropped on arrival``: the rule of :mod:`replicalab.viz.faults`);
  one still in flight runs off the bottom;
* a merge is a diamond labelled with what the item holds afterwards
  (``w1+w2``: one version holding both writes' values; ``w1 | w2``: two
  concurrent siblings), and the values it dropped. Where a silently-lost
  write's value was dropped the merge wears the same X square, and the message
  that brought the winning item is drawn thick and vermillion.

**Big runs.** Above :data:`COMPACT_STEPS` steps or :data:`COMPACT_REPLICAS`
replicas the diagram switches to a compact view: consecutive *routine*
deliveries (a merge that dropped nothing and sent nothing) share a row when
they happen on different replicas, their arrows are drawn faint and
unlabelled, lanes are narrower, and the notes column lists only the steps that
matter (writes, rejections, merges that dropped a value, faults), one line
each. Every write, every loss and every dropped message keeps its full mark.
``result.timeline()`` still has every step.

    >>> from replicalab import scenarios
    >>> svg = to_svg(scenarios.run("london", merge="item-lww", seed=0))
    >>> svg.startswith("<svg") and "<title>" in svg and "silently lost" in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.viz import _svg as s
from replicalab.viz import faults
from replicalab.viz.story import Message, Step, Story, build
from replicalab.viz.svg_frame import (
    GROUP_H,
    group_headers,
    quorum_legend,
    region_groups,
    summary_line,
)
from replicalab.viz.svg_frame import legend as legend_block
from replicalab.viz.svg_rows import (
    LINE_H,
    Row,
    arrival_lines,
    folded_note,
    is_routine,
    lane_labels,
    layout_rows,
    outage_word,
    verdict_text,
    wrap_words,
)

__all__ = ["COMPACT_REPLICAS", "COMPACT_STEPS", "compare_svg", "diagram", "to_svg"]

#: More steps than this, or more replicas than :data:`COMPACT_REPLICAS`: compact view.
COMPACT_STEPS = 60
COMPACT_REPLICAS = 8

PAD = 16
GUTTER = 64
"""The least width of the time gutter (px); it grows with the longest time label."""
NOTE_SIZE = 11
LABEL_SIZE = 11
#: The page layout (``diagram(..., width=...)``): no text smaller than this (px) ...
PAGE_MIN_TEXT = 11
#: ... and no lane narrower than this (px; half of it in the compact view).
PAGE_MIN_LANE = 96.0
#: Bold text is about this much wider than the regular-weight estimate.
BOLD = 1.1


@attrs.frozen
class Drawing:
    """A laid-out picture: its size and its SVG elements (without the ``<svg>`` wrapper)."""

    width: float
    height: float
    body: list[str]
    title: str
    desc: str = ""

    def to_svg(self) -> str:
        """The standalone SVG document."""
        return s.document(self.width, self.height, self.title, self.body, self.desc)


def diagram(source: Any, *, compact: bool | None = None, legend: bool = True,
            notes: bool = True, width: float | None = None, fold: bool | None = None) -> Drawing:
    """Lay out the space-time diagram of a Result (or a bare Trace) without wrapping it.

    ``compact`` forces the compact view on or off (default: chosen by size);
    ``notes=False`` leaves out the notes column (side-by-side comparisons do).
    ``width`` lays the picture out for a page column that many px wide: no notes
    column, lanes narrowed to fit and their labels wrapped, wrapped headings, a
    one-column legend, and no text smaller than :data:`PAGE_MIN_TEXT` px, so at its
    own size it reads without zooming. Lanes never get narrower than
    :data:`PAGE_MIN_LANE`, so a run with many replicas can still come out wider.
    ``fold`` draws a summarised view of a busy run: each stretch of steps that
    wrote, merged, lost and repaired nothing (timers, anti-entropy rounds that
    found equal trees, dropped messages) folds into one thin row that says how
    many steps of which kind it stands for, and their arrows are not drawn.
    By default a page layout of more than :data:`COMPACT_STEPS` steps folds.
    """
    story = source if isinstance(source, Story) else build(source)
    replicas = story.replicas
    page_width = width
    if page_width is not None:
        notes = False
    if fold is None:
        fold = page_width is not None and len(story.steps) > COMPACT_STEPS
    if compact is None:
        compact = (len(story.steps) > COMPACT_STEPS and not fold) or len(replicas) > COMPACT_REPLICAS
    chars = (96 if compact else 66) if notes else 0
    notes_w = chars * NOTE_SIZE * s.MONO_EM
    latest = max((step.time for step in story.steps), default=0)
    stamp = f"t={latest}–{latest}" if compact or fold else f"t={latest}"
    gutter = max(GUTTER, s.text_width(stamp, 11, mono=True) + 16)

    def widths(wrap: int) -> dict[str | None, float]:
        label_w: dict[str | None, float] = {}
        for step in story.steps:
            for t, _, weight in lane_labels(story, step, compact, wrap):
                w = s.text_width(t, LABEL_SIZE) * (BOLD if weight == "bold" else 1.0)
                label_w[step.replica] = max(label_w.get(step.replica, 0.0), w)
        for m in story.messages:  # a copy lost on arrival is labelled on its receiver's lane
            if faults.lost_on_arrival(m):
                w = max(s.text_width(line, LABEL_SIZE) for line in arrival_lines(m, wrap))
                label_w[m.dst] = max(label_w.get(m.dst, 0.0), w)
        return label_w

    wrap = 0
    label_w = widths(wrap)
    widest_label = max(label_w.values(), default=0.0)
    # Lane names are drawn bold: size lanes by the bold estimate, or neighbours' names touch.
    widest_name = max((s.text_width(r, 12) * BOLD for r in replicas), default=0)
    if compact:
        col_w = max(min(120.0, max(44.0, widest_label + 22)), min(widest_name + 8, 132.0))
    else:
        col_w = min(260.0, max(150.0, widest_label + 36, widest_name + 16))
    if page_width is not None:
        fit = (page_width - PAD - gutter - 12) / (max(1, len(replicas)) + 0.5)
        col_w = min(col_w, max(PAGE_MIN_LANE / 2 if compact else PAGE_MIN_LANE, fit))
        wrap = max(8, int((col_w - 24) / (LABEL_SIZE * s.SANS_EM * 1.1)))
        label_w = widths(wrap)
    rotate_names = widest_name + 6 > col_w
    header_h = 30 + (min(widest_name, 140) * 0.5 if rotate_names else 0)
    groups = region_groups(source, replicas)
    if groups:  # whole pixels: a fractional height makes a browser scale the page picture
        header_h = math.ceil(header_h + GROUP_H)

    title_lines, how_lines = [story.title], 1
    if page_width is not None:
        title_lines = wrap_words(story.title, int((page_width - 2 * PAD) / (16 * s.SANS_EM * 1.1)))
    title_h = 56 + 20 * (len(title_lines) - 1)
    lanes_left = PAD + gutter
    lane_x = {r: lanes_left + col_w * (i + 0.5) for i, r in enumerate(replicas)}
    lanes_right = lanes_left + col_w * len(replicas)
    last_lane = replicas[-1] if replicas else None
    notes_x = max(lanes_right + 18, lanes_right - col_w / 2 + 12 + label_w.get(last_lane, 0) + 24)
    width = notes_x + notes_w + PAD if notes else notes_x
    if page_width is not None:
        width = max(width, page_width)
    unit = "t = real ms since the run began" if story.real else "t = simulated ms"
    how = f"time flows down · one row per step, not to scale · {unit}"
    if fold:
        how = ("summarised: routine steps fold into thin rows · time flows down, not to scale · "
               f"{unit}")
    if page_width is not None:
        how_lines = len(wrap_words(how, int((max(width, page_width) - 2 * PAD) / (11 * s.SANS_EM))))
    if compact:
        how_lines += 1
    title_h += LINE_H * (how_lines - 1)
    top = PAD + title_h + header_h
    rows = layout_rows(story, compact, chars, top, wrap, fold)
    bottom = rows[-1].top + rows[-1].height if rows else top + 30
    row_of = {step.index: row for row in rows for step in row.steps}

    body: list[str] = []
    # Title, summary, how to read it.
    for n, line in enumerate(title_lines):
        body.append(s.text(PAD, PAD + 16 + 20 * n, line, size=16, font_weight="bold",
                           fill=s.INK))
    below = PAD + 20 * (len(title_lines) - 1)
    body.append(summary_line(story, PAD, below + 36))
    if compact:
        packed = sum(len(r.steps) for r in rows if len(r.steps) > 1)
        how = (f"compact view: {len(story.steps)} steps in {len(rows)} rows ({packed} routine "
               "deliveries share rows, their arrows faint) · time flows down, not to scale")
    how_chars = int((max(width, page_width or 0) - 2 * PAD) / (11 * s.SANS_EM))
    for n, line in enumerate(wrap_words(how, how_chars) if page_width is not None or compact
                             else [how]):
        body.append(s.text(PAD, below + 52 + LINE_H * n, line, size=11, fill=s.GREY))

    # Row backgrounds (the step-through page highlights them).
    for n, row in enumerate(rows):
        body.append(s.tag("rect", None, class_="row", x=PAD, y=row.top, width=width - 2 * PAD,
                          height=row.height, fill="#F4F4F4" if n % 2 else "none",
                          data_first=row.steps[0].index, data_last=row.steps[-1].index))
        if row.folded:
            body.append(s.halo_text(lanes_left + 6, row.top + 16, folded_note(row.steps),
                                    size=11, fill=s.GREY, font_style="italic"))

    # Lane headers and lanes (broken where the node was down).
    outages = down_spans(story, row_of, bottom + 6)
    for replica, x in lane_x.items():
        if rotate_names:
            body.append(s.text(x - 4, top - 8, replica, size=12, font_weight="bold", fill=s.INK,
                               transform=f"rotate(-35 {s.num(x - 4)} {s.num(top - 8)})"))
        else:
            body.append(s.text(x, top - 10, replica, size=12, font_weight="bold", fill=s.INK,
                               text_anchor="middle"))
        body.extend(_lane(x, top - 4, bottom + 6, outages.get(replica, ())))
    body.append(s.text(PAD + gutter - 8, top - 10, "t (ms)", size=11, fill=s.GREY,
                       text_anchor="end"))
    body.extend(group_headers(groups, lane_x, col_w, top - header_h, bottom))
    if notes and (not compact or any(r.notes for r in rows)):
        body.append(s.text(notes_x, top - 10, "what happened (step. t=ms)", size=11,
                           fill=s.GREY))

    # Gutter times and notes.
    for row in rows:
        first, last = row.steps[0].time, row.steps[-1].time
        when = f"t={first}" if first == last else f"t={first}–{last}"
        body.append(s.text(PAD + gutter - 8, row.y + 4, when, size=11, fill=s.GREY,
                           text_anchor="end", font_family=s.MONO))
        for n, (note, alarming) in enumerate(row.notes):
            body.append(s.text(notes_x, row.y + 4 + n * LINE_H, note, size=NOTE_SIZE,
                               font_family=s.MONO, fill=s.VERMILLION if alarming else s.INK))

    # Messages first, so markers sit on top of arrow ends.
    body.extend(_messages(story, lane_x, row_of, bottom, compact, wrap))

    # Step markers and their labels.
    for step in story.steps:
        row = row_of[step.index]
        if row.folded:
            continue
        body.extend(_marker(story, step, lane_x, row, compact, lanes_left, lanes_right, wrap))

    height = bottom + 12
    if legend:
        items = (quorum_legend(PAD, bottom + 28, width - 2 * PAD, compact, bool(outages))
                 if story.quorum else
                 legend_block(PAD, bottom + 28, width - 2 * PAD, compact, story.summary is None,
                              "unreplicated" in story.verdicts.values(), bool(outages)))
        body.extend(items[0])
        height = items[1] + PAD
    desc = (f"{len(replicas)} replicas, {len(story.steps)} steps, "
            f"{len(story.messages)} messages")
    lost = sorted(w for w, v in story.verdicts.items() if v == "silently-lost")
    title = f"Space-time diagram: {story.title}"
    if story.quorum and story.summary is not None:
        gone = sorted(w for w, v in story.verdicts.items() if v in ("lost", "hint-only"))
        title += (f" — {len(gone)} acknowledged writes lost or only in hints"
                  + (f" ({', '.join(gone)})" if gone else "")
                  + f", {len(story.stale_reads)} stale reads")
    elif story.summary is not None:
        title += f" — {len(lost)} silently lost" + (f" ({', '.join(lost)})" if lost else "")
    if page_width is not None:
        body = [b.replace('font-size="10"', f'font-size="{PAGE_MIN_TEXT}"') for b in body]
    return Drawing(width, height, body, title, desc)



def down_spans(story: Story, row_of: dict[int, Row], end: float) -> dict[str, list[tuple[float, float]]]:
    """Per replica, the ``(from y, to y)`` stretches of the picture while it was down: from the
    row of its ``Crashed`` step to the row of its ``Restarted`` step (``end``: never back)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    since: dict[str, float] = {}
    for step in story.steps:
        if step.replica is None:
            continue
        y = row_of[step.index].y
        for e in step.events:
            if e.kind == "Crashed" and step.replica not in since:
                since[step.replica] = y
            elif e.kind == "Restarted" and step.replica in since:
                spans.setdefault(step.replica, []).append((since.pop(step.replica), y))
    for replica, y in since.items():
        spans.setdefault(replica, []).append((y, end))
    return spans


def _lane(x: float, top: float, bottom: float, down: Sequence[tuple[float, float]]) -> list[str]:
    """A replica's lane: solid while it is up, thin and dashed while it is down."""
    out = []
    y = top
    for start, stop in down:
        if start > y:
            out.append(s.line(x, y, x, start, stroke=s.FAINT, stroke_width=2))
        out.append(s.line(x, start, x, stop, stroke=s.GREY, stroke_width=1.5,
                          stroke_dasharray="3 4"))
        y = stop
    if y < bottom:
        out.append(s.line(x, y, x, bottom, stroke=s.FAINT, stroke_width=2))
    return out


Box = tuple[float, float, float, float]

_BAND = 64.0  # px of height per band of the label index


class _Taken:
    """The label boxes placed so far, indexed by horizontal bands of the page.

    A new label is tested only against the boxes that share one of its bands, not
    against every box placed so far (which made a long run's SVG quadratic in its
    messages). Two boxes whose open y-intervals intersect share a point, hence a band,
    so the answer is exactly that of testing every box.
    """

    def __init__(self) -> None:
        self._bands: dict[int, list[Box]] = {}

    @staticmethod
    def _span(box: Box) -> range:
        _, y, _, h = box
        return range(math.floor(y / _BAND), math.floor((y + h) / _BAND) + 1)

    def append(self, box: Box) -> None:
        for band in self._span(box):
            self._bands.setdefault(band, []).append(box)

    def overlaps(self, box: Box) -> bool:
        x, y, w, h = box
        for band in self._span(box):
            for bx, by, bw, bh in self._bands.get(band, ()):
                if x < bx + bw and bx < x + w and y < by + bh and by < y + h:
                    return True
        return False


def _arrival(m: Message, drops: dict[int, list[Message]], lane_x: dict[str, float],
             row_of: dict[int, Row], wrap: int) -> tuple[float, float, list[tuple[float, str]]]:
    """Where a copy lost on arrival ends: its X on the receiver's lane at the row of the step
    that lost it (``x``, ``y``), and its label's lines with their baselines, below the labels
    of the copies that step lost before it (``drops``: :func:`~replicalab.viz.faults.arrival_drops`)."""
    assert m.lost_step is not None  # only for a copy lost on arrival
    y = row_of[m.lost_step].y
    before = drops[m.lost_step][:drops[m.lost_step].index(m)]
    first = sum(len(arrival_lines(other, wrap)) for other in before)
    lines = arrival_lines(m, wrap)
    return lane_x[m.dst], y, [(y + 4 + LINE_H * (first + n), line) for n, line in enumerate(lines)]


def _drop(story: Story, m: Message, lane_x: dict[str, float], row_of: dict[int, Row],
          compact: bool, wrap: int = 0) -> tuple[float, float, int, str]:
    """Where the stub of a copy lost on the way ends: just below the sender's labels, towards
    its target."""
    sender = story.step(m.sent_step)
    below = len(lane_labels(story, sender, compact, wrap))
    nth = [n for n in sender.sent if faults.lost_on_the_way(story.messages[n])].index(m.index)
    x1, y1 = lane_x[m.src], row_of[m.sent_step].y
    side = 1 if lane_x[m.dst] > x1 else -1
    return x1 + 14 * side, y1 + LINE_H * below + 8 + LINE_H * nth, side, \
        f"{m.label} to {m.dst} dropped"


def _label_boxes(story: Story, lane_x: dict[str, float], row_of: dict[int, Row],
                 compact: bool, wrap: int = 0) -> _Taken:
    """Where the step labels sit, so message labels can keep out of their way."""
    boxes = _Taken()
    for step in story.steps:
        if step.replica not in lane_x or row_of[step.index].folded:
            continue
        x, y = lane_x[step.replica], row_of[step.index].y
        boxes.append((x - 8, y - 8, 16, 16))
        for n, (label, _, _) in enumerate(lane_labels(story, step, compact, wrap)):
            boxes.append((x + 12, y - 7 + n * LINE_H, s.text_width(label, LABEL_SIZE), 13))
    drops = faults.arrival_drops(story)
    for m in story.messages:
        if m.src not in lane_x or m.dst not in lane_x:
            continue
        if faults.lost_on_arrival(m):
            assert m.lost_step is not None  # lost_on_arrival says so
            if not row_of[m.sent_step].folded and not row_of[m.lost_step].folded:
                xm, _, lines = _arrival(m, drops, lane_x, row_of, wrap)
                for base, line in lines:
                    boxes.append((xm - 6, base - 11, s.text_width(line, 10) + 14, 13))
        elif m.dropped:
            xm, ym, side, text = _drop(story, m, lane_x, row_of, compact, wrap)
            w = s.text_width(text, 10) + 12
            boxes.append((xm - 4 if side > 0 else xm - w, ym - 7, w, 13))
    return boxes


def _messages(story: Story, lane_x: dict[str, float], row_of: dict[int, Row], bottom: float,
              compact: bool, wrap: int = 0) -> list[str]:
    out = []
    labels = []
    taken = _label_boxes(story, lane_x, row_of, compact, wrap)
    drops = faults.arrival_drops(story)
    for m in story.messages:
        if m.src not in lane_x or m.dst not in lane_x:
            continue
        on_arrival = faults.lost_on_arrival(m)
        end = m.delivered_step if m.delivered_step is not None else (m.lost_step if on_arrival else None)
        if row_of[m.sent_step].folded or (end is not None and row_of[end].folded):
            continue  # a summarised view draws no arrow into or out of a folded row
        # Grouped with the steps that sent it and got (or lost) it, so a page can show what was
        # in flight.
        group = s.attrs_text({"class": "msg", "data-sent": m.sent_step,
                              "data-got": m.delivered_step,
                              "data-lost": m.lost_step if on_arrival else None})
        out.append(f"<g{group}>")
        labels.append(f"<g{group}>")
        x1, y1 = lane_x[m.src], row_of[m.sent_step].y
        x2 = lane_x[m.dst]
        if on_arrival:  # a dashed line to an X on the receiver's lane, when it got there
            xm, ym, lines = _arrival(m, drops, lane_x, row_of, wrap)
            dx, dy = xm - x1, ym - y1
            length = math.hypot(dx, dy) or 1.0
            out.append(s.line(x1 + dx / length * 9, y1 + dy / length * 9, xm - dx / length * 6,
                              ym - dy / length * 6, stroke=s.INK, stroke_width=1.2,
                              stroke_dasharray="3 2"))
            out.append(s.cross(xm, ym, 5, s.INK, 2.2))
            labels.extend(s.halo_text(xm + 9, base, line, size=10, fill=s.INK) for base, line in lines)
        elif m.dropped:
            xm, ym, side, text = _drop(story, m, lane_x, row_of, compact, wrap)
            out.append(s.line(x1, y1 + 6, xm, ym, stroke=s.INK, stroke_width=1.2,
                              stroke_dasharray="3 2"))
            out.append(s.cross(xm, ym, 4, s.INK, 2))
            labels.append(s.halo_text(xm + 8 * side, ym + 4, text, size=10, fill=s.INK,
                                      text_anchor="start" if side > 0 else "end"))
        elif m.delivered_step is None:
            out.append(s.arrow(x1, y1, x2, bottom + 4, colour=s.GREY, dash="5 4", gap2=0))
            labels.append(s.halo_text(x2, bottom - 4, f"{m.label} in flight", size=10,
                                      fill=s.GREY, text_anchor="middle"))
        else:
            _delivered(story, m, x1, y1, x2, row_of, compact, out, labels, taken)
        out.append("</g>")
        labels.append("</g>")
    return out + labels


def _delivered(story: Story, m: Message, x1: float, y1: float, x2: float, row_of: dict[int, Row],
               compact: bool, out: list[str], labels: list[str], taken: _Taken) -> None:
    """The arrow of a delivered message, and its label where no other label sits."""
    assert m.delivered_step is not None  # the caller draws undelivered messages itself
    target = story.step(m.delivered_step)
    y2 = row_of[m.delivered_step].y
    lost = bool(story.first_lost_here(target) if compact else story.lost_here(target))
    if lost:
        out.append(s.arrow(x1, y1, x2, y2, colour=s.VERMILLION, width=2.4, head=10,
                           gap2=12))
    elif compact and is_routine(story, target):
        out.append(s.arrow(x1, y1, x2, y2, colour=s.GREY, width=0.8, head=5,
                           opacity=0.35, gap1=4, gap2=5))
        return
    else:
        out.append(s.arrow(x1, y1, x2, y2, colour=s.GREY,
                           dash="6 3" if m.duplicate else None))
    # A label where arrows from one step have fanned out and no other label sits.
    text = m.label + (" (copy)" if m.duplicate else "")
    w = s.text_width(text, 10) + 4
    for fraction in (0.3, 0.45, 0.2, 0.6, 0.75):
        lx, ly = x1 + (x2 - x1) * fraction, y1 + (y2 - y1) * fraction
        box = (lx - w / 2, ly - 6, w, 12)
        if not taken.overlaps(box):
            break
    else:
        lx, ly = x1 + (x2 - x1) * 0.3, y1 + (y2 - y1) * 0.3
        box = (lx - w / 2, ly - 6, w, 12)
    taken.append(box)
    labels.append(s.halo_text(lx, ly + 3, text, size=10, text_anchor="middle",
                              fill=s.VERMILLION if lost else s.GREY,
                              font_weight="bold" if lost else None))


def _marker(story: Story, step: Step, lane_x: dict[str, float], row: Row, compact: bool,
            left: float, right: float, wrap: int = 0) -> list[str]:
    y = row.y
    if step.replica is None or step.replica not in lane_x:
        return [s.line(left, y, right, y, stroke=s.ORANGE, stroke_width=2, stroke_dasharray="8 4"),
                s.halo_text(left + 4, y - 4, step.note, size=10, fill=s.INK)]
    x = lane_x[step.replica]
    scale = 0.8 if compact else 1.0
    out = [f'<g class="step" data-step="{step.index}">', s.tag("title", s.esc(
        f"{step.index}. t={step.time} {step.note}" + verdict_text(story, step)))]
    if step.kind in ("write", "reject"):
        verdict = story.verdicts.get(step.write or "", "rejected" if step.kind == "reject" else None)
        out.append(s.write_mark(x, y, verdict, scale))
    elif step.kind == "merge":
        if story.lost_here(step):
            first = not compact or story.first_lost_here(step)
            out.append(s.lost_mark(x, y, 6.5 * scale if first else 4))
        elif step.losses and not compact:
            out.append(s.diamond(x, y, 6.5 * scale, s.ORANGE))
        elif compact:
            out.append(s.circle(x, y, 2.5, s.GREEN, s.GREEN, 0.5))
        else:
            out.append(s.diamond(x, y, 6.5, s.GREEN))
    elif outage_word(step) is not None:  # the node goes down or comes back: a bar across its lane
        out.append(s.line(x - 8, y, x + 8, y, stroke=s.INK, stroke_width=3))
    elif faults.quiet(step):
        pass  # it only lost copies on arrival: their X on the receivers' lanes is its mark
    else:
        stale = story.read_op(step) in story.stale_reads
        if stale and story.quorum:  # a cluster's stale read: a filled orange mark, seen at a glance
            out.append(s.circle(x, y, 5 * scale, s.ORANGE, s.INK, 1))
        else:
            out.append(s.circle(x, y, 4 * scale, "#FFFFFF", s.ORANGE if stale else s.GREY, 1.5))
    for n, (label, colour, weight) in enumerate(lane_labels(story, step, compact, wrap)):
        out.append(s.halo_text(x + 12, y + 4 + n * LINE_H, label, size=LABEL_SIZE, fill=colour,
                               font_weight=None if weight == "normal" else weight))
    out.append("</g>")
    return out



#: The page widths a cluster result's ``to_svg(width=...)`` accepts (px).
PAGE_WIDTHS = (240, 20_000)


def checked_view(compact: object, width: object) -> tuple[bool | None, float | None]:
    """``compact`` and ``width`` as a public ``to_svg`` takes them, or ConfigError saying what is valid."""
    if compact is not None and type(compact) is not bool:
        raise ConfigError(f"compact must be True, False or None (chosen by size), got {_validate.shown(compact)}")
    if width is not None and (not isinstance(width, (int, float)) or type(width) is bool
                              or not PAGE_WIDTHS[0] <= width <= PAGE_WIDTHS[1]):
        raise ConfigError(f"width must be a page width in px from {PAGE_WIDTHS[0]} to {PAGE_WIDTHS[1]} "
                          f"(or None: full size), got {_validate.shown(width)}")
    return compact, width


def to_svg(source: Any, *, compact: bool | None = None, width: float | None = None) -> str:
    """The space-time diagram of a Result (or a bare Trace) as a standalone SVG document.

    Same run, same bytes. ``compact`` forces the big-run view on or off;
    ``width`` lays it out for a page column that wide (see :func:`diagram`).
    """
    return diagram(source, compact=compact, width=width).to_svg()


def compare_svg(results: Sequence[Any]) -> str:
    """The diagrams of several runs (e.g. one per policy) side by side, one shared legend.

        >>> from replicalab import scenarios
        >>> runs = [scenarios.run("london", merge=m) for m in ("item-lww", "causal")]
        >>> svg = compare_svg(runs)
        >>> svg.count('class="step"') == sum(len(build(r).steps) for r in runs)
        True
    """
    drawings = [diagram(r, legend=False, notes=False) for r in results]
    gap = 24.0
    width = sum(d.width for d in drawings) + gap * max(0, len(drawings) - 1)
    height = max((d.height for d in drawings), default=0)
    body = []
    x = 0.0
    for d in drawings:
        body.append(f'<g transform="translate({s.num(x)},0)">')
        body.extend(d.body)
        body.append("</g>")
        x += d.width + gap
    outage = any(outage_word(step) is not None for r in results
                 for step in (r if isinstance(r, Story) else build(r)).steps)
    shared, bottom = legend_block(PAD, height + 16, width - 2 * PAD, False, outage=outage)
    body.extend(shared)
    title = "Side by side: " + "; ".join(d.title.removeprefix("Space-time diagram: ")
                                         for d in drawings)
    return s.document(width, bottom + PAD, title, body)
