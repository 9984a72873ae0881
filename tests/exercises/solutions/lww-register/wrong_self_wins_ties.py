"""Planted wrong solution: equal timestamps go to whichever register merge was called on.

Only the timestamp is compared, so on a tie ``a.merge(b)`` keeps a's value and
``b.merge(a)`` keeps b's: merge is not commutative, and two replicas that
exchange states keep different values forever. The replica id must break ties.
"""

from __future__ import annotations

from typing import Any


class LWWRegister:
    def __init__(self, value: Any = None, timestamp: int | None = None,
                 replica: str | None = None) -> None:
        self.value = value
        self.timestamp = timestamp
        self.replica = replica

    @property
    def marker(self) -> tuple[int, str] | None:
        return None if self.timestamp is None else (self.timestamp, self.replica)

    def assign(self, value: Any, timestamp: int, replica: str) -> LWWRegister:
        return self.merge(LWWRegister(value, timestamp, replica))

    def merge(self, other: LWWRegister) -> LWWRegister:
        if other.timestamp is None:
            return self
        if self.timestamp is None or other.timestamp > self.timestamp:
            return other
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LWWRegister):
            return NotImplemented
        return ((self.value, self.timestamp, self.replica)
                == (other.value, other.timestamp, other.replica))

    def __hash__(self) -> int:
        return hash((self.value, self.timestamp, self.replica))

    def __repr__(self) -> str:
        if self.timestamp is None:
            return "LWWRegister()"
        return f"LWWRegister({self.value!r}, {self.timestamp!r}, {self.replica!r})"
