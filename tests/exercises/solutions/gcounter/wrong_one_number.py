"""Planted wrong solution: one shared number merged by max — a join, but +1 and +1 read 1."""

from __future__ import annotations


class GCounter:
    def __init__(self, total: int = 0) -> None:
        self.total = total

    def increment(self, replica: str, n: int = 1) -> GCounter:
        if n < 0:
            raise ValueError("a G-Counter only grows")
        return GCounter(self.total + n)

    @property
    def value(self) -> int:
        return self.total

    def merge(self, other: GCounter) -> GCounter:
        return GCounter(max(self.total, other.total))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GCounter) and self.total == other.total

    def __repr__(self) -> str:
        return f"GCounter({self.total})"
