"""A run as Mermaid sequence-diagram text (for Markdown, the mkdocs site, GitHub).

Mermaid draws each arrow at one height, so a message appears where it was
*delivered*, labelled with when it was sent and when it arrived; crossing
messages show up as deliveries whose send times are earlier than the events
just above them. A note over the replica tells each write (with the stamp the
policy used and the ledger's verdict) and each merge (what it kept and
dropped); a silent loss is boxed in a highlighted ``rect``. A message the
network lost on the way is a ``-x`` arrow at its send time; one lost on arrival
(its destination down, or cut off) a ``-x`` arrow at the time it would have arrived.

Faults are notes at the time they happened (words of :mod:`replicalab.viz.faults`):
a node going down is a note over it in a grey ``rect`` (``down (crashed, disk
lost)``), its restart a plain note (``back (...)``); a cut is a grey-boxed note
over the nodes whose reach changed, one line each (``eu-west-1a cut off from
eu-west-1b, eu-west-1c``), and its heal a plain note (``... reaches ... again``).

    >>> from replicalab import scenarios
    >>> text = to_mermaid(scenarios.run("london", seed=0))
    >>> print(text.splitlines()[0])
    sequenceDiagram
    >>> "participant eu_west_1 as eu-west-1" in text
    True
"""

from __future__ import annotations

import re
from typing import Any

from replicalab.viz import faults
from replicalab.viz._svg import unique_names
from replicalab.viz.story import Step, Story, build, stamp_text

__all__ = ["participant_ids", "to_mermaid"]

LOST_FILL = "rgb(255, 224, 204)"
#: The box around a note that a node went down, or that links were cut.
DOWN_FILL = "rgb(230, 230, 230)"


def _safe(text: str) -> str:
    """Text Mermaid will not parse as syntax: ``#`` and ``;`` become entity codes, no newlines."""
    text = text.replace("#", "#35;").replace(";", "#59;")
    return " ".join(text.split())


def participant_ids(replicas: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Mermaid-safe participant ids for replica names (``eu-west-1`` -> ``eu_west_1``), unique.

        >>> participant_ids(["a-b", "a_b"])
        {'a-b': 'a_b', 'a_b': 'a_b_2'}
    """
    def clean(name: str) -> str:
        base = re.sub(r"\W", "_", name, flags=re.ASCII) or "replica"
        return "r_" + base if base[0].isdigit() else base

    return unique_names(replicas, clean)


def _write_note(story: Story, step: Step) -> str:
    wrote = step.event("Wrote")
    verdict = story.verdicts.get(step.write or "")
    text = step.note.split(": ", 1)[-1]
    if wrote is not None:
        text = (f"t={step.time} {step.write} ({wrote.get('client')}) sets "
                f"{', '.join(sorted(wrote.get('attributes') or {}))} [{stamp_text(wrote)}]")
    if verdict == "silently-lost":
        text += " — SILENTLY LOST"
    elif verdict:
        text += f" — {verdict}"
    return text


def to_mermaid(source: Any) -> str:
    """Mermaid ``sequenceDiagram`` text for a Result (or a bare Trace). Same run, same text."""
    story = source if isinstance(source, Story) else build(source)
    ids = participant_ids(story.replicas)
    lines = ["sequenceDiagram", f"    title {_safe(story.title)}"]
    lines += [f"    participant {ids[r]} as {_safe(r)}" for r in story.replicas]
    cuts, drops = faults.cut_changes(story), faults.arrival_drops(story)
    lost: bool | list[str]  # a flag for a write, the lost writes for a merge
    for step in story.steps:
        if step.index in cuts:  # a cut or a heal: over the nodes whose reach changed
            lines += _cut_note(step, cuts[step.index], ids, story.replicas)
            continue
        if step.replica is None:
            first, last = ids[story.replicas[0]], ids[story.replicas[-1]]
            lines.append(f"    Note over {first},{last}: t={step.time} {_safe(step.note)}")
            continue
        me = ids[step.replica]
        for number in step.received:
            m = story.messages[number]
            copy = " (copy)" if m.duplicate else ""
            lines.append(f"    {ids[m.src]}->>{me}: {_safe(m.label)}{copy} "
                         f"sent t={m.sent_time}, arrives t={step.time}")
        for m in drops.get(step.index, ()):  # lost where it would have arrived
            lines.append(f"    {me}-x{ids[m.dst]}: {_safe(m.label)} sent t={m.sent_time}, "
                         f"lost on arrival at t={step.time}: {_safe(faults.drop_why(m))}")
        outage = faults.outage(step)
        if outage is not None:  # down: a grey box; back: a plain note
            note = f"    Note over {me}: t={step.time} {_safe(outage)}"
            lines += [f"    rect {DOWN_FILL}", "    " + note, "    end"] if outage.startswith("down") else [note]
        elif faults.quiet(step):
            pass  # it only recorded drops on arrival, drawn just above
        elif step.kind in ("write", "reject"):
            text = _write_note(story, step) if step.kind == "write" else f"t={step.time} {step.note}"
            lost = story.verdicts.get(step.write or "") == "silently-lost"
            lines += _note(me, text, lost)
        elif step.kind == "merge":
            parts = [f"t={step.time} merge" + (f": keeps {step.keeps}" if step.keeps else "")]
            merged = step.event("Merged")
            if merged is not None and merged.get("note"):
                parts.append(str(merged.get("note")))
            dropped = sorted({f"{x['write']}.{x['attribute']}" for x in step.losses})
            lost = story.lost_here(step)
            if dropped:
                parts.append("drops " + ", ".join(dropped)
                             + (" — " + ", ".join(lost) + " silently lost here" if lost else ""))
            lines += _note(me, parts, bool(lost))
        elif step.kind in ("read", "timer", "other", "start"):
            lines += _note(me, f"t={step.time} {step.note.split(': ', 1)[-1]}", False)
        for number in step.sent:
            m = story.messages[number]
            if faults.lost_on_the_way(m):
                lines.append(f"    {me}-x{ids[m.dst]}: {_safe(m.label)} sent t={m.sent_time}, "
                             "DROPPED by the network")
            elif not m.dropped and m.delivered_step is None:
                lines.append(f"    {me}--)" f"{ids[m.dst]}: {_safe(m.label)} sent t={m.sent_time}, "
                             "still in flight")
    return "\n".join(lines) + "\n"


def _cut_note(step: Step, changes: list[tuple[str, str]], ids: dict[str, str],
              replicas: tuple[str, ...]) -> list[str]:
    """A cut (grey box) or a heal (plain note) over the span of the nodes whose reach changed,
    one line per node."""
    order = [r for r in replicas if any(r == c for c, _ in changes)]
    over = ids[order[0]] if len(order) == 1 else f"{ids[order[0]]},{ids[order[-1]]}"
    text = "<br/>".join(_safe(f"{r} {w}") for r, w in changes)
    note = f"    Note over {over}: t={step.time} network: {text}"
    if all(part.endswith(" again") for _, w in changes for part in w.split("; ")):
        return [note]  # every change is a heal (both ways or one way)
    return [f"    rect {DOWN_FILL}", "    " + note, "    end"]


def _note(participant: str, text: str | list[str], lost: bool) -> list[str]:
    """A note (lines joined with ``<br/>``), boxed in a highlighted ``rect`` if ``lost``."""
    parts = [text] if isinstance(text, str) else text
    note = f"    Note over {participant}: " + "<br/>".join(_safe(p) for p in parts)
    if not lost:
        return [note]
    return [f"    rect {LOST_FILL}", "    " + note, "    end"]
