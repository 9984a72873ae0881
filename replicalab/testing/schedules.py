"""Replica schedules: split a list of ops over replicas and deliver states late, twice, out of order.

A :class:`Schedule` is plain data — how many replicas, which op runs where,
which state snapshots are delivered to whom and how stale they are — so
Hypothesis can generate and shrink it. :func:`run` carries it out on real
values and records an :class:`Execution`: every state that existed, how it
was made, and the Python that remakes it. That is how a failing law prints
a runnable counterexample.

Routing: an op that names a replica (``op.replica``, e.g. ``GCounter.Increment("a", 1)``
or ``ORSet.Add("x", replica="a")``) always runs on the one simulated replica
that owns that id, because a replica id is a causal identity — two replicas
minting dots or counting increments under one id is not a reachable
execution. Ops without a replica (``GSet.Add("x")``) may run anywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import attrs
from hypothesis import strategies as st

from replicalab import _validate

__all__ = ["Apply", "Call", "Deliver", "Execution", "Schedule", "default_replica_of", "run", "schedules"]


# ---------------------------------------------------------------------------
# A generic op for learners: call a method by name


@attrs.frozen(init=False, repr=False)
class Call:
    """An op that calls a method of the state: ``Call("increment", "a", 2, at="a")``.

    ``apply(state)`` returns ``state.increment("a", 2)``. ``at`` names the
    replica the call must run on (default: the ``replica=`` keyword argument,
    if any), so a learner's class needs no op classes to be law-checked.

        >>> from replicalab.crdts import GCounter
        >>> Call("increment", "a", 2, at="a").apply(GCounter())
        GCounter({'a': 2})
        >>> Call("add", "x", replica="b").replica
        'b'
    """

    method: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    at: str | None

    def __init__(self, method: str, *args: Any, at: str | None = None, **kwargs: Any) -> None:
        if not isinstance(method, str) or not method.isidentifier():
            raise ValueError(f"Call needs a method name, got {_validate.shown(method)}")
        self.__attrs_init__(method, tuple(args), tuple(sorted(kwargs.items())), at)

    @property
    def replica(self) -> str | None:
        """The replica this call must run on: ``at``, else the ``replica=`` argument, else None."""
        if self.at is not None:
            return self.at
        return dict(self.kwargs).get("replica")

    def apply(self, state: Any) -> Any:
        """Return ``getattr(state, method)(*args, **kwargs)``."""
        return getattr(state, self.method)(*self.args, **dict(self.kwargs))

    def arguments(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return ", ".join(parts)

    def code(self, var: str) -> str:
        """The Python expression applying this call to the state named ``var``."""
        return f"{var}.{self.method}({self.arguments()})"

    def __repr__(self) -> str:
        parts = [repr(self.method)] + ([self.arguments()] if self.args or self.kwargs else [])
        if self.at is not None:
            parts.append(f"at={self.at!r}")
        return f"Call({', '.join(parts)})"


def default_replica_of(op: Any) -> Hashable | None:
    """The replica an op must run on: its ``replica`` attribute (any id but None), else None."""
    replica = getattr(op, "replica", None)
    if replica is None or callable(replica):
        return None
    return replica


def op_code(op: Any, var: str) -> str:
    """A Python expression applying ``op`` to the state named ``var``."""
    if isinstance(op, Call):
        return op.code(var)
    if hasattr(op, "apply"):
        return f"{op!r}.apply({var})"
    return f"({op!r})({var})"


def apply_op(op: Any, state: Any) -> Any:
    if hasattr(op, "apply"):
        return op.apply(state)
    return op(state)


# ---------------------------------------------------------------------------
# Schedules (data) and their strategy


@attrs.frozen
class Apply:
    """Run ``op`` on replica number ``replica``."""

    replica: int
    op: Any


@attrs.frozen
class Deliver:
    """Merge into replica ``dst`` the state replica ``src`` had ``age`` of its steps ago (0 = now)."""

    src: int
    dst: int
    age: int = 0


@attrs.frozen
class Schedule:
    """Replicas, the steps they take, and the stale deliveries during the final heal."""

    replicas: int
    steps: tuple[Apply | Deliver, ...]
    heal: tuple[Deliver, ...] = ()


@functools.cache
def _index(replicas: int) -> st.SearchStrategy[int]:
    return st.integers(0, replicas - 1)


@functools.cache
def _counts(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


@functools.cache
def _deliveries(replicas: int, positions: int, max_size: int) -> st.SearchStrategy[list[tuple[int, Deliver]]]:
    # One choice per delivery (position, source, destination, staleness), and strategies built
    # once per shape: per-example strategy construction and long choice sequences dominate run time.
    options = [(pos, Deliver(src, dst, age)) for pos in range(positions) for age in range(4)
               for src in range(replicas) for dst in range(replicas)]
    return st.lists(st.sampled_from(options), max_size=max_size)


@functools.lru_cache(maxsize=64)
def _op_lists(ops: st.SearchStrategy[Any], max_ops: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(ops, max_size=max_ops)


@st.composite
def schedules(
    draw: Any,
    ops: st.SearchStrategy[Any],
    *,
    min_replicas: int = 2,
    max_replicas: int = 5,
    max_ops: int = 8,
    max_deliveries: int = 2,
    replica_of: Callable[[Any], Hashable | None] = default_replica_of,
) -> Schedule:
    """Schedules that split a list of ops over ``min_replicas..max_replicas`` replicas.

    Every replica id named by an op lives on one replica (drawn); ops without
    a replica go anywhere. Up to ``max_deliveries`` snapshot deliveries per op
    are interleaved with the ops (any source, any destination, possibly
    stale, possibly repeated); the heal adds a few more before the final
    exchange.
    """
    replicas = draw(_counts(min_replicas, max_replicas))
    op_list = draw(_op_lists(ops, max_ops))
    ids = sorted({rid for rid in map(replica_of, op_list) if rid is not None}, key=str)
    index = _index(replicas)
    home = {rid: draw(index) for rid in ids}
    places = []
    for op in op_list:
        rid = replica_of(op)
        places.append(home[rid] if rid is not None else draw(index))
    n = len(op_list)
    deliveries = draw(_deliveries(replicas, n + 1, max(2, max_deliveries * n)))
    before: dict[int, list[Deliver]] = {}
    for pos, delivery in deliveries:
        before.setdefault(pos, []).append(delivery)
    steps: list[Apply | Deliver] = []
    for i, op in enumerate(op_list):
        steps.extend(before.get(i, ()))
        steps.append(Apply(places[i], op))
    steps.extend(before.get(n, ()))
    heal = [d for _, d in draw(_deliveries(replicas, 1, 3))]
    return Schedule(replicas, tuple(steps), tuple(heal))


# ---------------------------------------------------------------------------
# Executions (what happened) and the code that remakes them


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Shown:
    """A state whose repr becomes a line's comment only if the line is printed (repr can be costly)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Execution:
    """Every state of one run of a schedule, each with the line of Python that made it.

    ``states[i]`` is the value of variable ``s{i}``; ``replica_vars[r]`` the
    variables replica ``r`` held in turn (its history, newest last).
    """

    def __init__(self, initial_code: str) -> None:
        self.initial_code = initial_code
        self.states: list[Any] = []
        self._lines: list[tuple[str, Any]] = []  # (expression, comment or the value to show)
        self.deps: list[tuple[int, ...]] = []
        self.replica_vars: list[list[int]] = []
        self.op_steps: list[tuple[int, int, Any]] = []  # (before var, after var, op)
        self.merge_steps: list[tuple[int, int, int]] = []  # (dst var, src var, result var)

    def new(self, value: Any, expression: str, deps: Iterable[int], comment: Any = "") -> int:
        """Record state ``value``; ``comment`` is a note, or a value shown (by repr) only when printed."""
        index = len(self.states)
        self.states.append(value)
        self._lines.append((f"s{index} = {expression}", comment))
        self.deps.append(tuple(deps))
        return index

    def line(self, index: int) -> str:
        """The line of Python that made ``s{index}``, with its comment."""
        expression, comment = self._lines[index]
        note = comment if isinstance(comment, str) else _short(comment.value)
        return f"{expression}  # {note}" if note else expression

    def current(self, replica: int) -> int:
        return self.replica_vars[replica][-1]

    def finals(self) -> list[int]:
        return [history[-1] for history in self.replica_vars]

    def code(self, targets: Iterable[int]) -> list[str]:
        """The lines needed to rebuild the variables in ``targets``, in order."""
        needed: set[int] = set()
        stack = list(targets)
        while stack:
            var = stack.pop()
            if var not in needed:
                needed.add(var)
                stack.extend(self.deps[var])
        return [self.line(i) for i in sorted(needed)]


def run(
    schedule: Schedule,
    factory: Callable[[], Any],
    initial_code: str,
    *,
    on_op: Callable[[Execution, int, int, Any], None] | None = None,
    on_merge: Callable[[Execution, int, int, int], None] | None = None,
    heal: bool = True,
) -> Execution:
    """Carry out ``schedule`` on fresh states from ``factory``; return the :class:`Execution`.

    ``on_op(ex, before, after, op)`` and ``on_merge(ex, dst, src, result)`` are
    called after every step (law checks hook in here). An exception raised by
    an op or a merge propagates with the execution attached as ``exc.execution``
    and the failing step as ``exc.step``.
    """
    ex = Execution(initial_code)
    for r in range(schedule.replicas):
        ex.replica_vars.append([ex.new(factory(), initial_code, (), f"replica {r}")])

    def deliver(step: Deliver) -> None:
        history = ex.replica_vars[step.src]
        src = history[max(0, len(history) - 1 - step.age)]
        dst = ex.current(step.dst)
        expression = f"s{dst}.merge(s{src})"
        try:
            merged = ex.states[dst].merge(ex.states[src])
        except Exception as exc:
            exc.execution = ex  # type: ignore[attr-defined]
            exc.step = ("merge", dst, src, expression)  # type: ignore[attr-defined]
            raise
        result = ex.new(merged, expression, (dst, src), _Shown(merged))
        ex.replica_vars[step.dst].append(result)
        ex.merge_steps.append((dst, src, result))
        if on_merge is not None:
            on_merge(ex, dst, src, result)

    for step in schedule.steps:
        if isinstance(step, Deliver):
            deliver(step)
            continue
        before = ex.current(step.replica)
        expression = op_code(step.op, f"s{before}")
        try:
            after_state = apply_op(step.op, ex.states[before])
        except Exception as exc:
            exc.execution = ex  # type: ignore[attr-defined]
            exc.step = ("op", before, step.op, expression)  # type: ignore[attr-defined]
            raise
        after = ex.new(after_state, expression, (before,), _Shown(after_state))
        ex.replica_vars[step.replica].append(after)
        ex.op_steps.append((before, after, step.op))
        if on_op is not None:
            on_op(ex, before, after, step.op)
    if heal:
        for step in schedule.heal:
            deliver(step)
        count = schedule.replicas
        for _ in range(2):  # a ring twice: with a join, everyone then has everything
            for r in range(count):
                deliver(Deliver(r, (r + 1) % count))
    return ex

