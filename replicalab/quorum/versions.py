"""What a Dynamo node stores for a key: concurrent versions (siblings), each a dotted write.

A :class:`DottedVersion` is one client write: its ``value``, the :class:`~replicalab.dots.Dot`
its coordinator gave it (unique: ``(coordinator identity, counter)``), and the ``context``
— the :class:`~replicalab.dots.CausalContext` (a set of dots) of everything the client had
read before writing (empty for a blind write). As in dotted version vectors (Preguiça et
al. 2012), version ``a`` is obsolete once some version ``b``'s context holds ``a``'s dot,
because ``b``'s writer had seen ``a``.
Two versions neither of which covers the other are **siblings**, kept side by side for the
reader to resolve — never dropped.

Why a set of dots and not a plain vector clock: a version vector ``{n1: 57}`` claims every
``n1`` event up to 57, so a coordinator that ticks its own entry past a version the client
never saw makes the new write *look* newer than it, and the old write is silently
discarded (the "false dominance" that Riak fixed with DVVs). Our first version used vector
clocks and the R + W > N property test caught exactly that. With a set of dots (compact:
a vector plus the out-of-order dots) the rule is exact: obsolete iff seen.

:func:`reconcile` is the merge every path uses (a write arriving, a read merging replies,
read repair, hinted handoff, anti-entropy): keep every version not covered by another,
one copy per dot. It is a join — commutative, associative, idempotent — on sets of
versions, so the order in which copies meet never changes what a node ends up with.

    >>> a = DottedVersion("v1", Dot("n1", 1))
    >>> b = DottedVersion("v2", Dot("n2", 1))                          # blind: concurrent with a
    >>> [v.value for v in reconcile((a,), (b,))]
    ['v1', 'v2']
    >>> c = DottedVersion("v3", Dot("n1", 2), context_of((a, b)))     # read both, then wrote
    >>> [v.value for v in reconcile((a, b), (c,))]
    ['v3']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.dots import CausalContext, Dot
from replicalab.errors import ConfigError

__all__ = ["EMPTY", "DottedVersion", "Versions", "context_of", "covers", "digest_of", "holds", "plain_context",
           "reconcile"]

EMPTY = CausalContext()


@attrs.frozen
class DottedVersion:
    """One write of a key: ``value``, its unique ``dot`` and the ``context`` its writer had read.

    ``op`` is the client request id (so the ledger can name the write).
    """

    value: Any
    dot: Dot
    context: CausalContext = EMPTY
    op: str = ""

    @property
    def clock(self) -> CausalContext:
        """Every write this version reflects: its context plus its own dot."""
        return self.context.add(self.dot)

    def trace_fields(self) -> dict[str, Any]:
        return {"value": self.value, "dot": str(self.dot), "context": plain_context(self.context),
                "op": self.op}


def plain_context(context: CausalContext) -> dict[str, Any]:
    """A context as plain data: ``{"vv": {...}, "cloud": ["n1:5", ...]}``."""
    return {"vv": context.vv.to_dict(), "cloud": sorted(str(d) for d in context.cloud)}


#: Siblings as stored: a tuple of versions sorted by dot (a canonical order for output).
Versions = tuple[DottedVersion, ...]


def covers(context: CausalContext, dot: Dot) -> bool:
    """True iff ``context`` has seen the write named ``dot``."""
    return dot in context


def reconcile(*sides: Iterable[DottedVersion]) -> Versions:
    """Every version of ``sides`` that no other version's context covers, one per dot, sorted by dot.

    The join of version sets (see the module docs). A version with the same dot on two
    sides is the same write; the first copy is kept.
    """
    by_dot: dict[Dot, DottedVersion] = {}
    for side in sides:
        if not isinstance(side, (tuple, list)):
            raise ConfigError(f"reconcile takes tuples of DottedVersion, got {_validate.shown(side)}")
        for v in side:
            if type(v) is not DottedVersion:
                raise ConfigError(f"reconcile takes DottedVersion values, got {_validate.shown(v)}")
            by_dot.setdefault(v.dot, v)
    if len(by_dot) == 1:
        return tuple(by_dot.values())
    versions = list(by_dot.values())
    # Contexts as (vv dict, cloud) once, not a CausalContext lookup per pair: this is the
    # hot path of every store, read and repair.
    seen = [(v.context.vv.__getitem__, v.context.cloud) for v in versions]
    kept = []
    for v in versions:
        dot = v.dot
        replica, counter = dot.replica, dot.counter
        if not any(counter <= count(replica) or dot in cloud for count, cloud in seen):
            kept.append(v)
    return tuple(sorted(kept, key=_dot_order))


def _dot_order(v: DottedVersion) -> tuple[str, int]:
    return (v.dot.replica, v.dot.counter)


def context_of(versions: Iterable[DottedVersion]) -> CausalContext:
    """The context a reader gets back with ``versions``: every dot they are or had seen.

    A client writes with it to supersede every version it read (read-modify-write).
    """
    counts: dict[str, int] = {}
    cloud: set[tuple[str, int]] = set()
    for v in versions:
        for replica, count in v.context.vv.items():
            if count > counts.get(replica, 0):
                counts[replica] = count
        cloud.update((d.replica, d.counter) for d in v.context.cloud)
        cloud.add((v.dot.replica, v.dot.counter))
    if not cloud:
        return EMPTY
    return CausalContext(VectorClock(counts), frozenset(Dot(r, c) for r, c in cloud))


def holds(versions: Iterable[DottedVersion], dot: Dot) -> bool:
    """True iff ``versions`` contain the write ``dot`` or a version whose writer had seen it."""
    return any(v.dot == dot or covers(v.context, dot) for v in versions)


def digest_of(versions: Versions) -> bytes:
    """A canonical byte string naming ``versions`` (for a Merkle leaf): their dots, sorted."""
    return ",".join(str(v.dot) for v in versions).encode()
