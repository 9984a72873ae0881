"""What clients ask a Dynamo node, and what nodes say to each other. Frozen values.

Client requests are :class:`~replicalab.replica.base.Request` subclasses: :class:`Put`
(a write: the ground truth records it) and :class:`Get`. Node-to-node messages are named
after what they carry: a coordinator's :class:`Store` (with a ``hint`` when it goes to a
stand-in for a home node) and :class:`Fetch`, the replies :class:`Stored` and
:class:`Fetched`, read repair's :class:`Repair`, hinted handoff's :class:`Handoff` /
:class:`HandedOff`, and anti-entropy's :class:`SyncTree` / :class:`SyncItems`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import attrs

from replicalab._built import new, slot_setter
from replicalab.dots import CausalContext
from replicalab.merkle import MerkleTree
from replicalab.quorum.versions import EMPTY, Versions, plain_context
from replicalab.replica.base import Request, Response

__all__ = ["Fetch", "Fetched", "Get", "GetDone", "HandedOff", "Handoff", "Put", "PutDone",
           "Repair", "Store", "Stored", "SyncItems", "SyncTree"]


def _dots(versions: Versions) -> list[str]:
    return [str(v.dot) for v in versions]


@attrs.frozen
class Put(Request):
    """Write ``value`` to ``key``. ``context``: the context of the client's last read of the
    key (its write supersedes what it read); empty for a blind write."""

    mutates: ClassVar[bool] = True
    key: str = ""
    value: Any = None
    context: CausalContext = EMPTY

    @property
    def scope(self) -> Hashable:
        return self.key

    def trace_fields(self) -> dict[str, Any]:
        return {"op": self.op, "key": self.key, "value": self.value, "context": plain_context(self.context)}


@attrs.frozen
class Get(Request):
    """Read ``key``: every sibling the read quorum holds, and their merged context."""

    key: str = ""

    @property
    def scope(self) -> Hashable:
        return self.key


@attrs.frozen
class PutDone(Response):
    """A write's answer: ``dot`` names the version it created; ``acks`` the nodes that stored it."""

    dot: str = ""
    acks: tuple[str, ...] = ()


@attrs.frozen
class GetDone(Response):
    """A read's answer: the sibling ``values``, the ``context`` to write back with, the
    ``versions`` themselves and the nodes that ``replied`` in time."""

    values: tuple[Any, ...] = ()
    context: CausalContext = EMPTY
    versions: Versions = ()
    replied: tuple[str, ...] = ()

    def trace_fields(self) -> dict[str, Any]:
        return {"op": self.op, "ok": self.ok, "error": self.error, "values": list(self.values),
                "dots": _dots(self.versions), "replied": list(self.replied)}


@attrs.frozen
class Store:
    """Coordinator -> replica: keep ``versions`` of ``key``; ``hint`` names the home node
    this one stands in for (None: it is a home node)."""

    op: str
    key: str
    versions: Versions
    hint: str | None = None

    def trace_fields(self) -> dict[str, Any]:
        return {"op": self.op, "key": self.key, "dots": _dots(self.versions), "hint": self.hint}


@attrs.frozen
class Stored:
    """Replica -> coordinator: ``op``'s versions are stored."""

    op: str


@attrs.frozen
class Fetch:
    """Coordinator -> replica: what do you hold for ``key``?"""

    op: str
    key: str


@attrs.frozen
class Fetched:
    """Replica -> coordinator: ``versions`` of the key (its own copy and any hints for it)."""

    op: str
    versions: Versions

    def trace_fields(self) -> dict[str, Any]:
        return {"op": self.op, "dots": _dots(self.versions)}


@attrs.frozen
class Repair:
    """Read repair: coordinator -> a home replica that answered with less than the merge."""

    key: str
    versions: Versions

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "dots": _dots(self.versions)}


@attrs.frozen
class Handoff:
    """Hinted handoff: a stand-in gives ``home`` the versions it kept for it, ``{key: versions}``."""

    home: str
    items: tuple[tuple[str, Versions], ...]

    def trace_fields(self) -> dict[str, Any]:
        return {"home": self.home, "items": {k: _dots(vs) for k, vs in self.items}}


@attrs.frozen
class HandedOff:
    """The home node took them: the stand-in may drop exactly these ``(key, dots)``."""

    items: tuple[tuple[str, tuple[str, ...]], ...]


@attrs.frozen
class SyncTree:
    """Anti-entropy: a Merkle tree over the keys both nodes are home for (values: version dots)."""

    tree: MerkleTree

    def trace_fields(self) -> dict[str, Any]:
        return {"root": self.tree.root.hex()[:16], "keys": len(self.tree)}


@attrs.frozen
class SyncItems:
    """Anti-entropy: the sender's versions of keys that differ; ``want`` asks for the peer's."""

    items: tuple[tuple[str, Versions], ...]
    want: tuple[str, ...] = ()

    def trace_fields(self) -> dict[str, Any]:
        return {"items": {k: _dots(vs) for k, vs in self.items}, "want": list(self.want)}


# -- builders for the hot path ------------------------------------------------------------
# A node builds about five of these values per client operation from parts it made itself:
# each builder is the class's constructor without attrs' __init__ (replicalab._built says
# why; tests/test_quorum_builders.py compares every one with the constructor).

_store_op, _store_key, _store_versions, _store_hint = (
    slot_setter(Store, n) for n in ("op", "key", "versions", "hint"))
_stored_op = slot_setter(Stored, "op")
_fetch_op, _fetch_key = slot_setter(Fetch, "op"), slot_setter(Fetch, "key")
_fetched_op, _fetched_versions = slot_setter(Fetched, "op"), slot_setter(Fetched, "versions")
_done_op, _done_ok, _done_error, _done_message = (
    slot_setter(Response, n) for n in ("op", "ok", "error", "message"))
_put_dot, _put_acks = slot_setter(PutDone, "dot"), slot_setter(PutDone, "acks")
_get_values, _get_context, _get_versions, _get_replied = (
    slot_setter(GetDone, n) for n in ("values", "context", "versions", "replied"))


def made_store(op: str, key: str, versions: Versions, hint: str | None) -> Store:
    """``Store(op, key, versions, hint)``."""
    m = new(Store)
    _store_op(m, op)
    _store_key(m, key)
    _store_versions(m, versions)
    _store_hint(m, hint)
    return m


def made_stored(op: str) -> Stored:
    """``Stored(op)``."""
    m = new(Stored)
    _stored_op(m, op)
    return m


def made_fetch(op: str, key: str) -> Fetch:
    """``Fetch(op, key)``."""
    m = new(Fetch)
    _fetch_op(m, op)
    _fetch_key(m, key)
    return m


def made_fetched(op: str, versions: Versions) -> Fetched:
    """``Fetched(op, versions)``."""
    m = new(Fetched)
    _fetched_op(m, op)
    _fetched_versions(m, versions)
    return m


def made_put_done(op: str, dot: str, acks: tuple[str, ...]) -> PutDone:
    """``PutDone(op, dot=dot, acks=acks)`` (ok, no error)."""
    m = new(PutDone)
    _done_op(m, op)
    _done_ok(m, True)
    _done_error(m, None)
    _done_message(m, "")
    _put_dot(m, dot)
    _put_acks(m, acks)
    return m


def made_get_done(op: str, values: tuple[Any, ...], context: CausalContext, versions: Versions,
                  replied: tuple[str, ...]) -> GetDone:
    """``GetDone(op, values=..., context=..., versions=..., replied=...)`` (ok, no error)."""
    m = new(GetDone)
    _done_op(m, op)
    _done_ok(m, True)
    _done_error(m, None)
    _done_message(m, "")
    _get_values(m, values)
    _get_context(m, context)
    _get_versions(m, versions)
    _get_replied(m, replied)
    return m
