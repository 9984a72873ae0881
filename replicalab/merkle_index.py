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
  new bucket hash into its parent's (``buf[o:o + 32] = h``) instead of building a new one.
* **Hashing is deferred.** A write hashes its bucket at once and marks the node above it
  *dirty*; reading :attr:`~MerkleIndex.root` (or taking a snapshot) hashes the dirty
  nodes and their ancestors once each, one level at a time, deepest first. ``d`` writes
  under one node cost one hash of it, not ``d`` (the batch behaviour of
  ``MerkleTree.update``, for single writes too).
* **A key written again goes straight to its bucket.** The index remembers, for the keys
  it wrote since the last snapshot, the node above the key's bucket, the child slot and
  the encoded keys of the bucket, and every owned node keeps the path from itself up to
  the top; so rewriting a key (the replica's common write) walks no tree and hashes exactly
  its bucket, and a root read after one bucket changed hashes exactly its path.
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

import replicalab.merkle as _merkle
from replicalab.errors import ConfigError
from replicalab.merkle import (
    _KEY_PLACES,
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
#   [buf, kids, parent, slot, parent's buf, dirty, path]
#                             owned by this index: its hash input (a memoryview over a
#                             bytearray, changed in place), a list of children, the owned
#                             parent (None for the top), where its hash sits in the parent's
#                             hash input (a slice of it) and that input, whether it is queued for
#                             a rehash, and ``path``: ``(buf, parent's buf, slot)`` for itself and
#                             each owned ancestor below the top, bottom up (None until needed: see _path).
# An owned node's own hash is not kept in it: it sits in its parent's hash input (the top's in
# _root). An owned node is reachable only from this index's top through owned nodes: a frozen
# node never points at an owned one, so freezing walks owned nodes only.
_SPOTS_MAX = 1 << 16  # remembered keys (see _spots): about 200 bytes each, ~13 MB when full


def _heads(keys: tuple[str, ...], key: str) -> bytes | tuple[int, tuple[bytes, ...]]:
    """What rewriting ``key``'s digest in a bucket of ``keys`` (sorted) needs besides the digests:
    for a key alone, its leaf-hash input up to the digest (``0x00``, length, key); else the key's
    position and that input piece for every key (the first with the ``0x00``)."""
    parts = [len(kb).to_bytes(4, "big") + kb for kb in [k.encode("utf-8") for k in keys]]
    parts[0] = b"\x00" + parts[0]
    if len(keys) == 1:
        return parts[0]
    return keys.index(key), tuple(parts)


def _crowded(leaf: Any, head: tuple[int, tuple[bytes, ...]], digest: bytes) -> tuple[bytes, tuple[str, ...], bytes]:
    """``leaf`` (a bucket of several keys) with the digest of the key at position ``head[0]``
    replaced: the real leaf hash, over every key's piece of ``head[1]`` and digest."""
    i, parts = head
    blob = leaf[2]
    if len(parts) == 2:  # the common crowded bucket (a third of the keys at about one key per bucket)
        if i:
            old = blob[:32]
            return _sha256(parts[0] + old + parts[1] + digest).digest(), leaf[1], old + digest
        old = blob[32:]
        return _sha256(parts[0] + digest + parts[1] + old).digest(), leaf[1], digest + old
    if len(parts) == 3:  # the next most common (about a sixth of the keys)
        first, second, third = (digest, blob[32:64], blob[64:]) if i == 0 else \
            (blob[:32], digest, blob[64:]) if i == 1 else (blob[:32], blob[32:64], digest)
        return (_sha256(parts[0] + first + parts[1] + second + parts[2] + third).digest(), leaf[1],
                first + second + third)
    blob = blob[:32 * i] + digest + blob[32 * i + 32:]
    return _sha256(b"".join([part + blob[32 * k:32 * k + 32] for k, part in enumerate(parts)])).digest(), leaf[1], blob


def _path(node: list[Any]) -> tuple[tuple[memoryview, memoryview, slice], ...]:
    """``(hash input, parent's hash input, slot there)`` for owned ``node`` and each owned ancestor
    below the top, bottom up: what a root read hashes after a write below ``node`` alone."""
    path = []
    while node[2] is not None:
        path.append((node[0], node[4], node[3]))
        node = node[2]
    return tuple(path)


class MerkleIndex:
    """A mutable keyspace tree for one writer: in-place writes, deferred hashing, :class:`MerkleTree` snapshots.

    ``MerkleIndex(tree)`` starts from ``tree`` (sharing all of it; nothing is copied until a
    write). Writes (:meth:`set`, :meth:`set_digest`, :meth:`delete`, :meth:`update`,
    :meth:`update_digests`) change the index and return None. :attr:`root` hashes the dirty
    nodes and returns the root; :meth:`snapshot` returns the tree as a :class:`MerkleTree`
    value, equal to ``MerkleTree.build`` of the same pairs, that later writes never change.

    Costs: a write hashes its bucket (and the key, the first time a key is placed). The first
    write to a key since the last snapshot walks down ``depth`` levels and copies each node on
    the way that it does not own yet (its children list and hash input); a key written again
    since goes to its bucket directly. Reading the root hashes every node above a written
    bucket once, however many writes lie below it. A snapshot visits only nodes written since
    the previous one. Memory: an owned node takes about 1.2 KB at fan-out 16 (a frozen one
    about 0.9 KB); a remembered key about 200 bytes, at most 2**16 of them (forgotten when
    full, which changes only speed). The index is not thread-safe and not a value (``==``
    compares contents now; unhashable; a copy is a new index of a snapshot).
    """

    __slots__ = ("_cls", "_dirty", "_empty", "_general", "_real", "_root", "_shift", "_size", "_slices",
                 "_spots", "_top", "_walk", "depth", "fanout")

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
        self._root: bytes = tree.root
        shift, walk = _shifts(tree.fanout, tree.depth)
        #: A key's bucket is its place shifted right by this.
        self._shift: int = shift
        # The shifts that pick the child slot on the way down from the top to the buckets'
        # parents: the child picked with _walk[i] is at level i + 1.
        self._walk = walk[:-1]
        #: The empty subtree's hash at each level (index = level).
        self._empty: tuple[bytes, ...] = _empty_hashes(cls, tree.fanout, tree.depth)  # type: ignore[arg-type]  # see merkle._empty_hashes
        # Both hashes real: the node hash is inlined and frozen nodes may be shared by content.
        self._real = cls._leaf_digest is _default_leaf_digest and cls._node_digest is _default_node_digest
        # The rehash must take the general loop: other hash functions, or a bucket emptied since
        # the last rehash (then nodes whose subtrees emptied become None, as a rebuild has them).
        self._general = not self._real
        #: Owned nodes above a written bucket (the buckets' parents), each once, queued for a rehash.
        self._dirty: list[list[Any]] = []
        #: Where child ``j``'s hash sits in its parent's hash input.
        self._slices = tuple(slice(32 * j + 1, 32 * j + 33) for j in range(tree.fanout))
        # key -> (owned node above its bucket, child slot, the bucket's keys tuple, slice of the
        # bucket's hash in the node's input, its leaf-hash input pieces: see _heads): the keys this
        # index wrote since the last snapshot, for the direct rewrite in set_digest, valid while the
        # bucket holds that very keys tuple (a key joining or leaving makes a new one) and the node
        # is owned and reachable: emptied by a snapshot (which freezes every owned node) and by a
        # rehash that removes emptied nodes.
        self._spots: dict[str, tuple[list[Any], int, tuple[str, ...], slice, Any]] = {}

    # -- reading ---------------------------------------------------------------------
    @property
    def root(self) -> bytes:
        """The 32-byte root hash, equal to ``MerkleTree.build(...).root`` of the index's pairs."""
        dirty = self._dirty
        if dirty:
            if len(dirty) == 1 and not self._general:
                # Writes below one node since the last read (the single write's case): what is
                # stale is that node's path, hashed bottom up with no queue.
                node = dirty[0]
                node[5] = False
                dirty.clear()
                sha = _sha256
                path = node[6]
                if path is None:  # made once per owned node, when first needed
                    path = node[6] = _path(node)
                for buf, up, where in path:
                    up[where] = sha(buf).digest()
                self._root = root = sha(self._top[0]).digest()
                return root
            self._rehash()
        return self._root

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

        Hashes the dirty nodes, then freezes the nodes written since the last snapshot into
        the tree's immutable form (the index keeps using them: the next write below one
        copies it). Equal subtrees made by other replicas are shared, as
        :meth:`MerkleTree.update` shares them.
        """
        root = self.root
        if type(self._top) is list:
            collecting = gc.isenabled()
            gc.disable()  # the frozen nodes form no cycles (see MerkleTree.build)
            try:
                self._top = self._freeze(self._top, root)
            finally:
                if collecting:
                    gc.enable()
            self._spots.clear()  # their nodes are frozen now: a write copies them again
        return self._cls._make(self.fanout, self.depth, self._top, self._size)

    def _freeze(self, node: list[Any], h: bytes) -> Any:
        """The frozen tuple of owned ``node`` whose hash is ``h`` (its owned descendants frozen first)."""
        buf, kids = node[0], node[1]
        slices = self._slices
        for i, kid in enumerate(kids):
            if type(kid) is list:
                kids[i] = self._freeze(kid, bytes(buf[slices[i]]))
        blob = bytes(buf)
        if self._real:
            shared = _merkle._SHARED
            found = shared.get(blob)
            if found is not None:
                return found
            frozen = (h, tuple(kids), blob)
            if len(shared) >= _merkle._SHARED_MAX:
                shared.clear()
            shared[blob] = frozen
            return frozen
        return (h, tuple(kids), blob)

    # -- writes (in place; None) -------------------------------------------------------
    def set(self, key: str, value: bytes) -> None:
        """Set ``key`` to ``value`` (bytes): as :meth:`MerkleTree.set`, in place."""
        if type(value) is bytes:
            self.set_digest(key, _sha256(value).digest())
            return
        if type(key) is str:
            _place(key)  # a bad key is explained before a bad value, as MerkleTree.set does
        self.set_digest(key, _value_digest(key, value))

    def set_digest(self, key: str, digest: bytes) -> None:
        """Set ``key``'s value digest (32 bytes, SHA-256 of the value): as :meth:`MerkleTree.set_digest`, in place."""
        spot = self._spots.get(key) if type(key) is str else None
        if spot is not None and type(digest) is bytes and len(digest) == HASH_SIZE:
            # A key written since the last snapshot: rewrite its bucket in place, walking no tree.
            node, j, keys, where, head = spot
            kids = node[1]
            leaf = kids[j]
            if leaf is not None and leaf[1] is keys:  # the bucket still holds the same keys
                if type(head) is bytes:  # the key alone in its bucket
                    h = _sha256(head + digest).digest()
                    kids[j] = (h, keys, digest)
                else:
                    leaf = kids[j] = _crowded(leaf, head, digest)
                    h = leaf[0]
                node[0][where] = h
                if not node[5]:
                    node[5] = True
                    self._dirty.append(node)
                return
        place = _KEY_PLACES.get(key) if type(key) is str else None  # placed before: no hash
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
        if type(changes) is dict and len(changes) == 1:  # one key set: the single write, one call sooner
            ((key, value),) = changes.items()
            if value is not None:
                self.set_digest(key, value)
                return
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
        # Validate every change before applying one. A key remembered in _spots was placed
        # (so it is a valid key) and needs no place; its change is applied directly below.
        spots = self._spots
        checked: list[tuple[str, Any, bytes | None]] = []
        append = checked.append
        for key, value in changes.items():
            if value is None:
                append((key, _place(key), None))
                continue
            if digests:
                if type(value) is bytes and len(value) == HASH_SIZE:
                    spot = spots.get(key) if type(key) is str else None
                    append((key, _place(key) if spot is None else spot, value))
                    continue
                place = _place(key)
                vd = _check_digest(key, value)
            else:
                place = _place(key)
                vd = _sha256(value).digest() if type(value) is bytes else _value_digest(key, value)
            spot = spots.get(key) if type(key) is str else None
            append((key, place if spot is None else spot, vd))
        sha = _sha256
        dirty = self._dirty
        write = self._write
        for key, where, change in checked:
            if type(where) is tuple and change is not None:
                node, j, keys, slot, head = where
                kids = node[1]
                leaf = kids[j]
                if leaf is not None and leaf[1] is keys:  # as in set_digest
                    if type(head) is bytes:
                        h = sha(head + change).digest()
                        kids[j] = (h, keys, change)
                    else:
                        leaf = kids[j] = _crowded(leaf, head, change)
                        h = leaf[0]
                    node[0][slot] = h
                    if not node[5]:
                        node[5] = True
                        dirty.append(node)
                    continue
                where = _place(key)  # an earlier change in this batch moved in beside it
            write(key, where, change)

    def _write(self, key: str, place: int, vd: bytes | None) -> None:
        """Put ``vd`` (None: delete) for ``key`` at ``place``: copy the path's frozen nodes, hash the
        new bucket into its parent's hash input, queue that parent for the rehash."""
        depth = self.depth
        if depth == 0:  # the root is the only bucket: a leaf, never owned
            new: Any
            new, size = _new_leaf(self._cls._leaf_digest, self._top, [(key, vd)], self._size)
            if new is not _UNCHANGED:
                self._top, self._size = new, size
                self._root = self._empty[0] if new is None else new[0]
            return
        b = place >> self._shift
        if vd is None and not self._holds(key, b):
            return  # deleting an absent key: copy nothing (an owned empty node would outlive it)
        mask = self.fanout - 1
        node = self._top
        if type(node) is not list:
            node = self._top = self._own(node, 0, None, 0)
        lvl = 0
        for shift in self._walk:
            lvl += 1
            j = (b >> shift) & mask
            child = node[1][j]
            if type(child) is not list:
                child = node[1][j] = self._own(child, lvl, node, j)
            node = child
        j = b & mask
        leaf = node[1][j]
        if vd is not None and self._real and type(key) is str and (leaf is None or leaf[1] == (key,)):
            # The common first write of a key (new, or alone in its bucket): the leaf hash inline,
            # and the key remembered for the direct rewrite.
            kb = key.encode("utf-8")
            head: Any = b"\x00" + len(kb).to_bytes(4, "big") + kb
            keys = (key,) if leaf is None else leaf[1]
            new = (_sha256(head + vd).digest(), keys, vd)
            if leaf is None:
                self._size += 1
        else:
            new, self._size = _new_leaf(self._cls._leaf_digest, leaf, [(key, vd)], self._size)
            if new is _UNCHANGED:
                return
            if new is None:
                node[1][j] = None
                node[0][self._slices[j]] = self._empty[depth]
                self._general = True
                if not node[5]:
                    node[5] = True
                    self._dirty.append(node)
                return
            keys = new[1]
            head = _heads(keys, key) if vd is not None and self._real and type(key) is str else None
        node[1][j] = new
        node[0][self._slices[j]] = new[0]
        if head is not None:
            spots = self._spots
            if len(spots) >= _SPOTS_MAX:
                spots.clear()
            spots[key] = (node, j, keys, self._slices[j], head)
        if not node[5]:
            node[5] = True
            self._dirty.append(node)

    def _holds(self, key: str, bucket: int) -> bool:
        """Whether ``key`` (in ``bucket``) is in the index, read without copying anything."""
        mask = self.fanout - 1
        node = self._top
        for shift in _shifts(self.fanout, self.depth)[1]:
            if node is None:
                return False
            node = node[1][(bucket >> shift) & mask]
        return node is not None and key in node[1]

    def _own(self, node: Any, lvl: int, parent: list[Any] | None, j: int) -> list[Any]:
        """An owned copy of frozen inner ``node`` at ``lvl`` (None: a new empty node), child ``j``
        of owned ``parent`` (None for the top).

        Its place never changes while it is owned, so it keeps where its hash goes in the
        parent's hash input, and the path up to the top (for the single write's rehash). The
        hash input is a memoryview over a bytearray: storing a child hash through it costs about
        a third of a bytearray slice assignment.
        """
        if node is None:
            buf = memoryview(bytearray(b"\x01" + self._empty[lvl + 1] * self.fanout))
            kids: list[Any] = [None] * self.fanout
        else:
            buf, kids = memoryview(bytearray(node[2])), list(node[1])
        if parent is None:
            return [buf, kids, None, None, None, False, ()]  # the top's path up is empty
        where = self._slices[j]
        return [buf, kids, parent, where, parent[0], False, None]  # its path: see _path

    def _rehash(self) -> None:
        """Hash every dirty node and its ancestors once, one level at a time, deepest first."""
        dirty = self._dirty
        if not dirty:
            return
        top = self._top
        if not self._general:
            sha = _sha256
            level = dirty
            for _ in range(self.depth - 1):  # the buckets' parents' level up to the top's children
                up: list[list[Any]] = []
                for node in level:
                    buf, _, parent, where, into, _, _ = node  # one unpack: cheaper than four lookups
                    node[5] = False
                    into[where] = sha(buf).digest()
                    if not parent[5]:
                        parent[5] = True
                        up.append(parent)
                level = up
            top[5] = False
            dirty.clear()
            self._root = sha(top[0]).digest()
            return
        # Planted-bug hash functions, or a bucket emptied: the general loop. A node whose
        # children are all empty hashes to exactly the empty subtree's hash; it is marked
        # (children None) and its parent, one level up, replaces it with None, as a rebuild has it.
        real, node_digest, fanout, empty = self._real, self._cls._node_digest, self.fanout, self._empty
        level = list(dirty)
        dirty.clear()
        pruned = False
        lvl = self.depth - 1
        while True:
            up = []
            for node in level:
                node[5] = False
                kids = node[1]
                kids[:] = [None if type(k) is list and k[1] is None else k for k in kids]
                if kids.count(None) == fanout:
                    node[1] = None
                    pruned = True
                    h = empty[lvl]
                else:
                    h = _sha256(node[0]).digest() if real else node_digest(bytes(node[0][1:]))
                if lvl == 0:
                    self._root = h
                    if node[1] is None:
                        self._top = None
                    continue
                node[4][node[3]] = h
                parent = node[2]
                if not parent[5]:
                    parent[5] = True
                    up.append(parent)
            if lvl == 0:
                break
            level = up
            lvl -= 1
        if pruned:
            self._spots.clear()  # some of the nodes they name are gone
        self._general = not real
