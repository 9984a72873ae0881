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
    """Raise :class:`CheckFailed` if two states a law calls equal read different values."""
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
        _compare(states, code, name)


def _compare(states: list[Any], code: list[str], name: str) -> None:
    """The values of the two sides of each law, on the replicas' states ``r0``, ``r1``, ``r2``."""
    a, b, c = states[0], states[1], states[2 % REPLICAS]
    laws = [
        ("commutative", "r0.merge(r1)", a.merge(b), "r1.merge(r0)", b.merge(a)),
        ("idempotent", "r0.merge(r0)", a.merge(a), "r0", a),
        ("associative", "r0.merge(r1).merge(r2)", a.merge(b).merge(c),
         "r0.merge(r1.merge(r2))", a.merge(b.merge(c))),
    ]
    for law, left_code, left, right_code, right in laws:
        left_value, right_value = plain(left.value), plain(right.value)
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
