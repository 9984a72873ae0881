"""Planted wrong solution: "before" as soon as a is smaller in *some* entry.

Smaller somewhere is not enough: a must be <= b in *every* entry. Clocks that
are smaller somewhere and bigger elsewhere are concurrent, and this compare
never says so — it sorts them as if one had seen the other.
"""

from __future__ import annotations


def compare(a: dict[str, int], b: dict[str, int]) -> str:
    replicas = a.keys() | b.keys()
    if all(a.get(r, 0) == b.get(r, 0) for r in replicas):
        return "equal"
    if any(a.get(r, 0) < b.get(r, 0) for r in replicas):
        return "before"
    return "after"


def merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in a.keys() | b.keys()}


def tick(clock: dict[str, int], replica: str) -> dict[str, int]:
    return {**clock, replica: clock.get(replica, 0) + 1}
