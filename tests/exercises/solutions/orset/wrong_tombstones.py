"""Planted wrong solution: remove tombstones the *element*, not the dots it saw (a 2P-Set remove).

The mistake: ``remove(x)`` records "x was removed" and merge unions the
tombstones. That is a join, so the laws hold, but a tombstone cannot tell
which adds it has seen: it deletes the laptop's concurrent add too (remove
wins), and x can never be added again.
"""

from __future__ import annotations

from typing import Any

from replicalab.dots import Dot


class ORSet:
    def __init__(self, entries: dict[Any, frozenset[Dot]] | None = None,
                 context: frozenset[Dot] = frozenset(),
                 tombstones: frozenset[Any] = frozenset()) -> None:
        self.entries = {e: frozenset(d) for e, d in (entries or {}).items() if d}
        self.context = frozenset(context)
        self.tombstones = frozenset(tombstones)

    @property
    def value(self) -> frozenset[Any]:
        return frozenset(self.entries) - self.tombstones

    def __contains__(self, element: Any) -> bool:
        return element in self.value

    def add(self, element: Any, *, replica: str) -> ORSet:
        n = max((d.counter for d in self.context if d.replica == replica), default=0)
        dot = Dot(replica, n + 1)
        entries = {**self.entries, element: self.entries.get(element, frozenset()) | {dot}}
        return ORSet(entries, self.context | {dot}, self.tombstones)

    def remove(self, element: Any) -> ORSet:
        if element not in self.entries:
            return self
        return ORSet(self.entries, self.context, self.tombstones | {element})

    def merge(self, other: ORSet) -> ORSet:
        entries = {x: self.entries.get(x, frozenset()) | other.entries.get(x, frozenset())
                   for x in self.entries.keys() | other.entries.keys()}
        return ORSet(entries, self.context | other.context, self.tombstones | other.tombstones)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ORSet) and (self.entries, self.context, self.tombstones)
                == (other.entries, other.context, other.tombstones))

    def __hash__(self) -> int:
        return hash((frozenset(self.entries.items()), self.context, self.tombstones))

    def __repr__(self) -> str:
        entries = ", ".join(f"{e!r}: {sorted(d)}" for e, d in sorted(self.entries.items(), key=repr))
        return f"ORSet({{{entries}}}, context={sorted(self.context)}, tombstones={sorted(self.tombstones, key=repr)})"
