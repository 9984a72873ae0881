"""The rows of a space-time diagram: which steps share a row, and what its labels and notes say.

:func:`~replicalab.viz.svg.diagram` draws; this module decides the text. One row per
step, except that the compact view packs routine deliveries on different replicas into
one row and a summarised view folds stretches of steps that changed nothing into a thin
row. For each step it gives the labels beside its marker (write id, client, stamp,
verdict; what a merge kept and dropped) and the numbered note in the notes column, and
from those the row's height.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import attrs

from replicalab.viz import _svg as s
from replicalab.viz import faults
from replicalab.viz.story import Message, Step, Story, stamp_text

__all__ = ["LINE_H", "Row", "arrival_lines", "folded_note", "is_routine", "lane_labels", "layout_rows",
           "verdict_text", "wrap_words"]

#: The height of one line of labels or notes (px).
LINE_H = 14


@attrs.frozen
class Row:
    steps: tuple[Step, ...]
    top: float
    height: float
    notes: tuple[tuple[str, bool], ...]
    """Note lines, each with whether it tells of a silent loss (drawn vermillion)."""
    folded: bool = False
    """A summarised view's row standing for a run of steps that changed nothing that matters."""

    @property
    def y(self) -> float:
        """Where markers sit: near the top, so labels can hang below."""
        return self.top + 15


#: What a folded row calls the kinds of steps it stands for.
_FOLDED_KINDS = {"timer": ("timer", "timers"), "deliver": ("delivery", "deliveries"),
                 "other": ("other step", "other steps"), "read": ("read", "reads"),
                 "merge": ("merge", "merges"), "start": ("start", "starts")}


def _worth_showing(story: Story, step: Step) -> bool:
    """In a summarised view: writes, rejections, faults, merges of client data, losses, and
    anti-entropy steps that repaired something, a node going down or coming back.
    Everything else folds away (a step that only lost copies on arrival too: its folded row
    counts it as a loss on arrival)."""
    return (step.kind in ("write", "reject", "merge", "fault") or step.replica is None
            or outage_word(step) is not None
            or bool(step.losses) or bool(story.lost_here(step)) or "repaired" in step.note)


def folded_note(steps: Sequence[Step]) -> str:
    counts: dict[tuple[str, str], int] = {}
    for step in steps:
        words = (("loss on arrival", "losses on arrival") if faults.quiet(step)
                 else _FOLDED_KINDS.get(step.kind, ("step", "steps")))
        counts[words] = counts.get(words, 0) + 1
    parts = [f"{n} {one if n == 1 else many}" for (one, many), n in counts.items()]
    what = "step" if len(steps) == 1 else "steps"
    return f"⋯ {len(steps)} routine {what} folded: " + ", ".join(parts)


def is_routine(story: Story, step: Step) -> bool:
    """A delivery that sent nothing and is not where the ledger says a write was lost."""
    return step.kind in ("merge", "deliver") and not step.sent and not story.first_lost_here(step)


#: Write verdicts a picture raises the alarm for (the table ledger's and the quorum ledger's).
ALARMING = ("silently-lost", "lost", "hint-only")


def _alarming(story: Story, step: Step) -> bool:
    """True for a silently-lost write (lost or hint-only in a cluster run), a merge that
    silently dropped one, and a stale read."""
    if step.kind == "write":
        return story.verdicts.get(step.write or "") in ALARMING
    if story.quorum and step.kind == "read":
        return story.read_op(step) in story.stale_reads
    return bool(story.lost_here(step))


def verdict_text(story: Story, step: Step) -> str:
    verdict = story.verdicts.get(step.write or "")
    if verdict and story.quorum:  # the quorum ledger says why, for every verdict
        why = getattr(story.entries.get(step.write or ""), "why", "")
        return f" — verdict: {verdict}" + (f" ({why})" if why else "")
    return f" — verdict: {verdict}" if verdict else ""


def lane_labels(story: Story, step: Step, compact: bool,
                 wrap: int = 0) -> list[tuple[str, str, str]]:
    """``(text, colour, weight)`` lines next to a step's marker; ``wrap`` > 0 wraps at that many
    characters (the page layout), breaking after ``.`` or ``,`` before breaking a word."""
    lines = _raw_lane_labels(story, step, compact=compact)
    if wrap <= 0:
        return lines
    return [(part, colour, weight) for text, colour, weight in lines
            for part in wrap_words(text, wrap)]


def arrival_lines(m: Message, wrap: int = 0) -> list[str]:
    """The label beside the X of a copy lost on arrival (``w1 dropped on arrival``), wrapped
    at ``wrap`` characters like the lane labels (the page layout)."""
    text = f"{m.label} dropped on arrival"
    return wrap_words(text, wrap) if wrap > 0 else [text]


def wrap_words(text: str, width: int) -> list[str]:
    """Greedy wrap at spaces; a longer word breaks after ``.`` or ``_``, else at ``width``."""
    pieces: list[tuple[str, str]] = []  # (separator before, piece)
    for word in text.split(" "):
        parts = [word] if len(word) <= width else re.split(r"(?<=[._])(?=[A-Za-z])", word)
        for n, part in enumerate(parts):
            chunks = [part[i:i + width] for i in range(0, len(part), width)] or [""]
            pieces += [(" " if n == 0 and i == 0 else "", c) for i, c in enumerate(chunks)]
    lines: list[str] = []
    for sep, piece in pieces:
        if lines and len(lines[-1] + sep + piece) <= width:
            lines[-1] += sep + piece
        else:
            lines.append(piece)
    return lines or [""]


def outage_word(step: Step) -> str | None:
    """The short label of a step where a node goes down or comes back, or None.

    ``down`` / ``down, disk lost`` at a crash; ``back`` / ``back, disk lost`` at the restart
    (the words say whether the node kept its state across the outage).
    """
    for e in step.events:
        if e.replica != step.replica:
            continue
        if e.kind == "Crashed":
            return "down" if e.get("durable") else "down, disk lost"
        if e.kind == "Restarted":
            return "back" if e.get("durable") else "back, disk lost"
    return None


def _raw_lane_labels(story: Story, step: Step, compact: bool) -> list[tuple[str, str, str]]:
    outage = outage_word(step)
    if outage is not None:
        return [(outage, s.INK, "bold")]
    if step.kind == "write":
        verdict = story.verdicts.get(step.write or "")
        wrote = step.event("Wrote") or step.event("ClientRequested")
        client = wrote.get("client") if wrote is not None else ""
        lines = [(step.write or "" if compact else f"{step.write} · {client}", s.INK, "bold")]
        put = step.event("QuorumPut")
        if not compact and put is not None:
            lines.append((f"dot {put.get('dot')}", s.GREY, "normal"))
        elif not compact and wrote is not None:
            lines.append((stamp_text(wrote), s.GREY, "normal"))
        if verdict == "silently-lost":
            lines.append(("LOST" if compact else "SILENTLY LOST", s.VERMILLION, "bold"))
        elif verdict == "lost":
            lines.append(("LOST" if compact else "ACKED, THEN LOST", s.VERMILLION, "bold"))
        elif verdict == "hint-only":
            lines.append(("HINT" if compact else "ONLY IN A HINT", s.VERMILLION, "bold"))
        elif verdict == "sibling" and not compact:
            lines.append(("sibling", s.GREY, "normal"))
        return lines
    if step.kind == "reject":
        return [(f"{step.write} rejected", s.INK, "bold")]
    if story.quorum and step.kind == "read" and story.read_op(step) in story.stale_reads:
        return [(f"{story.read_op(step)}: STALE", s.ORANGE, "bold")]
    if compact:
        lost = story.first_lost_here(step)
        return [(f"drops {', '.join(lost)}", s.VERMILLION, "bold")] if lost else []
    if step.kind == "merge":
        lines = [(f"keeps {step.keeps}" if step.keeps else f"merged {step.write}", s.INK, "normal")]
        lost = story.lost_here(step)
        dropped = sorted({f"{x['write']}.{x['attribute']}" for x in step.losses})
        if dropped:
            colour = s.VERMILLION if lost else s.GREY
            lines.append((f"drops {', '.join(dropped)}", colour, "bold" if lost else "normal"))
        return lines
    if step.kind == "read":
        op = story.read_op(step) or ""
        if op in story.stale_reads:
            return [(f"{op} read: STALE", s.ORANGE, "bold")]
        return [(f"{op} read", s.GREY, "normal")]
    return []


def _notes(story: Story, step: Step, compact: bool, chars: int,
           marks: tuple[dict[int, list[tuple[str, str]]], dict[int, list[Message]]]) -> list[str]:
    """A step's numbered note; a fault, an outage and a drop on arrival in the words of
    :mod:`replicalab.viz.faults` (``marks``: its cuts and drops of the story), as the other
    exports say them."""
    if chars == 0:
        return []
    head = f"{step.index}. t={step.time}  "
    note = faults.step_note(story, step, *marks)
    body = note + (verdict_text(story, step) if step.kind == "write" else "")
    if story.read_op(step) in story.stale_reads:
        body += " — STALE: misses a write already acknowledged"
    if compact:
        quiet = ("start", "timer", "deliver", "read", "other")
        if outage_word(step) is None and (is_routine(story, step)
                                          or (step.kind in quiet and not _alarming(story, step))):
            return []
        text = head + body
        return [text if len(text) <= chars else text[: chars - 1] + "…"]
    return textwrap.wrap(head + body, width=chars, subsequent_indent="    ",
                         break_on_hyphens=False) or [head]


def layout_rows(story: Story, compact: bool, chars: int, top: float, wrap: int = 0,
          fold: bool = False) -> list[Row]:
    groups: list[list[Step]] = []
    folds: list[bool] = []
    marks = (faults.cut_changes(story), faults.arrival_drops(story))
    drops = marks[1]
    for step in story.steps:
        current = groups[-1] if groups else None
        if fold and not _worth_showing(story, step):
            if current is not None and folds[-1]:
                current.append(step)
            else:
                groups.append([step])
                folds.append(True)
            continue
        if (compact and current and not folds[-1] and is_routine(story, step)
                and all(is_routine(story, x) for x in current)
                and step.replica not in {x.replica for x in current}):
            current.append(step)
        else:
            groups.append([step])
            folds.append(False)
    rows = []
    y = top
    for group, folded in zip(groups, folds, strict=True):
        if folded:
            rows.append(Row(tuple(group), y, 24.0, (), folded=True))
            y += 24.0
            continue
        notes = [(n, _alarming(story, step)) for step in group
                 for n in _notes(story, step, compact, chars, marks)]
        # Label lines: the step's own, a stub for each copy lost on the way at its send, and
        # one for each copy this step lost on arrival (drawn on its receiver's lane).
        labels = max(len(lane_labels(story, step, compact, wrap))
                     + sum(faults.lost_on_the_way(story.messages[n]) for n in step.sent)
                     + sum(len(arrival_lines(m, wrap)) for m in drops.get(step.index, ()))
                     for step in group)
        if compact:
            height = 20.0 if not notes and labels <= 1 else 22.0 + LINE_H * max(0, labels - 1)
            height = max(height, 8 + LINE_H * len(notes))
        else:
            height = max(42.0, 12 + LINE_H * max(len(notes), labels + 1))
        rows.append(Row(tuple(group), y, height, tuple(notes)))
        y += height
    return rows
