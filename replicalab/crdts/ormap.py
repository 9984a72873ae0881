"""The observed-remove map: add-wins keys, reset-remove, values that are CRDTs themselves.

Every value in one map has the same type (MVRegister, LWWRegister, ORSet or
PNCounter). A remove erases the updates the remover had seen; an update it
had not seen survives, alone. Importable as ``replicalab.crdts.ORMap`` or
``replicalab.crdts.maps.ORMap``.

The map knows no value type's rules: each type says itself how it lives as a
dot store (``_plan``, ``_read``, its payloads' checks and JSON; the
:class:`~replicalab.crdts.causal.CausalCRDT` interface), and ``map.nested(key)``
returns the real value of that type. The merge rule is
:func:`replicalab.dots.join_stores` per key (:meth:`ORMap._reference_merge`);
``ORMap.merge`` is the same function written out for speed.

The module is over 500 lines because of that second merge: written out, it runs B3's
workload in 1/2.5–1/2.8 of the reference rule's time, so it stays beside the rule it
must equal (a test holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from replicalab import _validate, serialization
from replicalab import dots as _dots
from replicalab.clocks import VectorClock
from replicalab.crdts import _common, _nesting
from replicalab.crdts.causal import CausalCRDT
from replicalab.crdts.registers import MVRegister
from replicalab.dots import CausalContext, Dot, DotT
from replicalab.errors import ConfigError, MergeValidationError

__all__ = ["ORMap"]


@attrs.frozen(eq=False, repr=False, init=False)
class ORMap:
    """A map of nested CRDTs with add-wins keys and **reset-remove** semantics.

    Every value in one map has the same type, chosen at construction:
    ``ORMap(MVRegister)`` (the default), ``ORMap(LWWRegister)``,
    ``ORMap(ORSet)`` or ``ORMap(PNCounter)``. Update a value with an op of
    that type: ``m.update("qty", PNCounter.Increment("a", 2))``.

    State (the dot store of Almeida, Shoker and Baquero 2018): one causal
    context for the whole map and, per key, the updates still in effect, each
    named by a dot and carrying a small payload (a register value, a set
    element, a replica's running counter total). An update mints a dot and
    supersedes the dots it makes obsolete — what it stores and supersedes is
    the value type's own plan (``MVRegister._plan``, ``ORSet._plan``...);
    ``merge`` keeps a dot if both sides hold it or the side lacking it has
    not seen it — a join. ``nested(key)`` reads a key back as a real value of
    the type.

    Contract:

    * **Add-wins keys.** A key is present while it holds a dot. A remove
      concurrent with an update does not delete the update.
    * **Reset-remove.** ``remove(key)`` erases every update to ``key`` the
      remover had seen. After merging with a concurrent update, the key is
      back holding *only* what the remover had not seen: the removed value
      does not resurrect (in a map that merely hides removed values, the
      concurrent edit would bring the whole old value back).
    * **Counters reset per replica.** A PN-Counter's payload is a replica's
      running total, so if replica r increments concurrently with a remove,
      r's earlier (removed) increments come back with it; other replicas'
      removed increments stay removed.
    * Emptying a nested value (removing the last element of a nested set)
      removes the key. A dot naming two different updates is unreachable and
      raises :class:`~replicalab.errors.MergeValidationError`.

    The algorithm::

        update(k, op, r):  d = next dot of r;  obs = dots of k that op supersedes
                           S[k] = (S[k] - obs) + {d: payload};  C = C | obs | {d}
        remove(k):         S[k] = {};  C keeps the dots
        merge:             per key and dot: keep if in both, or unseen by the side lacking it

        >>> m = ORMap(MVRegister).update("name", MVRegister.Assign("Ann", replica="a"))
        >>> removed = m.remove("name")                                      # replica b removes
        >>> edited = m.update("name", MVRegister.Assign("Bob", replica="c"))   # c edits concurrently
        >>> removed.merge(edited).value           # the edit survives, alone
        {'name': frozenset({'Bob'})}
    """

    kind: type[CausalCRDT]
    _entries: dict[Any, dict[DotT, Any]]
    _vv: dict[str, int]
    _cloud: frozenset[DotT]

    @attrs.frozen(repr=False)
    class Update(_common.Op):
        """Op: apply the nested ``op`` to the value at ``key``.

        Unprepared it means "update here". Prepared by ``m.update_op(key, op)``
        it carries its ``dot`` (None if the update changes nothing, e.g. a
        losing LWW assignment or a set remove), the resulting ``payload`` and
        the ``observed`` dots it supersedes; then it can be applied anywhere,
        repeatedly, in any order.
        """

        key: Any = attrs.field(validator=_common.map_key)
        op: Any = attrs.field(validator=lambda i, a, v: _nesting.nested_op(i, a, v))
        dot: Dot | None = attrs.field(kw_only=True, default=None, converter=_common.optional_dot)
        payload: Any = attrs.field(kw_only=True, default=None)
        observed: tuple[Dot, ...] | None = attrs.field(kw_only=True, default=None,
                                                       converter=_common.optional_dots)

        def __attrs_post_init__(self) -> None:
            if self.dot is not None and self.observed is None:
                raise ConfigError("a prepared ORMap.Update carries observed (possibly empty) with its dot")
            if self.dot is not None and self.dot.replica != getattr(self.op, "replica", None):
                raise ConfigError(f"ORMap.Update of {_validate.shown(self.op)} cannot carry {_validate.shown(self.dot)}")
            if self.dot is not None and self.dot in (self.observed or ()):
                raise ConfigError(f"ORMap.Update cannot observe its own dot {_validate.shown(self.dot)}")
            if self.dot is None and self.payload is not None:
                raise ConfigError("an ORMap.Update without a dot changes nothing, so it carries no payload; "
                                  f"got {_validate.shown(self.payload)}")
            if self.dot is not None:
                kind = _nesting.kind_of_op(self.op)
                kind._check_payload(self.payload)
                if not kind._made_by(self.op, self.payload, bool(self.observed)):
                    raise ConfigError(
                        f"ORMap.Update's payload {_validate.shown(self.payload)} is not what "
                        f"{_validate.shown(self.op)} produces; a prepared update carries its op's result"
                    )

        @property
        def replica(self) -> str | None:
            """The replica the nested op runs as (None for ops that mint no dot, like ORSet.Remove)."""
            return getattr(self.op, "replica", None)

        def _write_payload(self, payload: Any) -> Any:
            return _nesting.kind_of_op(self.op)._write_payload(payload)

        @staticmethod
        def _read_payload(op: Any, raw: Any) -> Any:
            return _nesting.kind_of_op(op)._parse_payload(raw)

        def prepare(self, state: Any) -> ORMap.Update:
            if self.observed is not None:
                return self
            _common.check_state(state, ORMap, self)
            return state._prepare(self, state._entries, state._vv, state._cloud)

    @attrs.frozen(repr=False)
    class Remove(_common.Op):
        """Op: remove ``key`` — erase the ``observed`` updates (unprepared: whatever is observed here)."""

        key: Any = attrs.field(validator=_common.map_key)
        observed: tuple[Dot, ...] | None = attrs.field(kw_only=True, default=None,
                                                       converter=_common.optional_dots)

        def prepare(self, state: Any) -> ORMap.Remove:
            if self.observed is not None:
                return self
            _common.check_state(state, ORMap, self)
            return ORMap.Remove(self.key, observed=tuple(state._entries.get(self.key, ())))

    def __init__(self, kind: type = MVRegister, entries: Mapping[Any, Mapping[Any, Any]] | None = None,
                 context: CausalContext | None = None) -> None:
        nested = _nesting.kind_of(kind)
        store: dict[Any, dict[DotT, Any]] = {}
        owner: dict[DotT, Any] = {}
        if entries is not None:
            if not isinstance(entries, Mapping):
                raise ConfigError(f"ORMap entries must map key -> {{Dot: payload}}, got {type(entries).__name__}")
            for key, dots in entries.items():
                _common.hashable(key, "an ORMap key")
                if not isinstance(dots, Mapping):
                    raise ConfigError(f"ORMap entry {_validate.shown(key)} must map Dot -> payload, got {_validate.shown(dots)}")
                if not dots:
                    raise MergeValidationError(
                        f"ORMap key {_validate.shown(key)} holds no dots; a key is present only while an update holds it"
                    )
                inner: dict[DotT, Any] = {}
                for dot, payload in sorted(dots.items(), key=lambda item: _common.dot_tuple(item[0])):
                    d = _common.dot_tuple(dot, f"dot of {key!r}")
                    nested._check_payload(payload)
                    if d in owner:
                        raise MergeValidationError(
                            f"dot {d[0]}:{d[1]} names updates of two keys ({_validate.shown(owner[d])} and {_validate.shown(key)})"
                        )
                    owner[d] = key
                    inner[d] = payload
                _nesting.check_reachable(nested, key, inner)
                store[key] = inner
        vv, cloud = _common.checked_context(context, owner, "update")
        self.__attrs_init__(nested, store, vv, cloud)

    @classmethod
    def _trusted(cls, kind: type[CausalCRDT], entries: dict[Any, dict[DotT, Any]], vv: dict[str, int],
                 cloud: frozenset[DotT]) -> ORMap:
        # States computed from valid states skip re-validation: attrs' own initializer, no
        # converters. Going through the validating constructor instead measured 4-15x slower
        # merges on benchmarks B3/B4 (2026-12-05: GCounter 5x, PNCounter 4x, GSet 8x,
        # LWWMap 14x, ORSet 15x, ORMap 11x).
        m = cls.__new__(cls)
        m.__attrs_init__(kind, entries, vv, cloud)
        return m

    # -- merge: the rule (the fast path, ``merge``, is below) ---------------------------
    def _reference_merge(self, other: ORMap) -> ORMap:
        """The merge rule, as short as it is (``merge`` computes the same thing, faster).

            for each key:  S[key] = join_stores(S1[key], S2[key])   (dots.join_stores:
                keep a dot both sides hold, or one the side lacking it has not seen)
            C = C1 | C2
        """
        _check_joinable(self, other)
        a, b = self._entries, other._entries
        out: dict[Any, dict[DotT, Any]] = {}
        for key in {**a, **b}:  # a's keys, then b's: a deterministic order
            kept = _dots.join_stores(a.get(key, _EMPTY), b.get(key, _EMPTY), self._seen, other._seen)
            if kept:
                out[key] = kept
        return type(self)._trusted(self.kind, out, *_dots.join(self._vv, self._cloud, other._vv, other._cloud))

    def _seen(self, dot: DotT) -> bool:
        return _dots.seen(self._vv, self._cloud, dot)

    # -- reading ------------------------------------------------------------
    @property
    def value(self) -> dict[Any, Any]:
        """``{key: value}`` in sorted key order, each value read as its type reads.

        MVRegister -> frozenset of siblings; LWWRegister -> the winning value;
        ORSet -> frozenset of elements; PNCounter -> int.
        """
        read = self.kind._read
        entries = self._entries
        return {k: read(entries[k].values()) for k in _common.sorted_values(entries)}

    def get(self, key: Any, default: Any = None) -> Any:
        """The value at ``key`` (read as in :attr:`value`), or ``default`` if absent."""
        store = _common.entry_of(self._entries, key)
        return default if store is None else self.kind._read(store.values())

    def nested(self, key: Any) -> Any:
        """The value at ``key`` as a real CRDT of the map's value type: the updates in effect
        there, under the map's context (an empty value if ``key`` is absent).

            >>> from replicalab.crdts import PNCounter
            >>> m = ORMap(PNCounter).update("q", PNCounter.Increment("a", 2))
            >>> m.nested("q"), m.nested("q").value == m.get("q")
            (PNCounter({'a': 2}), True)
        """
        store = _common.entry_of(self._entries, key)
        return self.kind._of_store(store or {}, self.context)

    @property
    def context(self) -> CausalContext:
        """Every dot this map has seen (current and superseded updates)."""
        return CausalContext._of(self._vv, self._cloud)

    def dots(self, key: Any) -> dict[Dot, Any]:
        """The updates in effect at ``key``: ``{Dot: payload}`` sorted by dot."""
        return {Dot(r, c): p for (r, c), p in sorted((_common.entry_of(self._entries, key) or {}).items())}

    def keys(self) -> list[Any]:
        """The present keys, sorted."""
        return _common.sorted_values(self._entries)

    def __contains__(self, key: Any) -> bool:
        return key in self._entries


    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    # -- verbs ----------------------------------------------------------------
    def update(self, key: Any, op: Any) -> ORMap:
        """Return the map after applying the nested ``op`` (an op of the value type) to ``key``'s value."""
        return self.apply_all((ORMap.Update(key, op),))

    def remove(self, key: Any) -> ORMap:
        """Return the map without ``key``: every update to it seen here is erased (reset-remove)."""
        return self.apply_all((ORMap.Remove(key),))

    def update_op(self, key: Any, op: Any) -> ORMap.Update:
        """The prepared op for ``update(key, op)``: its dot, payload and superseded dots."""
        return ORMap.Update(key, op).prepare(self)

    def remove_op(self, key: Any) -> ORMap.Remove:
        """The prepared op for ``remove(key)``: the dots it erases."""
        return ORMap.Remove(key).prepare(self)

    def update_delta(self, key: Any, op: Any) -> ORMap:
        """The smallest map whose merge equals ``update(key, op)``."""
        prepared = self.update_op(key, op)
        return self._delta(key, prepared.dot, prepared.payload, prepared.observed or ())

    def remove_delta(self, key: Any) -> ORMap:
        """The smallest map whose merge equals ``remove(key)``: no entries, the erased dots as context."""
        prepared = self.remove_op(key)
        return self._delta(key, None, None, prepared.observed or ())

    def _delta(self, key: Any, dot: Dot | None, payload: Any, observed: Iterable[Dot]) -> ORMap:
        dots = [(d.replica, d.counter) for d in observed]
        entries: dict[Any, dict[DotT, Any]] = {}
        if dot is not None:
            entries[key] = {(dot.replica, dot.counter): payload}
            dots.append((dot.replica, dot.counter))
        vv, cloud = _dots.compact({}, dots)
        return type(self)._trusted(self.kind, entries, vv, cloud)

    def _prepare(self, op: ORMap.Update, entries: Mapping[Any, dict[DotT, Any]], vv: dict[str, int],
                 cloud: Iterable[DotT]) -> ORMap.Update:
        if not isinstance(op.op, self.kind._dot_ops):
            raise ConfigError(
                f"this ORMap holds {self.kind.__name__} values; {_validate.shown(op.op)} is not one of its ops"
            )
        mints, payload, observed = self.kind._plan(entries.get(op.key, {}), op.op)
        dot = _dots.next_dot(vv, cloud, op.op.replica) if mints else None  # type: ignore[attr-defined]  # every value op has a replica; isinstance on a tuple of types narrows to object
        return ORMap.Update(op.key, op.op, dot=dot, payload=payload,
                            observed=[Dot(r, c) for r, c in observed])

    def apply(self, op: Any) -> ORMap:
        """Return the state after the one op ``op`` (``apply_all((op,))``); ``self`` is unchanged."""
        return self.apply_all((op,))

    def apply_all(self, ops: Iterable[ORMap.Update | ORMap.Remove]) -> ORMap:
        """Return the map after every op in order (one copy, however many ops).

        Unprepared ops are prepared against the map as it is when their turn comes.
        """
        entries = dict(self._entries)
        vv = dict(self._vv)
        cloud = set(self._cloud)
        add_dot = _dots.add_dot
        kind = self.kind
        for op in _common.ops_of(ops, "ORMap"):
            _common.check_op(op, (ORMap.Update, ORMap.Remove), "ORMap")
            key = op.key
            current = entries.get(key, {})
            new: DotT | None = None
            payload: Any = None
            if type(op) is ORMap.Update:
                if not isinstance(op.op, kind._dot_ops):
                    raise ConfigError(
                        f"this ORMap holds {self.kind.__name__} values; {_validate.shown(op.op)} is not one of its ops"
                    )
                if op.observed is None:  # unprepared: update here
                    mints, payload, observed = kind._plan(current, op.op)
                    if mints:
                        new = _dots.next_dot(vv, cloud, op.op.replica)  # type: ignore[attr-defined]  # as above
                else:
                    observed = [(d.replica, d.counter) for d in op.observed]
                    if op.dot is not None:
                        kind._check_payload(op.payload)
                        new, payload = (op.dot.replica, op.dot.counter), op.payload
            else:
                observed = (list(current) if op.observed is None
                            else [(d.replica, d.counter) for d in op.observed])
            store = dict(current)
            for d in observed:
                if store.pop(d, _nesting.NOBODY) is _nesting.NOBODY and _dots.seen(vv, cloud, d):
                    holder = _nesting.missing_holder(entries, d)
                    if holder is not _nesting.NOBODY:
                        raise MergeValidationError(
                            f"dot {d[0]}:{d[1]} is held by key {_validate.shown(holder)} here but the op saw it "
                            f"at {_validate.shown(key)}; one dot is one update"
                        )
                add_dot(vv, cloud, d)
            if new is not None:
                if not _dots.seen(vv, cloud, new):
                    store[new] = payload
                    add_dot(vv, cloud, new)
                else:
                    held = store.get(new, _nesting.NOBODY)
                    if held is _nesting.NOBODY:
                        holder = _nesting.missing_holder(entries, new)
                        if holder is not _nesting.NOBODY and holder != key:
                            raise MergeValidationError(
                                f"dot {new[0]}:{new[1]} already names an update of {_validate.shown(holder)}"
                            )
                    elif held != payload:
                        raise _nesting.two_updates(key, new, held, payload)
            if store:
                entries[key] = store
            else:
                entries.pop(key, None)
        return type(self)._trusted(self.kind, entries, *_dots.compact(vv, cloud))

    # -- merge ----------------------------------------------------------------
    def merge(self, other: ORMap) -> ORMap:
        """Return the join: per key and dot, keep it if both hold it or the other side never saw it.

        The rule is :meth:`_reference_merge`; this is the same function written out for
        speed (one update per key is the common case; the dot-owner check runs only when
        something was dropped). It pays: on benchmark B3's workload (100,000 writes per
        replica) the reference rule took 2.5-2.8x as long (2026-12-05). A property test
        checks that both give equal states and refuse the same pairs.
        """
        if not isinstance(other, ORMap):
            raise ConfigError(f"ORMap.merge takes an ORMap, got {type(other).__name__}")
        if other.kind is not self.kind:
            raise MergeValidationError(
                f"cannot merge an ORMap of {self.kind.__name__} with one of {other.kind.__name__}"
            )
        ea, eb = self._entries, other._entries
        vva, clouda, vvb, cloudb = self._vv, self._cloud, other._vv, other._cloud
        if ea == eb and vva == vvb and clouda == cloudb:
            return self
        get_a, get_b = vva.get, vvb.get
        # A dot is unseen by a side if it is above that side's vv and not in its cloud;
        # the cloud is usually empty, and then the membership test (a tuple hash) is skipped.
        out: dict[Any, dict[DotT, Any]] = {}
        dropped = False
        for key, sa in ea.items():
            sb = eb.get(key)
            if sb is None:
                if len(sa) == 1:  # the common case: one update in effect per key
                    (d,) = sa
                    if d[1] > get_b(d[0], 0) and (not cloudb or d not in cloudb):
                        out[key] = sa
                    else:
                        dropped = True
                    continue
                keep = {d: p for d, p in sa.items() if d[1] > get_b(d[0], 0) and d not in cloudb}
                if len(keep) != len(sa):
                    dropped = True
                if keep:
                    out[key] = sa if len(keep) == len(sa) else keep
                continue
            if sa is sb:
                out[key] = sa
                continue
            if len(sa) == 1 and len(sb) == 1:
                (da,) = sa
                (db,) = sb
                if da == db:
                    if sa[da] != sb[db]:
                        raise _nesting.two_updates(key, da, sa[da], sb[db])
                    out[key] = sa
                    continue
                keep_a = da[1] > get_b(da[0], 0) and (not cloudb or da not in cloudb)
                keep_b = db[1] > get_a(db[0], 0) and (not clouda or db not in clouda)
                if keep_a:
                    out[key] = sa | sb if keep_b else sa
                elif keep_b:
                    out[key] = sb
                if not (keep_a and keep_b):
                    dropped = True
                continue
            keep = {}
            for d, p in sa.items():
                q = sb.get(d, _nesting.NOBODY)
                if q is not _nesting.NOBODY:
                    if q != p:
                        raise _nesting.two_updates(key, d, p, q)
                    keep[d] = p
                elif d[1] > get_b(d[0], 0) and d not in cloudb:
                    keep[d] = p
                else:
                    dropped = True
            for d, q in sb.items():
                if d not in sa:
                    if d[1] > get_a(d[0], 0) and d not in clouda:
                        keep[d] = q
                    else:
                        dropped = True
            if keep:
                out[key] = keep
        for key, sb in eb.items():
            if key in ea:
                continue
            if len(sb) == 1:
                (d,) = sb
                if d[1] > get_a(d[0], 0) and (not clouda or d not in clouda):
                    out[key] = sb
                else:
                    dropped = True
                continue
            keep = {d: q for d, q in sb.items() if d[1] > get_a(d[0], 0) and d not in clouda}
            if len(keep) != len(sb):
                dropped = True
            if keep:
                out[key] = sb if len(keep) == len(sb) else keep
        if dropped:
            _nesting.check_update_owners(ea, eb)
        vv, cloud = _dots.join(vva, clouda, vvb, cloudb)
        return type(self)._trusted(self.kind, out, vv, cloud)

    # -- values -------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ORMap):
            return NotImplemented
        return (self.kind is other.kind and self._entries == other._entries
                and self._vv == other._vv and self._cloud == other._cloud)

    def __hash__(self) -> int:
        entries = frozenset((k, frozenset(s.items())) for k, s in self._entries.items())
        return hash((self.kind, entries, frozenset(self._vv.items()), self._cloud))

    def __repr__(self) -> str:
        name = type(self).__name__
        kind = self.kind.__name__
        if not self._entries and not self._vv and not self._cloud:
            return f"{name}({kind})" if self.kind is not MVRegister else f"{name}()"
        items = ", ".join(
            f"{key!r}: {{{', '.join(f'Dot({r!r}, {c}): {p!r}' for (r, c), p in sorted(self._entries[key].items()))}}}"
            for key in _common.sorted_values(self._entries)
        )
        implied = _dots.compact({}, [d for s in self._entries.values() for d in s])
        if implied == (self._vv, self._cloud):
            return f"{name}({kind}, {{{items}}})"
        return f"{name}({kind}, {{{items}}}, {repr(CausalContext._of(self._vv, self._cloud))})"

    # -- serialization --------------------------------------------------------
    def to_json(self) -> str:
        """Canonical JSON: ``kind``, ``entries`` as ``[key, [[[replica, counter], payload], ...]]``
        sorted by key then dot, and the ``context``."""
        kind = self.kind
        rows = []
        for key, store in self._entries.items():
            updates = [[[r, c], kind._write_payload(p)] for (r, c), p in sorted(store.items())]
            rows.append([serialization.write_element(key, "ORMap key"), updates])
        rows.sort(key=lambda row: serialization.element_key(row[0]))
        return serialization.document(
            "or-map", kind=kind._dot_kind, entries=rows,
            context=serialization.write_context(self._vv, self._cloud),
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> ORMap:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "or-map", ["kind", "entries", "context"], max_bytes=max_bytes)
        kind = _nesting.BY_NAME.get(doc["kind"]) if isinstance(doc["kind"], str) else None
        if kind is None:
            raise serialization.SerializationError(
                f"kind must be one of {sorted(_nesting.BY_NAME)}, got {_validate.shown(doc['kind'])}"
            )
        entries: dict[Any, dict[tuple[str, int], Any]] = {}
        for row in serialization.read_list(doc["entries"], "entries"):
            key, updates = serialization.read_list(row, "entries row", 2)
            key = serialization.read_element(key, "ORMap key")
            if key in entries:
                raise serialization.SerializationError(f"entries list key {_validate.shown(key)} twice")
            store: dict[tuple[str, int], Any] = {}
            for update in serialization.read_list(updates, f"updates of {key!r}"):
                dot, payload = serialization.read_list(update, "update", 2)
                dot = serialization.read_dot(dot, "update dot")
                if dot in store:
                    raise serialization.SerializationError(f"updates of {_validate.shown(key)} list dot {dot} twice")
                store[dot] = kind._parse_payload(payload)
            entries[key] = store
        vv, cloud = serialization.read_context(doc["context"], "context")
        with serialization.decoding("or-map"):
            context = CausalContext(VectorClock(vv), frozenset(Dot(r, c) for r, c in cloud))
            return cls(kind, entries, context)


_EMPTY: dict[DotT, Any] = {}


def _check_joinable(a: Any, b: Any) -> None:
    """Refuse to merge what no run could have produced together: another type, another value
    type, or one dot naming two different updates (of two keys, or two payloads of one key)."""
    if not isinstance(b, ORMap):
        raise ConfigError(f"ORMap.merge takes an ORMap, got {type(b).__name__}")
    if b.kind is not a.kind:
        raise MergeValidationError(f"cannot merge an ORMap of {a.kind.__name__} with one of {b.kind.__name__}")
    held = {d: (key, p) for key, store in a._entries.items() for d, p in store.items()}
    for key, store in b._entries.items():
        for d, p in store.items():
            mine = held.get(d)
            if mine is None or mine == (key, p):
                continue
            if mine[0] != key:
                raise MergeValidationError(
                    f"dot {d[0]}:{d[1]} names an update of {_validate.shown(mine[0])} on one side and of "
                    f"{_validate.shown(key)} on the other; one dot is one update, so these states cannot both be reachable"
                )
            raise _nesting.two_updates(key, d, mine[1], p)


serialization.register(ORMap)
