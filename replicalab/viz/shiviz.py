"""A run as a ShiViz log: paste it into https://bestchai.bitbucket.io/shiviz/ (or upload the file).

ShiViz draws a space-time diagram from a log in which every event carries a
vector clock. Its rules, which this export follows:

* the file's first line is the parsing regular expression and its second line
  the multiple-executions delimiter (empty here: one execution); the log follows;
* each event is two lines, matching the regular expression
  ``(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})``: a description, then the host
  and its vector clock as JSON, e.g. ``us-east-1 {"eu-west-1":1,"us-east-1":2}``;
* a host's own entry starts at 1 and grows by exactly one per event of that
  host; every other entry names a host of the log and an event it really had;
  zero entries are left out.

One event per step (:mod:`replicalab.viz.story`): each step of a replica ticks
its own entry, and a delivery first joins the clock of the step that sent the
message. The clocks come from the trace's send/receive pairs (happens-before),
not from any merge policy, so ShiViz draws exactly the messages that crossed.
Host names are replica ids with whitespace replaced by ``_``.

Faults, in the words of :mod:`replicalab.viz.faults` (search ShiViz for ``down``,
``back``, ``cut off`` or ``lost on arrival``): a node's crash and restart are
its own events (``t=150 eu-west-1a: down (crashed, disk lost)``); a cut or a
heal is an event of every node whose reach changed, at the time of the fault
(``t=100 eu-west-1a: cut off from eu-west-1b, eu-west-1c (network)``) — ShiViz
has no event without a host, and the network is not one; a message lost on
arrival is told at the sender's step that recorded the drop. A run without
faults has exactly one event per step.

    >>> from replicalab import scenarios
    >>> log = to_shiviz(scenarios.run("london", seed=0))
    >>> print("\\n".join(log.splitlines()[2:4]))
    t=140 eu-west-1: portal writes sub_42 (w1): delivery_address="12 High Street, London" [stamp 14:07:12.140] — verdict: silently-lost
    eu-west-1 {"eu-west-1":1}
"""

from __future__ import annotations

import re
from typing import Any

from replicalab.trace import canonical_json
from replicalab.viz import faults
from replicalab.viz._svg import unique_names
from replicalab.viz.story import Message, Step, Story, build

__all__ = ["REGEX", "host_names", "shiviz_events", "to_shiviz"]

#: ShiViz's default parsing regular expression (its named groups are ShiViz syntax).
REGEX = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})"


def host_names(replicas: tuple[str, ...] | list[str]) -> dict[str, str]:
    """ShiViz host names: no whitespace, unique.

        >>> host_names(["eu west", "eu_west"])
        {'eu west': 'eu_west', 'eu_west': 'eu_west_2'}
    """
    return unique_names(replicas, lambda name: re.sub(r"\s", "_", name))


def shiviz_events(source: Any) -> list[tuple[str, str, dict[str, int]]]:
    """``(host, description, vector clock)`` for every host event, in trace order (module docs)."""
    story = source if isinstance(source, Story) else build(source)
    hosts = host_names(story.replicas)
    cuts, drops = faults.cut_changes(story), faults.arrival_drops(story)
    # Happens-before clocks as in Story.vector, but counting the fault events this log adds
    # (a cut or a heal is an event of each node whose reach changed): ShiViz wants a host's
    # own entry to grow by exactly one per event of that host.
    clocks: dict[str, dict[str, int]] = {r: {} for r in story.replicas}
    at_step: dict[int, dict[str, int]] = {}
    out = []

    def event(replica: str, text: str, joined: list[dict[str, int]]) -> None:
        clock = dict(clocks[replica])
        for other in joined:
            for who, n in other.items():
                clock[who] = max(clock.get(who, 0), n)
        clock[replica] = clock.get(replica, 0) + 1
        clocks[replica] = clock
        named = {hosts[r]: n for r, n in clock.items() if n}
        out.append((hosts[replica], " ".join(text.split()), dict(sorted(named.items()))))

    for step in story.steps:
        if step.index in cuts:
            for replica, words in cuts[step.index]:
                event(replica, f"t={step.time} {replica}: {words} (network)", [])
            continue
        if step.replica is None:
            continue
        event(step.replica, _text(story, step, drops), [at_step[story.messages[n].sent_step] for n in step.received])
        at_step[step.index] = clocks[step.replica]
    return out


def _text(story: Story, step: Step, drops: dict[int, list[Message]]) -> str:
    """One step's description: what it did, its verdict, the losses and drops it saw."""
    text = f"t={step.time} {faults.step_note(story, step, {}, drops)}"
    verdict = story.verdicts.get(step.write or "") if step.kind == "write" else None
    if verdict:
        text += f" — verdict: {verdict}"
    lost = story.lost_here(step)
    if lost:
        text += f" — {', '.join(lost)} silently lost here"
    for number in step.sent:
        m = story.messages[number]
        if faults.lost_on_the_way(m):
            text += f" — message {m.label} to {m.dst} DROPPED by the network"
    if not faults.quiet(step):  # a step that did only this says it in its note
        for m in drops.get(step.index, ()):
            text += f" — message {faults.drop_text(m)}"
    return text


def to_shiviz(source: Any) -> str:
    """The ShiViz log file of a Result (or a bare Trace): regex line, empty delimiter line, events."""
    lines = [REGEX, ""]
    for host, text, clock in shiviz_events(source):
        lines.append(text)
        lines.append(f"{host} {canonical_json(clock)}")
    return "\n".join(lines) + "\n"
