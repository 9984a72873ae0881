"""The law check's second look: do the states a law calls equal also read equal values?

:func:`~replicalab.testing.check_crdt` compares states with the class's own ``==``.
For a learner's class that is the learner's code deciding the verdict: an ``__eq__``
that always says True makes every law hold whatever ``merge`` does. So once the laws
held, :func:`check_values` replays seeded histories of the check's ops on a few
replicas (each op on the replica that owns its id, merges in between, as
``check_crdt`` does) and compares, as data read on the grader's side, the ``.value``
of the two sides of each law: commutative, idempotent, associative. Two states are
equal only if ``==`` says so *and* their values are equal. (A type whose ops change
nothing passes this vacuously too: the check's ``requires`` covers that.)

Split from :mod:`replicalab.exercises.kinds.laws`, which calls it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

from replicalab.exercises.kinds.common import CheckFailed, learner_object_in, plain
from replicalab.sim.rng import RandomStreams

__all__ = ["check_values"]

#: Histories replayed, replicas per history, steps per history.
EXAMPLES = 30
REPLICAS = 3
STEPS = 8
_FIELD = re.compile(r"\{(\d+)\}")


def _pick(choice: Any, rng: random.Random) -> Any:
    return rng.choice(choice) if isinstance(choice, list) else choice


def _draw(spec: dict[str, Any], rng: random.Random) -> tuple[list[Any], dict[str, Any], Any]:
    """One call of op table ``spec``: positional and keyword arguments, and its replica (or None)."""
    args = spec.get("args", [])
    positional = [None if isinstance(a, dict) else _pick(a, rng) for a in args]
    keywords = {k: _pick(v, rng) for k, v in spec.get("kwargs", {}).items()}
    for i, arg in enumerate(args):
        if isinstance(arg, dict):
            positional[i] = _FIELD.sub(lambda m: str(positional[int(m.group(1))]), arg["format"])
    at = spec.get("at")
    replica = positional[at] if isinstance(at, int) else keywords.get(at) if at else None
    return positional, keywords, replica


def _call_code(name: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


def check_values(cls: Any, ops: list[dict[str, Any]], *, seed: int, name: str) -> None:
    """Raise :class:`CheckFailed` if two states a law calls equal read different values.

    For a learner's class every merge is pipelined and every ``.value`` read later
    (:attr:`~replicalab.exercises.remote.Session.streaming`); one request then fetches all
    the values, as plain data, and the histories are judged in order, so the first law
    that fails is the one reported, as when each value was read on its own.
    """
    from replicalab.exercises.remote import is_remote, session_of

    session = session_of(cls) if is_remote(cls) else None
    histories: list[tuple[list[str], list[tuple[str, str, Any, str, Any]]]] = []
    if session is not None:
        session.streaming = True
    try:
        for code, states in _histories(cls, ops, seed=seed, name=name):
            histories.append((code, _laws(states)))
    finally:
        if session is not None:
            session.streaming = False
    values: dict[int, Any] = {}
    if session is not None:
        reads = [v for _, laws in histories for law in laws for v in (law[2], law[4])
                 if is_remote(v)]
        values = dict(zip((id(r) for r in reads), session.plains(reads), strict=True))
    for code, laws in histories:
        _compare(code, name, [(law, left_code, values.get(id(left), left), right_code,
                               values.get(id(right), right))
                              for law, left_code, left, right_code, right in laws])


def _histories(cls: Any, ops: list[dict[str, Any]], *, seed: int, name: str
               ) -> Iterator[tuple[list[str], list[Any]]]:
    """``(code, states)`` of each seeded history: its Python, and the replicas' final states."""
    rng = RandomStreams(seed).stream("exercise:law-values")
    for _ in range(EXAMPLES):
        start = cls()
        states = [start] * REPLICAS
        code = [" = ".join(f"r{i}" for i in range(REPLICAS)) + f" = {name}()"]
        owner: dict[Any, int] = {}
        for _ in range(STEPS):
            if rng.random() < 0.3:
                i, j = rng.sample(range(REPLICAS), 2)
                states[i] = states[i].merge(states[j])
                code.append(f"r{i} = r{i}.merge(r{j})")
                continue
            spec = rng.choice(ops)
            args, kwargs, replica = _draw(spec, rng)
            if replica is None:
                i = rng.randrange(REPLICAS)
            else:
                i = owner.setdefault(replica, len(owner) % REPLICAS)
            states[i] = getattr(states[i], spec["call"])(*args, **kwargs)
            code.append(f"r{i} = r{i}.{spec['call']}({_call_code(spec['call'], args, kwargs)})")
        yield code, states


def _laws(states: list[Any]) -> list[tuple[str, str, Any, str, Any]]:
    """Each law's name and two sides (code, value read), on the states ``r0``, ``r1``, ``r2``."""
    a, b, c = states[0], states[1], states[2 % REPLICAS]
    return [
        ("commutative", "r0.merge(r1)", a.merge(b).value, "r1.merge(r0)", b.merge(a).value),
        ("idempotent", "r0.merge(r0)", a.merge(a).value, "r0", a.value),
        ("associative", "r0.merge(r1).merge(r2)", a.merge(b).merge(c).value,
         "r0.merge(r1.merge(r2))", a.merge(b.merge(c)).value),
    ]


def _compare(code: list[str], name: str, laws: list[tuple[str, str, Any, str, Any]]) -> None:
    """Raise if the two sides of a law read different values, as plain data."""
    for law, left_code, left, right_code, right in laws:
        left_value, right_value = plain(left), plain(right)
        found = learner_object_in([left_value, right_value])
        if found is not None:
            raise CheckFailed(
                f"{name}.value must be plain data (int, str, a set or dict of them...), but "
                f"it holds an object of your class {type(found).__qualname__}: "
                "the check compares values as data, never with your own ==, so return the "
                "value itself")
        if left_value != right_value:
            program = "\n".join(f"    {line}" for line in code)
            raise CheckFailed(
                f"{name}: merge is not {law} — the laws held by your __eq__, but the states "
                f"it calls equal read different values: {left_code}.value is "
                f"{left_value!r:.200}, {right_code}.value is {right_value!r:.200}. Equal states "
                "must read the same value; the check compares the values too, as data.\n\n"
                f"Replay it:\n\n{program}\n    assert {left_code}.value == {right_code}.value")
