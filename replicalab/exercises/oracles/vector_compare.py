"""Oracle ``vector-compare``: ``compare(a, b)`` of two vector clocks given as dicts."""

from __future__ import annotations

import random
from typing import Any

from replicalab.clocks import VectorClock
from replicalab.exercises.oracles import Oracle

REPLICAS = ("a", "b", "c")


def _clock(rng: random.Random) -> dict[str, int]:
    # Tiny domain, explicit zeros now and then: {"a": 0} must equal {}.
    return {r: rng.randrange(3) for r in REPLICAS if rng.random() < 0.7}


def _generate(rng: random.Random) -> tuple[dict[str, int], dict[str, int]]:
    a = _clock(rng)
    kind = rng.random()
    if kind < 0.25:  # equal, possibly spelled differently
        b = {r: n for r, n in a.items() if n or rng.random() < 0.5}
    elif kind < 0.6:  # ordered: b grows from a
        b = dict(a)
        for r in rng.sample(REPLICAS, rng.randrange(1, 3)):
            b[r] = b.get(r, 0) + rng.randrange(1, 3)
    else:
        b = _clock(rng)
    return (a, b) if rng.random() < 0.5 else (b, a)


def _expected(case: tuple[dict[str, int], dict[str, int]]) -> str:
    a, b = case
    return VectorClock(a).compare(VectorClock(b)).name.lower()


def _actual(target: Any, case: tuple[dict[str, int], dict[str, int]]) -> Any:
    a, b = case
    return target(dict(a), dict(b))


ORACLE = Oracle(
    generate=_generate,
    expected=_expected,
    actual=_actual,
    code=lambda name, case: f"{name}({case[0]!r}, {case[1]!r})",
    describe="'before', 'after', 'equal' or 'concurrent': a relative to b",
)
