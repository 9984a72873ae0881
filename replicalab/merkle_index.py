"""A keyspace tree one writer updates in place, handing out :class:`~replicalab.merkle.MerkleTree` snapshots.

A :class:`~replicalab.merkle.MerkleTree` is a value: every ``set`` returns a new tree and
copies the path above the changed bucket (per level a list of children, a tuple, a new
hash input). Correct and shareable, but in CPython that copying costs more than the
SHA-256 calls themselves. A replica that writes many times between two sync sessions
needs a tree value only when a session starts. :class:`MerkleIndex` is the replica's own
copy of the tree for the writes in between, as Clojure's *transients* are for its
persistent vectors:

* **Owned nodes are updated in place.** An inner node the index made itself holds its
  hash input (``0x01`` and the children's hashes) in a ``bytearray``; a write stores the
  new child hash into it (``buf[o:o + 32] = h``) instead of building a new one.
* **Hashing is deferred.** A write hashes its bucket at once and marks the inner nodes
  above it *stale*; reading :attr:`~MerkleIndex.root` (or taking a snapshot) hashes each
  stale node once, deepest first. ``d`` writes under one node cost one hash of it, not
  ``d`` (the batch behaviour of ``MerkleTree.update``, for single writes too).
* **Copy on write.** Nodes the index did not make (those of the tree it started from,
  and those of every snapshot it handed out) are never changed: the first write below
  one copies it, once. :meth:`~MerkleIndex.snapshot` freezes the owned nodes into the
  tree's immutable node form and keeps using them, so a snapshot shares everything and
  never sees a later write.

Contract: after any sequence of writes, ``index.root`` and ``index.snapshot()`` equal
``MerkleTree.build`` of the same key/value pairs, byte for byte; a snapshot (or the tree
the index started from) never changes afterwards. A rejected call raises
:class:`~replicalab.errors.ConfigError` and changes nothing.

    >>> from replicalab.merkle import MerkleTree
    >>> start = MerkleTree.build({"apple": b"1"}, depth=2)
    >>> index = MerkleIndex(start)
    >>> index.set("pear", b"2")                       # in place: returns None
    >>> before = index.snapshot()
    >>> index.delete("apple")
    >>> before == MerkleTree.build({"apple": b"1", "pear": b"2"}, depth=2)   # not changed by the delete
    True
    >>> index.snapshot() == MerkleTree.build({"pear": b"2"}, depth=2), len(start)
    (True, 1)
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from replicalab.errors import ConfigError
from replicalab.merkle import (
    _KEY_PLACES,
    _LENGTHS,
    _SHARED,
    _SHARED_MAX,
    _UNCHANGED,
    HASH_SIZE,
    MerkleTree,
    _check_digest,
    _default_leaf_digest,
    _default_node_digest,
    _empty_hashes,
    _new_leaf,
    _place,
    _shifts,
    _value_digest,
)
from replicalab.rfc6962 import _sha256

__all__ = ["MerkleIndex"]

# Node forms inside an index (leaves are always the tree's immutable leaf tuples):
#   None                      an empty subtree
#   (hash, kids, blob)        frozen: the tree's node tuple, shared, never changed
#   [hash, kids, buf, parent buf, slice, level]
#                             owned by this index: a list of children and a memoryview over a
#                             bytearray hash input, changed in place; hash is None while stale;
#                             where its hash goes in its parent's input (see _own).
# An owned node is reachable only from this index's top through owned nodes: a frozen node
# never points at an owned one, so freezing walks owned nodes only.


class MerkleIndex:
    """A mutable keyspace tree for one writer: in-place writes, deferred hashing, :class:`MerkleTree` snapshots.

    ``MerkleIndex(tree)`` starts from ``tree`` (sharing all of it; nothing is copied until a
    write). Writes (:meth:`set`, :meth:`set_digest`, :meth:`delete`, :meth:`update`,
    :meth:`update_digests`) change the index and return None. :attr:`root` hashes the stale
    nodes and returns the root; :meth:`snapshot` returns the tree as a :class:`MerkleTree`
    value, equal to ``MerkleTree.build`` of the same pairs, that later writes never change.

    Costs: a write hashes its bucket (and the key, the first time a key is placed) and walks
    down ``depth`` levels; the first write below a node since the last snapshot copies that
    node (its children list and hash input). Reading the root hashes every stale inner node
    once, however many writes lie below it. A snapshot visits only nodes written since the
    previous one. The index is not thread-safe and not a value (``==`` compares contents now;
    unhashable; a copy is a new index of a snapshot).
    """

    __slots__ = ("_cls", "_emptied", "_real", "_shifts", "_size", "_slices", "_stale", "_top", "_walk", "depth",
                 "fanout")

    def __init__(self, tree: MerkleTree) -> None:
        if not isinstance(tree, MerkleTree):
            raise ConfigError(
                f"MerkleIndex starts from a MerkleTree (e.g. MerkleTree.empty() or MerkleTree.build(...)), "
                f"got {type(tree).__name__}")
        cls = type(tree)
        #: The tree class (its hash functions) snapshots are made of.
        self._cls = cls
        self.fanout: int = tree.fanout
        self.depth: int = tree.depth
        self._top: Any = tree._top
        self._size: int = len(tree)
        self._shifts = _shifts(tree.fanout, tree.depth)
        # Both hashes real: the node hash is inlined and frozen nodes may be shared by content.
        self._real = cls._leaf_digest is _default_leaf_digest and cls._node_digest is _default_node_digest
        # The stale owned nodes below the top (the top is stale when its hash is None), in the
        # order they became stale. A write marks its path top-down and a node's parent is stale
        # before it is, so this list read backwards hashes every child before its parent.
        self._stale: list[list[Any]] = []
        # The shifts that pick the child slot on the way down from the top to the buckets' parents
        # (distinct: the level of the child copied at shifts[i] is i + 1).
        self._walk = self._shifts[1][:-1]
        #: Where child ``j``'s hash sits in its parent's hash input.
        self._slices = tuple(slice(32 * j + 1, 32 * j + 33) for j in range(tree.fanout))
        self._emptied = False  # a bucket emptied since the last rehash: check for empty subtrees

    # -- reading ---------------------------------------------------------------------
    @property
    def root(self) -> bytes:
        """The 32-byte root hash, equal to ``MerkleTree.build(...).root`` of the index's pairs."""
        self._rehash()
        top = self._top
        if top is None:
            return _empty_hashes(self._cls, self.fanout, self.depth)[0]  # type: ignore[arg-type]  # see merkle._empty_hashes
        return top[0]

    def __len__(self) -> int:
        return self._size

    def __eq__(self, other: object) -> bool:
        """Equal when they hold the same pairs in the same shape (equal snapshots)."""
        if not isinstance(other, MerkleIndex):
            return NotImplemented
        return (self._cls, self.fanout, self.depth, self.root) == (other._cls, other.fanout, other.depth, other.root)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __copy__(self) -> MerkleIndex:
        """An independent index of the same pairs (from a snapshot: the two share frozen nodes only)."""
        return MerkleIndex(self.snapshot())

    def __deepcopy__(self, memo: dict[int, Any]) -> MerkleIndex:
        return self.__copy__()

    def __repr__(self) -> str:
        return f"<MerkleIndex fanout={self.fanout} depth={self.depth} keys={self._size} root={self.root.hex()[:16]}...>"

    def snapshot(self) -> MerkleTree:
        """The index's tree as a :class:`MerkleTree` value; later writes to the index never change it.

        Hashes the stale nodes, then freezes the nodes written since the last snapshot into
        the tree's immutable form (the index keeps using them: the next write below one
        copies it). Equal subtrees made by other replicas are shared, as
        :meth:`MerkleTree.update` shares them.
        """
        self._rehash()
        collecting = gc.isenabled()
        gc.disable()  # the frozen nodes form no cycles (see MerkleTree.build)
        try:
            if type(self._top) is list:
                self._top = self._freeze(self._top)
        finally:
            if collecting:
                gc.enable()
        return self._cls._make(self.fanout, self.depth, self._top, self._size)

    def _freeze(self, node: list[Any]) -> Any:
        """The frozen tuple of owned ``node`` (its owned descendants frozen first)."""
        kids = node[1]
        for i, kid in enumerate(kids):
            if type(kid) is list:
                kids[i] = self._freeze(kid)
        blob = bytes(node[2])
        if self._real:
            found = _SHARED.get(blob)
            if found is not None:
                return found
            frozen = (node[0], tuple(kids), blob)
            if len(_SHARED) >= _SHARED_MAX:
                _SHARED.clear()
            _SHARED[blob] = frozen
            return frozen
        return (node[0], tuple(kids), blob)

    # -- writes (in place; None) -------------------------------------------------------
    def set(self, key: str, value: bytes) -> None:
        """Set ``key`` to ``value`` (bytes): as :meth:`MerkleTree.set`, in place."""
        place = _place(key)
        vd = _sha256(value).digest() if type(value) is bytes else _value_digest(key, value)
        self._write(key, place, vd)

    def set_digest(self, key: str, digest: bytes) -> None:
        """Set ``key``'s value digest (32 bytes, SHA-256 of the value): as :meth:`MerkleTree.set_digest`, in place."""
        place = _KEY_PLACES.get(key) if type(key) is str else None  # the hot path: placed before
        if place is None:
            place = _place(key)  # hashes, caches, or raises the explanation
        vd = digest if type(digest) is bytes and len(digest) == HASH_SIZE else _check_digest(key, digest)
        self._write(key, place, vd)

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens if it is absent)."""
        self._write(key, _place(key), None)

    def update(self, changes: Mapping[str, bytes | None]) -> None:
        """Apply every ``key: value`` of ``changes`` (``None`` deletes); all checked before any is applied."""
        self._batch(changes, digests=False)

    def update_digests(self, changes: Mapping[str, bytes | None]) -> None:
        """Like :meth:`update`, given each value's 32-byte digest instead of the value."""
        self._batch(changes, digests=True)

    def _batch(self, changes: Mapping[str, bytes | None], *, digests: bool) -> None:
        if type(changes) is not dict and not isinstance(changes, Mapping):
            what = "value digest (32 bytes)" if digests else "value bytes"
            name = "update_digests" if digests else "update"
            raise ConfigError(f"{name} takes a mapping of key -> {what} or None, got {type(changes).__name__}")
        if len(changes) == 1:  # one change: the single write's path, without the batch's list
            ((key, value),) = changes.items()
            if value is None:
                self.delete(key)
            elif digests:
                self.set_digest(key, value)
            else:
                self.set(key, value)
            return
        checked: list[tuple[str, int, bytes | None]] = []
        for key, value in changes.items():  # validate every change before applying one
            place = _place(key)
            if value is None:
                vd = None
            elif digests:
                vd = value if type(value) is bytes and len(value) == HASH_SIZE else _check_digest(key, value)
            else:
                vd = _sha256(value).digest() if type(value) is bytes else _value_digest(key, value)
            checked.append((key, place, vd))
        write = self._write
        for key, place, vd in checked:
            write(key, place, vd)

    def _write(self, key: str, place: int, vd: bytes | None) -> None:
        """Put ``vd`` (None: delete) for ``key`` at ``place``: copy the path's frozen nodes, mark
        them stale, hash the new bucket into its parent's hash input.

        Marking on the way down (before the bucket is known to change) costs nothing but a
        needless rehash when a key is set to the digest it had.
        """
        depth = self.depth
        b = place >> self._shifts[0]
        if depth == 0:  # the root is the only bucket: a leaf, never owned
            new: Any
            new, size = _new_leaf(self._cls._leaf_digest, self._top, [(key, vd)], self._size)
            if new is not _UNCHANGED:
                self._top, self._size = new, size
            return
        if vd is None and not self._holds(key, b):
            return  # deleting an absent key: copy nothing (an owned empty node would outlive it)
        mask = self.fanout - 1
        node = self._top
        if type(node) is not list:
            node = self._top = self._own(node, 0, None, 0)
        node[0] = None  # the top's staleness is its own hash being None
        stale = self._stale
        for shift in self._walk:
            j = (b >> shift) & mask
            child = node[1][j]
            if type(child) is not list:
                child = node[1][j] = self._own(child, self._walk.index(shift) + 1, node[2], j)
            if child[0] is not None:
                child[0] = None
                stale.append(child)
            node = child
        j = b & mask
        leaf = node[1][j]
        if vd is not None and self._real and (leaf is None or leaf[1] == (key,)):
            # The common write: a bucket of this one key (new or replaced), its hash inline.
            kb = key.encode("utf-8")
            if len(kb) < 256:
                new = (_sha256(b"\x00" + _LENGTHS[len(kb)] + kb + vd).digest(), (key,), vd)
            else:
                new = (_default_leaf_digest((kb,), vd), (key,), vd)
            if leaf is None:
                self._size += 1
        else:
            new, self._size = _new_leaf(self._cls._leaf_digest, leaf, [(key, vd)], self._size)
            if new is _UNCHANGED:
                return
        node[1][j] = new
        if new is None:
            node[2][self._slices[j]] = _empty_hashes(self._cls, self.fanout, depth)[depth]  # type: ignore[arg-type]  # see merkle._empty_hashes
            self._emptied = True
        else:
            node[2][self._slices[j]] = new[0]

    def _holds(self, key: str, bucket: int) -> bool:
        """Whether ``key`` (in ``bucket``) is in the index, read without copying anything."""
        mask = self.fanout - 1
        node = self._top
        for shift in self._shifts[1]:
            if node is None:
                return False
            node = node[1][(bucket >> shift) & mask]
        return node is not None and key in node[1]

    def _own(self, node: Any, lvl: int, parent: memoryview | None, j: int) -> list[Any]:
        """An owned copy of frozen inner ``node`` at ``lvl`` (None: a new empty node), child ``j``
        of the owned node whose hash input is ``parent`` (None for the top).

        An owned node is ``[hash, children, hash input, parent's hash input, slice of its hash
        there, level]``: its place never changes while it is owned, so a rehash writes the new hash
        straight into the parent. The hash input is a memoryview over a bytearray: storing a
        child hash through it costs about a third of a bytearray slice assignment.
        """
        where = None if parent is None else self._slices[j]
        if node is None:
            empty = _empty_hashes(self._cls, self.fanout, self.depth)  # type: ignore[arg-type]  # see merkle._empty_hashes
            buf = memoryview(bytearray(b"\x01" + empty[lvl + 1] * self.fanout))
            return [empty[lvl], [None] * self.fanout, buf, parent, where, lvl]
        return [node[0], list(node[1]), memoryview(bytearray(node[2])), parent, where, lvl]

    def _rehash(self) -> None:
        """Hash every stale node once, deepest level first, into its parent's hash input."""
        top = self._top
        if type(top) is not list or top[0] is not None:
            return  # nothing stale (a stale node's ancestors are stale, so the top is)
        if self._real and not self._emptied:
            sha = _sha256
            stale = self._stale
            for node in reversed(stale):
                h = node[0] = sha(node[2]).digest()
                node[3][node[4]] = h
            stale.clear()
            top[0] = sha(top[2]).digest()
            return
        # Planted-bug hash functions, or a bucket emptied: the general loop. A node whose
        # children are all empty hashes to exactly the empty subtree's hash; it is marked
        # (children None) and its parent, one level up, replaces it with None, as a rebuild has it.
        real, node_digest, fanout, emptied = self._real, self._cls._node_digest, self.fanout, self._emptied
        empty = _empty_hashes(self._cls, fanout, self.depth)  # type: ignore[arg-type]  # see merkle._empty_hashes

        def digest(node: list[Any], lvl: int) -> bytes:
            kids = node[1]
            if emptied:
                kids[:] = [None if type(k) is list and k[1] is None else k for k in kids]
                if kids.count(None) == fanout:
                    node[1] = None
                    return empty[lvl]
            h: bytes = _sha256(node[2]).digest() if real else node_digest(bytes(node[2][1:]))
            node[0] = h
            return h

        for node in reversed(self._stale):
            node[3][node[4]] = digest(node, node[5])
        self._stale.clear()
        digest(top, 0)
        if top[1] is None:
            self._top = None
        self._emptied = False
