"""Oracle ``hlc-run``: a random run of ticks and receives on one ``HybridLogicalClock``.

Replica ``a``'s physical clock stalls, creeps, jumps ahead and steps back (an
NTP correction); messages arrive stamped behind it, level with its HLC, level
with its wall clock, or far ahead of it (the sender's clock is fast, or ours
is slow). Both clocks replay the same calls; the answer is ``(wall, logical)``
after each one.

The generator steers with replicalab's own clock so that the rarer branches of
the receive rule — all three wall values equal, the remote's counter above
ours — come up often, and it favours short runs so a failing case is short.
A failure shows the run one call a line, each with replicalab's stamp after it.
"""

from __future__ import annotations

import random
from typing import Any

from replicalab.clocks import HybridLogicalClock
from replicalab.exercises.oracles import Oracle

#: ("tick", pt) or ("receive", pt, sender, remote wall, remote logical); pt is the local wall time.
Event = tuple[Any, ...]
MAX_EVENTS = 10


def _physical_step(rng: random.Random, pt: int) -> int:
    roll = rng.random()
    if roll < 0.3:
        return pt  # the clock stalls (coarse resolution, or a busy replica)
    if roll < 0.6:
        return pt + rng.randrange(1, 4)
    if roll < 0.8:
        return pt + rng.randrange(10, 60)  # a jump ahead
    return max(0, pt - rng.randrange(1, 20))  # stepped back by a correction


def _remote(rng: random.Random, clock: HybridLogicalClock, pt: int) -> tuple[int, int]:
    roll = rng.random()
    if roll < 0.3:
        wall = clock.wall  # level with our HLC: the counters decide
    elif roll < 0.45:
        wall = pt  # level with our wall clock
    elif roll < 0.75:
        wall = max(clock.wall, pt) + rng.randrange(1, 50)  # the sender is ahead
    else:
        wall = max(0, min(clock.wall, pt) - rng.randrange(1, 30))  # an old message
    logical = rng.choice([0, 0, 1, 2, 3, clock.logical, clock.logical + 1, clock.logical + 4])
    return wall, logical


def _generate(rng: random.Random) -> list[Event]:
    clock = HybridLogicalClock("a")
    pt = rng.choice([0, 5, 100])
    events: list[Event] = []
    while not events or (len(events) < MAX_EVENTS and rng.random() < 0.6):
        pt = _physical_step(rng, pt)
        if rng.random() < 0.45:
            events.append(("tick", pt))
            clock = clock.tick(wall=pt)
        else:
            sender = rng.choice("bc")
            wall, logical = _remote(rng, clock, pt)
            events.append(("receive", pt, sender, wall, logical))
            clock = clock.receive(HybridLogicalClock(sender, wall, logical), wall=pt)
    return events


def _run(cls: Any, events: list[Event]) -> list[tuple[int, int]]:
    clock = cls("a")
    stamps = []
    for event in events:
        if event[0] == "tick":
            clock = clock.tick(wall=event[1])
        else:
            _, pt, sender, wall, logical = event
            clock = clock.receive(cls(sender, wall, logical), wall=pt)
        stamps.append((clock.wall, clock.logical))
    return stamps


def _call(name: str, event: Event) -> str:
    if event[0] == "tick":
        return f"c = c.tick(wall={event[1]})"
    _, pt, sender, wall, logical = event
    return f"c = c.receive({name}({sender!r}, {wall}, {logical}), wall={pt})"


def _code(name: str, events: list[Event]) -> str:
    # One call a line, each with replicalab's (wall, logical) after it. The oracle kind
    # indents the first line; the others carry the same four spaces.
    calls = [_call(name, e) for e in events]
    width = max(len(line) for line in calls)
    stamps = _run(HybridLogicalClock, events)
    lines = [f"c = {name}('a')"] + [f"{line:<{width}}  # replicalab: ({w}, {n})"
                                    for line, (w, n) in zip(calls, stamps, strict=True)]
    return "\n    ".join(lines)


ORACLE = Oracle(
    generate=_generate,
    expected=lambda events: _run(HybridLogicalClock, events),
    actual=_run,
    code=_code,
    describe="(wall, logical) after each call",
    streams=True,
)
