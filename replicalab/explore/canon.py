"""A state's fingerprint: SHA-256 over canonical JSON, never Python's ``hash()``.

:func:`plain` turns the objects a simulation holds (attrs values, dicts, sets, replicas with
a ``__dict__`` or ``__slots__``) into plain JSON data with a fixed order: dict entries and set
members sorted by their canonical JSON text, never by insertion or hash order, so the same
state has the same fingerprint in every process under any ``PYTHONHASHSEED``.
:func:`digest` hashes that text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

import attrs

from replicalab.items import Item

__all__ = ["digest", "plain", "text"]

#: Attributes left out of a replica's fingerprint, with the reason.
SKIPPED = {
    # A cache of the items (the anti-entropy Merkle tree), rebuilt from them: no state of its own.
    "keyspace",
}


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
#: attrs field names by class: looked up once per class, not once per value.
_FIELDS: dict[type, tuple[str, ...]] = {}


def text(value: Any) -> str:
    """The canonical JSON text of plain data (sorted keys, no spaces)."""
    return _ENCODER.encode(value)


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`plain` ``(value)``."""
    return hashlib.sha256(text(plain(value)).encode()).hexdigest()


def plain(value: Any) -> Any:
    """``value`` as plain JSON data in a canonical order (see the module docs)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}  # NaN and infinities too; JSON has no spelling for them
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        if all(type(k) is str for k in value):  # the common case: json's sort_keys orders it
            return {"dict": {k: plain(v) for k, v in value.items()}}
        pairs = [[plain(k), plain(v)] for k, v in value.items()]
        return {"map": sorted(pairs, key=text)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"set": sorted((plain(v) for v in value), key=text)}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Item):  # the common big value: its canonical bytes, memoised per item
        return {"item": value.to_bytes().decode()}
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    names = _FIELDS.get(kind)
    if names is None and attrs.has(kind):
        names = _FIELDS[kind] = tuple(f.name for f in attrs.fields(kind))
    if names is not None:
        return {"type": name, **{n: plain(getattr(value, n)) for n in names}}
    if callable(value) and hasattr(value, "__code__"):
        # A callback waiting on the timeline (a client's on_reply, a fault's action): what it
        # will do is its code and the values it closed over or took as defaults.
        cells = [c.cell_contents for c in (value.__closure__ or ())]
        return {"function": value.__qualname__, "defaults": _loose(value.__defaults__ or ()),
                "cells": _loose(cells)}
    fields: dict[str, Any] = {}
    if hasattr(value, "__dict__"):
        fields.update(vars(value))
    for slot in getattr(kind, "__slots__", ()):
        if hasattr(value, slot):
            fields[slot] = getattr(value, slot)
    if not fields:
        return {"type": name, "repr": repr(value)}
    return {"type": name, **{k: plain(v) for k, v in sorted(fields.items()) if k not in SKIPPED}}


def _loose(values: Any) -> list[Any]:
    """Closure cells and defaults: plain data where they are values; the simulation, the
    clients and other live objects are fingerprinted on their own, so only their type here."""
    out = []
    for v in values:
        if v is None or isinstance(v, (bool, int, str, float, Enum)) or attrs.has(type(v)):
            out.append(plain(v))
        else:
            out.append({"object": type(v).__qualname__})
    return out
