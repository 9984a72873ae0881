"""Oracle ``merkle-diff``: a top-down Merkle diff through views that count every node read.

The learner's ``diff(mine, theirs)`` sees each tree only through a
:class:`TreeView`: the root hash, the child hashes of one node, the entries of
one bucket, each read counted. A case is two key/value stores; the oracle
builds their :class:`~replicalab.merkle.MerkleTree`\\ s, hands the learner two
fresh views, and compares both the keys returned and the reads made::

    {"keys": MerkleTree.diff's answer, "reads": "within the budget of B"}

The budget ``B`` is :func:`read_budget`: twice what the plain top-down descent
reads on these two trees (:func:`descent_reads`), plus one level of slack, so
any descent that only opens children whose hashes differ passes, and reading
every bucket does not (every case has at least 1,024 buckets and at most
12 differences).

    >>> a = {"apple": b"1", "pear": b"2", "plum": b"3"}
    >>> b = {"apple": b"1", "pear": b"changed", "fig": b"4"}
    >>> ta, tb = (MerkleTree.build(s, fanout=4, depth=3) for s in (a, b))
    >>> descent_reads(ta, tb), read_budget(ta, tb), ta.buckets
    (56, 120, 64)
"""

from __future__ import annotations

import random
from typing import Any

from replicalab.exercises.oracles import Oracle
from replicalab.merkle import MerkleTree
from replicalab.sim.rng import choice

__all__ = ["ORACLE", "TreeView", "descent_reads", "read_budget"]

#: Tree shapes tried: (fanout, depth), each with at least 1,024 buckets, so that reading
#: every bucket of both trees is over the budget in every case.
SHAPES = ((2, 10), (4, 5), (8, 4), (16, 3))
#: How many keys differ in a case.
DIFFERENCES = (0, 1, 1, 2, 3, 5, 8, 12)


class TreeView:
    """Read-only access to one :class:`~replicalab.merkle.MerkleTree`, counting every node read.

    * ``fanout`` and ``depth``: the tree's shape (free);
    * ``root()``: the root hash, 32 bytes (1 read);
    * ``children(level, index)``: the ``fanout`` hashes of the children of node
      ``index`` at ``level`` (``0 <= level < depth``; level 0 is the root). Child
      ``j`` is node ``index * fanout + j`` at ``level + 1`` (``fanout`` reads: one
      per hash);
    * ``bucket(index)``: ``{key: SHA-256 of its value}`` for bucket ``index``, a
      node at level ``depth`` (1 read);
    * ``reads``: the reads so far.

        >>> view = TreeView(MerkleTree.build({"apple": b"1", "pear": b"2"}, fanout=4, depth=2))
        >>> view.fanout, view.depth, len(view.root()), view.reads
        (4, 2, 32, 1)
        >>> len(view.children(0, 0)), view.reads
        (4, 5)
        >>> sorted(view.bucket(view.bucket_of("pear"))), view.reads
        (['pear'], 6)
    """

    __slots__ = ("__tree", "__reads")
    #: What a learner's code in the grading sandbox may use (the view stays in the grader).
    __judge_exposes__ = frozenset({"fanout", "depth", "reads", "root", "children", "bucket",
                                   "bucket_of"})

    def __init__(self, tree: MerkleTree) -> None:
        if not isinstance(tree, MerkleTree):
            raise TypeError(f"TreeView wraps a MerkleTree, got {type(tree).__name__}")
        self.__tree = tree
        self.__reads = 0

    @property
    def fanout(self) -> int:
        """Children per inner node."""
        return self.__tree.fanout

    @property
    def depth(self) -> int:
        """Levels below the root; the buckets are level ``depth``."""
        return self.__tree.depth

    @property
    def reads(self) -> int:
        """Node reads so far: 1 per root, ``fanout`` per ``children``, 1 per bucket."""
        return self.__reads

    def root(self) -> bytes:
        """The root hash (1 read)."""
        self.__reads += 1
        return self.__tree.root

    def children(self, level: int, index: int) -> tuple[bytes, ...]:
        """The hashes of node ``index``'s children at ``level + 1``, in order (``fanout`` reads)."""
        hashes = self.__tree.child_hashes(level, index)
        self.__reads += len(hashes)
        return hashes

    def bucket(self, index: int) -> dict[str, bytes]:
        """``{key: value digest}`` of bucket ``index`` (1 read)."""
        entries = dict(self.__tree.bucket(index))
        self.__reads += 1
        return entries

    def bucket_of(self, key: str) -> int:
        """The bucket ``key`` belongs to (free: it is a hash of the key, not a read)."""
        return self.__tree.bucket_of(key)

    def __repr__(self) -> str:
        return f"<TreeView fanout={self.fanout} depth={self.depth} reads={self.reads}>"


def descent_reads(a: MerkleTree, b: MerkleTree) -> int:
    """Node reads of the plain top-down descent over both trees.

    Read both roots; if they differ, read both sides' children of every node
    whose hashes differ, level by level; then both sides' differing buckets:
    ``2 + 2 * fanout * (m_0 + ... + m_{depth-1}) + 2 * m_depth``, with ``m_l``
    the differing nodes at level ``l``.
    """
    if a.root == b.root:
        return 2
    fanout = a.fanout
    reads, frontier = 2, [0]
    for level in range(a.depth):
        reads += 2 * fanout * len(frontier)
        nxt = []
        for node in frontier:
            ca, cb = a.child_hashes(level, node), b.child_hashes(level, node)
            nxt += [node * fanout + j for j in range(fanout) if ca[j] != cb[j]]
        frontier = nxt
    return reads + 2 * len(frontier)


def read_budget(a: MerkleTree, b: MerkleTree) -> int:
    """Twice :func:`descent_reads`, plus one level of children on both sides (``2 * fanout``)."""
    return 2 * descent_reads(a, b) + 2 * a.fanout


# -- cases ------------------------------------------------------------------------------

Case = tuple[int, int, int, tuple[tuple[str, str], ...]]


def _key(i: int) -> str:
    return f"key{i:03d}"


def _generate(rng: random.Random) -> Case:
    fanout, depth = choice(rng, SHAPES)
    n = 10 + int(rng.random() * 190)
    d = choice(rng, DIFFERENCES)
    picked: list[int] = []
    while len(picked) < d:
        i = int(rng.random() * (n + 50))
        if i not in picked:
            picked.append(i)
    changes = []
    for i in sorted(picked):
        if i >= n:
            changes.append((_key(i), "add"))
        else:
            changes.append((_key(i), "change" if rng.random() < 0.6 else "delete"))
    return fanout, depth, n, tuple(changes)


def _stores(case: Case) -> tuple[dict[str, bytes], dict[str, bytes]]:
    _, _, n, changes = case
    a = {_key(i): b"v%d" % i for i in range(n)}
    b = dict(a)
    for key, op in changes:
        if op == "delete":
            del b[key]
        else:
            b[key] = b"changed" if op == "change" else b"new"
    return a, b


def _trees(case: Case) -> tuple[MerkleTree, MerkleTree]:
    fanout, depth = case[0], case[1]
    a, b = _stores(case)
    return (MerkleTree.build(a, fanout=fanout, depth=depth),
            MerkleTree.build(b, fanout=fanout, depth=depth))


def _within(bound: int) -> str:
    return f"within the budget of {bound} reads"


def _expected(case: Case) -> dict[str, Any]:
    ta, tb = _trees(case)
    return {"keys": ta.diff(tb), "reads": _within(read_budget(ta, tb))}


def _actual(target: Any, case: Case) -> dict[str, Any]:
    ta, tb = _trees(case)
    mine, theirs = TreeView(ta), TreeView(tb)
    keys = target(mine, theirs)
    reads, bound = mine.reads + theirs.reads, read_budget(ta, tb)
    verdict = _within(bound) if reads <= bound else (
        f"{reads} reads: over the budget of {bound} (a top-down descent needs "
        f"{descent_reads(ta, tb)}; reading every bucket of both trees is {2 * ta.buckets})")
    return {"keys": keys, "reads": verdict}


def _code(name: str, case: Case) -> str:
    fanout, depth, n, changes = case
    edits = []
    for key, op in changes:
        edits.append(f"del b[{key!r}]" if op == "delete" else
                     f"b[{key!r}] = {b'changed' if op == 'change' else b'new'!r}")
    shape = f"fanout={fanout}, depth={depth}"
    lines = [
        f"# to replay: import your {name} (from merkle_diff import {name}), then run",
        "from replicalab.merkle import MerkleTree",
        "from replicalab.exercises.oracles.merkle_diff import TreeView",
        f'a = {{f"key{{i:03d}}": b"v%d" % i for i in range({n})}}',
        "b = dict(a)" + "".join(f"; {e}" for e in edits),
        f"mine = TreeView(MerkleTree.build(a, {shape}))",
        f"theirs = TreeView(MerkleTree.build(b, {shape}))",
        f"{name}(mine, theirs), mine.reads + theirs.reads",
    ]
    return "\n    ".join(lines)


ORACLE = Oracle(
    generate=_generate,
    expected=_expected,
    actual=_actual,
    code=_code,
    describe="the sorted keys that differ, and your reads of both views against the budget",
)
