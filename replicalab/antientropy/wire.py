"""What crosses the wire in a Merkle sync: the five messages and the byte model that prices them.

The protocol and the byte model are described in :mod:`replicalab.antientropy`; here
are the frozen message values (each knows its own ``size``) and the functions that
price an item, a node id, a whole store or a digest list the same way.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.merkle import _check_shape

__all__ = [
    "HASH_BYTES",
    "SHORT_HASH_BYTES",
    "HEADER_BYTES",
    "LENGTH_BYTES",
    "BucketItems",
    "ChildHashes",
    "InSync",
    "MergedItems",
    "Message",
    "RootHash",
    "digest_list_bytes",
    "full_state_bytes",
    "item_bytes",
    "node_id_bytes",
    "session_hash",
]

#: Fixed cost of every message: kind, session, level and counts.
HEADER_BYTES = 16
#: A SHA-256 hash: the root always, and every child hash in full-hash mode.
HASH_BYTES = 32
#: A child hash in short-hash mode (``child_hash_bytes=8``): see :func:`session_hash`.
SHORT_HASH_BYTES = 8
#: The shortest child hash a session accepts: below 4 bytes collisions stop being rare.
MIN_CHILD_HASH_BYTES = 4
#: The length prefix of a key or a value inside an item.
LENGTH_BYTES = 4


def node_id_bytes(fanout: int, depth: int) -> int:
    """Bytes to name one node on the wire: enough for any bucket, ``ceil(depth*log2(fanout)/8)``, at least 1."""
    bits = _check_shape(fanout, depth) * depth
    return max(1, math.ceil(bits / 8))


def _check_child_hash_bytes(value: Any) -> int:
    """Validate a child-hash length: an integer from 4 to 32 (32 = full SHA-256, no salt)."""
    if type(value) is not int or not MIN_CHILD_HASH_BYTES <= value <= HASH_BYTES:
        raise ConfigError(
            f"child_hash_bytes must be an integer from {MIN_CHILD_HASH_BYTES} to {HASH_BYTES} "
            f"({SHORT_HASH_BYTES} for short hashes, {HASH_BYTES} for full SHA-256), got {_validate.shown(value)}"
        )
    return value


def session_hash(node_hash: bytes, session: str, nbytes: int) -> bytes:
    """The hash of a tree node as it crosses the wire in session ``session``.

    With ``nbytes == 32`` it is the node's SHA-256 unchanged. Shorter, it is
    ``SHA-256(session as UTF-8 || 0x00 || node_hash)[:nbytes]``: salted with the session
    id, so that a collision between two different subtrees (probability ``2**-(8*nbytes)``
    per comparison) is a fresh, independent event in every session rather than a
    permanent blind spot (see :mod:`replicalab.antientropy`, "Short child hashes").

        >>> h = bytes(32)
        >>> session_hash(h, "s", 32) == h, len(session_hash(h, "s", 8)), session_hash(h, "s", 8) == session_hash(h, "t", 8)
        (True, 8, False)
    """
    if not isinstance(node_hash, bytes):
        raise ConfigError(f"node_hash must be bytes (a tree node's SHA-256), got {_validate.shown(node_hash)}")
    _validate.name(session, "session")
    return _session_hash(node_hash, _salt(session), _check_child_hash_bytes(nbytes))


def _salt(session: str) -> bytes:
    """The salt of a session's short hashes: its id as UTF-8 and a NUL (ConfigError if not UTF-8)."""
    return _wire_key(session, "session id") + b"\x00"


def _session_hash(node_hash: bytes, salt: bytes, nbytes: int) -> bytes:
    """:func:`session_hash` for checked inputs; ``salt`` is the session id and a NUL."""
    if nbytes == HASH_BYTES:
        return node_hash
    return hashlib.sha256(salt + node_hash).digest()[:nbytes]


def item_bytes(key: str, value: bytes) -> int:
    """Wire size of one ``(key, value)`` item: two 4-byte length prefixes, the key as UTF-8, the value."""
    _wire_key(key)
    _bytes_value(value, f"value of {_validate.shown(key)}")
    return 2 * LENGTH_BYTES + len(key.encode("utf-8")) + len(value)


def full_state_bytes(mapping: Mapping[str, bytes]) -> int:
    """Bytes to send a whole store in one message: the header plus every item."""
    _store(mapping)
    return HEADER_BYTES + sum(item_bytes(k, v) for k, v in mapping.items())


def digest_list_bytes(mapping: Mapping[str, bytes]) -> int:
    """Bytes to send a full digest list in one message: per key a length prefix, the key and a 32-byte digest."""
    _store(mapping)
    return HEADER_BYTES + sum(LENGTH_BYTES + len(_wire_key(k)) + HASH_BYTES for k in mapping)


def _wire_key(key: Any, what: str = "key") -> bytes:
    """A key as it goes on the wire (UTF-8), or ConfigError for a key that is not a string."""
    if not isinstance(key, str):
        raise ConfigError(f"{what}s are strings, got {_validate.shown(key)}")
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{what} {_validate.shown(key)} cannot be written as UTF-8 (a lone surrogate)") from None


def _store(mapping: Any) -> None:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"a store is a mapping of key -> bytes, got {_validate.shown(mapping)}")


def _id_bytes(id_bytes: Any) -> int:
    if type(id_bytes) is not int or id_bytes < 1:
        raise ConfigError(f"id_bytes must be an integer >= 1 (see node_id_bytes), got {_validate.shown(id_bytes)}")
    return id_bytes


def _short(h: bytes) -> str:
    return h.hex()[:12]


def _bytes_value(value: Any, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        hint = ("; merges must return bytes: represent a deletion as a tombstone value "
                "(see Stamped.tombstone) so that it wins against old copies"
                if value is None else "")
        raise ConfigError(f"{what} must be bytes, got {type(value).__name__}{hint}")
    return bytes(value)




@attrs.frozen
class RootHash:
    """Flight 0: the initiator's root, with its tree's shape so a mismatch is caught at once."""

    session: str
    fanout: int
    depth: int
    root: bytes
    #: How long the child hashes of this session are (32: full SHA-256; shorter: salted
    #: and truncated, see :func:`session_hash`). It rides in the header, like the shape.
    child_hash_bytes: int = SHORT_HASH_BYTES
    #: The sender's key count when its tree's depth follows the key count (an adaptive
    #: session, see :mod:`replicalab.antientropy`, "Depth"); None for a fixed shape. It
    #: rides in the header with the counts: no extra bytes in the model.
    keys: int | None = None

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model: the root is always a full 32-byte SHA-256."""
        return HEADER_BYTES + HASH_BYTES

    def trace_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"session": self.session, "root": _short(self.root), "bytes": self.size(0)}
        if self.keys is not None:
            fields.update(depth=self.depth, keys=self.keys)
        return fields


@attrs.frozen
class ChildHashes:
    """Flights 1..D: for each differing node ``parents[i]`` of level ``level - 1``, the
    sender's ``fanout`` child hashes at ``level``: ``hashes[i*fanout:(i+1)*fanout]``."""

    session: str
    level: int
    parents: tuple[int, ...]
    hashes: tuple[bytes, ...]

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        # Each hash is priced at its own length: 32 in full-hash mode, child_hash_bytes otherwise.
        return HEADER_BYTES + _id_bytes(id_bytes) * len(self.parents) + sum(map(len, self.hashes))

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "level": self.level, "parents": len(self.parents),
                "hashes": len(self.hashes)}


@attrs.frozen
class BucketItems:
    """Flight D + 1: the differing buckets, and every item the sender holds in them."""

    session: str
    buckets: tuple[int, ...]
    items: tuple[tuple[str, bytes], ...]
    #: The sender's logical clocks ``(lamport, hlc wall, hlc logical)``, set by a runtime that
    #: keeps them (a table replica does), so items arriving by repair advance the receiver's
    #: clocks like any replicated write. It rides in the header: no extra bytes in the model.
    clock: tuple[int, int, int] | None = None

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        return (HEADER_BYTES + _id_bytes(id_bytes) * len(self.buckets)
                + sum(item_bytes(k, v) for k, v in self.items))

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "buckets": len(self.buckets),
                "keys": [k for k, _ in self.items]}


@attrs.frozen
class MergedItems:
    """Flight D + 2: merged values the receiver lacks, and how many keys truly diverged."""

    session: str
    items: tuple[tuple[str, bytes], ...]
    divergent: int
    #: The sender's logical clocks, as in :class:`BucketItems`.
    clock: tuple[int, int, int] | None = None

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model (``divergent`` rides in the header)."""
        return HEADER_BYTES + sum(item_bytes(k, v) for k, v in self.items)

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "keys": [k for k, _ in self.items],
                "divergent": self.divergent}


@attrs.frozen
class InSync:
    """The answer when the hashes just compared all agree: nothing to repair."""

    session: str

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        return HEADER_BYTES

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session}


Message = RootHash | ChildHashes | BucketItems | MergedItems | InSync
_MESSAGES = (RootHash, ChildHashes, BucketItems, MergedItems, InSync)
