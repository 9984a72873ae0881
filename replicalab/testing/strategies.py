"""Hypothesis strategies for clocks, dots, CRDT ops and reachable states — over tiny domains.

Small domains (three replicas, three elements, two keys, timestamps 0..3)
are deliberate: collisions, ties and concurrent edits of one key then
happen in almost every example, which is where replication bugs live.

    >>> from replicalab.crdts import GCounter
    >>> from replicalab.testing import check_crdt, strategies
    >>> check_crdt(GCounter, ops=strategies.crdt_ops(GCounter), max_examples=10)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from replicalab import _validate
from replicalab.clocks import HybridLogicalClock, LamportClock, VectorClock
from replicalab.crdts import (
    GCounter,
    GSet,
    LWWMap,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    TwoPhaseSet,
)
from replicalab.dots import CausalContext, Dot
from replicalab.testing.schedules import Call, run, schedules

__all__ = [
    "ELEMENTS",
    "KEYS",
    "REPLICAS",
    "causal_contexts",
    "crdt_ops",
    "crdt_states",
    "dots",
    "hybrid_logical_clocks",
    "lamport_clocks",
    "law_subjects",
    "replica_ids",
    "schedules",
    "vector_clocks",
]

REPLICAS: tuple[str, ...] = ("a", "b", "c")
ELEMENTS: tuple[str, ...] = ("x", "y", "z")
KEYS: tuple[str, ...] = ("k", "j")


def replica_ids(replicas: Sequence[str] = REPLICAS) -> st.SearchStrategy[str]:
    """One of a few replica ids."""
    return st.sampled_from(tuple(replicas))


def vector_clocks(replicas: Sequence[str] = REPLICAS, max_count: int = 3) -> st.SearchStrategy[VectorClock]:
    """Vector clocks with small entries (any combination is a reachable clock)."""
    return st.dictionaries(replica_ids(replicas), st.integers(0, max_count)).map(VectorClock)


def lamport_clocks(replicas: Sequence[str] = REPLICAS, max_time: int = 5) -> st.SearchStrategy[LamportClock]:
    """Lamport clocks with small times."""
    return st.builds(LamportClock, replica_ids(replicas), st.integers(0, max_time))


def hybrid_logical_clocks(replicas: Sequence[str] = REPLICAS,
                          max_wall: int = 5) -> st.SearchStrategy[HybridLogicalClock]:
    """Hybrid logical clocks with small wall and logical parts."""
    return st.builds(HybridLogicalClock, replica_ids(replicas), st.integers(0, max_wall),
                     st.integers(0, 3))


def dots(replicas: Sequence[str] = REPLICAS, max_counter: int = 4) -> st.SearchStrategy[Dot]:
    """Dots ``Dot(replica, 1..max_counter)``."""
    return st.builds(Dot, replica_ids(replicas), st.integers(1, max_counter))


def causal_contexts(replicas: Sequence[str] = REPLICAS, max_counter: int = 4) -> st.SearchStrategy[CausalContext]:
    """Causal contexts: any set of dots (out-of-order ones land in the cloud)."""
    return st.frozensets(dots(replicas, max_counter), max_size=6).map(
        lambda ds: CausalContext(VectorClock(), ds))


TIMESTAMPS: tuple[int, ...] = (0, 1, 2, 3)


def _lww_assigns(replicas: Sequence[str]) -> list[LWWRegister.Assign]:
    # One (timestamp, replica) marker names one write: the value is derived from the marker.
    return [LWWRegister.Assign(f"{r}{t}", timestamp=t, replica=r) for t in TIMESTAMPS for r in replicas]


def _nested_ops(kind: type, replicas: Sequence[str], elements: Sequence[Any]) -> list[Any]:
    if kind is MVRegister:
        return [MVRegister.Assign(v, replica=r) for v in ("red", "blue") for r in replicas]
    if kind is LWWRegister:
        return _lww_assigns(replicas)
    if kind is ORSet:
        return ([ORSet.Add(e, replica=r) for e in elements for r in replicas]
                + [ORSet.Remove(e) for e in elements])
    if kind is PNCounter:
        return ([PNCounter.Increment(r, n) for n in (1, 2, 0) for r in replicas]
                + [PNCounter.Decrement(r, n) for n in (1, 2, 0) for r in replicas])
    raise TypeError(f"no nested op strategy for {_validate.shown(kind)}")


def _enumerate_ops(kind: Any, replicas: Sequence[str], elements: Sequence[Any],
                   keys: Sequence[Any]) -> list[Any]:
    if isinstance(kind, ORMap):
        nested = _nested_ops(kind.kind, replicas, elements)
        return [ORMap.Update(k, op) for op in nested for k in keys] + [ORMap.Remove(k) for k in keys]
    if not isinstance(kind, type):
        kind = type(kind)
    if kind is GCounter:
        return [GCounter.Increment(r, n) for n in (1, 2, 3, 0) for r in replicas]
    if kind in (PNCounter, ORSet, MVRegister, LWWRegister):
        return _nested_ops(kind, replicas, elements)
    if kind is GSet:
        return [GSet.Add(e) for e in elements]
    if kind is TwoPhaseSet:
        return [TwoPhaseSet.Add(e) for e in elements] + [TwoPhaseSet.Remove(e) for e in elements]
    if kind is LWWMap:
        # Even timestamps write, odd ones delete, so one marker names one write per key.
        return [LWWMap.Set(k, f"{k}{r}{t}", timestamp=t, replica=r) if t % 2 == 0
                else LWWMap.Delete(k, timestamp=t, replica=r)
                for t in TIMESTAMPS for r in replicas for k in keys]
    if kind is ORMap:
        return _enumerate_ops(ORMap(), replicas, elements, keys)
    if kind is VectorClock:
        return [Call("tick", r, at=r) for r in replicas]
    if kind is CausalContext:
        return [Call("add", Dot(r, c)) for c in (1, 2, 3, 4) for r in replicas]
    raise TypeError(f"crdt_ops has no strategy for {_validate.shown(kind)}; build your own op strategy")


def crdt_ops(
    kind: Any,
    *,
    replicas: Sequence[str] = REPLICAS,
    elements: Sequence[Any] = ELEMENTS,
    keys: Sequence[Any] = KEYS,
) -> st.SearchStrategy[Any]:
    """Ops for a replicalab type (a class, or an initial state such as ``ORMap(PNCounter)``).

    Every op of the tiny domain is enumerated and sampled (one choice per op
    keeps generation and shrinking fast). Every list of them is a possible
    history: LWW values are derived from their markers, and ops that mint
    dots or count name the replica they run on.
    """
    return st.sampled_from(_enumerate_ops(kind, tuple(replicas), tuple(elements), tuple(keys)))


def law_subjects() -> list[tuple[str, Any, st.SearchStrategy[Any]]]:
    """``(name, type or factory, ops)`` for every merge-able type in replicalab.

    Every CRDT (each ORMap value type separately) plus the two clocks that
    have a join, VectorClock and CausalContext.
    """
    subjects: list[tuple[str, Any, st.SearchStrategy[Any]]] = [
        (cls.__name__, cls, crdt_ops(cls))
        for cls in (GCounter, PNCounter, GSet, TwoPhaseSet, ORSet, LWWRegister, MVRegister, LWWMap)
    ]
    for nested in (MVRegister, LWWRegister, ORSet, PNCounter):
        subjects.append((f"ORMap({nested.__name__})", _ormap_factory(nested), crdt_ops(ORMap(nested))))
    subjects.append(("VectorClock", VectorClock, crdt_ops(VectorClock)))
    subjects.append(("CausalContext", CausalContext, crdt_ops(CausalContext)))
    return subjects


def _ormap_factory(nested: type) -> Any:
    def factory() -> ORMap:
        return ORMap(nested)

    factory.__name__ = f"ORMap({nested.__name__})"
    return factory


@st.composite
def crdt_states(draw: Any, kind: Any, *, max_ops: int = 6) -> Any:
    """States reachable by ops: a schedule over 2..3 replicas is run and one of its states drawn.

    ``kind`` is a replicalab type or an initial state (``ORMap(PNCounter)``).
    """
    ops = crdt_ops(kind)
    initial = kind if not isinstance(kind, type) else kind()
    schedule = draw(schedules(ops, max_replicas=3, max_ops=max_ops, max_deliveries=1))
    ex = run(schedule, lambda: initial, repr(initial), heal=draw(st.booleans()))
    return ex.states[draw(st.integers(0, len(ex.states) - 1))]
