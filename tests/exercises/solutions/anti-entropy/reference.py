"""The reference for exercise ``anti-entropy``: a level-by-level Merkle descent, one call per level.

(replicalab's own :class:`~replicalab.antientropy.SyncSession` runs the same
descent as a two-sided message protocol with a merge; this is its pull-only
half, against the metered :class:`~replicalab.exercises.kinds.sync.Peer`.)
"""

from __future__ import annotations

from typing import Any

from replicalab.merkle import MerkleTree


def sync(local: dict[str, bytes], peer: Any) -> dict[str, bytes | None]:
    """The changes that make ``local`` equal to the peer's store: new values, and None to delete."""
    tree = MerkleTree.build(local, fanout=peer.fanout, depth=peer.depth)
    if tree.root == peer.root():
        return {}
    fanout = peer.fanout
    frontier = [0]  # the nodes that differ at the current level, starting at the root
    for level in range(peer.depth):
        theirs = peer.children(level, frontier)
        frontier = [node * fanout + j for node in frontier
                    for j, ours in enumerate(tree.child_hashes(level, node)) if ours != theirs[node][j]]
    remote = peer.items(frontier)
    changes: dict[str, bytes | None] = {k: v for k, v in remote.items() if local.get(k) != v}
    for bucket in frontier:
        for key, _ in tree.bucket(bucket):
            if key not in remote:
                changes[key] = None  # the peer has no such key: it was deleted there
    return changes
