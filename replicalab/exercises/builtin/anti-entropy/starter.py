"""Exercise: anti-entropy within a byte budget (replicalab exercise ``anti-entropy``).

Fill in ``sync`` (its body raises ``NotImplementedError``). Keep the name and
signature: the checks call it. Then run::

    replicalab exercise check anti-entropy anti_entropy.py

To try it by hand, make a peer the way the check does::

    from replicalab.exercises.kinds.sync import Peer, make_stores

    local, remote, counts = make_stores(0, "try", 2000, 10, ["changed", "missing", "deleted"])
    peer = Peer(remote, fanout=16, depth=3)
    changes = sync(dict(local), peer)
    print(counts, len(changes), peer.bytes_used, peer.calls())

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations

from typing import Any

from replicalab.merkle import MerkleTree


def local_tree(local: dict[str, bytes], peer: Any) -> MerkleTree:
    """Your store's Merkle tree, in the peer's shape, so node ``i`` here is node ``i`` there.

    Building it costs no bytes: it is local work.
    """
    return MerkleTree.build(local, fanout=peer.fanout, depth=peer.depth)


def sync(local: dict[str, bytes], peer: Any) -> dict[str, bytes | None]:
    """The changes that make ``local`` equal to the peer's store.

    Return ``{key: the peer's value}`` for every key whose value differs or
    that only the peer has, and ``{key: None}`` for every key the peer does not
    have (it was deleted there). Keys that already agree may be left out.

    ``peer`` answers Merkle-tree questions about its store (tutorial chapters
    9 and 10), and charges every question and answer in bytes:

    * ``peer.fanout``, ``peer.depth``: its tree's shape (free);
    * ``peer.root()``: its root hash (64 bytes);
    * ``peer.children(level, nodes)``: ``{node: its fanout child hashes}`` for
      a node index or a list of nodes of ``level`` (``0 <= level < depth``;
      level 0 is the root; child ``j`` of node ``i`` is node ``i * fanout + j``
      one level down). About ``32 * fanout`` bytes per node, plus 32 per call;
    * ``peer.items(buckets)``: ``{key: value}`` of every key the peer holds in
      those buckets (the nodes of level ``depth``). The items' bytes, plus 32
      per call;
    * ``peer.bytes_used``: the bytes charged so far.

    Your own tree answers the same questions for free: ``local_tree(local,
    peer)`` then ``tree.root``, ``tree.child_hashes(level, node)`` and
    ``tree.bucket(b)`` (the ``(key, value digest)`` pairs of bucket ``b``).

    The budget is twice what a level-by-level descent costs on the check's
    stores: one call per level for all the nodes that differ there, then one
    ``items`` call. Sending the peer's whole store is far over it.

        >>> peer = Peer({"apple": b"1", "pear": b"2"}, fanout=4, depth=2)   # doctest: +SKIP
        >>> sync({"apple": b"1", "fig": b"3"}, peer)                       # doctest: +SKIP
        {'pear': b'2', 'fig': None}
    """
    raise NotImplementedError
