"""The messages regions exchange in MRSC mode: prepare, accept, commit, catch up, strong reads.

Frozen values, one per step of the protocol described in :mod:`replicalab.replica.mrsc`
(where :class:`~replicalab.replica.mrsc.MrscRegion` sends and handles them, and from
where they stay importable). Messages that carry a replicated item also carry the
sender's Lamport and hybrid logical clocks (``lamport``, ``hlc``).
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab.items import Item

__all__ = ["Accepted", "CatchUp", "Commit", "Confirm", "Digest", "Prepare", "ReadReply",
           "ReadRequest"]


@attrs.frozen
class Prepare:
    """Origin asks a region to accept ``item`` as version ``base + 1`` of ``key``."""

    key: str
    item: Item
    write: str
    base: int
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "base": self.base}


@attrs.frozen
class Confirm:
    """Origin asks a region whether commit ``base`` is still the latest of ``key`` (and no
    write on it is in flight there), before it answers a request that changes nothing — a
    failed condition, a delete of a missing item — from its own copy.

    The answer is an :class:`Accepted` (``ok`` True: yes); the region installs nothing.
    """

    key: str
    write: str
    base: int
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "base": self.base}


@attrs.frozen
class Accepted:
    """A region's answer to :class:`Prepare`: ``ok`` False means it refused (and why)."""

    key: str
    write: str
    ok: bool
    reason: str = ""
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)


@attrs.frozen
class Commit:
    """The origin tells everyone that ``write`` is version ``version`` of ``key``."""

    key: str
    item: Item
    write: str
    version: int
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "version": self.version}


@attrs.frozen
class Digest:
    """Catch-up: ``(key, commit number, write that made it)`` for every key the sender holds.

    ``recovering`` asks every peer to answer, even with nothing to send (the
    sender restarted without its state and counts the answers).
    """

    versions: tuple[tuple[str, int, str], ...]
    recovering: bool = False

    def trace_fields(self) -> dict[str, Any]:
        return {"keys": len(self.versions), "recovering": self.recovering}


@attrs.frozen
class CatchUp:
    """The answer to a :class:`Digest`: ``(key, commit, write, item)`` for every key where the
    sender is ahead of the digest (or the digest lacks the key)."""

    entries: tuple[tuple[str, int, str, Item], ...]
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"keys": [key for key, *_ in self.entries]}


@attrs.frozen
class ReadRequest:
    """A strong read asks a region for its latest version of ``key``."""

    key: str
    op: str


@attrs.frozen
class ReadReply:
    """A region's latest ``version`` and ``item`` of ``key`` (None if it has none)."""

    key: str
    op: str
    version: int
    item: Item | None
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "op": self.op, "version": self.version}
