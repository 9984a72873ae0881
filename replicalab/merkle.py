"""Merkle trees: RFC 6962 hashing with inclusion proofs, and a keyspace tree for anti-entropy.

The librarian's trick: to check that two libraries hold the same books, fingerprint
every shelf, then every aisle from its shelves' fingerprints, then the building
from its aisles'. Equal building fingerprints mean equal libraries; different ones
send you only down the aisles whose fingerprints differ.

Both tools here hash with SHA-256 and *domain separation*: a leaf is hashed as
``SHA-256(0x00 || leaf data)`` and an inner node as ``SHA-256(0x01 || child hashes)``,
so no leaf can ever pass for an inner node. Python's ``hash()`` is never used and
children are never combined with XOR.

**RFC 6962 (Certificate Transparency) trees** over an ordered list of leaves, exactly
as §2.1 of the RFC defines them: the Merkle Tree Hash of ``n > 1`` leaves splits them at
``k``, the largest power of two smaller than ``n``; an odd node is never duplicated (it
is promoted unchanged); the empty tree hashes to ``SHA-256(b"")``.

    >>> rfc6962_root([]).hex()[:16]
    'e3b0c44298fc1c14'
    >>> rfc6962_root([b""]).hex()[:16]          # SHA-256(0x00)
    '6e340b9cffb37a98'
    >>> leaves = [b"alpha", b"beta", b"gamma"]
    >>> proof = inclusion_proof(leaves, 2)
    >>> len(proof), verify_inclusion(b"gamma", 2, 3, proof, rfc6962_root(leaves))
    (1, True)

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
"""

from __future__ import annotations

import functools
import gc
import hashlib
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError

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

_sha256 = hashlib.sha256
_BYTES_LIKE = (bytes, bytearray, memoryview)

#: Every hash here is a SHA-256 digest of this many bytes.
HASH_SIZE = 32
#: The RFC 6962 hash of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT = _sha256(b"").digest()

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

# ---------------------------------------------------------------------------
# RFC 6962 §2.1: Merkle Tree Hash, audit paths, and their verification


def _check_leaves(leaves: Any) -> None:
    if isinstance(leaves, (str, *_BYTES_LIKE)) or not isinstance(leaves, Sequence):
        raise ConfigError(
            f"leaves must be a list or tuple of bytes (e.g. [b'a', b'b']), got "
            f"{type(leaves).__name__}; wrap a single leaf in a list"
        )


def _bad_leaf(leaves: Sequence[Any]) -> ConfigError:
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, _BYTES_LIKE):
            return ConfigError(
                f"leaves[{i}] must be bytes (e.g. b'entry'), got {type(leaf).__name__}; "
                f"encode text with .encode('utf-8')"
            )
    return ConfigError("leaves must be a sequence of bytes")  # pragma: no cover - defensive


def _leaf_hashes(leaves: Sequence[bytes]) -> list[bytes]:
    sha = _sha256
    try:
        return [sha(b"\x00" + leaf).digest() for leaf in leaves]
    except TypeError:
        raise _bad_leaf(leaves) from None


def _next_level(level: list[bytes]) -> list[bytes]:
    # Pair neighbours; an odd last node is promoted unchanged (never duplicated).
    # Level-by-level pairing builds exactly RFC 6962's tree: the largest-power-of-two
    # split makes every left subtree complete, so the only odd node is the last one.
    sha = _sha256
    it = iter(level)
    up = [sha(b"\x01" + left + right).digest() for left, right in zip(it, it, strict=False)]
    if len(level) & 1:
        up.append(level[-1])
    return up


def _index(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ConfigError(f"{what} must be an integer >= 0, got {_validate.shown(value)}")
    return value


def rfc6962_root(leaves: Sequence[bytes]) -> bytes:
    """The RFC 6962 Merkle Tree Hash (§2.1) of ``leaves``, in order: 32 bytes.

    ``MTH({}) = SHA-256()``, ``MTH({d0}) = SHA-256(0x00 || d0)``, and for ``n > 1``
    leaves ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` with ``k`` the
    largest power of two smaller than ``n``. Costs exactly ``2n - 1`` SHA-256 calls.

        >>> rfc6962_root([b"", b"\\x00"]).hex()[:16]
        'fac54203e7cc696c'

    Raises :class:`~replicalab.errors.ConfigError` if ``leaves`` is not a sequence of
    bytes-like objects.
    """
    _check_leaves(leaves)
    if not leaves:
        return EMPTY_ROOT
    level = _leaf_hashes(leaves)
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The RFC 6962 audit path (§2.1.1) proving that ``leaves[index]`` is in the tree.

    The path lists sibling hashes from the leaf upwards, ``PATH(m, D[n])`` of the RFC:
    its length is at most ``ceil(log2 n)``, shorter where an odd node was promoted.

        >>> from hashlib import sha256
        >>> path = inclusion_proof([b"a", b"b", b"c"], 0)   # sibling leaf b, then the subtree {c}
        >>> path == [sha256(b"\\x00b").digest(), sha256(b"\\x00c").digest()]
        True

    Raises :class:`~replicalab.errors.ConfigError` unless ``0 <= index < len(leaves)``.
    """
    _check_leaves(leaves)
    n = len(leaves)
    if type(index) is not int or not 0 <= index < n:
        valid = f"an integer from 0 to {n - 1}" if n else "impossible: the tree is empty"
        raise ConfigError(f"index must be {valid} for a tree of {n} leaves, got {_validate.shown(index)}")
    level = _leaf_hashes(leaves)
    path: list[bytes] = []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        level = _next_level(level)
        index >>= 1
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """True iff ``proof`` shows that leaf data ``leaf`` is entry ``index`` of the tree of
    ``size`` leaves whose RFC 6962 root is ``root``.

    The algorithm is RFC 9162 §2.1.3.2 (the verification of RFC 6962 audit paths):
    rebuild the root from the leaf hash and the path, using the bits of ``index`` and
    ``size - 1`` to decide left from right, and require every path entry to be used.

        >>> leaves = [b"a", b"b", b"c", b"d", b"e"]
        >>> root = rfc6962_root(leaves)
        >>> verify_inclusion(b"e", 4, 5, inclusion_proof(leaves, 4), root)
        True
        >>> verify_inclusion(b"e", 3, 5, inclusion_proof(leaves, 4), root)
        False

    Any claim the proof does not establish returns ``False``: a wrong leaf, index, size,
    root or path, ``index >= size``, or path entries that are not 32 bytes long.
    :class:`~replicalab.errors.ConfigError` is raised only for arguments of the wrong
    type (a programming error rather than a bad proof): ``leaf`` and ``root`` must be
    bytes, ``index`` and ``size`` integers >= 0, ``proof`` a sequence of bytes.
    """
    if not isinstance(leaf, _BYTES_LIKE):
        raise ConfigError(f"leaf must be the leaf's data as bytes, got {type(leaf).__name__}")
    _index(index, "index")
    _index(size, "size")
    if not isinstance(root, _BYTES_LIKE):
        raise ConfigError(f"root must be bytes (a 32-byte SHA-256 digest), got {type(root).__name__}")
    if isinstance(proof, (str, *_BYTES_LIKE)) or not isinstance(proof, Sequence):
        raise ConfigError(f"proof must be a list of 32-byte hashes, got {type(proof).__name__}")
    for i, p in enumerate(proof):
        if not isinstance(p, _BYTES_LIKE):
            raise ConfigError(f"proof[{i}] must be bytes (a 32-byte hash), got {type(p).__name__}")
    if index >= size:
        return False
    sha = _sha256
    fn, sn = index, size - 1
    r = sha(b"\x00" + leaf).digest()
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha(b"\x01" + p + r).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = sha(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == bytes(root)


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
# concatenated in key order) at level ``depth``, or an inner node (hash, children, the
# children's hashes concatenated: what the node hash covers, kept so an update rehashes
# a path with two slices instead of gathering ``fanout`` hashes at every level).
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
        # A tree of parts already built: attrs' own initializer, without the public __init__'s build.
        tree = cls.__new__(cls)
        tree.__attrs_init__(fanout, depth, top, size)
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

        Costs two SHA-256 calls per key (bucket and value digest), one per non-empty
        bucket and one per non-empty inner node. Raises
        :class:`~replicalab.errors.ConfigError` for a bad shape, a key that is not a
        string, or a value that is not bytes.
        """
        bits = _check_shape(fanout, depth)
        if not isinstance(mapping, Mapping):
            raise ConfigError(
                f"build takes a mapping of key -> value bytes, got {type(mapping).__name__}"
            )
        # The build allocates about one tuple per key and makes no reference cycles, so
        # the cyclic collector would only rescan the heap over and over (~20% of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return cls._build(mapping, fanout, depth, bits)
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _build(cls, mapping: Mapping[str, bytes], fanout: int, depth: int, bits: int) -> MerkleTree:
        shift = _KEY_BITS - depth * bits
        sha = _sha256
        from_bytes = int.from_bytes
        # bucket -> one (key, key bytes, value digest) entry, or a list of them
        buckets: dict[int, Any] = {}
        get = buckets.get
        try:
            for key, value in mapping.items():
                kb = key.encode("utf-8")
                b = from_bytes(sha(kb).digest()[:8], "big") >> shift
                entry = (key, kb, sha(value).digest())
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
                _value_digest(key, value)
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
        empty = _empty_hashes(cls, fanout, depth)  # type: ignore[arg-type]  # see _empty_hashes
        mask = fanout - 1
        for lvl in range(depth - 1, -1, -1):
            child_empty = empty[lvl + 1]
            parents: dict[int, tuple[list[bytes], list[Any]]] = {}
            pget = parents.get
            for idx, node in level.items():
                slots = pget(idx >> bits)
                if slots is None:
                    slots = parents[idx >> bits] = ([child_empty] * fanout, [None] * fanout)
                slots[0][idx & mask] = node[0]
                slots[1][idx & mask] = node
            level = {}
            for p, (hashes, nodes) in parents.items():
                blob = b"".join(hashes)
                level[p] = (node_digest(blob), tuple(nodes), blob)
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
        kb = _encode_key(key)
        return int.from_bytes(_sha256(kb).digest()[:8], "big") >> (
            _KEY_BITS - self.depth * self._bits)

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
        return tuple(blob[i:i + 32] for i in range(0, 32 * self.fanout, 32))

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
        """Return the tree with ``key`` set to ``value`` (bytes): ``depth + 3`` hashes."""
        try:
            kb = key.encode("utf-8")
        except (AttributeError, UnicodeEncodeError):
            kb = _encode_key(key)  # raises the explanation
        vd = _sha256(value).digest() if type(value) is bytes else _value_digest(key, value)
        b = int.from_bytes(_sha256(kb).digest()[:8], "big") >> (_KEY_BITS - self.depth * self._bits)
        path, leaf = self._path(b)
        keys: tuple[str, ...]
        if leaf is None:
            keys, blob, size = (key,), vd, self._size + 1
        else:
            keys, blob = leaf[1], leaf[2]
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                if blob[32 * i:32 * i + 32] == vd:
                    return self
                blob, size = blob[:32 * i] + vd + blob[32 * i + 32:], self._size
            else:
                keys = keys[:i] + (key,) + keys[i:]
                blob, size = blob[:32 * i] + vd + blob[32 * i:], self._size + 1
        kbs = (kb,) if len(keys) == 1 else [k.encode("utf-8") for k in keys]
        new_leaf = (type(self)._leaf_digest(kbs, blob), keys, blob)
        return self._make(self.fanout, self.depth, self._rehash(path, b, new_leaf), size)

    def delete(self, key: str) -> MerkleTree:
        """Return the tree without ``key`` (the same tree if it is absent): ``depth + 2`` hashes."""
        kb = _encode_key(key)
        b = int.from_bytes(_sha256(kb).digest()[:8], "big") >> (_KEY_BITS - self.depth * self._bits)
        path, leaf = self._path(b)
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
        return self._make(self.fanout, self.depth, self._rehash(path, b, new_leaf), self._size - 1)

    def _path(self, bucket: int) -> tuple[list[_Node], _Node]:
        """The inner nodes from the root down to ``bucket``'s parent, and the bucket's leaf."""
        bits = self._bits
        mask = self.fanout - 1
        shift = bits * self.depth
        path: list[_Node] = []
        node = self._top
        for _ in range(self.depth):
            path.append(node)
            shift -= bits
            if node is not None:
                node = node[1][(bucket >> shift) & mask]
        return path, node

    def _rehash(self, path: list[_Node], bucket: int, child: _Node) -> _Node:
        """Put ``child`` in ``bucket``'s place and rehash its ancestors bottom-up."""
        cls = type(self)
        node_digest = cls._node_digest
        empty = _empty_hashes(cls, self.fanout, self.depth)  # type: ignore[arg-type]  # see _empty_hashes
        fanout, bits = self.fanout, self._bits
        mask = fanout - 1
        shift = 0
        for lvl in range(self.depth - 1, -1, -1):
            parent = path[lvl]
            j = (bucket >> shift) & mask
            shift += bits
            if parent is None:
                if child is None:
                    continue  # still empty
                kids: tuple[Any, ...] = (None,) * fanout
                blob = empty[lvl + 1] * fanout
            else:
                kids, blob = parent[1], parent[2]
            kids = kids[:j] + (child,) + kids[j + 1:]
            if child is None:
                if kids.count(None) == fanout:
                    continue  # the subtree emptied: None, exactly as a rebuild leaves it
                h = empty[lvl + 1]
            else:
                h = child[0]
            blob = blob[:32 * j] + h + blob[32 * j + 32:]
            child = (node_digest(blob), kids, blob)
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


def _bucket_diff(a: _Node, b: _Node) -> list[str]:
    def entries(leaf: _Node) -> dict[str, bytes]:
        if leaf is None:
            return {}
        digests = leaf[2]
        return {key: digests[32 * i:32 * i + 32] for i, key in enumerate(leaf[1])}

    ea, eb = entries(a), entries(b)
    return [k for k in ea.keys() | eb.keys() if ea.get(k) != eb.get(k)]
