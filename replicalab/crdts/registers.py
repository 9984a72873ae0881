"""Registers: one value, two ways to settle concurrent assignments.

* :class:`LWWRegister` keeps the assignment with the greatest
  ``(timestamp, replica)`` marker. Concurrent assignments are *lost* except the
  winner, and "greatest timestamp" is only "latest" if clocks agree.
* :class:`MVRegister` keeps every assignment that no other assignment has seen
  (the Dynamo / rust-crdt multi-value register): concurrent values survive
  side by side as siblings until a later assignment that saw them replaces them.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.errors import ClockError, ConfigError, MergeValidationError

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

    def __attrs_post_init__(self) -> None:
        if self.timestamp is None and self.replica is None:
            return
        if self.timestamp is None or self.replica is None:
            raise ClockError(
                "an assigned LWWRegister needs both timestamp and replica (or neither, when empty); "
                f"got timestamp={self.timestamp!r}, replica={self.replica!r}"
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
        mine, theirs = self.marker, other.marker
        if theirs is None:
            return self
        if mine is None or theirs > mine:
            return other
        if theirs == mine and other.value != self.value:
            raise MergeValidationError(
                f"LWW marker {mine} carries two different values ({self.value!r} and "
                f"{other.value!r}); one (timestamp, replica) must name one assignment"
            )
        return self

    def __repr__(self) -> str:
        if self.timestamp is None:
            return "LWWRegister()"
        return f"LWWRegister({self.value!r}, timestamp={self.timestamp!r}, replica={self.replica!r})"


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

    entries: frozenset[tuple[Dot, Hashable]] = attrs.field(default=frozenset(), converter=frozenset)
    context: VectorClock = attrs.field(factory=VectorClock)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.context, VectorClock):
            raise ClockError(f"MVRegister context must be a VectorClock, got {self.context!r}")
        dots: dict[Dot, Hashable] = {}
        for entry in self.entries:
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], Dot)):
                raise MergeValidationError(
                    f"MVRegister entries are (Dot, value) pairs, got {entry!r}"
                )
            dot, value = entry
            if dot.counter > self.context.get(dot.replica):
                raise MergeValidationError(
                    f"entry dot {dot} is not covered by the register's context {self.context!r}; "
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
                f"MVRegister values must be hashable (str, int, tuple, frozenset...), got {value!r}"
            ) from None
        context = self.context.tick(replica)
        dot = Dot(replica, context.get(replica))
        return MVRegister(frozenset({(dot, value)}), context)

    def merge(self, other: MVRegister) -> MVRegister:
        """Return the join: entries both sides keep, plus entries the other side has not seen."""
        mine = dict(self.entries)
        theirs = dict(other.entries)
        for dot in mine.keys() & theirs.keys():
            if mine[dot] != theirs[dot]:
                raise MergeValidationError(
                    f"dot {dot} carries two different values ({mine[dot]!r} and "
                    f"{theirs[dot]!r}); a dot must name exactly one assignment"
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

    def __repr__(self) -> str:
        if not self.entries:
            return "MVRegister()"
        entries = ", ".join(f"({d!r}, {v!r})" for d, v in sorted(self.entries, key=lambda e: e[0]))
        return f"MVRegister(frozenset({{{entries}}}), {self.context!r})"
