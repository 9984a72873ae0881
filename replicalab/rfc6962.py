"""RFC 6962 (Certificate Transparency) Merkle trees: the tree hash of a list, audit paths, proofs.

Hashes are SHA-256 with *domain separation*: a leaf is hashed as ``SHA-256(0x00 || leaf)``
and an inner node as ``SHA-256(0x01 || left || right)``, so no leaf can pass for a node.
The tree is over an ordered list of leaves, exactly as §2.1 of the RFC defines it: the
Merkle Tree Hash of ``n > 1`` leaves splits them at ``k``, the largest power of two smaller
than ``n``; an odd node is never duplicated (it is promoted unchanged); the empty tree
hashes to ``SHA-256(b"")``. Everything here is importable from :mod:`replicalab.merkle`,
where the keyspace trees for anti-entropy live.

    >>> rfc6962_root([]).hex()[:16]
    'e3b0c44298fc1c14'
    >>> rfc6962_root([b""]).hex()[:16]          # SHA-256(0x00)
    '6e340b9cffb37a98'
    >>> leaves = [b"alpha", b"beta", b"gamma"]
    >>> proof = inclusion_proof(leaves, 2)
    >>> len(proof), verify_inclusion(b"gamma", 2, 3, proof, rfc6962_root(leaves))
    (1, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "LEAF_PREFIX", "NODE_PREFIX", "inclusion_proof", "rfc6962_root",
           "verify_inclusion"]

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
