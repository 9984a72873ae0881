"""The law checker: is your ``merge`` a join, on states your ops can actually reach?

:func:`check_crdt` generates executions — a list of ops split over 2..5
replicas, with states delivered late, twice and out of order, then a heal in
which everyone exchanges state — and checks on every one of them:

* **commutative** ``a.merge(b) == b.merge(a)``
* **associative** ``a.merge(b).merge(c) == a.merge(b.merge(c))``
* **idempotent** ``a.merge(a) == a``
* **inflationary** ``a <= a.merge(b)`` and ``b <= a.merge(b)``, at every
  merge of the run, and ``s <= op(s)`` for every op: an update never loses
  information a merge would need
* **convergent**: after the heal every replica holds an equal state (and an
  equal ``.value``)

where ``a``, ``b``, ``c`` are states of one run (so they are jointly
reachable: no two replicas minted the same dot for different things).

**Order.** If your class defines ``<=``, it is used and checked against
merge (``a <= b`` must hold exactly when ``a.merge(b) == b``). Otherwise the
order is the one merge defines: ``a <= b`` means ``a.merge(b) == b`` ("b
already contains everything a knows"). Pass ``order=`` to use another.

On failure an :class:`AssertionError` (a :class:`LawViolation`) is raised
whose message names the law and holds a shrunk counterexample as Python you
can paste and run.

    >>> import attrs
    >>> from replicalab.testing import check_crdt, Call
    >>> from hypothesis import strategies as st
    >>> @attrs.frozen
    ... class MaxRegister:               # a learner's own CRDT
    ...     value: int = 0
    ...     def put(self, v): return MaxRegister(max(self.value, v))
    ...     def merge(self, other): return MaxRegister(max(self.value, other.value))
    >>> check_crdt(MaxRegister, ops=st.integers(0, 3).map(lambda v: Call("put", v)), max_examples=20)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from replicalab.testing.schedules import (
    Execution,
    Schedule,
    default_replica_of,
    op_code,
    run,
    schedules,
)

__all__ = ["LawViolation", "check_crdt"]

_KNOWN_NAMES = {
    "GCounter": "replicalab.crdts", "PNCounter": "replicalab.crdts", "GSet": "replicalab.crdts",
    "TwoPhaseSet": "replicalab.crdts", "ORSet": "replicalab.crdts", "LWWRegister": "replicalab.crdts",
    "MVRegister": "replicalab.crdts", "LWWMap": "replicalab.crdts", "ORMap": "replicalab.crdts",
    "VectorClock": "replicalab.clocks", "LamportClock": "replicalab.clocks",
    "HybridLogicalClock": "replicalab.clocks", "Dot": "replicalab.dots",
    "CausalContext": "replicalab.dots", "Call": "replicalab.testing",
}


class LawViolation(AssertionError):
    """A CRDT law failed on reachable states; the message holds a runnable counterexample."""


def _import_lines(code: str, types: list[type]) -> list[str]:
    imports: dict[str, set[str]] = {}
    notes = []
    yours = set()  # names the counterexample must take from the user's code, not from replicalab
    for cls in types:
        top = cls.__qualname__.split(".")[0]
        module = cls.__module__
        if top in _KNOWN_NAMES and module.startswith("replicalab"):
            continue
        yours.add(top)
        if module in ("__main__", "builtins") or "<locals>" in cls.__qualname__:
            notes.append(f"# {top}: define it as in your code (it is not importable from {module})")
        else:
            imports.setdefault(module, set()).add(top)
    for name, module in _KNOWN_NAMES.items():
        if name in yours:  # your own GCounter, say: importing replicalab's would shadow it
            continue
        if f"{name}(" in code or f"{name}." in code or f"{name})" in code or f"{name}," in code:
            imports.setdefault(module, set()).add(name)
    lines = [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(imports.items())]
    return lines + notes


class _Checker:
    """Runs one schedule and checks every law; raises LawViolation with runnable code."""

    def __init__(self, name: str, factory: Callable[[], Any], initial_code: str,
                 order: Callable[[Any, Any], bool] | None, custom_order: bool) -> None:
        self.name = name
        self.factory = factory
        self.initial_code = initial_code
        self.order = order
        self.custom_order = custom_order

    # -- reporting -------------------------------------------------------------
    def fail(self, ex: Execution, law: str, names: dict[str, int], check: list[str],
             facts: list[tuple[str, Any]], cause: BaseException | None = None) -> LawViolation:
        body = ex.code(names.values())
        body += [f"{name} = s{var}" for name, var in names.items()]
        body += check
        types = [type(ex.states[0])]
        for _, _, op in ex.op_steps:
            types.append(type(op))
        code = "\n".join(body)
        program = _import_lines(code, types) + [""] + body
        shown = "\n".join(f"    {label} = {value!r}" for label, value in facts)
        message = (
            f"{self.name}: {law}\n{shown}\n\nRunnable counterexample (shrunk):\n\n"
            + "\n".join(f"    {line}" if line else "" for line in program)
        )
        error = LawViolation(message)
        if cause is not None:
            error.__cause__ = cause
        return error

    def merge(self, ex: Execution, x: Any, y: Any, names: dict[str, int], expression: str) -> Any:
        try:
            return x.merge(y)
        except Exception as exc:
            raise self.fail(ex, f"merge raised {type(exc).__name__}: {exc} — on states reachable "
                            "by ops (an unreachable-state error here means the merge or an op is wrong)",
                            names, [expression], [], exc) from exc

    def leq(self, x: Any, y: Any) -> bool:
        if self.order is not None:
            return bool(self.order(x, y))
        return bool(x.merge(y) == y)

    # -- inflation along the run ---------------------------------------------------
    def check_steps(self, ex: Execution) -> None:
        for before, after, _op in ex.op_steps:
            if not self.leq(ex.states[before], ex.states[after]):
                raise self.fail(
                    ex, "an update is not an inflation: the state after the op is not >= the "
                    "state before it, so a merge with an older copy can undo the op",
                    {"before": before, "after": after},
                    ["assert " + self.leq_code("before", "after")],
                    [("before", ex.states[before]), ("after", ex.states[after]),
                     ("before.merge(after)", ex.states[before].merge(ex.states[after]))],
                )
        for dst, src, result in ex.merge_steps:
            merged = ex.states[result]
            names = {"a": dst, "b": src}
            other_way = self.merge(ex, ex.states[src], ex.states[dst], names, "b.merge(a)")
            if not other_way == merged:
                raise self.fail(ex, "merge is not commutative", names,
                                ["assert a.merge(b) == b.merge(a)"],
                                [("a", ex.states[dst]), ("b", ex.states[src]), ("a.merge(b)", merged),
                                 ("b.merge(a)", other_way)])
            twice = self.merge(ex, merged, merged, {"a": result}, "a.merge(a)")
            if not twice == merged:
                raise self.fail(ex, "merge is not idempotent", {"a": result}, ["assert a.merge(a) == a"],
                                [("a", merged), ("a.merge(a)", twice)])
            for label, var in (("a", dst), ("b", src)):
                if not self.leq(ex.states[var], merged):
                    raise self.fail(
                        ex, f"merge is not inflationary: {label} <= a.merge(b) does not hold",
                        {"a": dst, "b": src},
                        ["m = a.merge(b)", "assert " + self.leq_code(label, "m")],
                        [("a", ex.states[dst]), ("b", ex.states[src]), ("a.merge(b)", merged)],
                    )

    def leq_code(self, x: str, y: str) -> str:
        if self.order is None:
            return f"{x}.merge({y}) == {y}"
        if self.custom_order:
            return f"{x} <= {y}"
        return f"order({x}, {y})  # the order= you passed"

    # -- one example -------------------------------------------------------------
    def check(self, schedule: Schedule, picks: tuple[int, int, int]) -> None:
        ex: Execution | None
        try:
            ex = run(schedule, self.factory, self.initial_code)
        except Exception as exc:
            ex = getattr(exc, "execution", None)
            step = getattr(exc, "step", None)
            if ex is None or step is None:
                raise
            if step[0] == "op":
                _, before, op, _expression = step
                raise self.fail(ex, f"an op raised {type(exc).__name__}: {exc}", {"s": before},
                                [f"s = {op_code(op, 's')}"], [], exc) from exc
            _, dst, src, expression = step
            raise self.fail(ex, f"merge raised {type(exc).__name__}: {exc} — on states reachable by ops",
                            {"a": dst, "b": src}, ["a.merge(b)"], [], exc) from exc
        states = ex.states
        ia, ib, ic = (p % len(states) for p in picks)
        a, b, c = states[ia], states[ib], states[ic]
        ab_names = {"a": ia, "b": ib}

        ab = self.merge(ex, a, b, ab_names, "a.merge(b)")
        ba = self.merge(ex, b, a, ab_names, "b.merge(a)")
        if not ab == ba:
            raise self.fail(ex, "merge is not commutative", ab_names,
                            ["assert a.merge(b) == b.merge(a)"],
                            [("a", a), ("b", b), ("a.merge(b)", ab), ("b.merge(a)", ba)])
        aa = self.merge(ex, a, a, {"a": ia}, "a.merge(a)")
        if not aa == a:
            raise self.fail(ex, "merge is not idempotent", {"a": ia}, ["assert a.merge(a) == a"],
                            [("a", a), ("a.merge(a)", aa)])
        abc_names = {"a": ia, "b": ib, "c": ic}
        left = self.merge(ex, ab, c, abc_names, "a.merge(b).merge(c)")
        bc = self.merge(ex, b, c, abc_names, "b.merge(c)")
        right = self.merge(ex, a, bc, abc_names, "a.merge(b.merge(c))")
        if not left == right:
            raise self.fail(ex, "merge is not associative", abc_names,
                            ["assert a.merge(b).merge(c) == a.merge(b.merge(c))"],
                            [("a", a), ("b", b), ("c", c), ("a.merge(b).merge(c)", left),
                             ("a.merge(b.merge(c))", right)])
        self.check_steps(ex)
        for label, x in (("a", a), ("b", b)):
            if not self.leq(x, ab):
                raise self.fail(ex, f"merge is not inflationary: {label} <= a.merge(b) does not hold",
                                ab_names, ["m = a.merge(b)", "assert " + self.leq_code(label, "m")],
                                [("a", a), ("b", b), ("a.merge(b)", ab)])
        if self.custom_order:
            for (lx, x), (ly, y) in ((("a", a), ("b", b)), (("b", b), ("a", a)), (("a", a), ("a", a))):
                joined = x.merge(y) == y
                if bool(self.order(x, y)) != joined:  # type: ignore[misc]
                    raise self.fail(
                        ex, f"the type's <= disagrees with merge: ({lx} <= {ly}) is "
                        f"{not joined}, but {lx}.merge({ly}) == {ly} is {joined}",
                        {lx: ia if lx == "a" else ib, ly: ia if ly == "a" else ib},
                        [f"assert ({lx} <= {ly}) == ({lx}.merge({ly}) == {ly})"],
                        [(lx, x), (ly, y), (f"{lx}.merge({ly})", x.merge(y))],
                    )
        finals = ex.finals()
        first = states[finals[0]]
        for var in finals[1:]:
            if not states[var] == first:
                names = {f"r{i}": v for i, v in enumerate(finals)}
                raise self.fail(
                    ex, "replicas did not converge: after every replica exchanged state, "
                    "their states differ",
                    names, ["assert " + " == ".join(names)],
                    [(name, states[v]) for name, v in names.items()],
                )
            if hasattr(first, "value") and not states[var].value == first.value:
                names = {"r0": finals[0], "r": var}
                raise self.fail(ex, "equal states read different values", names,
                                ["assert r0 == r and r0.value == r.value"],
                                [("r0.value", first.value), ("r.value", states[var].value)])


def check_crdt(
    crdt: type | Callable[[], Any],
    ops: st.SearchStrategy[Any],
    *,
    max_examples: int = 100,
    max_ops: int = 8,
    min_replicas: int = 2,
    max_replicas: int = 5,
    order: Callable[[Any, Any], bool] | None = None,
    replica_of: Callable[[Any], Hashable | None] = default_replica_of,
    settings: Settings | None = None,
    seed: int | None = None,
    around_example: Callable[[Callable[[], None]], None] | None = None,
    record: list[tuple[Schedule, tuple[int, int, int]]] | None = None,
    replay: Sequence[tuple[Schedule, tuple[int, int, int]]] | None = None,
) -> None:
    """Check that ``crdt``'s merge is a join and that replicas converge, on states reachable by ``ops``.

    ``crdt`` is a class with a no-argument constructor, or a function
    returning the initial state (``lambda: ORMap(PNCounter)``). States need
    ``merge`` and ``==`` (a frozen attrs class or a dataclass gives you
    ``==``); ``.value`` is compared too when present.

    ``ops`` is a Hypothesis strategy of ops: values with ``apply(state)``
    (like ``GCounter.Increment("a", 1)``), :class:`~replicalab.testing.Call`
    values naming a method, or plain functions of the state. An op whose
    ``replica`` attribute names a replica always runs on the replica that owns
    that id (see ``replica_of``). Ops must describe a possible history: for
    instance one LWW ``(timestamp, replica)`` marker must name one write, so
    derive the value from the marker in your strategy.

    ``max_examples`` executions are generated; every law is checked on each
    (CI uses 500 or more). ``settings`` passes any other Hypothesis settings
    (``derandomize=True``, a ``database``...). ``seed`` fixes Hypothesis's
    random choices, so the same seed tries the same executions (an autograder
    wants that). ``around_example(run)``, if given, is called for every example
    instead of ``run()`` and must call ``run`` (the exercise grader uses it to
    batch its requests to a learner's process). ``record``, a list, receives every example
    run; ``replay`` runs exactly the examples of such a list again, in order, without
    Hypothesis — so nothing is shrunk: a grader that checks many classes with one seed uses
    it for a first pass and runs the ordinary check when that fails (with a fixed seed and
    no database, Hypothesis tries the same examples on every class that passes them).
    Returns None when every law held; raises :class:`LawViolation` (an AssertionError)
    otherwise.
    """
    factory: Callable[[], Any] = crdt
    sample = factory()
    if isinstance(crdt, type):
        name = crdt.__name__
        initial_code = f"{crdt.__name__}()"
    else:
        label = getattr(crdt, "__name__", "<lambda>")
        name = label if label != "<lambda>" else repr(sample)
        initial_code = repr(sample)
    if not callable(getattr(sample, "merge", None)):
        raise TypeError(f"check_crdt needs states with a merge method; {name} has none")
    if type(sample).__eq__ is object.__eq__:
        raise TypeError(
            f"{name} compares by identity, so no law can hold; define __eq__ "
            "(a frozen attrs class or a dataclass does it for you)"
        )
    custom_order = False
    if order is None and type(sample).__le__ is not object.__le__:  # type: ignore[operator]  # typeshed gives object no __le__
        order = _native_le
        custom_order = True
    checker = _Checker(name, factory, initial_code, order, custom_order)

    def example(schedule: Schedule, picked: tuple[int, int, int]) -> None:
        if record is not None:
            record.append((schedule, picked))
        if around_example is None:
            checker.check(schedule, picked)
        else:
            around_example(lambda: checker.check(schedule, picked))

    if replay is not None:
        for schedule, picked in replay:
            example(schedule, picked)
        return
    plans = schedules(ops, min_replicas=min_replicas, max_replicas=max_replicas, max_ops=max_ops,
                      replica_of=replica_of)
    picks = st.tuples(_PICK, _PICK, _PICK)
    parent = settings if settings is not None else Settings()
    config = Settings(
        settings,
        max_examples=max_examples,
        # The "explain" phase re-runs failures under a tracer for minutes; our message says more.
        phases=tuple(phase for phase in parent.phases if phase is not Phase.explain),
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
        **({} if settings is not None else {"database": None}),  # type: ignore[arg-type]  # mypy checks dict[str, None] against every keyword
    )

    @config
    @given(plans, picks)
    def laws(schedule: Schedule, picked: tuple[int, int, int]) -> None:
        example(schedule, picked)

    if seed is not None:
        laws = hypothesis.seed(seed)(laws)
    laws()


_PICK = st.integers(0, 1 << 16)


def _native_le(x: Any, y: Any) -> bool:
    return bool(x <= y)
