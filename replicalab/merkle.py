"""Merkle trees: the keyspace tree for anti-entropy (and RFC 6962 trees, re-exported).

The librarian's trick: to check that two libraries hold the same books, fingerprint
every shelf, then every aisle from its shelves' fingerprints, then the building
from its aisles'. Equal building fingerprints mean equal libraries; different ones
send you only down the aisles whose fingerprints differ.

Both tools here hash with SHA-256 and *domain separation*: a leaf is hashed as
``SHA-256(0x00 || leaf data)`` and an inner node as ``SHA-256(0x01 || child hashes)``,
so no leaf can ever pass for an inner node. Python's ``hash()`` is never used and
children are never combined with XOR.

**RFC 6962 (Certificate Transparency) trees** over an ordered list of leaves live in
:mod:`replicalab.rfc6962` and are importable from here (:func:`rfc6962_root`,
:func:`inclusion_proof`, :func:`verify_inclusion`).

**Keyspace trees** (:class:`MerkleTree`) over a mapping ``key -> value bytes``, for
anti-entropy between replicas. The shape is fixed by ``fanout`` and ``depth``, not by
the data, so two replicas with the same keys and values have the same root whatever
order they learned them in, and the same key always sits in the same bucket:

* a key lives in bucket ``b`` = the first ``depth * log2(fanout)`` bits of
  ``SHA-256(key as UTF-8)`` (so buckets fill evenly and keys cannot be steered);
* a bucket's leaf hash covers its ``(key, SHA-256(value))`` pairs sorted by key, in a
  length-prefixed encoding: ``SHA-256(0x00 || for each pair: len(key) as 4 bytes
  big-endian || key || value digest)``. Values count, not only keys; an empty
  bucket hashes like an empty encoding, ``SHA-256(0x00)``;
* an inner node hashes its ``fanout`` children in order: ``SHA-256(0x01 || c0 || c1 ...)``.
  With ``fanout=2`` this is RFC 6962's node hash, so a binary keyspace tree's root
  equals :func:`rfc6962_root` over its ``2**depth`` bucket encodings.

    >>> a = MerkleTree.build({"apple": b"1", "pear": b"2"}, fanout=4, depth=2)
    >>> b = MerkleTree.build({"pear": b"2", "apple": b"1"}, fanout=4, depth=2)
    >>> a == b                                  # insertion order does not matter
    True
    >>> a.diff(b.set("pear", b"3").set("plum", b"4"))
    ['pear', 'plum']

This module is one job and stays whole (about 1,000 lines): the keyspace tree's shape,
bucket hashing and key places, one-pass build, path-copying and batched updates (of values or of their cached digests) and diff all read and write the same
tuple-shaped nodes, and splitting them would scatter that node layout over several files.
"""

from __future__ import annotations

import functools
import gc
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.rfc6962 import _BYTES_LIKE, _index, _sha256
from replicalab.rfc6962 import EMPTY_ROOT as EMPTY_ROOT
from replicalab.rfc6962 import HASH_SIZE as HASH_SIZE
from replicalab.rfc6962 import LEAF_PREFIX as LEAF_PREFIX
from replicalab.rfc6962 import NODE_PREFIX as NODE_PREFIX
from replicalab.rfc6962 import inclusion_proof as inclusion_proof
from replicalab.rfc6962 import rfc6962_root as rfc6962_root
from replicalab.rfc6962 import verify_inclusion as verify_inclusion

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_FANOUT",
    "EMPTY_ROOT",
    "FANOUTS",
    "HASH_SIZE",
    "MerkleTree",
    "inclusion_proof",
    "rfc6962_root",
    "suggested_depth",
    "verify_inclusion",
]

# ---------------------------------------------------------------------------
# Keyspace trees

#: The fan-outs a keyspace tree accepts: powers of two, so a bucket is a bit prefix.
FANOUTS = (2, 4, 8, 16, 32, 64, 128, 256)
DEFAULT_FANOUT = 16
#: 16**4 = 65,536 buckets: about one key per bucket at 65k keys. Use
#: :func:`suggested_depth` for other sizes; both replicas must use the same shape.
DEFAULT_DEPTH = 4
_KEY_BITS = 64  # a bucket is named by at most the first 64 bits of SHA-256(key)

# A node is None (an empty subtree), a leaf (hash, keys sorted, their value digests
# concatenated in key order) at level ``depth``, or an inner node (hash, children,
# NODE_PREFIX and the children's hashes concatenated: exactly what the node hash covers,
# kept so an update rehashes a path with two slices and one SHA-256 call instead of
# gathering ``fanout`` hashes at every level).
_Leaf = tuple[bytes, tuple[str, ...], bytes]
_Inner = tuple[bytes, tuple[Any, ...], bytes]
_Node = _Leaf | _Inner | None


def _check_shape(fanout: Any, depth: Any) -> int:
    """Validate a tree shape; return the bits per level."""
    if type(fanout) is not int or fanout not in FANOUTS:
        raise ConfigError(
            f"fanout must be a power of two from 2 to 256 (one of {', '.join(map(str, FANOUTS))}), "
            f"got {_validate.shown(fanout)}"
        )
    bits = fanout.bit_length() - 1
    top = _KEY_BITS // bits
    if type(depth) is not int or not 0 <= depth <= top:
        raise ConfigError(
            f"depth must be an integer from 0 to {top} for fanout {fanout} (buckets are named by "
            f"the first depth*log2(fanout) <= {_KEY_BITS} bits of SHA-256(key)), got {_validate.shown(depth)}"
        )
    return bits


def suggested_depth(n: int, fanout: int = DEFAULT_FANOUT) -> int:
    """The smallest depth whose ``fanout**depth`` buckets hold ``n`` keys about one per bucket.

    That is ``ceil(log_fanout(n))`` (0 for ``n <= 1``), capped at the deepest tree the
    fan-out allows. With one key per bucket a sync streams little besides the keys that
    really differ; shallower trees stream whole crowded buckets (over-streaming).

        >>> suggested_depth(1_000_000, 16), suggested_depth(1_000_000, 2), suggested_depth(1)
        (5, 20, 0)
    """
    _index(n, "n (the number of keys)")
    bits = _check_shape(fanout, 0)
    depth = 0
    while fanout**depth < n and (depth + 1) * bits <= _KEY_BITS:
        depth += 1
    return depth


def _encode_key(key: Any) -> bytes:
    if not isinstance(key, str):
        raise ConfigError(f"keys must be strings, got {_validate.shown(key)} ({type(key).__name__})")
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"key {_validate.shown(key)} cannot be encoded as UTF-8 (lone surrogate?)") from None


def _value_digest(key: str, value: Any) -> bytes:
    if not isinstance(value, _BYTES_LIKE):
        raise ConfigError(
            f"the value of key {_validate.shown(key)} must be bytes, got {type(value).__name__}; encode it "
            f"first (e.g. canonical JSON .encode('utf-8'))"
        )
    return _sha256(value).digest()


def _check_digest(key: str, digest: Any) -> bytes:
    """``digest`` as bytes if it is a 32-byte value digest, else ConfigError."""
    if not isinstance(digest, _BYTES_LIKE) or len(digest) != HASH_SIZE:
        raise ConfigError(
            f"the value digest of key {_validate.shown(key)} must be {HASH_SIZE} bytes (SHA-256 of the "
            f"value, e.g. Item.digest()), got {_validate.shown(digest)}"
        )
    return bytes(digest)


#: Every key's *place*: the first 64 bits of SHA-256(key as UTF-8), as an integer, by key.
#: A key's bucket in a tree of any shape is its place shifted right, so one entry serves
#: every tree and fan-out, and a key written again (or written at another replica of the
#: same table, or indexed by another tree) is placed without hashing it again. Only exact
#: ``str`` keys are cached (a subclass could redefine equality); writes fill it
#: (``set``, ``set_digest``, ``update``, ``update_digests``, ``delete``, ``bucket_of``), a
#: build does not. Memory: one entry is a reference to the key (which its store holds
#: anyway), a 64-bit int (32-36 bytes) and the dict's slot: 65-75 bytes a key measured with
#: tracemalloc (tests/test_merkle_digests.py checks < 100), so about 10 MB at the bound of
#: 2**17 keys. Bounded: cleared when full, which changes only speed, never a bucket.
_KEY_PLACES: dict[str, int] = {}
_KEY_PLACES_MAX = 1 << 17


def _place(key: Any) -> int:
    """The first 64 bits of SHA-256(key as UTF-8) (cached per key); ConfigError for a bad key."""
    if type(key) is str:
        place = _KEY_PLACES.get(key)
        if place is not None:
            return place
        try:
            kb = key.encode("utf-8")
        except UnicodeEncodeError:
            kb = _encode_key(key)  # raises the explanation
        place = int.from_bytes(_sha256(kb).digest()[:8], "big")
        if len(_KEY_PLACES) >= _KEY_PLACES_MAX:
            _KEY_PLACES.clear()
        _KEY_PLACES[key] = place
        return place
    return int.from_bytes(_sha256(_encode_key(key)).digest()[:8], "big")


_LENGTHS = tuple(n.to_bytes(4, "big") for n in range(256))


def _default_leaf_digest(keys: Sequence[bytes], digests: bytes) -> bytes:
    """SHA-256(0x00 || for each entry: u32 len(key) || key || value digest), keys sorted."""
    if len(keys) == 1:
        key = keys[0]
        return _sha256(b"\x00" + len(key).to_bytes(4, "big") + key + digests).digest()
    parts = [b"\x00"]
    for i, key in enumerate(keys):
        parts += (len(key).to_bytes(4, "big"), key, digests[32 * i:32 * i + 32])
    return _sha256(b"".join(parts)).digest()


def _default_node_digest(children: bytes) -> bytes:
    """SHA-256(0x01 || child hashes in order), given the child hashes concatenated."""
    return _sha256(b"\x01" + children).digest()


# mypy wrongly finds a class that defines __hash__ not Hashable when passed to a cached
# function; the call sites say `type: ignore[arg-type]  # see _empty_hashes`.
@functools.cache
def _empty_hashes(cls: type[Any], fanout: int, depth: int) -> tuple[bytes, ...]:
    """Hash of an empty subtree at each level 0..depth (index = level)."""
    out = [cls._leaf_digest([], b"")]
    for _ in range(depth):
        out.append(cls._node_digest(out[-1] * fanout))
    out.reverse()
    return tuple(out)


@functools.cache
def _shifts(fanout: int, depth: int) -> tuple[int, tuple[int, ...]]:
    """(bucket shift, per level 0..depth-1 the shift that picks the child's slot from a bucket).

    A bucket is ``first 64 bits of SHA-256(key) >> bucket shift``; the child of the node at
    level ``l`` on its path is ``(bucket >> shifts[l]) & (fanout - 1)``. Precomputed so a
    single-key update does no shape arithmetic per level.
    """
    bits = fanout.bit_length() - 1
    return _KEY_BITS - depth * bits, tuple(bits * (depth - 1 - lvl) for lvl in range(depth))


#: Inner nodes made by batched updates, by their hash input (NODE_PREFIX and their
#: children's hashes concatenated). Replicas of one table apply the same writes and so rebuild
#: equal subtrees, each in its own tree; an update that finds an equal node here uses it
#: instead of copying the old node's children (16 reference counts touched per level,
#: the cost that dominates a large update: memory, not hashing), and the trees share
#: memory. Sound because equal children hashes mean equal subtrees (SHA-256, with leaves
#: and inner nodes domain-separated), wherever they sit, and in trees of any shape: the key
#: is ``1 + 32 * fanout`` bytes, so fan-outs never meet, and a subtree's hash fixes its height
#: (an empty subtree's hash differs per height), so depths only meet on equal subtrees. A
#: session's salt and short child hashes never enter the tree. Only for the real hash
#: functions (see _apply). Bounded: cleared when full, which changes only what is shared,
#: never a hash or an answer.
_SHARED: dict[bytes, Any] = {}
_UNCHANGED: Any = object()  # _new_leaf's answer for a bucket the changes leave as it was
_SHARED_MAX = 1 << 15


@attrs.frozen(eq=False, repr=False, init=False)
class MerkleTree:
    """A Merkle tree over a keyspace ``{key: value bytes}``, with a fixed shape.

    Make one with ``MerkleTree.build(mapping, fanout=16, depth=4)`` (or
    ``MerkleTree(mapping, ...)``). The tree is a value: :meth:`set` and :meth:`delete`
    return a *new* tree in ``O(depth)`` hashes, sharing every untouched subtree, and
    the result equals a full rebuild. It stores keys and value digests, not values.

    Contract:

    * ``root`` depends only on the key/value pairs and the shape, never on insertion
      order; trees are equal (``==``) iff shape and root are equal.
    * ``diff(other)`` is the sorted list of keys whose values differ or that exist on
      one side only, found by descending only into subtrees whose hashes differ. Both
      trees must have the same ``fanout`` and ``depth``.
    * The shape is ``fanout`` children per node (a power of two, 2..256) and ``depth``
      levels below the root: ``fanout**depth`` buckets. See the module docstring for
      the exact hashing, and :func:`suggested_depth` for choosing a depth.

        >>> tree = MerkleTree.build({"k1": b"v1", "k2": b"v2"}, fanout=16, depth=2)
        >>> len(tree), tree.buckets
        (2, 256)
        >>> tree.set("k1", b"v1") == tree, tree.delete("k2") == MerkleTree.build({"k1": b"v1"}, depth=2)
        (True, True)
        >>> tree.diff(tree.set("k2", b"changed"))
        ['k2']
    """

    fanout: int
    depth: int
    _top: Any
    _size: int

    def __init__(self, mapping: Mapping[str, bytes] | None = None, *, fanout: int = DEFAULT_FANOUT,
                 depth: int = DEFAULT_DEPTH) -> None:
        built = type(self).build({} if mapping is None else mapping, fanout=fanout, depth=depth)
        self.__attrs_init__(built.fanout, built.depth, built._top, built._size)

    # -- hashing ingredients -------------------------------------------------------
    # Class attributes so that the test suite's planted-bug registry can build broken
    # variants (keys only, XOR combining, no domain separation) through these exact
    # code paths. Not an extension point: changing them changes every root.

    _leaf_digest = staticmethod(_default_leaf_digest)
    _node_digest = staticmethod(_default_node_digest)

    # -- construction ----------------------------------------------------------------
    @classmethod
    def _make(cls, fanout: int, depth: int, top: _Node, size: int) -> MerkleTree:
        # A tree of parts already built, without the public __init__'s build. The fields are
        # set through their slots, as attrs' frozen initializer does, minus its per-field
        # lookups: every update makes one tree, and that initializer cost about a tenth of
        # a single-key set.
        tree = _new(cls)
        _set_fanout(tree, fanout)
        _set_depth(tree, depth)
        _set_top(tree, top)
        _set_size(tree, size)
        return tree

    @classmethod
    def empty(cls, *, fanout: int = DEFAULT_FANOUT, depth: int = DEFAULT_DEPTH) -> MerkleTree:
        """The tree of no keys."""
        _check_shape(fanout, depth)
        return cls._make(fanout, depth, None, 0)

    @classmethod
    def build(cls, mapping: Mapping[str, bytes], *, fanout: int = DEFAULT_FANOUT,
              depth: int = DEFAULT_DEPTH) -> MerkleTree:
        """Build the tree of ``mapping`` (string keys, bytes-like values) in one pass.

        Costs two SHA-256 calls per key (its place and its value digest),
        one per non-empty bucket and one per non-empty inner node. Raises
        :class:`~replicalab.errors.ConfigError` for a bad shape, a key that is not a
        string, or a value that is not bytes.
        """
        return cls._checked_build(mapping, fanout, depth, digests=False)

    @classmethod
    def from_digests(cls, digests: Mapping[str, bytes], *, fanout: int = DEFAULT_FANOUT,
                     depth: int = DEFAULT_DEPTH) -> MerkleTree:
        """Build the tree of ``{key: SHA-256 of its value}``: values already digested.

        The tree stores value digests, not values, so this is the same tree
        :meth:`build` makes from the values: ``MerkleTree.from_digests({k: sha256(v).digest()})
        == MerkleTree.build({k: v})``, node for node. For values whose digest is cached
        (:meth:`replicalab.items.Item.digest`): it saves one SHA-256 per key. Raises
        :class:`~replicalab.errors.ConfigError` for a bad shape, a key that is not a string
        or a digest that is not 32 bytes.

            >>> import hashlib
            >>> values = {"apple": b"1", "pear": b"2"}
            >>> digests = {k: hashlib.sha256(v).digest() for k, v in values.items()}
            >>> MerkleTree.from_digests(digests, depth=2) == MerkleTree.build(values, depth=2)
            True
        """
        return cls._checked_build(digests, fanout, depth, digests=True)

    @classmethod
    def _checked_build(cls, mapping: Mapping[str, bytes], fanout: int, depth: int, *, digests: bool) -> MerkleTree:
        bits = _check_shape(fanout, depth)
        if not isinstance(mapping, Mapping):
            what = "SHA-256 digests (32 bytes)" if digests else "bytes"
            name = "from_digests" if digests else "build"
            raise ConfigError(f"{name} takes a mapping of key -> value {what}, got {type(mapping).__name__}")
        # The build allocates about one tuple per key and makes no reference cycles, so
        # the cyclic collector would only rescan the heap over and over (~20% of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return cls._build(mapping, fanout, depth, bits, digests)
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _build(cls, mapping: Mapping[str, bytes], fanout: int, depth: int, bits: int,
               digests: bool) -> MerkleTree:
        shift = _KEY_BITS - depth * bits
        sha = _sha256
        from_bytes = int.from_bytes
        # A build hashes every key and neither reads nor fills the place cache: measured on
        # 100,000 keys, looking places up saved nothing and filling the cache cost 13%. Keys
        # are placed (and cached) when they are written.
        # bucket -> one (key, key bytes, value digest) entry, or a list of them
        buckets: dict[int, Any] = {}
        get = buckets.get
        try:
            for key, value in mapping.items():
                kb = key.encode("utf-8")
                b = from_bytes(sha(kb).digest()[:8], "big") >> shift
                if not digests:
                    vd = sha(value).digest()
                elif type(value) is bytes and len(value) == HASH_SIZE:
                    vd = value
                else:
                    raise TypeError  # explained below
                entry = (key, kb, vd)
                found = get(b)
                if found is None:
                    buckets[b] = entry
                elif type(found) is list:
                    found.append(entry)
                else:
                    buckets[b] = [found, entry]
        except (AttributeError, TypeError, UnicodeEncodeError):
            for key, value in mapping.items():
                _encode_key(key)
                if digests:
                    _check_digest(key, value)
                else:
                    _value_digest(key, value)
            if digests:  # only bytes-like digests other than bytes got here: they are valid
                return cls._build({key: bytes(value) for key, value in mapping.items()}, fanout, depth, bits, True)
            raise  # pragma: no cover - the loop above raises the explanation

        leaf_digest = cls._leaf_digest
        fast = leaf_digest is _default_leaf_digest
        lengths = _LENGTHS
        level: dict[int, Any] = {}
        for b, entries in buckets.items():
            if type(entries) is tuple:
                key, kb, vd = entries
                if fast and len(kb) < 256:
                    h = sha(b"\x00" + lengths[len(kb)] + kb + vd).digest()
                else:
                    h = leaf_digest((kb,), vd)
                level[b] = (h, (key,), vd)
            else:
                entries.sort()  # by key: keys are unique, so the rest never decides
                blob = b"".join([e[2] for e in entries])
                level[b] = (leaf_digest([e[1] for e in entries], blob),
                            tuple([e[0] for e in entries]), blob)

        node_digest = cls._node_digest
        real_node = node_digest is _default_node_digest
        empty = _empty_hashes(cls, fanout, depth)  # type: ignore[arg-type]  # see _empty_hashes
        mask = fanout - 1
        for lvl in range(depth - 1, -1, -1):
            child_empty = empty[lvl + 1]
            parents: dict[int, tuple[list[bytes], list[Any]]] = {}
            pget = parents.get
            for idx, node in level.items():
                slots = pget(idx >> bits)
                if slots is None:
                    slots = parents[idx >> bits] = ([b"\x01"] + [child_empty] * fanout, [None] * fanout)
                slots[0][(idx & mask) + 1] = node[0]
                slots[1][idx & mask] = node
            level = {}
            for p, (hashes, nodes) in parents.items():
                blob = b"".join(hashes)
                level[p] = (sha(blob).digest() if real_node else node_digest(blob[1:]), tuple(nodes), blob)
        return cls._make(fanout, depth, level.get(0), len(mapping))

    # -- reading ---------------------------------------------------------------------
    @property
    def root(self) -> bytes:
        """The 32-byte root hash."""
        top = self._top
        return top[0] if top is not None else _empty_hashes(type(self), self.fanout, self.depth)[0]  # type: ignore[arg-type]  # see _empty_hashes

    @property
    def buckets(self) -> int:
        """The number of buckets (leaves), ``fanout ** depth``."""
        return self.fanout**self.depth

    @property
    def _bits(self) -> int:
        return self.fanout.bit_length() - 1

    def __len__(self) -> int:
        return self._size

    def bucket_of(self, key: str) -> int:
        """The bucket (leaf index, ``0 <= b < buckets``) that ``key`` belongs to."""
        return _place(key) >> (_KEY_BITS - self.depth * self._bits)

    def _leaf(self, bucket: int) -> _Node:
        node = self._top
        bits, mask = self._bits, self.fanout - 1
        for lvl in range(self.depth):
            if node is None:
                return None
            node = node[1][(bucket >> (bits * (self.depth - 1 - lvl))) & mask]
        return node

    def digest_of(self, key: str) -> bytes | None:
        """SHA-256 of ``key``'s value, or None if the key is absent."""
        leaf = self._leaf(self.bucket_of(key))
        if leaf is None:
            return None
        keys = leaf[1]
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return leaf[2][32 * i:32 * i + 32]
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.digest_of(key) is not None

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return sorted(self._iter_keys(self._top, 0))

    def _iter_keys(self, node: _Node, lvl: int) -> Iterator[str]:
        if node is None:
            return
        if lvl == self.depth:
            yield from node[1]
            return
        for child in node[1]:
            yield from self._iter_keys(cast(_Node, child), lvl + 1)

    def _check_node(self, level: Any, index: Any) -> None:
        if type(level) is not int or not 0 <= level <= self.depth:
            raise ConfigError(f"level must be an integer from 0 (root) to {self.depth} (buckets), got {_validate.shown(level)}")
        width = self.fanout**level
        if type(index) is not int or not 0 <= index < width:
            raise ConfigError(f"index at level {level} must be an integer from 0 to {width - 1}, got {_validate.shown(index)}")

    def _node(self, level: int, index: int) -> _Node:
        node = self._top
        bits, mask = self._bits, self.fanout - 1
        for lvl in range(level):
            if node is None:
                return None
            node = node[1][(index >> (bits * (level - 1 - lvl))) & mask]
        return node

    def node_hash(self, level: int, index: int) -> bytes:
        """The hash of node ``index`` at ``level`` (0 is the root, ``depth`` the buckets).

        Node ``i`` at level ``l`` has children ``i * fanout + j`` at level ``l + 1``.
        """
        self._check_node(level, index)
        node = self._node(level, index)
        return node[0] if node is not None else _empty_hashes(type(self), self.fanout, self.depth)[level]  # type: ignore[arg-type]  # see _empty_hashes

    def child_hashes(self, level: int, index: int) -> tuple[bytes, ...]:
        """The ``fanout`` hashes of the children of node ``index`` at ``level < depth``, in order."""
        self._check_node(level, index)
        if level == self.depth:
            raise ConfigError(f"level {level} holds buckets, which have no children; use level < {self.depth}")
        node = self._node(level, index)
        if node is None:
            return (_empty_hashes(type(self), self.fanout, self.depth)[level + 1],) * self.fanout  # type: ignore[arg-type]  # see _empty_hashes
        blob = node[2]
        return tuple(blob[i:i + 32] for i in range(1, 32 * self.fanout, 32))

    def bucket(self, index: int) -> tuple[tuple[str, bytes], ...]:
        """The ``(key, value digest)`` pairs of bucket ``index``, sorted by key."""
        self._check_node(self.depth, index)
        leaf = self._node(self.depth, index)
        if leaf is None:
            return ()
        digests = leaf[2]
        return tuple((key, digests[32 * i:32 * i + 32]) for i, key in enumerate(leaf[1]))

    # -- verbs (return new trees) ---------------------------------------------------
    def set(self, key: str, value: bytes) -> MerkleTree:
        """Return the tree with ``key`` set to ``value`` (bytes).

        ``depth + 3`` SHA-256 calls: the key's place (none if cached: ``depth + 2``), the
        value's digest, its bucket and one per level. Equals ``set_digest(key, SHA-256(value))``.
        """
        place = _place(key)
        vd = _sha256(value).digest() if type(value) is bytes else _value_digest(key, value)
        return self._put(key, place, vd)

    def set_digest(self, key: str, digest: bytes) -> MerkleTree:
        """Return the tree with ``key``'s value digest set to ``digest`` (32 bytes: SHA-256 of the value).

        The incremental update a replica makes for an item whose digest it already has
        (:meth:`replicalab.items.Item.digest`): ``depth + 1`` SHA-256 calls once the key's
        place is cached (its bucket and one per level), ``depth + 2`` the first time. The
        result equals ``set(key, value)`` for the value of that digest, node for node.
        Raises :class:`~replicalab.errors.ConfigError` (changing nothing) for a key that is not a
        string or a digest that is not 32 bytes.

            >>> import hashlib
            >>> tree = MerkleTree.build({"a": b"1"}, depth=2)
            >>> tree.set_digest("b", hashlib.sha256(b"2").digest()) == tree.set("b", b"2")
            True
        """
        place = _place(key)
        vd = digest if type(digest) is bytes and len(digest) == HASH_SIZE else _check_digest(key, digest)
        return self._put(key, place, vd)

    def _put(self, key: str, place: int, vd: bytes) -> MerkleTree:
        """The tree with ``key`` (at ``place``) holding value digest ``vd``: one leaf hash, one per level.

        The hot path of a write, inlined: walk down to the bucket once, remembering the
        nodes and child slots, then splice the new hash into each ancestor's hash input
        (two slices) and hash it, bottom-up.

        Where its time goes (measured for issue #20, B5; callgrind, fanout 16, depth 5): the
        SHA-256 calls are over half of its instructions; per level the rest is the copy of the
        children (a list and a tuple, ~3,400 instructions), the splice (~3,500) and the node
        tuple (~1,100), each already a single CPython operation, so this path stays at about
        2.7x the bare hashes. On a large tree, copying the children of a node not in cache also
        touches each child's reference count: a cache miss each.
        """
        fanout, depth = self.fanout, self.depth
        top_shift, shifts = _shifts(fanout, depth)
        b = place >> top_shift
        mask = fanout - 1
        path: list[Any] = []
        slots: list[int] = []
        node = self._top
        for shift in shifts:
            path.append(node)
            j = (b >> shift) & mask
            slots.append(j)
            if node is not None:
                node = node[1][j]
        keys: tuple[str, ...]
        if node is None:
            keys, blob, size = (key,), vd, self._size + 1
        else:
            keys, blob = node[1], node[2]
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                if blob[32 * i:32 * i + 32] == vd:
                    return self
                blob, size = blob[:32 * i] + vd + blob[32 * i + 32:], self._size
            else:
                keys = keys[:i] + (key,) + keys[i:]
                blob, size = blob[:32 * i] + vd + blob[32 * i:], self._size + 1
        cls = type(self)
        leaf_digest = cls._leaf_digest
        sha = _sha256
        if len(keys) == 1 and leaf_digest is _default_leaf_digest:
            kb = key.encode("utf-8")
            if len(kb) < 256:
                h = sha(b"\x00" + _LENGTHS[len(kb)] + kb + vd).digest()  # the one-key leaf, inline
            else:
                h = leaf_digest((kb,), vd)
        else:
            h = leaf_digest([k.encode("utf-8") for k in keys], blob)
        child: Any = (h, keys, blob)
        real = cls._node_digest is _default_node_digest
        for lvl in range(depth - 1, -1, -1):
            parent = path[lvl]
            j = slots[lvl]
            if parent is None:  # an empty subtree gains its first key
                kids: list[Any] = [None] * fanout
                blob = b"\x01" + _empty_hashes(cls, fanout, depth)[lvl + 1] * fanout  # type: ignore[arg-type]  # see _empty_hashes
            else:
                kids = list(parent[1])
                blob = parent[2]
            kids[j] = child
            o = 32 * j + 1
            blob = blob[:o] + h + blob[o + 32:]
            h = sha(blob).digest() if real else cls._node_digest(blob[1:])
            child = (h, tuple(kids), blob)
        return self._make(fanout, depth, child, size)

    def delete(self, key: str) -> MerkleTree:
        """Return the tree without ``key`` (the same tree if it is absent): ``depth + 2`` hashes
        (``depth + 1`` with the key's place cached)."""
        top_shift, shifts = _shifts(self.fanout, self.depth)
        b = _place(key) >> top_shift
        path, leaf = self._path(b, shifts)
        if leaf is None:
            return self
        keys, blob = leaf[1], leaf[2]
        i = bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            return self
        keys = keys[:i] + keys[i + 1:]
        new_leaf: _Node = None
        if keys:
            blob = blob[:32 * i] + blob[32 * i + 32:]
            new_leaf = (type(self)._leaf_digest([k.encode("utf-8") for k in keys], blob), keys, blob)
        return self._make(self.fanout, self.depth, self._rehash(path, b, new_leaf, shifts), self._size - 1)

    def update(self, changes: Mapping[str, bytes | None]) -> MerkleTree:
        """Return the tree with every ``key: value`` of ``changes`` applied (``None`` deletes).

        One pass for the whole batch: per key its place (unless cached) and value digest, per
        changed bucket one leaf hash, and per inner node above them *one* hash, however many
        of the changes lie below it (``d`` single :meth:`set` calls rehash shared ancestors ``d``
        times). Equals applying the changes one by one, and a full rebuild. Raises
        :class:`~replicalab.errors.ConfigError` (and changes nothing) for a key that is not a
        string or a value that is neither bytes nor None.

            >>> tree = MerkleTree.build({"a": b"1", "b": b"2"}, depth=2)
            >>> tree.update({"a": b"9", "b": None, "c": b"3"}) == MerkleTree.build({"a": b"9", "c": b"3"}, depth=2)
            True
        """
        # A dict first: isinstance against the Mapping ABC costs a tenth of a one-key update.
        if type(changes) is not dict and not isinstance(changes, Mapping):
            raise ConfigError(f"update takes a mapping of key -> value bytes or None, got {type(changes).__name__}")
        if len(changes) == 1:
            # One change: set's (or delete's) single path makes the same hashes without the
            # batch's per-level bookkeeping, which would double the cost of one write.
            ((key, value),) = changes.items()
            return self.delete(key) if value is None else self.set(key, value)
        return self._batch(changes, digests=False)

    def update_digests(self, changes: Mapping[str, bytes | None]) -> MerkleTree:
        """Like :meth:`update`, given each value's digest (32 bytes: its SHA-256) instead of the value.

        What a replica does when its items cache their digests
        (:meth:`replicalab.items.Item.digest`): per changed bucket one leaf hash and per
        changed inner node one hash, plus one per key whose place is not cached yet; no
        value is hashed. ``update_digests({k: sha256(v).digest()})`` equals ``update({k: v})``,
        node for node (``None`` still deletes). Raises
        :class:`~replicalab.errors.ConfigError` (and changes nothing) for a key that is not a
        string or a digest that is neither 32 bytes nor None.

            >>> import hashlib
            >>> tree = MerkleTree.build({"a": b"1", "b": b"2"}, depth=2)
            >>> tree.update_digests({"a": hashlib.sha256(b"9").digest(), "b": None}) == tree.update({"a": b"9", "b": None})
            True
        """
        if type(changes) is not dict and not isinstance(changes, Mapping):
            raise ConfigError(
                f"update_digests takes a mapping of key -> value digest (32 bytes) or None, got {type(changes).__name__}")
        if len(changes) == 1:  # as in update: one path, no batch bookkeeping
            ((key, digest),) = changes.items()
            return self.delete(key) if digest is None else self.set_digest(key, digest)
        return self._batch(changes, digests=True)

    def _batch(self, changes: Mapping[str, bytes | None], *, digests: bool) -> MerkleTree:
        # As in build: the update allocates tuples and lists that form no reference cycles,
        # so the cyclic collector would only rescan them (and the tree they point into);
        # on a 100,000-key tree that is about half of a 500-key update's time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            by_bucket = self._by_bucket(changes, digests)
            if not by_bucket:
                return self
            top, size = self._apply(by_bucket)
        finally:
            if collecting:
                gc.enable()
        if top is self._top:
            return self
        return self._make(self.fanout, self.depth, top, size)

    def _by_bucket(self, changes: Mapping[str, bytes | None],
                   digests: bool) -> dict[int, list[tuple[str, bytes | None]]]:
        """Per changed bucket its ``(key, value digest or None)`` changes; ConfigError for bad ones.

        ``digests``: the values are digests already (checked, not hashed).
        """
        shift = _shifts(self.fanout, self.depth)[0]
        sha = _sha256
        known = _KEY_PLACES.get
        by_bucket: dict[int, list[tuple[str, bytes | None]]] = {}
        get = by_bucket.get
        for key, value in changes.items():
            place = known(key) if type(key) is str else None
            if place is None:
                place = _place(key)  # hashes, caches, or raises the explanation
            if value is None:
                vd = None
            elif digests:
                vd = value if type(value) is bytes and len(value) == HASH_SIZE else _check_digest(key, value)
            else:
                vd = sha(value).digest() if type(value) is bytes else _value_digest(key, value)
            b = place >> shift
            found = get(b)
            if found is None:
                by_bucket[b] = [(key, vd)]
            else:
                found.append((key, vd))
        return by_bucket

    def _apply(self, by_bucket: dict[int, list[tuple[str, bytes | None]]]) -> tuple[_Node, int]:
        """Rebuild every changed path in one walk over the changed buckets in order.

        The nodes on the current bucket's path are *open* (their children as a list, their
        hash input spliced per changed child): moving to the next bucket closes, deepest first,
        the levels it does not share with the previous one (one hash each, then written into
        the parent) and opens the ones below. So every changed node is copied once, hashed
        once and written into its parent once, however many changes lie below it.
        """
        cls = type(self)
        leaf_digest, node_digest = cls._leaf_digest, cls._node_digest
        real_leaf, real_node = leaf_digest is _default_leaf_digest, node_digest is _default_node_digest
        # Inner nodes are shared by content (see _SHARED): the cache is only sound when
        # *both* hashes are the real ones (a leaf hash that ignores values, say, makes
        # unequal subtrees hash alike), never for the test suite's planted-bug variants.
        shared = _SHARED if real_leaf and real_node else None
        fanout, depth = self.fanout, self.depth
        bits, mask = fanout.bit_length() - 1, fanout - 1
        shifts = _shifts(fanout, depth)[1]
        empty = _empty_hashes(cls, fanout, depth)  # type: ignore[arg-type]  # see _empty_hashes
        sha = _sha256
        size = self._size
        # Per open level: its children (a list), its hash input (bytes, spliced per changed
        # child: most nodes of a batch change in one child, where one splice is cheaper than
        # a bytearray's copy in and out), and whether a child changed / became empty.
        kids_at: list[list[Any]] = [[]] * depth
        blobs: list[bytes] = [b""] * depth
        dirty = [False] * depth
        emptied = [False] * depth
        top: _Node = self._top

        def close(lvl: int, bucket: int) -> None:
            """Hash the open node at ``lvl`` (a child changed) into its parent's slot."""
            blob = blobs[lvl]
            node = shared.get(blob) if shared is not None else None
            if node is None:  # no equal subtree made yet (one found is shared: no child copied)
                kids = kids_at[lvl]
                if emptied[lvl] and kids.count(None) == fanout:
                    node = None  # the subtree emptied: None, exactly as a rebuild leaves it
                else:
                    node = (sha(blob).digest() if real_node else node_digest(blob[1:]), tuple(kids), blob)
                    if shared is not None:
                        if len(shared) >= _SHARED_MAX:
                            shared.clear()
                        shared[blob] = node
            if lvl == 0:
                nonlocal top
                top = node
                return
            lvl -= 1
            j = (bucket >> shifts[lvl]) & mask
            kids_at[lvl][j] = node
            o = 32 * j + 1
            parent = blobs[lvl]
            blobs[lvl] = parent[:o] + (empty[lvl + 1] if node is None else node[0]) + parent[o + 32:]
            dirty[lvl] = True
            if node is None:
                emptied[lvl] = True

        if depth == 0:  # the root is the only bucket
            new, size = self._new_leaf(top, by_bucket[0], size)
            return (top if new is _UNCHANGED else new), size
        prev = -1
        last = depth - 1
        empty_leaf = empty[depth]
        for b in sorted(by_bucket):
            if prev < 0:
                keep = -1
            else:
                # Levels 0..keep hold the same node for b and prev (node index b >> bits*(depth - l)).
                keep = depth - (((b ^ prev).bit_length() + bits - 1) // bits)
                for lvl in range(last, keep, -1):
                    if dirty[lvl]:
                        close(lvl, prev)
            for lvl in range(keep + 1, depth):  # open the levels below: the old nodes on b's path
                node = cast(_Node, kids_at[lvl - 1][(b >> shifts[lvl - 1]) & mask]) if lvl else top
                if node is None:
                    kids_at[lvl], blobs[lvl] = [None] * fanout, b"\x01" + empty[lvl + 1] * fanout
                else:
                    kids_at[lvl], blobs[lvl] = list(node[1]), node[2]
                dirty[lvl] = emptied[lvl] = False
            prev = b
            j = b & mask
            new, size = self._new_leaf(kids_at[last][j], by_bucket[b], size)
            if new is _UNCHANGED:
                continue
            kids_at[last][j] = new
            o = 32 * j + 1
            blob = blobs[last]
            blobs[last] = blob[:o] + (empty_leaf if new is None else new[0]) + blob[o + 32:]
            dirty[last] = True
            if new is None:
                emptied[last] = True
        if prev >= 0:
            for lvl in range(last, -1, -1):
                if dirty[lvl]:
                    close(lvl, prev)
        return top, size

    def _new_leaf(self, leaf: _Node, entries: list[tuple[str, bytes | None]], size: int) -> tuple[Any, int]:
        """The bucket ``leaf`` with ``entries`` applied (None if emptied, _UNCHANGED if equal) and the new size."""
        return _new_leaf(type(self)._leaf_digest, leaf, entries, size)

    def _path(self, bucket: int, shifts: tuple[int, ...]) -> tuple[list[_Node], _Node]:
        """The inner nodes from the root down to ``bucket``'s parent, and the bucket's leaf."""
        mask = self.fanout - 1
        path: list[_Node] = []
        node = self._top
        for shift in shifts:
            path.append(node)
            if node is not None:
                node = node[1][(bucket >> shift) & mask]
        return path, node

    def _rehash(self, path: list[_Node], bucket: int, child: _Node, shifts: tuple[int, ...]) -> _Node:
        """Put ``child`` in ``bucket``'s place and rehash its ancestors bottom-up.

        The hot path of a single-key update: per level one list copy of the children, two
        slices of the node's hash input and one SHA-256 (the real node hash inline).
        """
        cls = type(self)
        node_digest = cls._node_digest
        real = node_digest is _default_node_digest
        sha = _sha256
        fanout = self.fanout
        mask = fanout - 1
        for lvl in range(self.depth - 1, -1, -1):
            parent = path[lvl]
            j = (bucket >> shifts[lvl]) & mask
            if parent is None:
                if child is None:
                    continue  # still empty
                kids: list[Any] = [None] * fanout
                blob = b"\x01" + _empty_hashes(cls, fanout, self.depth)[lvl + 1] * fanout  # type: ignore[arg-type]  # see _empty_hashes
            else:
                kids = list(parent[1])
                blob = parent[2]
            kids[j] = child
            if child is None:
                if kids.count(None) == fanout:
                    continue  # the subtree emptied: None, exactly as a rebuild leaves it
                h = _empty_hashes(cls, fanout, self.depth)[lvl + 1]  # type: ignore[arg-type]  # see _empty_hashes
            else:
                h = child[0]
            o = 32 * j + 1
            blob = blob[:o] + h + blob[o + 32:]
            child = (sha(blob).digest() if real else node_digest(blob[1:]), tuple(kids), blob)
        return child

    # -- comparing -------------------------------------------------------------------
    def diff(self, other: MerkleTree) -> list[str]:
        """Sorted keys whose values differ between the trees or that only one tree has.

        Descends only into subtrees whose hashes differ (and skips shared subtrees of
        trees derived from one another without hashing at all).

        Raises :class:`~replicalab.errors.ConfigError` if ``other`` is not a
        :class:`MerkleTree` of the same fanout and depth.
        """
        if not isinstance(other, MerkleTree):
            raise ConfigError(f"diff needs another MerkleTree, got {type(other).__name__}")
        if (self.fanout, self.depth) != (other.fanout, other.depth):
            raise ConfigError(
                f"cannot diff a tree of fanout {self.fanout}, depth {self.depth} against one of "
                f"fanout {other.fanout}, depth {other.depth}: their buckets do not line up; "
                f"build both with the same fanout and depth"
            )
        empty = _empty_hashes(type(self), self.fanout, self.depth)  # type: ignore[arg-type]  # see _empty_hashes
        none_children = (None,) * self.fanout
        out: list[str] = []
        stack: list[tuple[Any, Any, int]] = [(self._top, other._top, 0)]
        while stack:
            a, b, lvl = stack.pop()
            if a is b:
                continue
            ha = a[0] if a is not None else empty[lvl]
            hb = b[0] if b is not None else empty[lvl]
            if ha == hb:
                continue
            if lvl == self.depth:
                out += _bucket_diff(a, b)
                continue
            stack += zip(a[1] if a is not None else none_children,
                         b[1] if b is not None else none_children,
                         [lvl + 1] * self.fanout, strict=True)
        out.sort()
        return out

    # -- equality and display -------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleTree):
            return NotImplemented
        return (self.fanout, self.depth, self.root) == (other.fanout, other.depth, other.root)

    def __hash__(self) -> int:
        return hash((self.fanout, self.depth, self.root))

    def __repr__(self) -> str:
        return (f"<MerkleTree fanout={self.fanout} depth={self.depth} keys={self._size} "
                f"root={self.root.hex()[:16]}...>")


_new = object.__new__
_set_fanout, _set_depth, _set_top, _set_size = (
    MerkleTree.__dict__[name].__set__ for name in ("fanout", "depth", "_top", "_size"))


def _bucket_diff(a: _Node, b: _Node) -> list[str]:
    def entries(leaf: _Node) -> dict[str, bytes]:
        if leaf is None:
            return {}
        digests = leaf[2]
        return {key: digests[32 * i:32 * i + 32] for i, key in enumerate(leaf[1])}

    ea, eb = entries(a), entries(b)
    return [k for k in ea.keys() | eb.keys() if ea.get(k) != eb.get(k)]


def _new_leaf(leaf_digest: Any, leaf: _Node, entries: list[tuple[str, bytes | None]],
              size: int) -> tuple[Any, int]:
    """The bucket ``leaf`` with ``entries`` (key, value digest or None to delete) applied, and the
    new key count: a new leaf tuple, None if the bucket emptied, _UNCHANGED if nothing changed.
    ``leaf_digest`` is the tree class's leaf hash (the real one is inlined for one key)."""
    keys, blob = (leaf[1], leaf[2]) if leaf is not None else ((), b"")
    old_keys, old_blob = keys, blob
    for key, vd in entries:
        i = bisect_left(keys, key)
        present = i < len(keys) and keys[i] == key
        if vd is None:
            if present:
                keys, blob, size = keys[:i] + keys[i + 1:], blob[:32 * i] + blob[32 * i + 32:], size - 1
        elif present:
            blob = blob[:32 * i] + vd + blob[32 * i + 32:]
        else:
            keys, blob, size = keys[:i] + (key,) + keys[i:], blob[:32 * i] + vd + blob[32 * i:], size + 1
    if keys == old_keys and blob == old_blob:
        return _UNCHANGED, size
    if not keys:
        return None, size
    if len(keys) == 1 and leaf_digest is _default_leaf_digest:
        kb = keys[0].encode("utf-8")
        if len(kb) < 256:
            return (_sha256(b"\x00" + _LENGTHS[len(kb)] + kb + blob).digest(), keys, blob), size
    return (leaf_digest([k.encode("utf-8") for k in keys], blob), keys, blob), size
