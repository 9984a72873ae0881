"""Planted wrong solution: one slot per replica that goes up *and down*, merged by max.

A decrement lowers the slot, so merging an older copy (whose slot is higher)
brings the old number back: the decrement is undone. Increments are fine.
"""

from __future__ import annotations


class PNCounter:
    def __init__(self, slots: dict[str, int] | None = None) -> None:
        self.slots = dict(slots or {})

    def _add(self, replica: str, n: int) -> PNCounter:
        return PNCounter({**self.slots, replica: self.slots.get(replica, 0) + n})

    def increment(self, replica: str, n: int = 1) -> PNCounter:
        if n < 0:
            raise ValueError("n must be >= 0")
        return self._add(replica, n)

    def decrement(self, replica: str, n: int = 1) -> PNCounter:
        if n < 0:
            raise ValueError("n must be >= 0")
        return self._add(replica, -n)

    @property
    def value(self) -> int:
        return sum(self.slots.values())

    def merge(self, other: PNCounter) -> PNCounter:
        names = set(self.slots) | set(other.slots)
        return PNCounter({r: max(self.slots.get(r, 0), other.slots.get(r, 0)) for r in names})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PNCounter) and (
            {r: n for r, n in self.slots.items() if n} == {r: n for r, n in other.slots.items() if n})

    def __repr__(self) -> str:
        return f"PNCounter({dict(sorted(self.slots.items()))!r})"
