"""Oracle ``lamport-run``: a random run of ticks and receives on one ``LamportClock``."""

from __future__ import annotations

import random
from typing import Any

from replicalab.clocks import LamportClock
from replicalab.exercises.oracles import Oracle

Event = tuple[str, int]


def _generate(rng: random.Random) -> list[Event]:
    events: list[Event] = []
    for _ in range(rng.randrange(1, 9)):
        if rng.random() < 0.5:
            events.append(("tick", 0))
        else:  # messages from far behind, level, and far ahead
            events.append(("receive", rng.choice([0, 1, 2, 3, 5, 8, 13, 40])))
    return events


def _times(clock: Any, events: list[Event]) -> list[int]:
    times = []
    for verb, remote in events:
        clock = clock.tick() if verb == "tick" else clock.receive(remote)
        times.append(clock.time)
    return times


def _code(name: str, events: list[Event]) -> str:
    calls = "".join(".tick()" if verb == "tick" else f".receive({remote})" for verb, remote in events)
    return f"# .time after each call of  {name}('a'){calls}"


ORACLE = Oracle(
    generate=_generate,
    expected=lambda events: _times(LamportClock("a"), events),
    actual=lambda cls, events: _times(cls("a"), events),
    code=_code,
    describe="the clock's time after each call",
    streams=True,
)
