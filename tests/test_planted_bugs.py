"""Planted bugs: deliberately broken CRDTs, each of which the law checker must catch.

A law checker that never fails proves nothing. Every entry below is a classic
replication mistake; ``check_crdt`` must reject each one with a
:class:`LawViolation` whose counterexample is runnable Python that, pasted
and run, fails the same way.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from replicalab.clocks import Causality, VectorClock
from replicalab.crdts import (
    GCounter,
    GSet,
    LWWMap,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    TwoPhaseSet,
)
from replicalab.testing import Call, LawViolation, check_crdt
from replicalab.testing import strategies as rs

# Enough examples to find every bug on every seed; CI runs more.
EXAMPLES = 300 if os.environ.get("CI") else 200


# -- the broken variants ------------------------------------------------------------------

class TieByArgumentOrderLWW(LWWRegister):
    """LWW whose timestamp tie goes to the argument (``other``), not to the greater replica id."""

    def merge(self, other: LWWRegister) -> LWWRegister:
        if other.timestamp is None:
            return self
        if self.timestamp is None or other.timestamp >= self.timestamp:
            return other
        return self


class SumGCounter(GCounter):
    """G-Counter whose merge adds the slots instead of taking their maximum."""

    def merge(self, other: GCounter) -> GCounter:
        total = dict(self.counts)
        for replica, count in other.counts.items():
            total[replica] = total.get(replica, 0) + count
        return SumGCounter(total)


@attrs.frozen
class OneSlotPNCounter:
    """A PN-counter as one slot per replica moved by signed deltas (decrement = negative increment)."""

    slots: tuple[tuple[str, int], ...] = ()

    @property
    def value(self) -> int:
        return sum(n for _, n in self.slots)

    def _with(self, replica: str, delta: int) -> OneSlotPNCounter:
        slots = dict(self.slots)
        slots[replica] = slots.get(replica, 0) + delta
        return OneSlotPNCounter(tuple(sorted(slots.items())))

    def increment(self, replica: str, n: int = 1) -> OneSlotPNCounter:
        return self._with(replica, n)

    def decrement(self, replica: str, n: int = 1) -> OneSlotPNCounter:
        return self._with(replica, -n)

    def merge(self, other: OneSlotPNCounter) -> OneSlotPNCounter:
        slots = dict(self.slots)
        for replica, n in other.slots:
            slots[replica] = max(slots.get(replica, n), n)
        return OneSlotPNCounter(tuple(sorted(slots.items())))


@attrs.frozen
class NoContextORSet:
    """An OR-Set of unique tags with no causal context: remove just forgets the element's tags."""

    tags: frozenset[tuple[str, str, int]] = frozenset()

    @property
    def value(self) -> frozenset[str]:
        return frozenset(element for element, _, _ in self.tags)

    def add(self, element: str, *, replica: str) -> NoContextORSet:
        counter = 1 + max((c for _, r, c in self.tags if r == replica), default=0)
        return NoContextORSet(self.tags | {(element, replica, counter)})

    def remove(self, element: str) -> NoContextORSet:
        return NoContextORSet(frozenset(t for t in self.tags if t[0] != element))

    def merge(self, other: NoContextORSet) -> NoContextORSet:
        return NoContextORSet(self.tags | other.tags)


class DropsConcurrentAddORSet(ORSet):
    """OR-Set whose merge keeps only elements this side already had: the other side's adds vanish."""

    def merge(self, other: ORSet) -> ORSet:
        full = ORSet.merge(self, other)
        kept = {element: full.dots(element) for element in full.value if element in self}
        return DropsConcurrentAddORSet(kept, full.context)


class StrictDescendsClock(VectorClock):
    """A vector clock whose ``<=`` ("descends") answers "strictly descends"."""

    def tick(self, replica: str, by: int = 1) -> StrictDescendsClock:
        return StrictDescendsClock(VectorClock.tick(self, replica, by).to_dict())

    def merge(self, other: VectorClock) -> StrictDescendsClock:
        return StrictDescendsClock(VectorClock.merge(self, other).to_dict())

    def __le__(self, other: VectorClock) -> bool:
        return self.compare(other) is Causality.BEFORE


class OneSideMVRegister(MVRegister):
    """MV register whose merge keeps the side with the larger context instead of both siblings."""

    def merge(self, other: MVRegister) -> MVRegister:
        if other.context.dominates(self.context):
            return OneSideMVRegister(other.entries, other.context)
        return OneSideMVRegister(self.entries, self.context)


class NoTombstoneLWWMap(LWWMap):
    """LWW map whose delete simply drops the key, so a stale copy brings it back."""

    def delete(self, key: Any, *, timestamp: int, replica: str) -> LWWMap:
        values = {k: (v, *self.marker(k)) for k, v in self.value.items() if k != key}
        return NoTombstoneLWWMap(values)


class ReAddableTwoPhaseSet(TwoPhaseSet):
    """2P-set whose add clears the element's tombstone (so 'removed forever' is not forever)."""

    def add(self, element: Any) -> TwoPhaseSet:
        return ReAddableTwoPhaseSet(self.added | {element}, self.removed - {element})

    def remove(self, element: Any) -> TwoPhaseSet:
        return ReAddableTwoPhaseSet(self.added, self.removed | {element})

    def merge(self, other: TwoPhaseSet) -> TwoPhaseSet:
        return ReAddableTwoPhaseSet(self.added | other.added, self.removed | other.removed)


class IntersectionGSet(GSet):
    """G-Set whose merge intersects: it keeps only what both sides have."""

    def merge(self, other: GSet) -> GSet:
        return IntersectionGSet(self.value & other.value)


class ForgetfulRemoveORMap(ORMap):
    """ORMap whose remove keeps only the dots still in use: the removed updates are forgotten."""

    def remove(self, key: Any) -> ORMap:
        return ForgetfulRemoveORMap(self.kind, {k: self.dots(k) for k in self.keys() if k != key})

    def update(self, key: Any, op: Any) -> ORMap:
        updated = ORMap.update(self, key, op)
        return ForgetfulRemoveORMap(updated.kind, {k: updated.dots(k) for k in updated.keys()},
                                    updated.context)


# -- op strategies for the variants ---------------------------------------------------------

replicas = rs.replica_ids()
elements = st.sampled_from(["x", "y"])
orset_calls = st.one_of(
    st.builds(lambda e, r: Call("add", e, replica=r), elements, replicas),
    st.builds(lambda e: Call("remove", e), elements),
)
pn_calls = st.one_of(
    st.builds(lambda r, n: Call("increment", r, n, at=r), replicas, st.integers(1, 2)),
    st.builds(lambda r, n: Call("decrement", r, n, at=r), replicas, st.integers(1, 2)),
)
lww_map_calls = st.builds(
    lambda k, t, r: (Call("set", k, f"{k}{r}{t}", timestamp=t, replica=r) if t % 2 == 0
                     else Call("delete", k, timestamp=t, replica=r)),
    st.sampled_from(["k"]), st.integers(0, 3), replicas,
)
twop_calls = st.one_of(st.builds(lambda e: Call("add", e), elements),
                       st.builds(lambda e: Call("remove", e), elements))
ormap_calls = st.one_of(
    st.builds(lambda r, v: Call("update", "k", MVRegister.Assign(v, replica=r), at=r), replicas,
              st.sampled_from(["red", "blue"])),
    st.just(Call("remove", "k")),
)

#: name -> (the broken type or factory, op strategy, the lesson)
PLANTED: dict[str, tuple[Any, Any, str]] = {
    "lww-tie-broken-by-argument-order": (
        TieByArgumentOrderLWW, rs.crdt_ops(LWWRegister),
        "equal timestamps must be ordered by something both sides agree on (the replica id)"),
    "g-counter-merge-is-sum": (
        SumGCounter, rs.crdt_ops(GCounter),
        "merging the same state twice must not count it twice: merge is max, not +"),
    "pn-counter-as-one-slot-with-negative-deltas": (
        OneSlotPNCounter, pn_calls,
        "a decrement that lowers a slot is undone by max with a stale copy: keep P and N apart"),
    "or-set-remove-without-causal-context": (
        NoContextORSet, orset_calls,
        "a remove must be remembered (in the context), or the next merge resurrects the element"),
    "or-set-merge-drops-a-concurrent-add": (
        DropsConcurrentAddORSet, rs.crdt_ops(ORSet),
        "a dot the other side holds and we never saw is a concurrent add: keep it"),
    "vector-clock-descends-means-strictly-descends": (
        StrictDescendsClock, rs.crdt_ops(VectorClock),
        "descends is <=: a clock descends from itself; using < breaks every 'have I seen this?' test"),
    "mv-register-merge-keeps-one-side": (
        OneSideMVRegister, rs.crdt_ops(MVRegister),
        "concurrent assignments are siblings: neither context dominates, so keep both"),
    "lww-map-delete-without-tombstone": (
        NoTombstoneLWWMap, lww_map_calls,
        "a delete is a write: without a tombstone an older set comes back on the next merge"),
    "2p-set-add-clears-tombstone": (
        ReAddableTwoPhaseSet, twop_calls,
        "an update must only add information; clearing a tombstone is not an inflation"),
    "g-set-merge-is-intersection": (
        IntersectionGSet, rs.crdt_ops(GSet),
        "merge must contain both sides (an upper bound), not only what they share"),
    "or-map-remove-forgets-its-context": (
        ForgetfulRemoveORMap, ormap_calls,
        "a reset-remove must keep the removed dots in the context, or the removed value returns"),
}


def counterexample(message: str) -> str:
    """The runnable program printed in a LawViolation message."""
    marker = "Runnable counterexample (shrunk):\n"
    assert marker in message, message
    return textwrap.dedent(message.split(marker, 1)[1])


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_the_law_checker_catches_the_planted_bug(name):
    crdt, ops, lesson = PLANTED[name]
    with pytest.raises(LawViolation) as caught:
        check_crdt(crdt, ops=ops, max_examples=EXAMPLES, settings=settings(derandomize=True, database=None))
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert lesson  # every planted bug documents the mistake it plants
    program = counterexample(message)
    with pytest.raises(Exception):  # noqa: B017 - any failure of the printed assert or merge
        exec(compile(program, f"<counterexample {name}>", "exec"), {})  # noqa: S102


def test_the_correct_types_pass_the_same_checks():
    """The control group: the real types, with the same op strategies, satisfy every law."""
    check_crdt(LWWRegister, ops=rs.crdt_ops(LWWRegister), max_examples=50)
    check_crdt(GCounter, ops=rs.crdt_ops(GCounter), max_examples=50)
    check_crdt(ORSet, ops=orset_calls, max_examples=50)
    check_crdt(TwoPhaseSet, ops=twop_calls, max_examples=50)
    check_crdt(LWWMap, ops=lww_map_calls, max_examples=50)
    check_crdt(ORMap, ops=ormap_calls, max_examples=50)


@pytest.mark.parametrize(("name", "law"), [
    ("g-counter-merge-is-sum", "idempotent|inflationary"),
    ("lww-tie-broken-by-argument-order", "commutative"),
    ("pn-counter-as-one-slot-with-negative-deltas", "not an inflation"),
    ("or-set-remove-without-causal-context", "not an inflation"),
    ("vector-clock-descends-means-strictly-descends", "<="),
])
def test_the_violation_names_the_broken_law(name, law):
    crdt, ops, _ = PLANTED[name]
    with pytest.raises(LawViolation, match=law):
        check_crdt(crdt, ops=ops, max_examples=EXAMPLES, settings=settings(derandomize=True, database=None))
