"""Counters that merge themselves: the G-Counter and the PN-Counter.

A replicated counter cannot be one integer: two replicas that each add 1 to
"5" both send "6", and any merge of 6 and 6 reads 6 — an increment is lost.
The textbook fix (Shapiro et al. 2011) gives each replica its own slot:

* :class:`GCounter` — one non-negative count per replica; the value is the
  sum, merge takes the per-replica maximum. Grow-only.
* :class:`PNCounter` — two G-Counters, one for increments (P) and one for
  decrements (N); the value is ``sum(P) - sum(N)``.

Both are frozen values: every verb returns a new counter, so rebind the
result (``counter = counter.increment("a")``).

Each update also exists as an *op* value (``GCounter.Increment("a", 3)``)
and as a *delta* (``counter.increment_delta("a", 3)``, the smallest state
whose merge has the same effect). The three ways to replicate differ in what
the network must promise: a full state or a delta can be delivered late,
twice, or in any order; an op carries "+3" and must be delivered exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from replicalab import _validate, serialization
from replicalab.clocks import join_counts
from replicalab.crdts import _common
from replicalab.crdts.causal import Key
from replicalab.dots import CausalContext, DotT
from replicalab.errors import ConfigError, ReplicaIdError

__all__ = ["GCounter", "PNCounter"]


def _amount(_instance: Any, _attribute: Any, value: Any) -> None:
    _common.amount(value)


def _gcounts(entries: Any) -> dict[str, int]:
    return _common.counts(entries, "GCounter counts")


def _sorted_counts(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items()))



# ---------------------------------------------------------------------------
# G-Counter


@attrs.frozen(eq=False, repr=False, init=False)
class GCounter:
    """A grow-only counter: one count per replica, value = their sum.

    Contract: ``increment(replica, n)`` adds ``n >= 0`` to *that replica's own*
    slot; ``merge`` takes the entry-wise maximum, a join (commutative,
    associative, idempotent), so states can be exchanged late, twice, or in
    any order. Nothing is lost: concurrent +1 and +1 read 2. The price is one
    entry per replica that ever incremented, and no decrement at all. A
    replica must only increment its own slot; increments made "on behalf of"
    another replica race with that replica's own and are lost to the max.
    A negative increment raises :class:`~replicalab.errors.MergeValidationError`.

    The algorithm::

        increment(r, n):  P[r] += n
        value:            sum(P.values())
        merge(A, B):      {r: max(A[r], B[r]) for r in A | B}

        >>> a = GCounter().increment("a")
        >>> b = GCounter().increment("b")
        >>> a.merge(b).value          # concurrent +1 and +1
        2
        >>> a.merge(b) == b.merge(a) == a.merge(b).merge(a)
        True
    """

    _counts: dict[str, int]

    @attrs.frozen(repr=False)
    class Increment(_common.Op):
        """Op: add ``n`` to ``replica``'s slot. Apply exactly once (it is not idempotent)."""

        replica: str = attrs.field(validator=_common.replica_field)
        n: int = attrs.field(default=1, validator=_amount)

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self.__attrs_init__(_gcounts(counts))

    @classmethod
    def _trusted(cls, counts: dict[str, int]) -> GCounter:
        # States computed from valid states skip re-validation: attrs' own initializer, no
        # converters. Going through the validating constructor instead measured 4-15x slower
        # merges on benchmarks B3/B4 (2026-12-05: GCounter 5x, PNCounter 4x, GSet 8x,
        # LWWMap 14x, ORSet 15x, ORMap 11x).
        counter = cls.__new__(cls)
        counter.__attrs_init__(counts)
        return counter

    # -- reading ------------------------------------------------------------
    @property
    def value(self) -> int:
        """The sum of every replica's count."""
        return sum(self._counts.values())

    @property
    def counts(self) -> dict[str, int]:
        """Non-zero per-replica counts, sorted by replica id (a copy)."""
        return _sorted_counts(self._counts)

    def get(self, replica: str) -> int:
        """``replica``'s own count (0 if it never incremented)."""
        try:
            return self._counts.get(replica, 0)
        except TypeError:
            raise _validate.unhashable(replica, "replica id", ReplicaIdError) from None

    # -- verbs ----------------------------------------------------------------
    def increment(self, replica: str, n: int = 1) -> GCounter:
        """Return the counter after ``replica`` adds ``n`` (an int >= 0) to its own slot."""
        return self.apply_all((GCounter.Increment(replica, n),))

    def increment_op(self, replica: str, n: int = 1) -> GCounter.Increment:
        """The op value for ``increment(replica, n)``."""
        return GCounter.Increment(replica, n)

    def increment_delta(self, replica: str, n: int = 1) -> GCounter:
        """The smallest counter whose merge into this one equals ``increment(replica, n)``."""
        op = GCounter.Increment(replica, n)
        return type(self)._trusted({replica: self._counts.get(replica, 0) + op.n} if op.n else {})

    def apply(self, op: Any) -> GCounter:
        """Return the state after the one op ``op`` (``apply_all((op,))``); ``self`` is unchanged."""
        return self.apply_all((op,))

    def apply_all(self, ops: Iterable[GCounter.Increment]) -> GCounter:
        """Return the counter after every op in order (one copy, however many ops)."""
        counts = dict(self._counts)
        for op in _common.ops_of(ops, "GCounter"):
            _common.check_op(op, (GCounter.Increment,), "GCounter")
            if op.n:
                counts[op.replica] = counts.get(op.replica, 0) + op.n
        return type(self)._trusted(counts)

    def merge(self, other: GCounter) -> GCounter:
        """Return the entry-wise maximum of the two counters (their join)."""
        if not isinstance(other, GCounter):
            raise ConfigError(f"GCounter.merge takes a GCounter, got {type(other).__name__}")
        counts = join_counts(self._counts, other._counts)
        return self if counts is self._counts else type(self)._trusted(counts)

    # -- values -------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GCounter):
            return NotImplemented
        return self._counts == other._counts

    def __hash__(self) -> int:
        return hash(frozenset(self._counts.items()))

    def __repr__(self) -> str:
        if not self._counts:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}({_sorted_counts(self._counts)!r})"

    # -- serialization --------------------------------------------------------
    def to_json(self) -> str:
        """Canonical JSON: ``{"counts": {replica: count}, "format": "replicalab/g-counter", ...}``."""
        return serialization.document("g-counter", counts=serialization.write_counts(self._counts))

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> GCounter:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "g-counter", ["counts"], max_bytes=max_bytes)
        counts = serialization.read_counts(doc["counts"], "counts")
        with serialization.decoding("g-counter"):
            return cls(counts)


# ---------------------------------------------------------------------------
# PN-Counter


def _pcounts(entries: Any) -> dict[str, int]:
    return _common.counts(entries, "PNCounter increments")


def _ncounts(entries: Any) -> dict[str, int]:
    return _common.counts(entries, "PNCounter decrements")


@attrs.frozen(eq=False, repr=False, init=False)
class PNCounter:
    """A counter that goes up and down: two G-Counters, value = sum(P) - sum(N).

    Contract: ``increment(r, n)`` grows ``P[r]``, ``decrement(r, n)`` grows
    ``N[r]`` (both with ``n >= 0``); merge is the entry-wise maximum of each
    half, a join. Every increment and decrement is kept: three replicas that
    each decrement a quota of 10 by 1 concurrently read 7. Why not one slot
    per replica with negative steps? Because the max of a slot that went
    5 -> 4 and a stale copy that still says 5 is 5: the decrement is undone
    (``tests/test_planted_bugs.py`` keeps that broken counter to prove it).
    A PN-counter does not enforce bounds: concurrent decrements can take the
    value below any limit each replica checked locally.

    The algorithm::

        increment(r, n):  P[r] += n         decrement(r, n):  N[r] += n
        value:            sum(P) - sum(N)
        merge(A, B):      (max of P entry-wise, max of N entry-wise)

        >>> c = PNCounter().increment("a", 5).decrement("b", 2)
        >>> c.value
        3
        >>> c
        PNCounter({'a': 5}, {'b': 2})
    """

    _increments: dict[str, int]
    _decrements: dict[str, int]

    @attrs.frozen(repr=False)
    class Increment(_common.Op):
        """Op: add ``n`` to ``replica``'s P slot. Apply exactly once."""

        replica: str = attrs.field(validator=_common.replica_field)
        n: int = attrs.field(default=1, validator=_amount)

    @attrs.frozen(repr=False)
    class Decrement(_common.Op):
        """Op: add ``n`` to ``replica``'s N slot. Apply exactly once."""

        replica: str = attrs.field(validator=_common.replica_field)
        n: int = attrs.field(default=1, validator=_amount)

    # -- as a nested value: the causal-CRDT interface (crdts/causal.py) ---------------------
    # Under dots, a counter keeps each replica's running totals (replica, P, N); an update
    # supersedes its own replica's dots only, so other replicas' totals are untouched.
    _dot_kind: ClassVar[str] = "pn-counter"
    _dot_ops: ClassVar[tuple[type, ...]] = (Increment, Decrement)

    @classmethod
    def _of_store(cls, store: Mapping[DotT, Any], context: CausalContext | None = None) -> PNCounter:
        p: dict[str, int] = {}
        n: dict[str, int] = {}
        for replica, up, down in store.values():
            p[replica] = p.get(replica, 0) + up
            n[replica] = n.get(replica, 0) + down
        return cls(p, n)

    @classmethod
    def _plan(cls, store: Mapping[Key, Any], op: Any) -> tuple[bool, Any, list[Key]]:
        observed = [d for d, payload in store.items() if payload[0] == op.replica]
        p = sum(store[d][1] for d in observed)
        n = sum(store[d][2] for d in observed)
        if type(op) is PNCounter.Increment:
            return True, (op.replica, p + op.n, n), observed
        return True, (op.replica, p, n + op.n), observed

    @classmethod
    def _read(cls, payloads: Iterable[Any]) -> int:
        return sum(p[1] - p[2] for p in payloads)

    @classmethod
    def _check_payload(cls, payload: Any) -> None:
        if not (isinstance(payload, tuple) and len(payload) == 3):
            raise ConfigError(f"a PNCounter payload is (replica, increments, decrements), got {_validate.shown(payload)}")
        _validate.replica_id(payload[0])
        _common.amount(payload[1], "PNCounter increments")
        _common.amount(payload[2], "PNCounter decrements")

    @classmethod
    def _payload_owner(cls, payload: Any) -> str | None:
        return payload[0]

    @classmethod
    def _made_by(cls, op: Any, payload: Any, observed: bool) -> bool:
        # The new totals are the replaced totals plus the op's amount; replacing nothing, exactly it.
        replica, p, n = payload
        grew, other = (p, n) if type(op) is PNCounter.Increment else (n, p)
        if replica != op.replica:
            return False
        return bool(grew >= op.n if observed else (grew == op.n and other == 0))

    @classmethod
    def _write_payload(cls, payload: Any) -> Any:
        return list(payload)

    @classmethod
    def _parse_payload(cls, raw: Any) -> Any:
        replica, p, n = serialization.read_list(raw, "PNCounter payload", 3)
        return (serialization.read_str(replica, "PNCounter replica"),
                serialization.read_int(p, "PNCounter increments"),
                serialization.read_int(n, "PNCounter decrements"))

    def __init__(self, increments: Mapping[str, int] | None = None,
                 decrements: Mapping[str, int] | None = None) -> None:
        self.__attrs_init__(_pcounts(increments), _ncounts(decrements))

    @classmethod
    def _trusted(cls, increments: dict[str, int], decrements: dict[str, int]) -> PNCounter:
        # States computed from valid states skip re-validation: attrs' own initializer, no
        # converters. Going through the validating constructor instead measured 4-15x slower
        # merges on benchmarks B3/B4 (2026-12-05: GCounter 5x, PNCounter 4x, GSet 8x,
        # LWWMap 14x, ORSet 15x, ORMap 11x).
        counter = cls.__new__(cls)
        counter.__attrs_init__(increments, decrements)
        return counter

    # -- reading ------------------------------------------------------------
    @property
    def value(self) -> int:
        """Total increments minus total decrements."""
        return sum(self._increments.values()) - sum(self._decrements.values())

    @property
    def increments(self) -> dict[str, int]:
        """The P half: per-replica increment totals, sorted (a copy)."""
        return _sorted_counts(self._increments)

    @property
    def decrements(self) -> dict[str, int]:
        """The N half: per-replica decrement totals, sorted (a copy)."""
        return _sorted_counts(self._decrements)

    # -- verbs ----------------------------------------------------------------
    def increment(self, replica: str, n: int = 1) -> PNCounter:
        """Return the counter after ``replica`` adds ``n`` (an int >= 0)."""
        return self.apply_all((PNCounter.Increment(replica, n),))

    def decrement(self, replica: str, n: int = 1) -> PNCounter:
        """Return the counter after ``replica`` subtracts ``n`` (an int >= 0)."""
        return self.apply_all((PNCounter.Decrement(replica, n),))

    def increment_op(self, replica: str, n: int = 1) -> PNCounter.Increment:
        """The op value for ``increment(replica, n)``."""
        return PNCounter.Increment(replica, n)

    def decrement_op(self, replica: str, n: int = 1) -> PNCounter.Decrement:
        """The op value for ``decrement(replica, n)``."""
        return PNCounter.Decrement(replica, n)

    def increment_delta(self, replica: str, n: int = 1) -> PNCounter:
        """The smallest counter whose merge equals ``increment(replica, n)``: one P entry."""
        op = PNCounter.Increment(replica, n)
        p = {replica: self._increments.get(replica, 0) + op.n} if op.n else {}
        return type(self)._trusted(p, {})

    def decrement_delta(self, replica: str, n: int = 1) -> PNCounter:
        """The smallest counter whose merge equals ``decrement(replica, n)``: one N entry."""
        op = PNCounter.Decrement(replica, n)
        d = {replica: self._decrements.get(replica, 0) + op.n} if op.n else {}
        return type(self)._trusted({}, d)

    def apply(self, op: Any) -> PNCounter:
        """Return the state after the one op ``op`` (``apply_all((op,))``); ``self`` is unchanged."""
        return self.apply_all((op,))

    def apply_all(self, ops: Iterable[PNCounter.Increment | PNCounter.Decrement]) -> PNCounter:
        """Return the counter after every op in order (one copy, however many ops)."""
        p = dict(self._increments)
        d = dict(self._decrements)
        for op in _common.ops_of(ops, "PNCounter"):
            _common.check_op(op, (PNCounter.Increment, PNCounter.Decrement), "PNCounter")
            if op.n:
                side = p if type(op) is PNCounter.Increment else d
                side[op.replica] = side.get(op.replica, 0) + op.n
        return type(self)._trusted(p, d)

    def merge(self, other: PNCounter) -> PNCounter:
        """Return the entry-wise maximum of both halves (the join)."""
        if not isinstance(other, PNCounter):
            raise ConfigError(f"PNCounter.merge takes a PNCounter, got {type(other).__name__}")
        p = join_counts(self._increments, other._increments)
        d = join_counts(self._decrements, other._decrements)
        if p is self._increments and d is self._decrements:
            return self
        return type(self)._trusted(p, d)

    # -- values -------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PNCounter):
            return NotImplemented
        return self._increments == other._increments and self._decrements == other._decrements

    def __hash__(self) -> int:
        return hash((frozenset(self._increments.items()), frozenset(self._decrements.items())))

    def __repr__(self) -> str:
        name = type(self).__name__
        if not self._decrements:
            return f"{name}({_sorted_counts(self._increments)!r})" if self._increments else f"{name}()"
        return f"{name}({_sorted_counts(self._increments)!r}, {_sorted_counts(self._decrements)!r})"

    # -- serialization --------------------------------------------------------
    def to_json(self) -> str:
        """Canonical JSON with ``increments`` and ``decrements`` objects."""
        return serialization.document(
            "pn-counter",
            increments=serialization.write_counts(self._increments),
            decrements=serialization.write_counts(self._decrements),
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> PNCounter:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "pn-counter", ["increments", "decrements"], max_bytes=max_bytes)
        p = serialization.read_counts(doc["increments"], "increments")
        d = serialization.read_counts(doc["decrements"], "decrements")
        with serialization.decoding("pn-counter"):
            return cls(p, d)


serialization.register(GCounter, PNCounter)
