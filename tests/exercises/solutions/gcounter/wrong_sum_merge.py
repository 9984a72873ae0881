"""Planted wrong solution: merge *adds* the slots, so a state delivered twice counts twice."""

from __future__ import annotations


class GCounter:
    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = dict(counts or {})

    def increment(self, replica: str, n: int = 1) -> GCounter:
        if n < 0:
            raise ValueError("a G-Counter only grows")
        return GCounter({**self.counts, replica: self.counts.get(replica, 0) + n})

    @property
    def value(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: GCounter) -> GCounter:
        names = set(self.counts) | set(other.counts)
        return GCounter({r: self.counts.get(r, 0) + other.counts.get(r, 0) for r in names})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GCounter) and (
            {r: n for r, n in self.counts.items() if n} == {r: n for r, n in other.counts.items() if n})

    def __repr__(self) -> str:
        return f"GCounter({dict(sorted(self.counts.items()))!r})"
