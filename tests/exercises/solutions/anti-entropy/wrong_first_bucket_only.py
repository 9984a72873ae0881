"""Planted wrong solution: descends along the first differing child only, so it repairs one bucket.

The mistake: at each level, follow the first child whose hash differs and
forget its siblings (a depth-first search that returns after the first
path). Cheap, and right when one key differs; with ten differences in ten
buckets it repairs one of them and leaves the rest diverged.
"""

from __future__ import annotations

from typing import Any

from replicalab.merkle import MerkleTree


def sync(local: dict[str, bytes], peer: Any) -> dict[str, bytes | None]:
    tree = MerkleTree.build(local, fanout=peer.fanout, depth=peer.depth)
    if tree.root == peer.root():
        return {}
    node = 0
    for level in range(peer.depth):
        theirs = peer.children(level, node)[node]
        ours = tree.child_hashes(level, node)
        j = next(j for j in range(peer.fanout) if ours[j] != theirs[j])
        node = node * peer.fanout + j
    remote = peer.items(node)
    changes: dict[str, bytes | None] = {k: v for k, v in remote.items() if local.get(k) != v}
    changes.update({key: None for key, _ in tree.bucket(node) if key not in remote})
    return changes
