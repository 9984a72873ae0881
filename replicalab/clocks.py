"""Logical clocks: Lamport, vector and hybrid logical clocks.

All three are immutable values: every verb returns a *new* clock and leaves the
old one alone, so always rebind the result::

    >>> clock = LamportClock("a")
    >>> clock = clock.tick()          # not just clock.tick()
    >>> clock.time
    1

What each clock can and cannot tell you:

* :class:`LamportClock` — a *total* order consistent with causality: if ``e``
  happened before ``f`` then ``L(e) < L(f)``. The converse does not hold, so a
  Lamport clock cannot tell concurrent events from ordered ones.
* :class:`VectorClock` — the *partial* order of causality exactly:
  ``compare`` answers BEFORE, AFTER, EQUAL or CONCURRENT. Never sort vector
  clocks; concurrent clocks have no order.
* :class:`HybridLogicalClock` — Kulkarni et al. 2014: a Lamport clock whose
  counter stays close to physical (simulated wall) time, so stamps read like
  wall timestamps yet still respect causality when wall clocks are skewed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from replicalab import _validate, serialization
from replicalab.errors import ClockError, ReplicaIdError

__all__ = ["Causality", "HybridLogicalClock", "LamportClock", "VectorClock"]


class Causality(enum.Enum):
    """How one event relates to another: the answer of :meth:`VectorClock.compare`.

    ``a.compare(b)`` says where *a* stands relative to *b*: ``BEFORE`` means a
    happened before b (b saw a); ``AFTER`` means b happened before a;
    ``CONCURRENT`` means neither saw the other.
    """

    BEFORE = "before"
    AFTER = "after"
    EQUAL = "equal"
    CONCURRENT = "concurrent"

    def inverse(self) -> Causality:
        """The relation seen from the other side: BEFORE <-> AFTER, the rest unchanged."""
        if self is Causality.BEFORE:
            return Causality.AFTER
        if self is Causality.AFTER:
            return Causality.BEFORE
        return self

    def __repr__(self) -> str:
        return f"Causality.{self.name}"


# ---------------------------------------------------------------------------
# Lamport clocks


@attrs.frozen(order=False)
class LamportClock:
    """A Lamport clock owned by one replica.

    Contract: ``tick`` (a local event or a send) returns ``time + 1``;
    ``receive(remote)`` returns ``max(time, remote) + 1``. Stamps are ordered
    by ``(time, replica)``, a total order that extends happened-before; equal
    times on different replicas are *not* evidence of concurrency, and a
    smaller stamp is not evidence that its event happened first.

        >>> a = LamportClock("a").tick()
        >>> b = LamportClock("b").receive(a)
        >>> (a.time, b.time, a < b)
        (1, 2, True)
    """

    replica: str = attrs.field(validator=lambda _i, _a, v: _validate.replica_id(v))
    time: int = attrs.field(default=0, validator=lambda _i, _a, v: _validate.counter(v, "time"))

    def tick(self) -> LamportClock:
        """Return the clock after one local event (or a send)."""
        return LamportClock(self.replica, self.time + 1)

    def receive(self, remote: int | LamportClock) -> LamportClock:
        """Return the clock after receiving a message stamped ``remote``."""
        if isinstance(remote, LamportClock):
            remote_time = remote.time
        else:
            remote_time = _validate.counter(remote, "remote Lamport time")
        top = self.time if self.time > remote_time else remote_time
        return LamportClock(self.replica, top + 1)

    @property
    def stamp(self) -> tuple[int, str]:
        """The ``(time, replica)`` pair that orders Lamport stamps totally."""
        return (self.time, self.replica)

    def _key(self, other: object) -> tuple[tuple[int, str], tuple[int, str]]:
        if not isinstance(other, LamportClock):
            raise TypeError(f"cannot order LamportClock against {type(other).__name__}")
        return self.stamp, other.stamp

    def __lt__(self, other: LamportClock) -> bool:
        a, b = self._key(other)
        return a < b

    def __le__(self, other: LamportClock) -> bool:
        a, b = self._key(other)
        return a <= b

    def __gt__(self, other: LamportClock) -> bool:
        a, b = self._key(other)
        return a > b

    def __ge__(self, other: LamportClock) -> bool:
        a, b = self._key(other)
        return a >= b

    def to_json(self) -> str:
        """Canonical JSON: ``{"format": "replicalab/lamport-clock", "replica": ..., "time": ...}``."""
        return serialization.document("lamport-clock", replica=self.replica, time=self.time)

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> LamportClock:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "lamport-clock", ["replica", "time"], max_bytes=max_bytes)
        with serialization.decoding("lamport-clock"):
            return cls(serialization.read_str(doc["replica"], "replica"),
                       serialization.read_int(doc["time"], "time"))


# ---------------------------------------------------------------------------
# Vector clocks


def _checked_counts(entries: Mapping[str, int] | None) -> dict[str, int]:
    if entries is None:
        return {}
    if not isinstance(entries, Mapping):
        raise ClockError(
            f"VectorClock takes a mapping of replica id -> count, got {type(entries).__name__}"
        )
    counts: dict[str, int] = {}
    for replica, count in entries.items():
        _validate.replica_id(replica, "vector clock entry key")
        _validate.counter(count, f"vector clock entry {replica!r}")
        if count:
            counts[replica] = count
    return counts


@attrs.frozen(eq=False, repr=False)
class VectorClock:
    """A vector clock: for each replica, how many of its events are in the causal past.

    Missing entries are 0, so ``VectorClock({"a": 1}) == VectorClock({"a": 1, "b": 0})``.
    Contract:

    * ``tick(r)`` records one more event at ``r``; ``merge`` is the entry-wise
      maximum (commutative, associative, idempotent: a join).
    * ``compare`` is the causal *partial* order: ``a <= b`` iff every entry of a
      is at most b's. Two clocks where neither is ``<=`` the other are
      CONCURRENT; ``<``/``<=`` return False both ways for them, so never sort
      vector clocks.

        >>> alice = VectorClock({"alice": 2, "bob": 1})
        >>> bob = VectorClock({"alice": 1, "bob": 2})
        >>> alice.compare(bob)
        Causality.CONCURRENT
        >>> alice.compare(alice.merge(bob).tick("bob"))
        Causality.BEFORE
    """

    _counts: dict[str, int] = attrs.field(default=None, converter=_checked_counts)

    # -- reading ------------------------------------------------------------
    def get(self, replica: str) -> int:
        """The count for ``replica`` (0 if it has no entry)."""
        try:
            return self._counts.get(replica, 0)
        except TypeError:
            raise _validate.unhashable(replica, "replica id", ReplicaIdError) from None

    def __getitem__(self, replica: str) -> int:
        return self._counts.get(replica, 0)

    def items(self) -> list[tuple[str, int]]:
        """Non-zero entries as ``(replica, count)`` pairs, sorted by replica id."""
        return sorted(self._counts.items())

    def to_dict(self) -> dict[str, int]:
        """Non-zero entries as a plain dict with sorted keys (for output)."""
        return dict(sorted(self._counts.items()))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._counts))

    def __len__(self) -> int:
        return len(self._counts)

    # -- verbs (return new clocks) -------------------------------------------
    def tick(self, replica: str, by: int = 1) -> VectorClock:
        """Return a clock with ``replica``'s entry increased by ``by`` (default 1)."""
        _validate.replica_id(replica)
        if type(by) is not int or by < 1:
            raise ClockError(f"tick amount must be an integer >= 1, got {_validate.shown(by)}")
        counts = dict(self._counts)
        counts[replica] = counts.get(replica, 0) + by
        return _trusted(counts)

    def merge(self, other: VectorClock) -> VectorClock:
        """Return the entry-wise maximum of the two clocks (their least upper bound).

        When one clock already is the maximum, that clock itself is returned: values are
        frozen, so a copy would only cost time (B2 merges at n = 3 are mostly this).
        """
        if type(other) is not VectorClock:
            other = _as_vc(other)
        # join_counts and _trusted, inlined: merge is B2's hot path, and at n = 3 the two
        # calls cost as much as the join (tests check merge against join_counts).
        a, b, result = self._counts, other._counts, self
        if len(a) < len(b):  # look up the smaller clock's entries in the larger one
            a, b, result = b, a, other
        out = None
        get = _dict_get
        for replica, count in b.items():
            if count > get(a, replica, 0):
                if out is None:
                    out = a.copy()  # the method: a little cheaper than dict(a)
                out[replica] = count
        if out is None:
            return result
        clock = _new(VectorClock)
        _set_counts(clock, out)
        return clock

    # -- causality ----------------------------------------------------------
    def compare(self, other: VectorClock) -> Causality:
        """Where this clock stands relative to ``other``: BEFORE, AFTER, EQUAL or CONCURRENT."""
        a = self._counts
        b = (other if type(other) is VectorClock else _as_vc(other))._counts
        # Equality is asked only of clocks found <=: asked first, it cost a dict comparison
        # for every ordered or concurrent pair (B2's workload is all of those).
        get = _dict_get  # dict.get itself, not a.get: see _dict_get
        for replica, count in a.items():
            if count > get(b, replica, 0):
                break
        else:  # a <= b
            return _EQUAL if len(a) == len(b) and a == b else _BEFORE
        for replica, count in b.items():
            if count > get(a, replica, 0):
                return _CONCURRENT
        return _AFTER

    def concurrent_with(self, other: VectorClock) -> bool:
        """True iff neither clock is ``<=`` the other."""
        return self.compare(other) is Causality.CONCURRENT

    def dominates(self, other: VectorClock) -> bool:
        """True iff ``other <= self`` (self has seen everything other has)."""
        return _as_vc(other) <= self

    def __le__(self, other: VectorClock) -> bool:
        b_get = _as_vc(other)._counts.get
        return all(count <= b_get(replica, 0) for replica, count in self._counts.items())

    def __lt__(self, other: VectorClock) -> bool:
        return self <= other and self._counts != other._counts

    def __ge__(self, other: VectorClock) -> bool:
        return _as_vc(other) <= self

    def __gt__(self, other: VectorClock) -> bool:
        return _as_vc(other) < self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VectorClock):
            return NotImplemented
        return self._counts == other._counts

    def __hash__(self) -> int:
        return hash(frozenset(self._counts.items()))

    def __repr__(self) -> str:
        return f"VectorClock({self.to_dict()!r})"

    def to_json(self) -> str:
        """Canonical JSON: ``{"entries": {replica: count}, "format": "replicalab/vector-clock", ...}``."""
        return serialization.document("vector-clock", entries=self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> VectorClock:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "vector-clock", ["entries"], max_bytes=max_bytes)
        with serialization.decoding("vector-clock"):
            return cls(serialization.read_counts(doc["entries"], "entries"))


# Hot paths use module-level names: CPython 3.11 specializes a module global, not a class
# attribute (Causality.BEFORE, object.__new__).
#: The unbound dict.get: `get(d, key, 0)` is one specialized call of a method descriptor, where
#: `d.get` first made a bound method object (about 150 instructions per compare or merge).
_dict_get = dict.get
_BEFORE, _AFTER, _EQUAL, _CONCURRENT = (
    Causality.BEFORE, Causality.AFTER, Causality.EQUAL, Causality.CONCURRENT
)
def join_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """The entry-wise maximum of two ``replica -> count`` maps: the one version-vector join.

    :meth:`VectorClock.merge`, causal contexts and the G/PN-counters all use it. When one
    input already is the answer it is returned itself (no copy), so never mutate the result.
    """
    if a is b or a == b:
        return a
    if len(a) < len(b):
        a, b = b, a
    out = None
    get = a.get
    for replica, count in b.items():
        if count > get(replica, 0):
            if out is None:
                out = dict(a)
            out[replica] = count
    return a if out is None else out


_new = object.__new__
_set_counts = VectorClock.__dict__["_counts"].__set__  # the slot's own setter (bypasses frozen)


def _trusted(counts: dict[str, int]) -> VectorClock:
    """The clock of ``counts``, built by the verbs from already-valid clocks (no re-validation).

    The one attrs bypass in this module, kept because benchmarks/run.py b2 shows it pays:
    merge through the public constructor (which re-validates every entry) measured
    1,737 / 5,340 / 32,995 ns at n = 3 / 16 / 128 against 574 / 1,101 / 4,942 ns with
    this path (3x-7x). Only tick and merge call it, with dicts they built from valid clocks.
    """
    clock = _new(VectorClock)
    _set_counts(clock, counts)
    return clock


def _as_vc(value: Any) -> VectorClock:
    if not isinstance(value, VectorClock):
        raise ClockError(f"expected a VectorClock, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------------------
# Hybrid logical clocks


def _wall(value: Any) -> int:
    return _validate.counter(value, "wall time (integer milliseconds)")


@attrs.frozen(order=False)
class HybridLogicalClock:
    """A hybrid logical clock (Kulkarni, Demirbas et al., 2014) on simulated wall time.

    The stamp is ``(wall, logical)``: ``wall`` is the largest wall time seen so
    far (local or in a message) and ``logical`` counts events that shared that
    wall value. Contract: stamps never go backwards, ``wall`` is never below
    the local wall time passed in, a receive is after both the local and the
    remote stamp, and ``logical`` stays bounded while wall clocks advance. The
    algorithm, with ``pt`` the local wall time::

        tick:    l' = max(l, pt);       c = c + 1 if l' == l else 0
        receive: l' = max(l, m.l, pt);  c = max(c, m.c) + 1 if l' == l == m.l
                                          c + 1 if l' == l;  m.c + 1 if l' == m.l;  else 0

        >>> a = HybridLogicalClock("a").tick(wall=5)
        >>> b = HybridLogicalClock("b").receive(a, wall=3)   # b's wall clock is behind
        >>> (b.wall, b.logical, a < b)
        (5, 1, True)
    """

    replica: str = attrs.field(validator=lambda _i, _a, v: _validate.replica_id(v))
    wall: int = attrs.field(default=0, validator=lambda _i, _a, v: _wall(v))
    logical: int = attrs.field(
        default=0, validator=lambda _i, _a, v: _validate.counter(v, "logical counter")
    )

    def tick(self, wall: int) -> HybridLogicalClock:
        """Return the clock after a local event (or a send) at local wall time ``wall``."""
        _wall(wall)
        if wall > self.wall:
            return HybridLogicalClock(self.replica, wall, 0)
        return HybridLogicalClock(self.replica, self.wall, self.logical + 1)

    def receive(self, remote: HybridLogicalClock, wall: int) -> HybridLogicalClock:
        """Return the clock after receiving a message stamped ``remote`` at local wall time ``wall``."""
        if not isinstance(remote, HybridLogicalClock):
            raise ClockError(f"receive expects a HybridLogicalClock, got {type(remote).__name__}")
        _wall(wall)
        top = max(self.wall, remote.wall, wall)
        if top == self.wall and top == remote.wall:
            logical = max(self.logical, remote.logical) + 1
        elif top == self.wall:
            logical = self.logical + 1
        elif top == remote.wall:
            logical = remote.logical + 1
        else:
            logical = 0
        return HybridLogicalClock(self.replica, top, logical)

    @property
    def stamp(self) -> tuple[int, int, str]:
        """``(wall, logical, replica)``: the total order of HLC stamps."""
        return (self.wall, self.logical, self.replica)

    def _key(self, other: object) -> tuple[tuple[int, int, str], tuple[int, int, str]]:
        if not isinstance(other, HybridLogicalClock):
            raise TypeError(f"cannot order HybridLogicalClock against {type(other).__name__}")
        return self.stamp, other.stamp

    def __lt__(self, other: HybridLogicalClock) -> bool:
        a, b = self._key(other)
        return a < b

    def __le__(self, other: HybridLogicalClock) -> bool:
        a, b = self._key(other)
        return a <= b

    def __gt__(self, other: HybridLogicalClock) -> bool:
        a, b = self._key(other)
        return a > b

    def __ge__(self, other: HybridLogicalClock) -> bool:
        a, b = self._key(other)
        return a >= b

    def to_json(self) -> str:
        """Canonical JSON with ``replica``, ``wall`` and ``logical``."""
        return serialization.document(
            "hybrid-logical-clock", replica=self.replica, wall=self.wall, logical=self.logical
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> HybridLogicalClock:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "hybrid-logical-clock", ["replica", "wall", "logical"],
                                 max_bytes=max_bytes)
        with serialization.decoding("hybrid-logical-clock"):
            return cls(serialization.read_str(doc["replica"], "replica"),
                       serialization.read_int(doc["wall"], "wall"),
                       serialization.read_int(doc["logical"], "logical"))


serialization.register(LamportClock, VectorClock, HybridLogicalClock)
