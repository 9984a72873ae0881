"""Planted wrong solution: assign always overwrites, whatever its timestamp.

"The write I am doing now is the latest" is only true if every clock agrees.
An assignment stamped earlier than the one the register holds replaces it
locally, and a merge with any older copy then brings the newer value back:
the update is not an inflation, so replicas flip-flop and disagree.
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
        return LWWRegister(value, timestamp, replica)

    def merge(self, other: LWWRegister) -> LWWRegister:
        if other.marker is None:
            return self
        if self.marker is None or other.marker > self.marker:
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
