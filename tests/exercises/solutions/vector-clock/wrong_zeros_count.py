"""Planted wrong solution: an explicit 0 entry makes two equal clocks look different.

``a == b`` compares the dicts, so ``{"a": 1}`` and ``{"a": 1, "b": 0}`` are not
"equal" and fall through to "before". Missing entries are 0: equality must be
entry by entry over both clocks' replicas.
"""

from __future__ import annotations


def compare(a: dict[str, int], b: dict[str, int]) -> str:
    if a == b:
        return "equal"
    a_le_b = all(n <= b.get(r, 0) for r, n in a.items())
    b_le_a = all(n <= a.get(r, 0) for r, n in b.items())
    if a_le_b:
        return "before"
    if b_le_a:
        return "after"
    return "concurrent"


def merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in a.keys() | b.keys()}


def tick(clock: dict[str, int], replica: str) -> dict[str, int]:
    return {**clock, replica: clock.get(replica, 0) + 1}
