"""Planted wrong solution: right keys, but it reads every bucket of both trees instead of descending.

The mistake: skip the hashes and compare the trees bucket by bucket. It finds
exactly the right keys — at the cost of a full scan, ``2 * fanout**depth``
reads whatever the number of differences. The point of the tree is to read
only the paths down to the buckets that differ.
"""

from __future__ import annotations

from typing import Any


def diff(mine: Any, theirs: Any) -> list[str]:
    keys: list[str] = []
    for bucket in range(mine.fanout ** mine.depth):
        ours, others = mine.bucket(bucket), theirs.bucket(bucket)
        if ours != others:
            keys += [k for k in ours.keys() | others.keys() if ours.get(k) != others.get(k)]
    return sorted(keys)


PREDICTED_READS = "132"
