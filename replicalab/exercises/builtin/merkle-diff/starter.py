"""Exercise: a top-down Merkle diff (replicalab exercise ``merkle-diff``).

Fill in ``diff`` (its body raises ``NotImplementedError``) and set
``PREDICTED_READS``. Keep the names and signatures: the checks call them.
Then run::

    replicalab exercise check merkle-diff merkle_diff.py

To try your diff by hand, wrap two trees in the views the check uses::

    from replicalab.merkle import MerkleTree
    from replicalab.exercises.oracles.merkle_diff import TreeView

    mine = TreeView(MerkleTree.build({"apple": b"1", "pear": b"2"}, fanout=4, depth=2))
    theirs = TreeView(MerkleTree.build({"apple": b"1", "pear": b"3"}, fanout=4, depth=2))
    print(diff(mine, theirs), mine.reads + theirs.reads)

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations

from typing import Any


def diff(mine: Any, theirs: Any) -> list[str]:
    """The sorted keys whose values differ between two Merkle trees, or that only one tree has.

    ``mine`` and ``theirs`` are read-only views of two keyspace Merkle trees
    of the same shape (tutorial chapter 9). A view offers:

    * ``view.fanout``, ``view.depth``: the shape (reading them is free);
    * ``view.root()``: the root hash (1 read);
    * ``view.children(level, index)``: the ``fanout`` hashes of the children of
      node ``index`` at ``level`` (``0 <= level < depth``, level 0 is the
      root). Child ``j`` is node ``index * fanout + j`` at ``level + 1``
      (``fanout`` reads);
    * ``view.bucket(index)``: ``{key: value digest}`` of bucket ``index``, a
      node at level ``depth`` (1 read).

    The check counts the reads of both views. The budget is about twice
    what a descent needs that opens only the children whose hashes differ;
    reading every bucket is far over it.

        >>> diff(mine, theirs)          # the two views of the module docstring
        ['pear']
    """
    raise NotImplementedError


#: Predict before you measure: two trees of fanout 16 and depth 4 differ in exactly one key.
#: How many reads does the top-down descent make on both views together (roots, children of
#: every differing node, the differing buckets)? Write the number as a string, e.g. "42".
PREDICTED_READS = ""
