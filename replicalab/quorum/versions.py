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

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import attrs

from replicalab import _validate
from replicalab._built import slot_setter
from replicalab.clocks import VectorClock
from replicalab.dots import CausalContext, Dot
from replicalab.errors import ConfigError

__all__ = ["EMPTY", "DottedVersion", "Versions", "context_of", "covers", "digest_of", "holds", "plain_context",
           "reconcile"]

EMPTY = CausalContext()
_NO_DOTS = VectorClock()
_new = object.__new__
_set = object.__setattr__  # what attrs' frozen classes use in their own __init__


def _dot(value: object) -> Dot:
    if type(value) is not Dot:
        raise ConfigError(f"a version's dot is a Dot, got {_validate.shown(value)}")
    return value


def _context(value: object) -> CausalContext:
    if type(value) is not CausalContext:
        raise ConfigError(f"a version's context is a CausalContext, got {_validate.shown(value)}")
    return value


@attrs.frozen
class DottedVersion:
    """One write of a key: ``value``, its unique ``dot`` and the ``context`` its writer had read.

    ``op`` is the client request id (so the ledger can name the write).
    """

    value: Any
    dot: Dot = attrs.field(validator=lambda _i, _a, v: _dot(v))
    context: CausalContext = attrs.field(default=EMPTY, validator=lambda _i, _a, v: _context(v))
    op: str = ""
    # The dot and the context in the bare form (tuples, a dict and a frozenset of tuples),
    # made once per write: every store, read and repair asks "has this version seen that
    # dot?", and a bare dict/set lookup answers it without a Dot hash or a method call.
    _key: tuple[str, int] = attrs.field(init=False, eq=False, repr=False)
    _vv: Mapping[str, int] = attrs.field(init=False, eq=False, repr=False)
    _cloud: frozenset[tuple[str, int]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        vv, cloud = self.context._bare()
        _set(self, "_key", (self.dot.replica, self.dot.counter))
        _set(self, "_vv", vv)
        _set(self, "_cloud", cloud)

    @classmethod
    def _made(cls, value: Any, dot: Dot, context: CausalContext, op: str) -> DottedVersion:
        """The version a node makes for a client's write, without the validators: ``dot``
        is one the node built, ``context`` one it checked (``type(...) is CausalContext``).
        A coordinator makes one per write, and the validated path cost as much as the rest
        of the write's local store."""
        version = _new(cls)
        _set_value(version, value)
        _set_dot(version, dot)
        _set_context(version, context)
        _set_op(version, op)
        # __attrs_post_init__, inline
        _set_key(version, (dot.replica, dot.counter))
        counts, cloud = context.vv._counts, context.cloud
        _set_vv(version, counts)
        _set_cloud(version, frozenset(map(_pair, cloud)) if cloud else _NO_PAIRS)
        return version

    @property
    def clock(self) -> CausalContext:
        """Every write this version reflects: its context plus its own dot."""
        return self.context.add(self.dot)

    def trace_fields(self) -> dict[str, Any]:
        return {"value": self.value, "dot": str(self.dot), "context": plain_context(self.context),
                "op": self.op}


# DottedVersion._made's slot setters (replicalab._built says why), and CausalContext._bare's parts.
_set_value, _set_dot, _set_context, _set_op, _set_key, _set_vv, _set_cloud = (
    slot_setter(DottedVersion, n) for n in ("value", "dot", "context", "op", "_key", "_vv", "_cloud"))
_pair: Callable[[Dot], tuple[str, int]] = attrgetter("replica", "counter")
_NO_PAIRS: frozenset[tuple[str, int]] = frozenset()


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
    for side in sides:
        if not isinstance(side, (tuple, list)):
            raise ConfigError(f"reconcile takes tuples of DottedVersion, got {_validate.shown(side)}")
        for v in side:
            if type(v) is not DottedVersion:
                raise ConfigError(f"reconcile takes DottedVersion values, got {_validate.shown(v)}")
    return _join_all(sides)


def join(sides: Sequence[Versions], *, trusted: bool = True) -> Versions:
    """:func:`reconcile` without the checks, for versions the library made itself: the nodes'
    hot path.

    ``trusted``: every side is a join already (a sorted tuple in which no version covers
    another), as every ``Versions`` a node holds or sends is. Then two sides join by
    checking each side's versions against the other side's only (within a side nothing
    covers anything), and a side that is already the answer is returned as it is (a copy
    arriving where it already is, read replies that agree, a write that supersedes all).
    """
    if not trusted:
        return _join_all(sides)
    out: Versions = ()
    for side in sides:
        if side and side is not out:
            out = _join_two(out, side) if out else side
    return out


def join_pair(a: Versions, b: Versions) -> Versions:
    """``join((a, b))``, without building the pair or a loop: what a node holds and one side
    arriving (a store, a hint, a read's running merge), several times per client operation."""
    if not a:
        return b
    if not b or b is a:
        return a
    return _join_one(a, b) if len(b) == 1 else _join_two(a, b)


def _join_two(a: Versions, b: Versions) -> Versions:
    """The join of two joins: a version stays unless a version of the *other* side covers it."""
    if len(b) == 1:  # a write arriving (a Store, a local copy): one version against the rest
        return _join_one(a, b)
    if len(a) == len(b) and same_dots(a, b):
        return a  # the same dots: the same writes (read replies that agree)
    a_keys = {v._key for v in a}
    b_keys = {w._key for w in b}
    kept_a = [v for v in a if v._key in b_keys or not _covered(v._key, b)]
    kept_b = [w for w in b if w._key not in a_keys and not _covered(w._key, a)]
    if not kept_b and len(kept_a) == len(a):
        return a  # the answer is a, as it is
    shared = [v for v in kept_a if v._key in b_keys]  # a dot on both sides is always kept
    if len(shared) == len(kept_a) and len(kept_b) + len(shared) == len(b):
        return b  # the answer is b, as it is
    return _sorted(kept_a, kept_b)


def _join_one(a: Versions, b: Versions) -> Versions:
    """:func:`_join_two` when ``b`` is one version ``w``, without building sets: the same
    answer (the same object when it is a side as it is).

    One pass over ``a`` (B12 stores ~3 siblings per key, and every Store lands here): drop
    what ``w``'s writer had seen, and note whether some version's writer had seen ``w``."""
    w = b[0]
    key = w._key
    replica, counter = key
    vv, cloud = w._vv, w._cloud
    get = vv.get
    kept: list[DottedVersion] = []
    seen = False  # has some version of a (its writer) seen w?
    for v in a:
        vkey = v._key
        if vkey == key:
            return a  # already here; within a join nothing covers anything, so a stays whole
        if not (vkey[1] <= get(vkey[0], 0) or vkey in cloud):
            kept.append(v)
        if not seen and (counter <= v._vv.get(replica, 0) or key in v._cloud):
            seen = True
    if seen:
        return a if len(kept) == len(a) else tuple(kept)
    if not kept:
        return b  # w supersedes everything a held
    kept.append(w)
    kept.sort(key=_key_of)
    return tuple(kept)


def _sorted(kept_a: list[DottedVersion], kept_b: list[DottedVersion]) -> Versions:
    kept = kept_a + kept_b
    kept.sort(key=_key_of)
    return tuple(kept)


def _covered(key: tuple[str, int], versions: Sequence[DottedVersion]) -> bool:
    """Has some version of ``versions`` (its writer) seen the write ``key``?"""
    replica, counter = key
    for o in versions:
        if counter <= o._vv.get(replica, 0) or key in o._cloud:
            return True
    return False


def _join_all(sides: Iterable[Iterable[DottedVersion]]) -> Versions:
    """Every version no version of any side covers, one per dot, sorted (sides may be anything)."""
    by_key: dict[tuple[str, int], DottedVersion] = {}
    for side in sides:
        for v in side:
            by_key.setdefault(v._key, v)
    versions = list(by_key.values())
    if len(versions) == 1:
        return (versions[0],)
    kept = [v for v in versions if not _covered(v._key, versions)]
    kept.sort(key=_key_of)
    return tuple(kept)


#: A version's ``(replica, counter)``, read in C: a sort key and the map of :func:`same_dots`
#: (a Python ``lambda v: v._key`` was one Python call per version sorted, ~3 per operation of B12).
_key_of: Callable[[DottedVersion], tuple[str, int]] = attrgetter("_key")


def same_dots(a: Versions, b: Versions) -> bool:
    """True iff the joins ``a`` and ``b`` hold the same dots (so the same writes): both are
    sorted by dot with one version per dot, so their lists of dots are equal."""
    # Equal tuples hold equal versions, so the same dots: a tuple comparison, in C, that
    # settles the usual case (replicas holding the very same version objects) by identity
    # alone; otherwise the dots decide (the same dots may come as other, equal objects).
    return a is b or a == b or (len(a) == len(b) and list(map(_key_of, a)) == list(map(_key_of, b)))


def context_of(versions: Iterable[DottedVersion]) -> CausalContext:
    """The context a reader gets back with ``versions``: every dot they are or had seen.

    A client writes with it to supersede every version it read (read-modify-write).
    """
    vv = _NO_DOTS
    cloud: set[Dot] = set()
    for v in versions:
        context = v.context
        if context.vv._counts:  # its dict asked, not len(VectorClock): a Python call a version
            vv = vv.merge(context.vv)
        cloud |= context.cloud
        cloud.add(v.dot)
    if not cloud:
        return EMPTY
    return CausalContext._joined(vv, frozenset(cloud))


def holds(versions: Iterable[DottedVersion], dot: Dot) -> bool:
    """True iff ``versions`` contain the write ``dot`` or a version whose writer had seen it."""
    return any(v.dot == dot or covers(v.context, dot) for v in versions)


def digest_of(versions: Versions) -> bytes:
    """A canonical byte string naming ``versions`` (for a Merkle leaf): their dots, sorted."""
    return ",".join(str(v.dot) for v in versions).encode()
