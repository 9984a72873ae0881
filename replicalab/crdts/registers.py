"""Registers: one value, two ways to settle concurrent assignments.

* :class:`LWWRegister` keeps the assignment with the greatest
  ``(timestamp, replica)`` marker. Concurrent assignments are *lost* except the
  winner, and "greatest timestamp" is only "latest" if clocks agree.
* :class:`MVRegister` keeps every assignment that no other assignment has seen
  (the Dynamo / rust-crdt multi-value register): concurrent values survive
  side by side as siblings until a later assignment that saw them replaces them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from replicalab import _validate, serialization
from replicalab import dots as _dots
from replicalab.clocks import VectorClock
from replicalab.crdts import _common
from replicalab.crdts.causal import Key
from replicalab.dots import CausalContext, Dot, DotT
from replicalab.errors import ClockError, ConfigError, MergeValidationError


def _timestamp(_instance: Any, _attribute: Any, value: Any) -> None:
    _validate.counter(value, "LWW timestamp")


def _optional_clock(value: Any) -> VectorClock | None:
    if value is None or isinstance(value, VectorClock):
        return value
    return VectorClock(value)

__all__ = ["LWWRegister", "MVRegister"]


@attrs.frozen(repr=False)
class LWWRegister:
    """A last-writer-wins register: the assignment with the greatest ``(timestamp, replica)`` wins.

    Contract: ``assign`` with a marker greater than the current one replaces the
    value; with a smaller marker it is a no-op (the older write is lost, with no
    error). ``merge`` keeps the side with the greater marker, so it is a join.
    The replica id breaks timestamp ties, so the order is total. One marker
    carrying two different values is unreachable and raises
    :class:`MergeValidationError`.

        >>> reg = LWWRegister().assign("v1", timestamp=10, replica="a")
        >>> reg = reg.merge(LWWRegister().assign("v2", timestamp=10, replica="b"))
        >>> reg.value      # tie on timestamp: "b" > "a"
        'v2'
    """

    value: Any = None
    timestamp: int | None = None
    replica: str | None = None

    @attrs.frozen(repr=False)
    class Assign(_common.Op):
        """Op: assign ``value`` stamped ``(timestamp, replica)``. Idempotent and commutative."""

        value: Any
        timestamp: int = attrs.field(kw_only=True, validator=_timestamp)
        replica: str = attrs.field(kw_only=True, validator=_common.replica_field)

    def __attrs_post_init__(self) -> None:
        if self.timestamp is None and self.replica is None:
            return
        if self.timestamp is None or self.replica is None:
            raise ClockError(
                "an assigned LWWRegister needs both timestamp and replica (or neither, when empty); "
                f"got timestamp={_validate.shown(self.timestamp)}, replica={_validate.shown(self.replica)}"
            )
        _validate.counter(self.timestamp, "LWW timestamp")
        _validate.replica_id(self.replica)

    # -- as a nested value: the causal-CRDT interface (crdts/causal.py) ---------------------
    # Under dots, an LWW register keeps its assignment (timestamp, replica, value); a losing
    # assignment names no dot, a winning one supersedes every dot of the key.
    _dot_kind: ClassVar[str] = "lww-register"
    _dot_ops: ClassVar[tuple[type, ...]] = (Assign,)

    @classmethod
    def _of_store(cls, store: Mapping[DotT, Any], context: CausalContext | None = None) -> LWWRegister:
        """The register a key's assignments make, merged by this type's own rule (which also
        refuses one marker carrying two values)."""
        return cls._assigned(store.values())

    @classmethod
    def _assigned(cls, payloads: Iterable[Any]) -> LWWRegister:
        reg = cls()
        for timestamp, replica, value in payloads:
            reg = reg.merge(cls(value, timestamp, replica))
        return reg

    @classmethod
    def _plan(cls, store: Mapping[Key, Any], op: Any) -> tuple[bool, Any, list[Key]]:
        current = cls._assigned(store.values())
        if current.merge(cls(op.value, op.timestamp, op.replica)) is current:
            return False, None, []  # the assignment loses (or repeats): nothing changes
        return True, (op.timestamp, op.replica, op.value), list(store)

    @classmethod
    def _read(cls, payloads: Iterable[Any]) -> Any:
        return cls._assigned(payloads).value

    @classmethod
    def _check_payload(cls, payload: Any) -> None:
        if not (isinstance(payload, tuple) and len(payload) == 3):
            raise ConfigError(f"an LWWRegister payload is (timestamp, replica, value), got {_validate.shown(payload)}")
        _validate.counter(payload[0], "LWW timestamp")
        _validate.replica_id(payload[1])

    @classmethod
    def _payload_owner(cls, payload: Any) -> str | None:
        return payload[1]

    @classmethod
    def _made_by(cls, op: Any, payload: Any, observed: bool) -> bool:
        return bool(payload == (op.timestamp, op.replica, op.value))

    @classmethod
    def _write_payload(cls, payload: Any) -> Any:
        return [payload[0], payload[1], serialization.write_value(payload[2])]

    @classmethod
    def _parse_payload(cls, raw: Any) -> Any:
        ts, replica, item = serialization.read_list(raw, "LWWRegister payload", 3)
        return (serialization.read_int(ts, "LWW timestamp"), serialization.read_str(replica, "LWW replica"),
                serialization.read_value(item))

    @property
    def marker(self) -> tuple[int, str] | None:
        """``(timestamp, replica)`` of the winning assignment, or None if never assigned."""
        if self.timestamp is None:
            return None
        return (self.timestamp, self.replica)  # type: ignore[return-value]

    def assign(self, value: Any, *, timestamp: int, replica: str) -> LWWRegister:
        """Return the register after assigning ``value`` stamped ``(timestamp, replica)``."""
        _validate.counter(timestamp, "LWW timestamp")
        _validate.replica_id(replica)
        return self.merge(LWWRegister(value, timestamp, replica))

    def merge(self, other: LWWRegister) -> LWWRegister:
        """Return the register whose marker is greater; equal markers must hold equal values."""
        if not isinstance(other, LWWRegister):
            raise ConfigError(f"LWWRegister.merge takes an LWWRegister, got {_validate.shown(other)}")
        mine, theirs = self.marker, other.marker
        if theirs is None:
            return self
        if mine is None or theirs > mine:
            return other
        if theirs == mine and other.value != self.value:
            raise MergeValidationError(
                f"LWW marker {mine} carries two different values ({_validate.shown(self.value)} and "
                f"{_validate.shown(other.value)}); one (timestamp, replica) must name one assignment"
            )
        return self

    def assign_op(self, value: Any, *, timestamp: int, replica: str) -> LWWRegister.Assign:
        """The op value for ``assign(value, timestamp=..., replica=...)``."""
        return LWWRegister.Assign(value, timestamp=timestamp, replica=replica)

    def assign_delta(self, value: Any, *, timestamp: int, replica: str) -> LWWRegister:
        """The smallest register whose merge equals ``assign(...)``: the assignment, or empty if it loses."""
        op = LWWRegister.Assign(value, timestamp=timestamp, replica=replica)
        single = type(self)(op.value, op.timestamp, op.replica)
        if self.merge(single) is self:  # loses (or repeats): nothing to ship
            return type(self)()
        return single

    def apply(self, op: Any) -> LWWRegister:
        """Return the state after the one op ``op`` (``apply_all((op,))``); ``self`` is unchanged."""
        return self.apply_all((op,))

    def apply_all(self, ops: Iterable[LWWRegister.Assign]) -> LWWRegister:
        """Return the register after every op in order."""
        reg = self
        for op in _common.ops_of(ops, "LWWRegister"):
            _common.check_op(op, (LWWRegister.Assign,), "LWWRegister")
            reg = reg.merge(type(self)(op.value, op.timestamp, op.replica))
        return reg

    def __repr__(self) -> str:
        if self.timestamp is None:
            return "LWWRegister()" if self.value is None else f"LWWRegister({self.value!r})"
        return f"LWWRegister({self.value!r}, timestamp={self.timestamp!r}, replica={self.replica!r})"

    def to_json(self) -> str:
        """Canonical JSON: ``{"marker": [timestamp, replica] | null, "value": ...}``."""
        marker = None if self.timestamp is None else [self.timestamp, self.replica]
        return serialization.document(
            "lww-register", marker=marker, value=serialization.write_value(self.value)
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> LWWRegister:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "lww-register", ["marker", "value"], max_bytes=max_bytes)
        value = serialization.read_value(doc["value"])
        if doc["marker"] is None:
            with serialization.decoding("lww-register"):
                return cls(value)
        timestamp, replica = serialization.read_list(doc["marker"], "marker", 2)
        with serialization.decoding("lww-register"):
            return cls(value, serialization.read_int(timestamp, "marker timestamp"),
                       serialization.read_str(replica, "marker replica"))


@attrs.frozen(repr=False)
class MVRegister:
    """A multi-value register: concurrent assignments are all kept as siblings.

    State: a set of ``(dot, value)`` entries and a causal context (the version
    vector of every assignment seen). Contract:

    * ``assign(v, replica)`` replaces every entry the replica can see with one
      new entry under a fresh dot: drop what the new write dominates.
    * ``merge`` keeps an entry if both sides have it, or if the side lacking it
      has not seen its dot (so it is concurrent, not overwritten): keep the rest.
    * ``value`` is the frozenset of sibling values; nothing concurrent is lost.

        >>> a = MVRegister().assign("red", replica="a")
        >>> b = MVRegister().assign("blue", replica="b")
        >>> sorted(a.merge(b).value)
        ['blue', 'red']
        >>> a.merge(b).assign("purple", replica="a").value
        frozenset({'purple'})
    """

    entries: frozenset[tuple[Dot, Hashable]] = attrs.field(
        default=frozenset(), converter=lambda v: _common.frozen_collection(v, "MVRegister entries"))
    context: VectorClock = attrs.field(factory=VectorClock)

    @attrs.frozen(repr=False)
    class Assign(_common.Op):
        """Op: ``replica`` assigns ``value``, superseding what it has seen.

        Unprepared (``dot`` None) it means "assign here". Prepared by
        ``reg.assign_op(v, replica=r)`` it carries its dot and the context the
        assignment saw, and can be applied anywhere, repeatedly, in any order.
        """

        _value_domain = "element"

        value: Hashable
        replica: str = attrs.field(kw_only=True, validator=_common.replica_field)
        dot: Dot | None = attrs.field(kw_only=True, default=None, converter=_common.optional_dot)
        context: VectorClock | None = attrs.field(kw_only=True, default=None,
                                                  converter=_optional_clock)

        def __attrs_post_init__(self) -> None:
            _common.hashable(self.value, "an MVRegister value")
            if (self.dot is None) != (self.context is None):
                raise ConfigError("MVRegister.Assign is prepared with both dot and context, or neither")
            if self.dot is not None:
                if self.dot.replica != self.replica:
                    raise ConfigError(f"MVRegister.Assign by {_validate.shown(self.replica)} cannot carry {_validate.shown(self.dot)}")
                if self.context.get(self.replica) != self.dot.counter:  # type: ignore[union-attr]
                    raise ConfigError(
                        f"MVRegister.Assign's context must end at its own dot {_validate.shown(self.dot)}, "
                        f"got {_validate.shown(self.context)}"
                    )

        def prepare(self, state: Any) -> MVRegister.Assign:
            if self.dot is not None:
                return self
            _common.check_state(state, MVRegister, self)
            context = state.context.tick(self.replica)
            dot = Dot(self.replica, context.get(self.replica))
            return MVRegister.Assign(self.value, replica=self.replica, dot=dot, context=context)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.context, VectorClock):
            raise ClockError(f"MVRegister context must be a VectorClock, got {_validate.shown(self.context)}")
        dots: dict[Dot, Hashable] = {}
        for entry in self.entries:
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], Dot)):
                raise MergeValidationError(
                    f"MVRegister entries are (Dot, value) pairs, got {_validate.shown(entry)}"
                )
            dot, value = entry
            if dot.counter > self.context.get(dot.replica):
                raise MergeValidationError(
                    f"entry dot {dot} is not covered by the register's context {_validate.shown(self.context)}; "
                    "a register has seen every assignment it holds"
                )
            if dot in dots:
                raise MergeValidationError(f"dot {dot} names two different values")
            dots[dot] = value

    # -- as a nested value: the causal-CRDT interface (crdts/causal.py) ---------------------
    # Under dots, a register keeps one value per concurrent assignment; an assignment
    # supersedes every dot it sees.
    _dot_kind: ClassVar[str] = "mv-register"
    _dot_ops: ClassVar[tuple[type, ...]] = (Assign,)

    @classmethod
    def _of_store(cls, store: Mapping[DotT, Any], context: CausalContext) -> MVRegister:
        """The register a key's entries make under ``context`` (as a version vector: the
        context's vv, extended to cover the entries' own dots)."""
        vv = dict(context.vv.to_dict())
        for replica, counter in store:
            vv[replica] = max(vv.get(replica, 0), counter)
        return cls(frozenset((Dot(r, c), v) for (r, c), v in store.items()), VectorClock(vv))

    @classmethod
    def _plan(cls, store: Mapping[Key, Any], op: Any) -> tuple[bool, Any, list[Key]]:
        return True, op.value, list(store)

    @classmethod
    def _read(cls, payloads: Iterable[Any]) -> frozenset[Any]:
        return frozenset(payloads)

    @classmethod
    def _check_payload(cls, payload: Any) -> None:
        _common.hashable(payload, "an MVRegister value in an ORMap")

    @classmethod
    def _payload_owner(cls, payload: Any) -> str | None:
        return None

    @classmethod
    def _made_by(cls, op: Any, payload: Any, observed: bool) -> bool:
        return bool(payload == op.value)

    @classmethod
    def _write_payload(cls, payload: Any) -> Any:
        return serialization.write_element(payload, "MVRegister value")

    @classmethod
    def _parse_payload(cls, raw: Any) -> Any:
        return serialization.read_element(raw, "MVRegister value")

    @property
    def value(self) -> frozenset[Hashable]:
        """The concurrent values (empty before the first assignment)."""
        return frozenset(v for _, v in self.entries)

    def assign(self, value: Hashable, *, replica: str) -> MVRegister:
        """Return the register after ``replica`` assigns ``value``, superseding what it has seen."""
        _validate.replica_id(replica)
        try:
            hash(value)  # values live in a frozenset; fail here, not later
        except TypeError:
            raise ConfigError(
                f"MVRegister values must be hashable (str, int, tuple, frozenset...), got {_validate.shown(value)}"
            ) from None
        context = self.context.tick(replica)
        dot = Dot(replica, context.get(replica))
        return MVRegister(frozenset({(dot, value)}), context)

    def merge(self, other: MVRegister) -> MVRegister:
        """Return the join: entries both sides keep, plus entries the other side has not seen."""
        if not isinstance(other, MVRegister):
            raise ConfigError(f"MVRegister.merge takes an MVRegister, got {_validate.shown(other)}")
        mine = dict(self.entries)
        theirs = dict(other.entries)
        for dot in mine.keys() & theirs.keys():
            if mine[dot] != theirs[dot]:
                raise MergeValidationError(
                    f"dot {dot} carries two different values ({_validate.shown(mine[dot])} and "
                    f"{_validate.shown(theirs[dot])}); a dot must name exactly one assignment"
                )
        kept = _dots.join_stores(mine, theirs, lambda d: d.counter <= self.context.get(d.replica),
                                 lambda d: d.counter <= other.context.get(d.replica))
        return MVRegister(frozenset(kept.items()), self.context.merge(other.context))

    def assign_op(self, value: Hashable, *, replica: str) -> MVRegister.Assign:
        """The prepared op for ``assign(value, replica=replica)``: carries its dot and context."""
        return MVRegister.Assign(value, replica=replica).prepare(self)

    def assign_delta(self, value: Hashable, *, replica: str) -> MVRegister:
        """The smallest register whose merge equals ``assign``: one entry and the context it saw."""
        op = self.assign_op(value, replica=replica)
        assert op.context is not None  # a prepared op carries its context
        return type(self)(frozenset({(op.dot, op.value)}), op.context)

    def apply(self, op: Any) -> MVRegister:
        """Return the state after the one op ``op`` (``apply_all((op,))``); ``self`` is unchanged."""
        return self.apply_all((op,))

    def apply_all(self, ops: Iterable[MVRegister.Assign]) -> MVRegister:
        """Return the register after every op in order (unprepared ops assign here)."""
        reg = self
        for op in _common.ops_of(ops, "MVRegister"):
            _common.check_op(op, (MVRegister.Assign,), "MVRegister")
            op = op.prepare(reg)
            reg = reg.merge(type(self)(frozenset({(op.dot, op.value)}), op.context))
        return reg

    def to_json(self) -> str:
        """Canonical JSON: ``entries`` as ``[[replica, counter], value]`` sorted by dot, and ``context``."""
        entries = [[[d.replica, d.counter], serialization.write_element(v, "MVRegister value")]
                   for d, v in sorted(self.entries, key=lambda e: (e[0].replica, e[0].counter))]
        return serialization.document(
            "mv-register", entries=entries, context=serialization.write_counts(self.context.to_dict())
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> MVRegister:
        """Decode :meth:`to_json` output; anything else raises SerializationError."""
        doc = serialization.load(text, "mv-register", ["entries", "context"], max_bytes=max_bytes)
        entries = []
        seen = set()
        for item in serialization.read_list(doc["entries"], "entries"):
            dot, value = serialization.read_list(item, "entries item", 2)
            dot = serialization.read_dot(dot, "entry dot")
            if dot in seen:
                raise serialization.SerializationError(f"entries list dot {dot[0]}:{dot[1]} twice")
            seen.add(dot)
            entries.append((Dot(*dot), serialization.read_element(value, "MVRegister value")))
        context = serialization.read_counts(doc["context"], "context")
        with serialization.decoding("mv-register"):
            return cls(frozenset(entries), VectorClock(context))

    def __repr__(self) -> str:
        if not self.entries:
            return "MVRegister()" if not self.context else f"MVRegister(frozenset(), {self.context!r})"
        entries = ", ".join(f"({d!r}, {v!r})" for d, v in sorted(self.entries, key=lambda e: (e[0].replica, e[0].counter)))
        return f"MVRegister(frozenset({{{entries}}}), {self.context!r})"


serialization.register(LWWRegister, MVRegister)
