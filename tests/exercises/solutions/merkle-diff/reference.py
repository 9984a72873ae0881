"""The reference for exercise ``merkle-diff``: a level-by-level descent into differing children only.

(replicalab's own :meth:`~replicalab.merkle.MerkleTree.diff` walks the tree's
nodes directly; this is the same descent through the read-counting views.)
"""

from __future__ import annotations

from typing import Any


def diff(mine: Any, theirs: Any) -> list[str]:
    """The sorted keys whose values differ between the two trees, or that only one has."""
    if mine.root() == theirs.root():
        return []
    fanout = mine.fanout
    frontier = [0]  # the differing nodes of the current level, starting at the root
    for level in range(mine.depth):
        below = []
        for node in frontier:
            ours, others = mine.children(level, node), theirs.children(level, node)
            below += [node * fanout + j for j in range(fanout) if ours[j] != others[j]]
        frontier = below
    keys: list[str] = []
    for bucket in frontier:
        ours, others = mine.bucket(bucket), theirs.bucket(bucket)
        keys += [k for k in ours.keys() | others.keys() if ours.get(k) != others.get(k)]
    return sorted(keys)


#: Roots (2) + the children of one differing node per level on both sides (4 levels x 2 x 16)
#: + the differing bucket on both sides (2).
PREDICTED_READS = "132"
