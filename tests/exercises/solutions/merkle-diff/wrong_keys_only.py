"""Planted wrong solution: the descent is right, but differing buckets are compared by their keys only.

The mistake: in a differing bucket, report the keys that one side has and the
other lacks (a symmetric difference of key sets). A key both sides hold with
different values is missed, though its value digest is right there: the
bucket hash covers values, not only keys.
"""

from __future__ import annotations

from typing import Any


def diff(mine: Any, theirs: Any) -> list[str]:
    if mine.root() == theirs.root():
        return []
    fanout = mine.fanout
    frontier = [0]
    for level in range(mine.depth):
        below = []
        for node in frontier:
            ours, others = mine.children(level, node), theirs.children(level, node)
            below += [node * fanout + j for j in range(fanout) if ours[j] != others[j]]
        frontier = below
    keys: list[str] = []
    for bucket in frontier:
        keys += mine.bucket(bucket).keys() ^ theirs.bucket(bucket).keys()
    return sorted(keys)


PREDICTED_READS = "132"
