"""Faults in words, at the steps where they happened: what the text exports say about them.

The space-time pictures draw a node's outage on its lane (:func:`~replicalab.viz.svg_rows.outage_word`);
the exports that are text — Mermaid, ShiViz, the step-through page — say the same things at
the same steps, with these words:

* **an outage** (a ``Crashed`` step): ``down (crashed, disk kept)`` or ``down (crashed, disk lost)``;
* **a restart** (a ``Restarted`` step): ``back (restarted with its disk)``, or
  ``back (restarted empty as eu-west-1a~2: disk lost)`` — a node that lost its state comes
  back under a new causal identity;
* **a cut or a heal** (a network step with ``Partitioned`` / ``Healed`` events), per node
  whose reach changed: ``cut off from b, c`` (both ways), ``cannot send to b`` and
  ``cannot hear from a`` (a one-way cut), ``reaches b, c again``, ``can send to b again``,
  ``hears from a again``. The words come from the
  links cut before and after the step, not from the events one by one: an AZ partition
  schedule that heals and cuts again in the same millisecond (two overlapping cuts) marks
  only the nodes whose reach really changed;
* **a message lost on arrival** (its destination down, or cut off when it arrived): at the
  step that recorded the ``Dropped`` (the sender's, at the arrival time), ``w2 to
  eu-west-1a (sent t=191) lost on arrival: eu-west-1a is down``. A message lost on the way
  (link loss) stays where it was sent.

**One rule for where a lost message ends** (:func:`lost_on_arrival`, :func:`in_flight_until`),
which every export follows: a copy lost on arrival is in flight from its send until its
arrival time and ends *there*, on its destination's line — the space-time picture draws its X
on the receiver's lane at the row of the step that lost it, Mermaid a ``-x`` arrow at that
time, the step-through page lists it in flight until then and as lost at that step. A copy
lost on the way is never in flight: it ends where it was sent.

A run without faults has none of these steps, so its exports are what they were before.

    >>> from replicalab import scenarios
    >>> from replicalab.viz.story import build
    >>> story = build(scenarios.run("crash", seed=0))
    >>> [(s.time, outage(s)) for s in story.steps if outage(s)]
    [(120, 'down (crashed, disk lost)'), (1000, 'back (restarted empty as eu-west-1~2: disk lost)')]
"""

from __future__ import annotations

from collections.abc import Iterable

from replicalab.viz.story import Message, Step, Story

__all__ = ["arrival_drops", "cut_changes", "drop_text", "drop_why", "in_flight_until", "lost_on_arrival",
           "lost_on_the_way", "outage", "quiet", "step_note"]

Link = tuple[str, str]


def outage(step: Step) -> str | None:
    """What a node's crash or restart step means, or None for any other step (module docs)."""
    for e in step.events:
        if e.replica != step.replica or step.replica is None:
            continue
        if e.kind == "Crashed":
            return f"down (crashed, disk {'kept' if e.get('durable') else 'lost'})"
        if e.kind == "Restarted":
            if e.get("durable"):
                return "back (restarted with its disk)"
            return f"back (restarted empty as {e.get('identity')}: disk lost)"
    return None


def _cut(links: set[Link], events: Iterable[object]) -> set[Link]:
    """The directed links cut after the network events of one step (``src -> dst`` dropped)."""
    links = set(links)
    for e in events:
        kind, data = getattr(e, "kind", None), getattr(e, "data", {})
        if kind == "Healed":
            links.clear()  # a Heal ends every partition and one-way cut (sim.faults.Heal)
        elif kind == "Partitioned" and data.get("one_way"):
            src, dst = data["one_way"]
            links.add((src, dst))
        elif kind == "Partitioned":
            groups = [list(g) for g in data.get("groups") or ()]
            for i, left in enumerate(groups):
                for right in groups[i + 1:]:
                    links.update((a, b) for a in left for b in right)
                    links.update((b, a) for a in left for b in right)
    return links


def _words(replica: str, before: set[Link], after: set[Link]) -> str | None:
    def sends(links: set[Link]) -> set[str]:
        return {b for a, b in links if a == replica}

    def hears(links: set[Link]) -> set[str]:
        return {a for a, b in links if b == replica}

    cut_to, cut_from = sends(after) - sends(before), hears(after) - hears(before)
    back_to, back_from = sends(before) - sends(after), hears(before) - hears(after)
    parts = []
    for links, words in ((cut_to & cut_from, "cut off from {}"), (cut_to - cut_from, "cannot send to {}"),
                         (cut_from - cut_to, "cannot hear from {}"), (back_to & back_from, "reaches {} again"),
                         (back_to - back_from, "can send to {} again"),
                         (back_from - back_to, "hears from {} again")):
        if links:
            parts.append(words.format(", ".join(sorted(links))))
    return "; ".join(parts) or None


def cut_changes(story: Story) -> dict[int, list[tuple[str, str]]]:
    """``{network step index: [(replica, words), ...]}`` for every step that cut or healed links.

    Replicas in story order, each with the words of :func:`_words` (module docs); a step
    that changed nobody's reach (a heal and the same cut again) has no entry.

        >>> from replicalab import scenarios
        >>> from replicalab.viz.story import build
        >>> story = build(scenarios.run("partition", seed=0))
        >>> for index, marks in sorted(cut_changes(story).items()):
        ...     print(story.step(index).time, marks[1])
        200 ('eu-west-1', 'cut off from ap-southeast-2, us-east-1')
        3000 ('eu-west-1', 'reaches ap-southeast-2, us-east-1 again')
    """
    out: dict[int, list[tuple[str, str]]] = {}
    links: set[Link] = set()
    for step in story.steps:
        if step.replica is not None or not any(e.kind in ("Partitioned", "Healed") for e in step.events):
            continue
        after = _cut(links, step.events)
        marks = [(r, w) for r in story.replicas if (w := _words(r, links, after)) is not None]
        if marks:
            out[step.index] = marks
        links = after
    return out


def drop_why(message: Message) -> str:
    """Why the network lost a message: its destination was down, a partition, link loss."""
    if message.reason == "crashed":
        return f"{message.dst} is down"
    return "a partition cut it off" if message.reason == "partition" else "dropped by the network"


def drop_text(message: Message) -> str:
    """A message lost on arrival, in words (module docs)."""
    return (f"{message.label} to {message.dst} (sent t={message.sent_time}) lost on arrival: "
            f"{drop_why(message)}")


def lost_on_arrival(message: Message) -> bool:
    """True for a copy the network lost where it arrived (its destination down, or cut off
    then): a ``Dropped`` event at a later step than its send (module docs)."""
    return message.dropped and message.lost_step is not None and message.lost_step != message.sent_step


def lost_on_the_way(message: Message) -> bool:
    """True for a copy the network lost as it was sent (link loss, or a trace that does not
    say where): it never was in flight."""
    return message.dropped and not lost_on_arrival(message)


def in_flight_until(message: Message) -> int | None:
    """The step at which a copy stops being in flight: the one that delivered it, or the one
    that lost it on arrival; its send step for a copy lost on the way (never in flight); None
    for one still in flight when the run ended. It is in flight at step ``k`` exactly when
    ``sent_step <= k < in_flight_until`` (None: no upper bound).

        >>> import attrs
        >>> m = Message(0, "a", "b", "w1", {}, sent_step=2, sent_time=5, due=9, dropped=True, lost_step=4)
        >>> in_flight_until(m), in_flight_until(attrs.evolve(m, lost_step=2))
        (4, 2)
    """
    if message.delivered_step is not None:
        return message.delivered_step
    if message.dropped:
        return message.lost_step if lost_on_arrival(message) else message.sent_step
    return None


def arrival_drops(story: Story) -> dict[int, list[Message]]:
    """``{step index: messages it lost on arrival}``: copies sent at an earlier step that this
    step's ``Dropped`` events lost (computed once per story: exports look it up per step)."""
    out: dict[int, list[Message]] = {}
    for m in story.messages:
        if lost_on_arrival(m):
            assert m.lost_step is not None  # lost_on_arrival says so
            out.setdefault(m.lost_step, []).append(m)
    return out


def quiet(step: Step) -> bool:
    """True for a step that only recorded drops on arrival: the exports say those at the
    message, and the step itself did nothing."""
    return bool(step.events) and all(e.kind == "Dropped" for e in step.events)


def step_note(story: Story, step: Step, cuts: dict[int, list[tuple[str, str]]] | None = None,
              drops: dict[int, list[Message]] | None = None) -> str:
    """``step.note``, with a fault worded as the module docs say: the outage or restart, the
    cuts and heals (``cuts`` from :func:`cut_changes`), the drops on arrival of a step that
    did nothing else (``drops`` from :func:`arrival_drops`); either is computed if not given."""
    word = outage(step)
    if word is not None:
        return f"{step.replica}: {word}"
    changes = (cut_changes(story) if cuts is None else cuts).get(step.index)
    if changes:
        return "network: " + "; ".join(f"{r} {w}" for r, w in changes)
    if quiet(step):
        lost = (arrival_drops(story) if drops is None else drops).get(step.index)
        if lost:
            return f"{step.replica}: " + "; ".join(drop_text(m) for m in lost)
    return step.note
