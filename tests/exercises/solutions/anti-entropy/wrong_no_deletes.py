"""Planted wrong solution: the descent and the budget are right, but deletions are never repaired.

The mistake: return the peer's items that differ from ours and stop there. A
key the peer deleted is simply absent from its items, so nothing says
"delete": the local copy survives, and the next anti-entropy round would
find the same difference again (or, syncing the other way, resurrect it).
"""

from __future__ import annotations

from typing import Any

from replicalab.merkle import MerkleTree


def sync(local: dict[str, bytes], peer: Any) -> dict[str, bytes | None]:
    tree = MerkleTree.build(local, fanout=peer.fanout, depth=peer.depth)
    if tree.root == peer.root():
        return {}
    frontier = [0]
    for level in range(peer.depth):
        theirs = peer.children(level, frontier)
        frontier = [node * peer.fanout + j for node in frontier
                    for j, ours in enumerate(tree.child_hashes(level, node)) if ours != theirs[node][j]]
    return {k: v for k, v in peer.items(frontier).items() if local.get(k) != v}
