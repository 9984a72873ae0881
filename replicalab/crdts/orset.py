"""The observed-remove set (OR-Set): add-wins, with dots and a causal context, no tombstones.

The "optimized OR-Set" of Bieniusa et al. 2012. Importable as
``replicalab.crdts.ORSet`` or ``replicalab.crdts.sets.ORSet``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import attrs

from replicalab import _validate, serialization
from replicalab import dots as _dots
from replicalab.clocks import VectorClock
from replicalab.crdts import _common
from replicalab.crdts.causal import Key
from replicalab.dots import CausalContext, Dot, DotT
from replicalab.errors import ConfigError, MergeValidationError

__all__ = ["ORSet"]


def _holder(entries: Mapping[Any, tuple[DotT, ...]], dot: DotT) -> Any:
    """The element holding ``dot`` (a linear scan: only on rare, suspicious paths)."""
    for element, dots in entries.items():
        if dot in dots:
            return element
    return _MISSING


_MISSING = object()


@attrs.frozen(eq=False, repr=False, init=False)
class ORSet:
    """An observed-remove set with add-wins semantics, using dots and a causal context.

    State: for each present element, the dots (``Dot(replica, counter)``) of
    the adds that put it there, plus a causal context: every dot this replica
    has seen, added or since removed. Contract:

    * ``add(x, replica=r)`` mints a fresh dot for ``r`` and replaces ``x``'s
      observed dots with it (so an element carries one dot per concurrent
      adder, never one per add).
    * ``remove(x)`` drops ``x``'s observed dots; the context still remembers
      them, so a merge will not bring them back.
    * ``merge`` keeps a dot if both sides hold it, or if the side lacking it
      has never seen it (it is a concurrent add, not a removed one). A join.
    * **Add wins:** a remove concurrent with an add deletes only what it saw;
      the concurrent add survives. Nothing is tombstoned per element: the
      context is a version vector plus the few dots that arrived out of order.
    * One dot naming two different elements is unreachable and raises
      :class:`~replicalab.errors.MergeValidationError`.

    The algorithm (Bieniusa et al. 2012)::

        add(x, r):    d = next dot of r;  E[x] = {d};  C = C | {d}
        remove(x):    E[x] = {}                              (C keeps the dots)
        merge:        for x: E[x] = (E1[x] & E2[x]) | (E1[x] - C2) | (E2[x] - C1)
                      C = C1 | C2

        >>> a = ORSet().add("x", replica="a")
        >>> b = a.remove("x")                 # b saw a's add, then removed it
        >>> c = a.add("x", replica="c")       # c re-adds x concurrently
        >>> "x" in b.merge(c)                 # add wins
        True
        >>> "x" in b.merge(a)                 # the observed add stays removed
        False
    """

    _entries: dict[Any, tuple[DotT, ...]]
    _vv: dict[str, int]
    _cloud: frozenset[DotT]

    @attrs.frozen(repr=False)
    class Add(_common.Op):
        """Op: add ``element`` as ``replica``.

        Unprepared (``dot`` None) it means "add here": applying it mints the
        next dot and observes the element's current dots. Prepared by
        ``s.add_op(x, replica=r)`` it carries the dot and the observed dots
        and can be applied at any replica, any number of times, in any order.
        """

        element: Any = attrs.field(validator=_common.element_field)
        replica: str = attrs.field(kw_only=True, validator=_common.replica_field)
        dot: Dot | None = attrs.field(kw_only=True, default=None, converter=_common.optional_dot)
        observed: tuple[Dot, ...] | None = attrs.field(kw_only=True, default=None,
                                                       converter=_common.optional_dots)

        def __attrs_post_init__(self) -> None:
            if (self.dot is None) != (self.observed is None):
                raise ConfigError("ORSet.Add is prepared with both dot and observed, or neither")
            if self.dot is not None and self.dot.replica != self.replica:
                raise ConfigError(f"ORSet.Add by {_validate.shown(self.replica)} cannot carry {_validate.shown(self.dot)}")
            if self.dot is not None and self.dot in (self.observed or ()):
                raise ConfigError(f"ORSet.Add cannot observe its own dot {_validate.shown(self.dot)}")

        def prepare(self, state: Any) -> ORSet.Add:
            if self.dot is not None:
                return self
            _common.check_state(state, ORSet, self)
            dot = _dots.next_dot(state._vv, state._cloud, self.replica)
            observed = state._entries.get(self.element, ())
            return ORSet.Add(self.element, replica=self.replica, dot=dot, observed=observed)

    @attrs.frozen(repr=False)
    class Remove(_common.Op):
        """Op: remove the ``observed`` dots of ``element`` (unprepared: whatever is observed here)."""

        element: Any = attrs.field(validator=_common.element_field)
        observed: tuple[Dot, ...] | None = attrs.field(kw_only=True, default=None,
                                                       converter=_common.optional_dots)

        def prepare(self, state: Any) -> ORSet.Remove:
            if self.observed is not None:
                return self
            _common.check_state(state, ORSet, self)
            return ORSet.Remove(self.element, observed=state._entries.get(self.element, ()))

    # -- as a nested value: the causal-CRDT interface (crdts/causal.py) ---------------------
    # Under dots, a set keeps one element per add; an add or remove of x supersedes x's dots.
    _dot_kind: ClassVar[str] = "or-set"
    _dot_ops: ClassVar[tuple[type, ...]] = (Add, Remove)

    @classmethod
    def _of_store(cls, store: Mapping[DotT, Any], context: CausalContext) -> ORSet:
        entries: dict[Any, list[DotT]] = {}
        for dot, element in store.items():
            entries.setdefault(element, []).append(dot)
        return cls(entries, context)

    @classmethod
    def _plan(cls, store: Mapping[Key, Any], op: Any) -> tuple[bool, Any, list[Key]]:
        observed = [d for d, element in store.items() if element == op.element]
        if type(op) is ORSet.Add:
            return True, op.element, observed
        return False, None, observed

    @classmethod
    def _read(cls, payloads: Iterable[Any]) -> frozenset[Any]:
        return frozenset(payloads)

    @classmethod
    def _check_payload(cls, payload: Any) -> None:
        _common.hashable(payload, "an ORSet element in an ORMap")

    @classmethod
    def _payload_owner(cls, payload: Any) -> str | None:
        return None

    @classmethod
    def _made_by(cls, op: Any, payload: Any, observed: bool) -> bool:
        return type(op) is ORSet.Add and bool(payload == op.element)

    @classmethod
    def _write_payload(cls, payload: Any) -> Any:
        return serialization.write_element(payload, "ORSet element")

    @classmethod
    def _parse_payload(cls, raw: Any) -> Any:
        return serialization.read_element(raw, "ORSet element")

    def __init__(self, entries: Mapping[Any, Iterable[Any]] | None = None,
                 context: CausalContext | None = None) -> None:
        store: dict[Any, tuple[DotT, ...]] = {}
        owner: dict[DotT, Any] = {}
        if entries is not None:
            if not isinstance(entries, Mapping):
                raise ConfigError(f"ORSet entries must map element -> dots, got {type(entries).__name__}")
            for element, dots in entries.items():
                _common.hashable(element, "an ORSet element")
                if isinstance(dots, (str, bytes)) or not isinstance(dots, Iterable):
                    raise ConfigError(f"ORSet entry {_validate.shown(element)} must list Dot values, got {_validate.shown(dots)}")
                tuples = sorted({_common.dot_tuple(d, f"dot of {element!r}") for d in dots})
                if not tuples:
                    raise MergeValidationError(
                        f"ORSet element {_validate.shown(element)} has no dots; an element is present only while "
                        "it holds the dot of an add"
                    )
                for dot in tuples:
                    if dot in owner:
                        raise MergeValidationError(
                            f"dot {dot[0]}:{dot[1]} names two elements ({_validate.shown(owner[dot])} and "
                            f"{_validate.shown(element)}); one dot is one add"
                        )
                    owner[dot] = element
                store[element] = tuple(tuples)
        vv, cloud = _common.checked_context(context, owner, "add")
        self.__attrs_init__(store, vv, cloud)

    @classmethod
    def _trusted(cls, entries: dict[Any, tuple[DotT, ...]], vv: dict[str, int],
                 cloud: frozenset[DotT]) -> ORSet:
        # States computed from valid states skip re-validation: attrs' own initializer, no
        # converters. Going through the validating constructor instead measured 4-15x slower
        # merges on benchmarks B3/B4 (2026-12-05: GCounter 5x, PNCounter 4x, GSet 8x,
        # LWWMap 14x, ORSet 15x, ORMap 11x).
        s = cls.__new__(cls)
        s.__attrs_init__(entries, vv, cloud)
        return s

    # -- merge: the rule (the fast path, ``merge``, is below) ---------------------------
    def _reference_merge(self, other: ORSet) -> ORSet:
        """The merge rule, as short as it is (``merge`` computes the same thing, faster).

            E[x] = (E1[x] & E2[x]) | (E1[x] - C2) | (E2[x] - C1);   C = C1 | C2
        """
        if not isinstance(other, ORSet):
            raise ConfigError(f"ORSet.merge takes an ORSet, got {type(other).__name__}")
        _check_dot_owners(self._entries, other._entries)
        a, b = self._entries, other._entries
        out: dict[Any, tuple[DotT, ...]] = {}
        for x in {**a, **b}:  # a's elements, then b's: a deterministic order
            kept = _dots.join_stores(dict.fromkeys(a.get(x, ())), dict.fromkeys(b.get(x, ())),
                                     self._seen, other._seen)
            if kept:
                out[x] = tuple(sorted(kept))
        return type(self)._trusted(out, *_dots.join(self._vv, self._cloud, other._vv, other._cloud))

    def _seen(self, dot: DotT) -> bool:
        return _dots.seen(self._vv, self._cloud, dot)

    # -- reading ------------------------------------------------------------
    @property
    def value(self) -> frozenset[Any]:
        """The present elements."""
        return frozenset(self._entries)

    @property
    def context(self) -> CausalContext:
        """Every dot this set has seen (present or removed)."""
        return CausalContext._of(self._vv, self._cloud)

    def dots(self, element: Any) -> list[Dot]:
        """The dots keeping ``element`` present (empty if absent), sorted."""
        try:
            held = self._entries.get(element, ())
        except TypeError:
            raise _validate.unhashable(element, "set element") from None
        return [Dot(r, c) for r, c in held]

    def __contains__(self, element: Any) -> bool:
        return element in self._entries


    def __iter__(self) -> Iterator[Any]:
        return iter(_common.sorted_values(self._entries))

    # -- verbs ----------------------------------------------------------------
    def add(self, element: Any, *, replica: str) -> ORSet:
        """Return the set after ``replica`` adds ``element`` (a fresh dot replaces the observed ones)."""
        return self.apply_all((ORSet.Add(element, replica=replica),))

    def remove(self, element: Any) -> ORSet:
        """Return the set without ``element``: its observed adds are removed (a no-op if absent)."""
        return self.apply_all((ORSet.Remove(element),))

    def add_op(self, element: Any, *, replica: str) -> ORSet.Add:
        """The prepared op for ``add(element, replica=replica)``: carries its dot and what it saw."""
        return ORSet.Add(element, replica=replica).prepare(self)

    def remove_op(self, element: Any) -> ORSet.Remove:
        """The prepared op for ``remove(element)``: carries the dots it removes."""
        return ORSet.Remove(element).prepare(self)

    def add_delta(self, element: Any, *, replica: str) -> ORSet:
        """The smallest set whose merge equals ``add``: the new dot, and the replaced dots in the context."""
        op = self.add_op(element, replica=replica)
        return self._delta(op.element, op.dot, op.observed)

    def remove_delta(self, element: Any) -> ORSet:
        """The smallest set whose merge equals ``remove``: no elements, the removed dots as context."""
        op = self.remove_op(element)
        return self._delta(op.element, None, op.observed)

    def _delta(self, element: Any, dot: Dot | None, observed: tuple[Dot, ...] | None) -> ORSet:
        dots = [(d.replica, d.counter) for d in observed or ()]
        entries: dict[Any, tuple[tuple[str, int], ...]] = {}
        if dot is not None:
            entries[element] = ((dot.replica, dot.counter),)
            dots.append((dot.replica, dot.counter))
        vv, cloud = _dots.compact({}, dots)
        return type(self)._trusted(entries, vv, cloud)

    def apply(self, op: Any) -> ORSet:
        """Return the state after the one op ``op`` (``apply_all((op,))``); ``self`` is unchanged."""
        return self.apply_all((op,))

    def apply_all(self, ops: Iterable[ORSet.Add | ORSet.Remove]) -> ORSet:
        """Return the set after every op in order (one copy, however many ops).

        Unprepared ops are prepared against the state as it is when their turn
        comes, so a batch of ``ORSet.Add(x, replica="a")`` mints consecutive dots.
        """
        entries = dict(self._entries)
        vv = dict(self._vv)
        cloud = set(self._cloud)
        add_dot = _dots.add_dot
        for op in _common.ops_of(ops, "ORSet"):
            _common.check_op(op, (ORSet.Add, ORSet.Remove), "ORSet")
            element = op.element
            current = entries.get(element, ())
            if type(op) is ORSet.Add:
                if op.dot is None:  # unprepared: add here, observing the current dots
                    new = _dots.next_dot(vv, cloud, op.replica)
                    for d in current:
                        add_dot(vv, cloud, d)
                    entries[element] = (new,)
                    add_dot(vv, cloud, new)
                    continue
                new = (op.dot.replica, op.dot.counter)
                observed = {(d.replica, d.counter) for d in op.observed or ()}
            else:
                new = None
                observed = (set(current) if op.observed is None
                            else {(d.replica, d.counter) for d in op.observed})
            keep = [d for d in current if d not in observed]
            for d in observed:
                if d not in current and _dots.seen(vv, cloud, d):
                    holder = _holder(entries, d)
                    if holder is not _MISSING:
                        raise MergeValidationError(
                            f"dot {d[0]}:{d[1]} is held by {_validate.shown(holder)} here but was observed on "
                            f"{_validate.shown(element)} by the op; one dot is one add"
                        )
                add_dot(vv, cloud, d)
            if new is not None:
                if not _dots.seen(vv, cloud, new):
                    keep.append(new)
                    add_dot(vv, cloud, new)
                elif new not in current:
                    holder = _holder(entries, new)
                    if holder is not _MISSING and holder != element:
                        raise MergeValidationError(
                            f"dot {new[0]}:{new[1]} already names {_validate.shown(holder)}; the op would make "
                            f"it name {_validate.shown(element)} too"
                        )
            if keep:
                entries[element] = tuple(sorted(keep)) if len(keep) > 1 else tuple(keep)
            else:
                entries.pop(element, None)
        return type(self)._trusted(entries, *_dots.compact(vv, cloud))

    # -- merge ----------------------------------------------------------------
    def merge(self, other: ORSet) -> ORSet:
        """Return the join: dots both hold, plus dots the other side has not seen.

        The rule is :meth:`_reference_merge`; this is the same function written out for
        speed (one add per element is the common case; the dot-owner check runs only when
        something was dropped). It pays: on benchmark B4's OR-set workload (10% removes)
        the reference rule took 10x as long (2026-12-05). A property test checks that
        both agree.
        """
        if not isinstance(other, ORSet):
            raise ConfigError(f"ORSet.merge takes an ORSet, got {type(other).__name__}")
        ea, eb = self._entries, other._entries
        vva, clouda = self._vv, self._cloud
        vvb, cloudb = other._vv, other._cloud
        if ea == eb and vva == vvb and clouda == cloudb:
            return self
        get_a, get_b = vva.get, vvb.get
        # A dot is unseen by a side if it is above that side's vv and not in its cloud;
        # the cloud is usually empty, and then the membership test (a tuple hash) is skipped.
        out: dict[Any, tuple[DotT, ...]] = {}
        dropped = False
        for element, da in ea.items():
            db = eb.get(element)
            if db is None:
                if len(da) == 1:
                    d = da[0]
                    if d[1] > get_b(d[0], 0) and (not cloudb or d not in cloudb):
                        out[element] = da
                    else:
                        dropped = True
                    continue
                keep = tuple(d for d in da if d[1] > get_b(d[0], 0) and d not in cloudb)
            elif da == db:
                out[element] = da
                continue
            elif len(da) == 1 and len(db) == 1:  # the common case: one add on each side
                a0 = da[0]
                b0 = db[0]  # a0 != b0, as da != db
                keep_a = a0[1] > get_b(a0[0], 0) and (not cloudb or a0 not in cloudb)
                keep_b = b0[1] > get_a(b0[0], 0) and (not clouda or b0 not in clouda)
                if keep_a and keep_b:
                    out[element] = (a0, b0) if a0 < b0 else (b0, a0)
                    continue
                dropped = True
                if keep_a:
                    out[element] = da
                elif keep_b:
                    out[element] = db
                continue
            else:
                keep_list = [d for d in da if d in db or (d[1] > get_b(d[0], 0) and d not in cloudb)]
                keep_list += [d for d in db
                              if d not in da and d[1] > get_a(d[0], 0) and d not in clouda]
                keep = tuple(sorted(keep_list))
                if len(keep) != len(set(da) | set(db)):
                    dropped = True
                if keep:
                    out[element] = keep
                continue
            if len(keep) != len(da):
                dropped = True
            if keep:
                out[element] = keep
        for element, db in eb.items():
            if element in ea:
                continue
            if len(db) == 1:
                d = db[0]
                if d[1] > get_a(d[0], 0) and (not clouda or d not in clouda):
                    out[element] = db
                else:
                    dropped = True
                continue
            keep = tuple(d for d in db if d[1] > get_a(d[0], 0) and d not in clouda)
            if len(keep) != len(db):
                dropped = True
            if keep:
                out[element] = keep
        if dropped:
            _check_dot_owners(ea, eb)
        vv, cloud = _dots.join(vva, clouda, vvb, cloudb)
        return type(self)._trusted(out, vv, cloud)

    # -- values -------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ORSet):
            return NotImplemented
        return (self._entries == other._entries and self._vv == other._vv
                and self._cloud == other._cloud)

    def __hash__(self) -> int:
        return hash((frozenset(self._entries.items()), frozenset(self._vv.items()), self._cloud))

    def __repr__(self) -> str:
        name = type(self).__name__
        if not self._entries and not self._vv and not self._cloud:
            return f"{name}()"
        items = ", ".join(
            f"{element!r}: [{', '.join(f'Dot({r!r}, {c})' for r, c in self._entries[element])}]"
            for element in _common.sorted_values(self._entries)
        )
        all_dots = [d for dots in self._entries.values() for d in dots]
        implied = _dots.compact({}, all_dots)
        if implied == (self._vv, self._cloud):
            return f"{name}({{{items}}})"
        return f"{name}({{{items}}}, {repr(CausalContext._of(self._vv, self._cloud))})"

    # -- serialization --------------------------------------------------------
    def to_json(self) -> str:
        """Canonical JSON: ``entries`` as ``[element, [[replica, counter], ...]]`` pairs, and the context."""
        entries = [[serialization.write_element(e), serialization.write_dots(ds)]
                   for e, ds in self._entries.items()]
        entries.sort(key=lambda item: serialization.element_key(item[0]))
        return serialization.document(
            "or-set", entries=entries, context=serialization.write_context(self._vv, self._cloud)
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> ORSet:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "or-set", ["entries", "context"], max_bytes=max_bytes)
        entries: dict[Any, list[tuple[str, int]]] = {}
        for item in serialization.read_list(doc["entries"], "entries"):
            element, dots = serialization.read_list(item, "entries item", 2)
            element = serialization.read_element(element, "entries element")
            if element in entries:
                raise serialization.SerializationError(f"entries lists element {_validate.shown(element)} twice")
            entries[element] = serialization.read_dots(dots, f"dots of {element!r}")
        vv, cloud = serialization.read_context(doc["context"], "context")
        with serialization.decoding("or-set"):
            context = CausalContext(VectorClock(vv), frozenset(Dot(r, c) for r, c in cloud))
            return cls(entries, context)


def _check_dot_owners(ea: Mapping[Any, tuple[DotT, ...]], eb: Mapping[Any, tuple[DotT, ...]]) -> None:
    """Raise if one dot names different elements on the two sides (only called when dots were dropped)."""
    owner = {d: element for element, dots in ea.items() for d in dots}
    for element, dots in eb.items():
        for d in dots:
            mine = owner.get(d, element)
            if mine != element:
                raise MergeValidationError(
                    f"dot {d[0]}:{d[1]} names {_validate.shown(mine)} on one side and {_validate.shown(element)} on the other; "
                    "one dot is one add, so these states cannot both be reachable"
                )


serialization.register(ORSet)
