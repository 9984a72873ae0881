"""Planted wrong solution: a correct FixedBag, but the wrong law named (a guess, not a check)."""

from __future__ import annotations

VIOLATED_LAW = "commutative"


class FixedBag:
    def __init__(self, slots: dict[tuple[str, str], int] | None = None) -> None:
        self.slots = dict(slots or {})

    def add(self, page: str, replica: str) -> FixedBag:
        key = (page, replica)
        return FixedBag({**self.slots, key: self.slots.get(key, 0) + 1})

    def count(self, page: str) -> int:
        return sum(n for (p, _), n in self.slots.items() if p == page)

    @property
    def value(self) -> dict[str, int]:
        return {p: self.count(p) for p in sorted({p for p, _ in self.slots}) if self.count(p)}

    def merge(self, other: FixedBag) -> FixedBag:
        keys = set(self.slots) | set(other.slots)
        return FixedBag({k: max(self.slots.get(k, 0), other.slots.get(k, 0)) for k in keys})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedBag) and self.slots == other.slots

    def __repr__(self) -> str:
        return f"FixedBag({self.slots!r})"
