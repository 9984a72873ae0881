"""The reference for exercise ``vector-clock``: replicalab's own VectorClock, on plain dicts."""

from __future__ import annotations

from replicalab.clocks import VectorClock

__all__ = ["compare", "merge", "tick"]


def compare(a: dict[str, int], b: dict[str, int]) -> str:
    return VectorClock(a).compare(VectorClock(b)).value


def merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return VectorClock(a).merge(VectorClock(b)).to_dict()


def tick(clock: dict[str, int], replica: str) -> dict[str, int]:
    return VectorClock(clock).tick(replica).to_dict()
