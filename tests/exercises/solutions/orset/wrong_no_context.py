"""Planted wrong solution: remove forgets the removed dots (no causal context), so a stale copy resurrects.

The mistake: the set keeps only the present dots (and a counter per replica
to mint new ones), and merge unions them. After a remove nothing remembers
that ``Dot('phone', 1)`` was seen and removed, so merging with a replica that
still holds it brings the milk back — the Dynamo cart's deleted eggs.
"""

from __future__ import annotations

from typing import Any

from replicalab.dots import Dot


class ORSet:
    def __init__(self, entries: dict[Any, frozenset[Dot]] | None = None,
                 counters: dict[str, int] | None = None) -> None:
        self.entries = {e: frozenset(d) for e, d in (entries or {}).items() if d}
        self.counters = dict(counters or {})

    @property
    def value(self) -> frozenset[Any]:
        return frozenset(self.entries)

    def __contains__(self, element: Any) -> bool:
        return element in self.entries

    def add(self, element: Any, *, replica: str) -> ORSet:
        n = self.counters.get(replica, 0) + 1
        return ORSet({**self.entries, element: {Dot(replica, n)}}, {**self.counters, replica: n})

    def remove(self, element: Any) -> ORSet:
        entries = dict(self.entries)
        entries.pop(element, None)
        return ORSet(entries, self.counters)

    def merge(self, other: ORSet) -> ORSet:
        entries = {x: self.entries.get(x, frozenset()) | other.entries.get(x, frozenset())
                   for x in self.entries.keys() | other.entries.keys()}
        counters = {r: max(self.counters.get(r, 0), other.counters.get(r, 0))
                    for r in self.counters.keys() | other.counters.keys()}
        return ORSet(entries, counters)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ORSet) and (self.entries, self.counters)
                == (other.entries, other.counters))

    def __hash__(self) -> int:
        return hash((frozenset(self.entries.items()), frozenset(self.counters.items())))

    def __repr__(self) -> str:
        entries = ", ".join(f"{e!r}: {sorted(d)}" for e, d in sorted(self.entries.items(), key=repr))
        return f"ORSet({{{entries}}}, counters={self.counters})"
