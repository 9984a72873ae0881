"""Planted wrong solution: merge keeps only the dots the *other* side has not seen, forgetting those both hold.

The mistake: ``E[x] = (E1[x] - C2) | (E2[x] - C1)`` without the
``E1[x] & E2[x]`` term. A dot both sides hold is in both contexts, so it is
dropped: ``s.merge(s)`` empties the set. Every worked example still passes;
only the join laws (idempotence) catch it.
"""

from __future__ import annotations

from typing import Any

from replicalab.dots import Dot


class ORSet:
    def __init__(self, entries: dict[Any, frozenset[Dot]] | None = None,
                 context: frozenset[Dot] = frozenset()) -> None:
        self.entries = {e: frozenset(d) for e, d in (entries or {}).items() if d}
        self.context = frozenset(context)

    @property
    def value(self) -> frozenset[Any]:
        return frozenset(self.entries)

    def __contains__(self, element: Any) -> bool:
        return element in self.entries

    def add(self, element: Any, *, replica: str) -> ORSet:
        n = max((d.counter for d in self.context if d.replica == replica), default=0)
        dot = Dot(replica, n + 1)
        return ORSet({**self.entries, element: {dot}}, self.context | {dot})

    def remove(self, element: Any) -> ORSet:
        entries = dict(self.entries)
        entries.pop(element, None)
        return ORSet(entries, self.context)

    def merge(self, other: ORSet) -> ORSet:
        entries = {}
        for x in self.entries.keys() | other.entries.keys():
            mine, theirs = self.entries.get(x, frozenset()), other.entries.get(x, frozenset())
            entries[x] = (mine - other.context) | (theirs - self.context)
        return ORSet(entries, self.context | other.context)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ORSet) and (self.entries, self.context)
                == (other.entries, other.context))

    def __hash__(self) -> int:
        return hash((frozenset(self.entries.items()), self.context))

    def __repr__(self) -> str:
        entries = ", ".join(f"{e!r}: {sorted(d)}" for e, d in sorted(self.entries.items(), key=repr))
        return f"ORSet({{{entries}}}, context={sorted(self.context)})"
