"""A tombstone convention for anti-entropy: last-writer-wins stamped values.

The sync protocol never deletes a key, so a deletion must be a value that wins against
old copies: :class:`Stamped` is a stamp plus a payload or a tombstone, :func:`lww_merge`
merges two of them and :func:`live` reads the values that are not tombstones.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from replicalab import _validate
from replicalab.antientropy.wire import _store, _wire_key
from replicalab.errors import ClockError, ConfigError, MergeValidationError, SerializationError

__all__ = ["Stamped", "live", "lww_merge"]

_MAGIC = b"RLS1"


@attrs.frozen
class Stamped:
    """A value with a last-writer-wins stamp ``(timestamp, replica)``; no payload is a tombstone.

    Values in the keyspace tree are opaque bytes, so a deletion must be a *value* for
    anti-entropy to carry it: ``Stamped.tombstone(t, r)`` says "deleted at stamp
    (t, r)". Under :func:`lww_merge` a tombstone beats every older write and loses to
    every newer one, so repair can neither resurrect a deleted key nor block a later
    write. (Tombstones are kept forever here; collecting them safely needs every replica
    to have seen them, which is a separate protocol.)

        >>> v = Stamped(5, "eu", b"12 High Street")
        >>> Stamped.decode(v.encode()) == v, Stamped.tombstone(6, "us").deleted
        (True, True)
    """

    timestamp: int = attrs.field(validator=lambda _i, _a, v: _validate.counter(v, "timestamp"))
    replica: str = attrs.field(validator=lambda _i, _a, v: _validate.replica_id(v))
    payload: bytes | None

    def __attrs_post_init__(self) -> None:
        if self.timestamp >= 1 << 64:
            raise ClockError(f"timestamp must be below 2**64 (it is encoded in 8 bytes), got {self.timestamp}")
        _wire_key(self.replica, "replica id")  # a lone surrogate cannot be written as UTF-8
        if len(self.replica.encode("utf-8")) >= 1 << 16:
            raise ConfigError("replica id must be shorter than 65,536 bytes in UTF-8")
        if self.payload is not None and not isinstance(self.payload, bytes):
            raise ConfigError(f"payload must be bytes or None (a tombstone), got {type(self.payload).__name__}")

    @classmethod
    def tombstone(cls, timestamp: int, replica: str) -> Stamped:
        """The deletion of a key at stamp ``(timestamp, replica)``."""
        return cls(timestamp, replica, None)

    @property
    def deleted(self) -> bool:
        """True for a tombstone."""
        return self.payload is None

    @property
    def stamp(self) -> tuple[int, str]:
        """``(timestamp, replica)``: the LWW order."""
        return (self.timestamp, self.replica)

    def encode(self) -> bytes:
        """``b"RLS1" || u64 timestamp || u16 len(replica) || replica || 0x00`` (tombstone)
        or ``0x01 || payload``, all big-endian."""
        rid = self.replica.encode("utf-8")
        body = b"\x00" if self.payload is None else b"\x01" + self.payload
        return _MAGIC + self.timestamp.to_bytes(8, "big") + len(rid).to_bytes(2, "big") + rid + body

    @classmethod
    def decode(cls, data: bytes) -> Stamped:
        """Parse :meth:`encode`'s output; raises :class:`~replicalab.errors.SerializationError` otherwise."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise SerializationError(f"a stamped value is bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < 15 or data[:4] != _MAGIC:
            raise SerializationError("not a stamped value: it must start with b'RLS1' and a 10-byte stamp")
        timestamp = int.from_bytes(data[4:12], "big")
        n = int.from_bytes(data[12:14], "big")
        end = 14 + n
        if len(data) <= end:
            raise SerializationError("stamped value is truncated: no flag byte after the replica id")
        try:
            replica = data[14:end].decode("utf-8")
        except UnicodeDecodeError:
            raise SerializationError("stamped value's replica id is not UTF-8") from None
        flag, rest = data[end], data[end + 1:]
        if flag == 0 and not rest:
            payload = None
        elif flag == 1:
            payload = rest
        else:
            raise SerializationError("stamped value's flag must be 0x00 (tombstone, nothing after) or 0x01 (payload)")
        try:
            return cls(timestamp, replica, payload)
        except (ClockError, ConfigError) as error:
            raise SerializationError(f"malformed stamped value: {error}") from None


def lww_merge(key: str, local: bytes | None, remote: bytes | None) -> bytes:
    """Merge two :class:`Stamped` encodings: the greater ``(timestamp, replica)`` wins.

    A missing side (None) loses to anything. A join: commutative, associative and
    idempotent on reachable states. Two *different* values under the same stamp cannot
    both have been written, so they raise :class:`~replicalab.errors.MergeValidationError`
    instead of silently picking one.

        >>> old, new = Stamped(1, "eu", b"a").encode(), Stamped.tombstone(2, "us").encode()
        >>> Stamped.decode(lww_merge("k", old, new)).deleted
        True
    """
    if local is None or remote is None:
        if local is None and remote is None:
            raise ConfigError(f"lww_merge({_validate.shown(key)}): at least one side must have a value")
        return remote if local is None else local  # type: ignore[return-value]
    a, b = Stamped.decode(local), Stamped.decode(remote)
    if a.stamp == b.stamp:
        if a != b:
            raise MergeValidationError(
                f"key {_validate.shown(key)}: two different values carry the same stamp {a.stamp}; a stamp "
                f"names one write, so one of the replicas holds an impossible state"
            )
        return local
    return local if a.stamp > b.stamp else remote


def live(mapping: Mapping[str, bytes]) -> dict[str, bytes]:
    """The live payloads of a store of :class:`Stamped` values, tombstones left out, keys sorted."""
    _store(mapping)
    for key in mapping:
        _wire_key(key)
    out: dict[str, bytes] = {}
    for key in sorted(mapping):
        value = Stamped.decode(mapping[key])
        if value.payload is not None:
            out[key] = value.payload
    return out
