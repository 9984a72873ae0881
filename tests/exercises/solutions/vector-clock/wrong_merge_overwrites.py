"""Planted wrong solution: merge as ``{**a, **b}``, so b's entries overwrite a's.

A dict update is not a join: where a has seen more of a replica's events than
b, the merge forgets them, and a clock built on it can claim to come before an
event it has already seen.
"""

from __future__ import annotations


def compare(a: dict[str, int], b: dict[str, int]) -> str:
    replicas = a.keys() | b.keys()
    a_le_b = all(a.get(r, 0) <= b.get(r, 0) for r in replicas)
    b_le_a = all(b.get(r, 0) <= a.get(r, 0) for r in replicas)
    if a_le_b and b_le_a:
        return "equal"
    if a_le_b:
        return "before"
    if b_le_a:
        return "after"
    return "concurrent"


def merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {**a, **b}


def tick(clock: dict[str, int], replica: str) -> dict[str, int]:
    return {**clock, replica: clock.get(replica, 0) + 1}
