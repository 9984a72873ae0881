"""Planted wrong solution: the right law, but a 'fix' that takes the max per *page*.

max is a join, so every law now holds — and concurrent views of one page at two
replicas count once. The golden example catches it; the laws cannot.
"""

from __future__ import annotations

VIOLATED_LAW = "idempotent"


class FixedBag:
    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = dict(counts or {})

    def add(self, page: str, replica: str) -> FixedBag:
        return FixedBag({**self.counts, page: self.counts.get(page, 0) + 1})

    def count(self, page: str) -> int:
        return self.counts.get(page, 0)

    @property
    def value(self) -> dict[str, int]:
        return {p: n for p, n in sorted(self.counts.items()) if n}

    def merge(self, other: FixedBag) -> FixedBag:
        pages = set(self.counts) | set(other.counts)
        return FixedBag({p: max(self.counts.get(p, 0), other.counts.get(p, 0)) for p in pages})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedBag) and self.value == other.value

    def __repr__(self) -> str:
        return f"FixedBag({self.value!r})"
