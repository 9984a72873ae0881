"""What crosses the sockets: one framed, versioned JSON document per message; never pickle.

Every frame is a 4-byte big-endian length and that many bytes of a canonical
``replicalab/net-frame`` document (:mod:`replicalab.serialization`: sorted keys, ASCII,
no NaN; parsed with the same limits: duplicate keys, NaN, over-deep or oversized
documents are refused with :class:`~replicalab.errors.SerializationError`)::

    {"format": "replicalab/net-frame", "schema_version": 1, "kind": "send", ...}

Replicas exchange Python values (a ``Replicate`` holding an ``Item``, an ``UpdateItem``
request, a ``ReadResult``). They cross as *tagged* plain data, decoded against an
allow-list of classes fixed when the process starts, so nothing is ever unpickled,
evaluated or imported because of what a frame says::

    None, bool, int, finite float, str, list     as themselves
    tuple, set, frozenset, dict                  {"$t": [...]}, {"$s": [...]}, {"$fs": [...]},
                                                 {"$d": [[key, value], ...]}  (any Mapping)
    VectorClock                                  {"$vc": {"replica": count}}
    Item                                         {"$item": Item.to_bytes() as text}
    an allow-listed attrs class                  {"$a": "module.Class", "f": {field: value}}

Decoding an attrs value calls its constructor, so its validators run on the receiving
side. A learner's own message classes join the allow-list with :func:`allow` (the
``serve`` command's ``--replica MODULE:CLASS`` allows every attrs class that module defines
or imports).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from replicalab import serialization
from replicalab.antientropy import wire as sync_wire
from replicalab.clocks import VectorClock
from replicalab.errors import SerializationError
from replicalab.items import Cell, Item, Stamp, Version
from replicalab.replica import requests as table_requests
from replicalab.replica import table as table_replica
from replicalab.replica.base import Response

__all__ = ["FRAME_FORMAT", "HEADER", "MAX_FRAME", "allow", "allowed", "decode", "encode",
           "frame", "read_frame"]

#: The format name of every frame.
FRAME_FORMAT = "replicalab/net-frame"
#: The longest frame either side accepts (bytes): the serialization format's document cap.
MAX_FRAME = serialization.MAX_DOCUMENT_BYTES
HEADER = struct.Struct(">I")
_MAX_DEPTH = serialization.MAX_DEPTH

#: "module.Class" -> class: the values that may cross as {"$a": ...}. Filled at import with the
#: classes the table replica and anti-entropy exchange; :func:`allow` adds a learner's.
_ALLOWED: dict[str, type] = {}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def allow(classes: Iterable[type]) -> None:
    """Let attrs ``classes`` cross the wire as values (a learner's message types, say)."""
    classes = list(classes)
    for cls in classes:  # all checked before any is allowed: a refused call changes nothing
        if not isinstance(cls, type) or not attrs.has(cls):
            raise SerializationError(f"only attrs classes can cross the wire as values, got {cls!r}")
    _ALLOWED.update((_qualified(cls), cls) for cls in classes)


def allowed() -> list[str]:
    """The classes that may cross as values, by qualified name, sorted."""
    return sorted(_ALLOWED)


allow([table_replica.Replicate, table_requests.UpdateItem, table_requests.PutItem,
       table_requests.GetItem, table_requests.ReadResult, Response, Stamp, Cell, Version,
       *(c for c in vars(sync_wire).values()
         if isinstance(c, type) and attrs.has(c) and c.__module__ == sync_wire.__name__)])


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as tagged plain data (see the module docs); SerializationError if it cannot cross."""
    if depth > _MAX_DEPTH:
        raise SerializationError(f"a message nested deeper than {_MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        if not math.isfinite(value):
            raise SerializationError(f"a message holds {value!r}; only finite numbers cross the wire")
        return value
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind is tuple:
        return {"$t": [encode(v, depth + 1) for v in value]}
    if kind in (set, frozenset):
        # Sorted by their encoding: the same set gives the same bytes in every process.
        items = sorted((encode(v, depth + 1) for v in value), key=serialization.dumps)
        return {"$s" if kind is set else "$fs": items}
    if kind is VectorClock:
        return {"$vc": value.to_dict()}
    if kind is Item:
        return {"$item": value.to_bytes().decode()}
    name = _qualified(kind)
    if name in _ALLOWED:
        return {"$a": name, "f": {f.alias: encode(getattr(value, f.name), depth + 1)
                                  for f in attrs.fields(kind) if f.init}}
    if isinstance(value, Mapping):  # a dict, or a request's frozen attribute map
        return {"$d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    raise SerializationError(
        f"{name} cannot cross the wire: messages hold plain data and allow-listed attrs classes "
        f"(replicalab.net.wire.allow([{kind.__qualname__}]) adds one)")


def decode(value: Any, depth: int = 0) -> Any:
    """The value tagged data ``value`` stands for; SerializationError for anything else."""
    if depth > _MAX_DEPTH:
        raise SerializationError(f"a message nested deeper than {_MAX_DEPTH} levels")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [decode(v, depth + 1) for v in value]
    if type(value) is not dict or not 1 <= len(value) <= 2:
        raise SerializationError(f"a message value of unexpected shape: {str(value)[:80]}")
    tag = next(iter(sorted(value)))
    body = value[tag]
    try:
        if tag in ("$t", "$s", "$fs") and len(value) == 1 and type(body) is list:
            items = [decode(v, depth + 1) for v in body]
            return tuple(items) if tag == "$t" else set(items) if tag == "$s" else frozenset(items)
        if tag == "$d" and len(value) == 1 and type(body) is list:
            pairs = [p for p in body if type(p) is list and len(p) == 2]
            if len(pairs) != len(body):
                raise SerializationError("a dict entry that is not a [key, value] pair")
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in pairs}
        if tag == "$vc" and len(value) == 1 and type(body) is dict:
            return VectorClock(serialization.read_counts(body, "vector clock"))
        if tag == "$item" and len(value) == 1 and type(body) is str:
            return Item.from_bytes(body.encode())
        if tag == "$a" and set(value) == {"$a", "f"} and type(value["f"]) is dict:
            cls = _ALLOWED.get(body) if type(body) is str else None
            if cls is None:
                raise SerializationError(f"a value of a class that may not cross the wire: {str(body)[:80]!r}")
            return cls(**{k: decode(v, depth + 1) for k, v in value["f"].items()})
    except SerializationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        # A constructor's validator (a ConfigError is a ValueError) refused the fields.
        raise SerializationError(f"a malformed {tag} value: {type(error).__name__}: {str(error)[:160]}") from None
    raise SerializationError(f"a message value with unknown tag or shape: {str(value)[:80]}")


def frame(kind: str, **fields: Any) -> bytes:
    """The bytes of one frame: a length, then the canonical ``replicalab/net-frame`` document."""
    data = serialization.dumps({"format": FRAME_FORMAT, "schema_version": serialization.SCHEMA_VERSION,
                                "kind": kind, **fields}).encode()
    if len(data) > MAX_FRAME:
        raise SerializationError(f"a frame of {len(data):,} bytes, over the {MAX_FRAME:,}-byte limit")
    return HEADER.pack(len(data)) + data


async def read_frame(reader: Any) -> dict[str, Any] | None:
    """The next frame from an asyncio ``reader`` as a dict; None when the other side closed.

    The announced length is checked before anything is read; the document is parsed with
    every limit of :func:`replicalab.serialization.parse`.
    """
    import asyncio

    try:
        header = await reader.readexactly(HEADER.size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise SerializationError(f"a frame announced {length:,} bytes, over the {MAX_FRAME:,}-byte limit")
    try:
        data = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    doc = serialization.parse(data, max_bytes=MAX_FRAME)
    if doc.get("format") != FRAME_FORMAT or doc.get("schema_version") != serialization.SCHEMA_VERSION:
        raise SerializationError(f"expected a {FRAME_FORMAT} document of schema_version "
                                 f"{serialization.SCHEMA_VERSION}, got {str(doc)[:80]}")
    if not isinstance(doc.get("kind"), str):
        raise SerializationError("a frame without a kind")
    return doc
