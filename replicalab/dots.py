"""Dots and causal contexts: naming individual events and sets of them.

A :class:`Dot` names one event: the ``counter``-th event of ``replica``. A
:class:`CausalContext` is a set of dots stored compactly as a version vector
(every dot up to ``vv[r]`` for each replica) plus a *cloud* of dots beyond it
that arrived out of order. Contexts only grow: ``add`` and ``merge`` are
inflations, and ``merge`` is a join (commutative, associative, idempotent).

    >>> ctx = CausalContext().add(Dot("a", 1)).add(Dot("a", 3))
    >>> (Dot("a", 1) in ctx, Dot("a", 2) in ctx, Dot("a", 3) in ctx)
    (True, False, True)
    >>> ctx.next_dot("a")
    Dot('a', 4)

The dot-set algorithms (``seen``, ``compact``, ``join``, ``next_dot``,
``add_dot``) and the join of two dot stores (``join_stores``, the merge rule
of every causal CRDT) are written once, at the bottom of this module, over the compact
form a context is made of: a ``replica -> count`` dict and a set of
``(replica, counter)`` tuples. :class:`CausalContext` is that form as a
validated public value; ``ORSet`` and ``ORMap`` keep the bare form inside
their states (no Dot objects on the merge path) and call the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import TypeVar, cast

import attrs

from replicalab import _validate, serialization
from replicalab._built import slot_setter
from replicalab.clocks import VectorClock, join_counts
from replicalab.errors import ClockError

__all__ = ["CausalContext", "Dot"]


def _positive(value: object) -> int:
    _validate.counter(value, "dot counter")
    if value == 0:
        raise ClockError("dot counter must be >= 1 (the first event of a replica is 1)")
    return value  # type: ignore[return-value]


@attrs.frozen(order=True, repr=False)
class Dot:
    """The ``counter``-th event at ``replica`` (counters start at 1).

    Dots order by ``(replica, counter)`` only so that output can be sorted
    deterministically; that order says nothing about causality.
    """

    # The usual value accepted inline, the check that says what is wrong called only otherwise:
    # a client callback may build a dot per write it hears of (one Python call less each).
    replica: str = attrs.field(
        validator=lambda _i, _a, v: None if type(v) is str and v else _validate.replica_id(v))
    counter: int = attrs.field(
        validator=lambda _i, _a, v: None if type(v) is int and v >= 1 else _positive(v))

    def __init__(self, replica: str, counter: int) -> None:
        # attrs' generated __init__ with the same checks, written out: it called each field's
        # validator, a Python lambda, and set each field through object.__setattr__; a client
        # callback builds a dot per write it hears of (B12: 10,000 a run). attrs keeps the
        # validators above for attrs.validate; these are the same tests, inline.
        if type(replica) is not str or not replica:
            _validate.replica_id(replica)
        if type(counter) is not int or counter < 1:
            _positive(counter)
        _set_replica(self, replica)
        _set_counter(self, counter)

    @classmethod
    def _made(cls, replica: str, counter: int) -> Dot:
        """The dot of parts the caller made itself: a replica id it checked, a counter it
        counted from 1. No validators: a coordinator and the ground truth make one per
        client write, and the validated constructor cost four times as much."""
        dot = _new(cls)
        _set_replica(dot, replica)  # the slots' own setters (replicalab._built says why)
        _set_counter(dot, counter)
        return dot

    def __repr__(self) -> str:
        return f"Dot({self.replica!r}, {self.counter})"

    def __str__(self) -> str:
        return f"{self.replica}:{self.counter}"

    def to_json(self) -> str:
        """Canonical JSON: ``{"counter": ..., "format": "replicalab/dot", "replica": ..., ...}``."""
        return serialization.document("dot", replica=self.replica, counter=self.counter)

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> Dot:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "dot", ["replica", "counter"], max_bytes=max_bytes)
        with serialization.decoding("dot"):
            return cls(serialization.read_str(doc["replica"], "replica"),
                       serialization.read_int(doc["counter"], "counter", 1))


def _dot_set(value: object) -> frozenset:
    """The cloud of a causal context as a frozenset, or ClockError if it is not a collection."""
    if isinstance(value, (str, bytes, bytearray, dict)) or not hasattr(value, "__iter__"):
        raise ClockError(f"a causal context's cloud is a set of Dot values, got {_validate.shown(value)}")
    try:
        return frozenset(value)
    except TypeError:
        raise ClockError(f"a causal context's cloud holds Dot values, got {_validate.shown(value)}") from None


_new = object.__new__
_set_replica, _set_counter = slot_setter(Dot, "replica"), slot_setter(Dot, "counter")

#: The empty version vector: a context's default (VectorClock is immutable, so one is enough).
_NO_DOTS = VectorClock()
_NO_PAIRS: frozenset[tuple[str, int]] = frozenset()
#: A dot's ``(replica, counter)`` pair, read in C.
_pair: Callable[[Dot], tuple[str, int]] = attrgetter("replica", "counter")


@attrs.frozen(eq=False, repr=False, init=False)
class CausalContext:
    """A set of dots: a compact version vector plus out-of-order extras.

    Invariant (kept by every verb): no dot in the cloud is already covered by
    the version vector, so two contexts holding the same dots are ``==``.
    """

    vv: VectorClock
    cloud: frozenset[Dot]

    def __init__(self, vv: VectorClock = _NO_DOTS, cloud: Iterable[Dot] = frozenset()) -> None:
        if not isinstance(vv, VectorClock):
            raise ClockError(f"CausalContext vv must be a VectorClock, got {_validate.shown(vv)}")
        dots = _dot_set(cloud)
        for dot in dots:
            if not isinstance(dot, Dot):
                raise ClockError(f"a causal context's cloud holds Dot values, got {_validate.shown(dot)}")
        counts, rest = compact(vv.to_dict(), ((d.replica, d.counter) for d in dots))
        self.__attrs_init__(VectorClock(counts), frozenset(Dot(r, c) for r, c in rest))

    @classmethod
    def _of(cls, vv: Mapping[str, int], cloud: Iterable[DotT]) -> CausalContext:
        """The public value of a compact ``(vv, cloud)`` pair."""
        return cls(VectorClock(vv), frozenset(Dot(r, c) for r, c in cloud))

    def _parts(self) -> tuple[dict[str, int], frozenset[DotT]]:
        """The compact ``(vv, cloud)`` pair of this context (the form the functions below take)."""
        return self.vv.to_dict(), frozenset((d.replica, d.counter) for d in self.cloud)

    def _bare(self) -> tuple[Mapping[str, int], frozenset[DotT]]:
        """:meth:`_parts` for reading only: the vector's own map (not a sorted copy; never
        mutate it) and the cloud as pairs (one shared empty set for an empty cloud)."""
        cloud = self.cloud
        # map over a C getter, not a generator: one Python frame less per dot (a leaderless
        # coordinator asks this of every client write's context).
        return self.vv._counts, frozenset(map(_pair, cloud)) if cloud else _NO_PAIRS

    def __contains__(self, dot: Dot) -> bool:
        # The vector's dict read in C (a dot's replica is a str): VectorClock.get is a Python call.
        return dot.counter <= self.vv._counts.get(dot.replica, 0) or dot in self.cloud

    @classmethod
    def _joined(cls, vv: VectorClock, cloud: frozenset[Dot]) -> CausalContext:
        """The context of ``vv`` plus ``cloud``, both parts of valid contexts (no checks).

        When no cloud dot is covered by ``vv`` or extends it by one, the pair is compact
        already and is wrapped as it is (no Dot is rebuilt or re-validated: a leaderless
        cluster builds one context per read and per client callback); otherwise the
        public constructor compacts it.
        """
        if cloud:
            counts = vv._counts
            if not counts:  # nothing to cover: only a first dot (counter 1) would extend vv
                for d in cloud:
                    if d.counter <= 1:
                        return cls(vv, cloud)
            else:  # the vector's own dict, read in C (VectorClock.get is a Python call a dot)
                get = counts.get
                for d in cloud:
                    if d.counter <= get(d.replica, 0) + 1:
                        return cls(vv, cloud)
        # Built by the slots' setters, not attrs' __attrs_init__ (a Python call that sets each
        # field through object.__setattr__): a client's callback builds one per answer.
        context = _new(cls)
        _set_vv(context, vv)
        _set_cloud(context, cloud)
        return context

    def add(self, dot: Dot) -> CausalContext:
        """Return the context with ``dot`` added."""
        if not isinstance(dot, Dot):
            raise ClockError(f"CausalContext.add takes a Dot, got {_validate.shown(dot)}")
        cloud = self.cloud
        # __contains__, inline: a client callback adds a dot per write it hears of
        if dot.counter <= self.vv._counts.get(dot.replica, 0) or (cloud and dot in cloud):
            return self
        return CausalContext._joined(self.vv, cloud | {dot})

    def merge(self, other: CausalContext) -> CausalContext:
        """Return the union of the two sets of dots."""
        if not isinstance(other, CausalContext):
            raise ClockError(f"CausalContext.merge takes a CausalContext, got {_validate.shown(other)}")
        # The vectors' own dicts asked, not len(VectorClock): a Python call each.
        if other is self or (not other.cloud and not other.vv._counts):
            return self
        if not self.cloud and not self.vv._counts:
            return other
        vv = self.vv.merge(other.vv)
        # When one side already holds every dot of the other, the union is that side (a
        # context is compact, so one set of dots has one form): it is returned itself, as
        # VectorClock.merge returns a clock that already is the maximum. A client merging the
        # context of a read into its session mostly gets the read's own context back (B12: 63 %
        # of merges), where a new context and cloud were built, and then kept by every write
        # made with it.
        for big, small in ((other, self), (self, other)):
            if vv is big.vv or vv._counts == big.vv._counts:
                cloud = small.cloud
                if not cloud or cloud <= big.cloud:
                    return big
                # The dots not in the other cloud may be in the other side's vector instead.
                # (A set difference: in C, on the dots' stored hashes; `d in held` would call
                # Dot.__hash__, a Python function, per dot.)
                get = big.vv._counts.get
                for d in cloud - big.cloud:
                    if d.counter > get(d.replica, 0):
                        break
                else:
                    return big
        return CausalContext._joined(vv, self.cloud | other.cloud)

    def next_dot(self, replica: str) -> Dot:
        """The dot for ``replica``'s next event: one past its highest known counter."""
        _validate.replica_id(replica)
        return Dot(*next_dot(*self._parts(), replica))

    def dots(self) -> list[Dot]:
        """Every dot in the context, sorted."""
        out = [Dot(r, c) for r, n in self.vv.items() for c in range(1, n + 1)]
        return sorted(out + list(self.cloud), key=_dot_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalContext):
            return NotImplemented
        return self.vv == other.vv and self.cloud == other.cloud

    def __hash__(self) -> int:
        return hash((self.vv, self.cloud))

    def __repr__(self) -> str:
        cloud = ", ".join(repr(d) for d in sorted(self.cloud, key=_dot_key))
        return f"CausalContext({self.vv!r}, {{{cloud}}})" if cloud else f"CausalContext({self.vv!r})"

    def to_json(self) -> str:
        """Canonical JSON: ``{"cloud": [[replica, counter], ...], "vv": {replica: count}, ...}``."""
        return serialization.document(
            "causal-context", **serialization.write_context(
                self.vv.to_dict(), ((d.replica, d.counter) for d in self.cloud))
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> CausalContext:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "causal-context", ["vv", "cloud"], max_bytes=max_bytes)
        vv = serialization.read_counts(doc["vv"], "vv")
        cloud = serialization.read_dots(doc["cloud"], "cloud")
        with serialization.decoding("causal-context"):
            return cls(VectorClock(vv), frozenset(Dot(r, c) for r, c in cloud))


#: CausalContext._joined's slot setters.
_set_vv, _set_cloud = slot_setter(CausalContext, "vv"), slot_setter(CausalContext, "cloud")


def _dot_key(dot: Dot) -> tuple[str, int]:
    """Sort key of a dot: (replica, counter), the order attrs compares them in, but fast."""
    return (dot.replica, dot.counter)


# ---------------------------------------------------------------------------
# The dot-set algorithms, once, over the compact form ``(vv, cloud)``:
# ``vv`` maps replica -> n (it holds dots (r, 1) .. (r, n)); ``cloud`` holds the
# (replica, counter) pairs beyond it. Invariant: no cloud dot is covered by vv.

DotT = tuple[str, int]
K = TypeVar("K")
P = TypeVar("P")


def seen(vv: Mapping[str, int], cloud: frozenset[DotT] | set[DotT], dot: DotT) -> bool:
    """True iff the dot set ``(vv, cloud)`` holds ``dot``."""
    return dot[1] <= vv.get(dot[0], 0) or (bool(cloud) and dot in cloud)


def compact(vv: dict[str, int], cloud: Iterable[DotT]) -> tuple[dict[str, int], frozenset[DotT]]:
    """Fold cloud dots that extend ``vv`` contiguously into it (mutates and returns ``vv``)."""
    pending = sorted(d for d in cloud if d[1] > vv.get(d[0], 0))
    if not pending:
        return vv, frozenset()
    rest = []
    for replica, counter in pending:  # sorted, so each replica's run is contiguous
        top = vv.get(replica, 0)
        if counter == top + 1:
            vv[replica] = counter
        elif counter > top:
            rest.append((replica, counter))
    # A later contiguous run may have covered some of `rest`.
    return vv, frozenset(d for d in rest if d[1] > vv.get(d[0], 0))


def join(vv_a: Mapping[str, int], cloud_a: frozenset[DotT], vv_b: Mapping[str, int],
         cloud_b: frozenset[DotT]) -> tuple[dict[str, int], frozenset[DotT]]:
    """The union of two dot sets (a join), compact: the vv join, then fold the clouds in."""
    # may be vv_a or vv_b itself: copy before compacting in place (the maps are read-only here)
    vv = join_counts(cast(dict[str, int], vv_a), cast(dict[str, int], vv_b))
    if not cloud_a and not cloud_b:
        return vv, frozenset()
    return compact(dict(vv), cloud_a | cloud_b)


def next_dot(vv: Mapping[str, int], cloud: Iterable[DotT], replica: str) -> DotT:
    """``replica``'s next dot: one past its highest counter in the set."""
    top = vv.get(replica, 0)
    for r, c in cloud:
        if r == replica and c > top:
            top = c
    return (replica, top + 1)


def join_stores(a: Mapping[K, P], b: Mapping[K, P], a_saw: Callable[[K], bool],
                b_saw: Callable[[K], bool]) -> dict[K, P]:
    """The join of two dot stores: keep an entry if both sides hold it, or if the side
    lacking it has not seen it (it is concurrent there, not removed).

    This is the merge rule of every causal CRDT (ORSet, MVRegister, ORMap and the
    ``crdt`` merge policy), written once. An entry is named by a key (a dot, or a dot
    with what it names); ``x_saw(key)`` says whether side x's context holds that key's
    dot. ``a``'s entries come first, then ``b``'s, so the result's order is
    deterministic. Checking that one key names one payload on both sides is the
    caller's (each type words that error itself).

        kept(A, B) = (A & B) | (A - seen by B) | (B - seen by A)

        >>> join_stores({"x": 1, "y": 2}, {"y": 2, "z": 3}, lambda k: k == "x", lambda k: k == "x")
        {'y': 2, 'z': 3}
    """
    kept = {k: p for k, p in a.items() if k in b or not b_saw(k)}
    kept.update((k, p) for k, p in b.items() if k not in a and not a_saw(k))
    return kept


def add_dot(vv: dict[str, int], cloud: set[DotT], dot: DotT) -> None:
    """Add ``dot`` to a mutable ``(vv, cloud)`` pair in place, keeping it compact."""
    replica, counter = dot
    top = vv.get(replica, 0)
    if counter <= top:
        return
    if counter == top + 1:
        vv[replica] = counter
        if cloud:
            nxt = (replica, counter + 1)
            while nxt in cloud:
                cloud.discard(nxt)
                vv[replica] = nxt[1]
                nxt = (replica, nxt[1] + 1)
    else:
        cloud.add(dot)


serialization.register(Dot, CausalContext)
