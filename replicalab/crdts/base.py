"""The contract every CRDT in :mod:`replicalab.crdts` keeps, written down once.

:class:`StateCRDT` is a :class:`typing.Protocol`: it adds no code, it names
what ``GCounter``, ``ORSet``, ``ORMap`` and the rest already promise, the way a
trait does in a language that has them. A learner's own CRDT conforms by
having the same methods; ``isinstance(x, StateCRDT)`` checks that it has them
(not that it keeps the laws — :func:`replicalab.testing.check_crdt` does that).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["StateCRDT"]

S = TypeVar("S", bound="StateCRDT")


@runtime_checkable
class StateCRDT(Protocol):
    """A state-based CRDT (a CvRDT): an immutable value that merges itself.

    Contract, for every state ``a``, ``b``, ``c`` a type can reach from its
    no-argument constructor by its own verbs and merges:

    * ``value`` — what a reader sees (an int, a frozenset of siblings, a dict).
      Equal states have equal values; the converse need not hold (two sets
      with the same elements may remember different removes).
    * ``merge(other)`` — a **join** (least upper bound) in the type's partial
      order: commutative ``a.merge(b) == b.merge(a)``, associative
      ``a.merge(b).merge(c) == a.merge(b.merge(c))`` and idempotent
      ``a.merge(a) == a``. So replicas that have received the same states, in
      any order, any number of times, are equal: they converge. Merging two
      states no run could have produced together (one dot naming two values,
      one LWW marker carrying two writes) raises
      :class:`~replicalab.errors.MergeValidationError` instead of picking one.
    * ``apply(op)`` — the state after one op value of this type (e.g.
      ``GCounter.Increment("a", 3)``); every op is an **inflation**:
      ``a.merge(a.apply(op)) == a.apply(op)``. Valid op orders differ by type
      and are stated in each type's docstring: counter ops must be delivered
      exactly once; prepared ops of the causal types (``ORSet``,
      ``MVRegister``, ``ORMap``) and LWW writes are idempotent and commute.
    * ``to_json()`` — canonical JSON (sorted keys, versioned ``format``), so
      equal states give equal bytes; ``Type.from_json`` reads it back.

    Verbs never change ``self``; they return new values (``c = c.apply(op)``).

        >>> from replicalab.crdts import GCounter, StateCRDT
        >>> c = GCounter().apply(GCounter.Increment("a", 3))
        >>> isinstance(c, StateCRDT), c.value, c.merge(c) == c
        (True, 3, True)
    """

    @property
    def value(self) -> Any:
        """What a reader of this state sees."""
        ...

    def merge(self: S, other: S) -> S:
        """The join of ``self`` and ``other`` (commutative, associative, idempotent); a new value."""
        ...

    def apply(self: S, op: Any) -> S:
        """The state after ``op``, one op value of this type; an inflation; a new value."""
        ...

    def to_json(self) -> str:
        """Canonical JSON of this state."""
        ...
