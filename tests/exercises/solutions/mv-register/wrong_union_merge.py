"""Planted wrong solution: merge is a plain union of siblings, so overwritten values never go.

Union is commutative, associative and idempotent — but it ignores the clocks.
A value that a later write has seen and replaced comes back the moment a stale
copy is merged in, and a write is no longer an inflation: any old state undoes it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from replicalab.clocks import VectorClock


class MVRegister:
    def __init__(self, siblings: Iterable[tuple[Hashable, VectorClock]] = ()) -> None:
        self.siblings = frozenset(siblings)

    @property
    def value(self) -> frozenset[Hashable]:
        return frozenset(value for value, _clock in self.siblings)

    def assign(self, value: Hashable, *, replica: str) -> MVRegister:
        clock = VectorClock()
        for _value, seen in self.siblings:
            clock = clock.merge(seen)
        return MVRegister({(value, clock.tick(replica))})

    def merge(self, other: MVRegister) -> MVRegister:
        return MVRegister(self.siblings | other.siblings)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MVRegister):
            return NotImplemented
        return self.siblings == other.siblings

    def __hash__(self) -> int:
        return hash(self.siblings)

    def __repr__(self) -> str:
        shown = sorted(self.siblings, key=repr)
        return f"MVRegister({shown!r})" if shown else "MVRegister()"
