"""Registers: one value, two ways to settle concurrent assignments.

* :class:`LWWRegister` keeps the assignment with the greatest
  ``(timestamp, replica)`` marker. Concurrent assignments are *lost* except the
  winner, and "greatest timestamp" is only "latest" if clocks agree.
* :class:`MVRegister` keeps every assignment that no other assignment has seen
  (the Dynamo / rust-crdt multi-value register): concurrent values survive
  side by side as siblings until a later assignment that saw them replaces them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import attrs

from replicalab import _validate, serialization
from replicalab.clocks import VectorClock
from replicalab.crdts import _common
from replicalab.dots import Dot
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
        kept = {
            (dot, value)
            for dot, value in mine.items()
            if dot in theirs or dot.counter > other.context.get(dot.replica)
        }
        kept |= {
            (dot, value)
            for dot, value in theirs.items()
            if dot in mine or dot.counter > self.context.get(dot.replica)
        }
        return MVRegister(frozenset(kept), self.context.merge(other.context))

    def assign_op(self, value: Hashable, *, replica: str) -> MVRegister.Assign:
        """The prepared op for ``assign(value, replica=replica)``: carries its dot and context."""
        return MVRegister.Assign(value, replica=replica).prepare(self)

    def assign_delta(self, value: Hashable, *, replica: str) -> MVRegister:
        """The smallest register whose merge equals ``assign``: one entry and the context it saw."""
        op = self.assign_op(value, replica=replica)
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
