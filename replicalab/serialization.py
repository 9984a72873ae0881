"""One versioned, allow-listed JSON format for every clock and CRDT.

Every document is a JSON object with a header and the fields of one kind::

    {"format": "replicalab/<kind>", "schema_version": 1, ...fields of that kind...}

Encoding is **canonical**: keys sorted, no whitespace (``,`` and ``:``), ASCII
only (``\\uXXXX`` escapes), no NaN or Infinity, integers for every clock,
counter and timestamp, and set-like collections sorted. Equal states give
equal bytes, so byte counts can be compared (full state vs delta vs op).

Decoding is **allow-listed**: only the fields of the expected kind, each of
the expected JSON type, are accepted. :class:`~replicalab.errors.SerializationError`
is raised for anything else: unknown or missing fields, a ``bool`` where an
integer is expected (``true`` is not ``1``), duplicate keys, ``NaN``/
``Infinity`` (and numbers too large for a float), documents nested deeper than
:data:`MAX_DEPTH` or longer than :data:`MAX_DOCUMENT_BYTES`, and states no
sequence of operations could reach. Nothing is ever unpickled, evaluated or
imported because of what a document says.

Ops have one format, ``replicalab/op``, naming the op type (from a fixed
allow-list) and its non-default fields, so the bytes of a full state, a delta
and an op can be compared::

    {"fields": {"n": 3, "replica": "a"}, "format": "replicalab/op", "op": "GCounter.Increment", ...}

The value domain
----------------

What a CRDT holds must be plain data to be serialized:

* **elements** — set elements, map keys and multi-value register values
  (things that are hashed): ``None``, ``int`` (not ``bool``), ``str``, and
  tuples of elements (written as JSON arrays). ``bool`` and ``float`` are
  excluded because ``True == 1 == 1.0`` in Python: a set could not say which
  one it holds, and equal states would not give equal bytes.
* **values** — LWW register and LWW map values (compared, never hashed):
  ``None``, ``bool``, ``int``, finite ``float``, ``str``, lists of values and
  dicts with ``str`` keys. Tuples are refused (they would come back as lists;
  use a list).

The CRDTs themselves accept any hashable element and any value; only
``to_json`` enforces the domain, with an error naming the offending value.

    >>> from replicalab.crdts import GCounter
    >>> text = GCounter().increment("a", 3).to_json()
    >>> text
    '{"counts":{"a":3},"format":"replicalab/g-counter","schema_version":1}'
    >>> GCounter.from_json(text).value
    3
    >>> from_json(text)          # dispatch on the "format" header
    GCounter({'a': 3})

This module stays whole (about 510 lines) because it is one job, the format's single
definition: the document header and limits, the op format and the field codecs are read
together by every type's ``to_json``/``from_json``, which call them as ``serialization.*``.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from replicalab import _validate
from replicalab.errors import ConfigError, ReplicaLabError, SerializationError

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "OP_FORMAT",
    "SCHEMA_VERSION",
    "dumps",
    "from_json",
    "op_from_json",
]

#: The schema version this library writes and reads.
SCHEMA_VERSION = 1
#: Longest document accepted (characters of text, or bytes). Decoding is linear in the
#: document's size, apart from sorting dots and elements (n log n): a document of n bytes
#: takes at most about 40 n bytes of memory, and at this cap under 10 s of CPU and 0.7 GB on
#: a 2-core machine (the worst kind measured: a causal context of a million cloud dots).
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
#: Deepest nesting of arrays/objects accepted, counting the document itself as 1.
MAX_DEPTH = 48

#: The format of every op value (``op.to_json()``); the op's type is named in its "op" field.
OP_FORMAT = "replicalab/op"

#: format name -> (module, class name) of the state type that reads it.
FORMATS: dict[str, tuple[str, str]] = {
    "replicalab/vector-clock": ("replicalab.clocks", "VectorClock"),
    "replicalab/lamport-clock": ("replicalab.clocks", "LamportClock"),
    "replicalab/hybrid-logical-clock": ("replicalab.clocks", "HybridLogicalClock"),
    "replicalab/dot": ("replicalab.dots", "Dot"),
    "replicalab/causal-context": ("replicalab.dots", "CausalContext"),
    "replicalab/lww-register": ("replicalab.crdts.registers", "LWWRegister"),
    "replicalab/mv-register": ("replicalab.crdts.registers", "MVRegister"),
    "replicalab/g-counter": ("replicalab.crdts.counters", "GCounter"),
    "replicalab/pn-counter": ("replicalab.crdts.counters", "PNCounter"),
    "replicalab/g-set": ("replicalab.crdts.sets", "GSet"),
    "replicalab/2p-set": ("replicalab.crdts.sets", "TwoPhaseSet"),
    "replicalab/or-set": ("replicalab.crdts.sets", "ORSet"),
    "replicalab/lww-map": ("replicalab.crdts.maps", "LWWMap"),
    "replicalab/or-map": ("replicalab.crdts.maps", "ORMap"),
}


# ---------------------------------------------------------------------------
# Documents


def dumps(doc: Mapping[str, Any]) -> str:
    """Canonical JSON text of ``doc``: sorted keys, compact separators, ASCII, no NaN."""
    try:
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False,
                          ensure_ascii=True)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"cannot encode as canonical JSON: {exc}") from None
    except RecursionError:
        raise SerializationError(f"cannot encode as canonical JSON: nested deeper than {MAX_DEPTH} levels") from None


def document(kind: str, /, **fields: Any) -> str:
    """The canonical text of a ``replicalab/<kind>`` document with ``fields``."""
    return dumps({"format": f"replicalab/{kind}", "schema_version": SCHEMA_VERSION, **fields})


def _reject_constant(name: str) -> Any:
    raise SerializationError(f"{name} is not allowed: documents hold finite numbers only")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SerializationError(f"number {text[:40]} does not fit a finite float")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SerializationError(f"duplicate key {_validate.shown(key)} in a JSON object")
        out[key] = value
    return out


def _check_depth(root: Any) -> None:
    """Raise if arrays/objects nest deeper than MAX_DEPTH: one pass, level by level."""
    level = [root] if type(root) in (dict, list) else []
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            raise SerializationError(f"document nested deeper than {MAX_DEPTH} levels")
        below: list[Any] = []
        for node in level:
            below.extend(node.values() if type(node) is dict else node)
        level = [node for node in below if type(node) in (dict, list)]
        depth += 1


class _Parsed:
    """A document already parsed by :func:`from_json`, handed to a type's ``from_json``."""

    __slots__ = ("doc",)

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc


def parse(text: str | bytes | bytearray | _Parsed, *, max_bytes: int | None = None) -> dict[str, Any]:
    """Parse untrusted text into a JSON object, enforcing every safety limit."""
    if isinstance(text, _Parsed):  # from_json parsed it already (and checked every limit)
        return text.doc
    limit = MAX_DOCUMENT_BYTES if max_bytes is None else max_bytes
    if type(limit) is not int or limit < 0:
        raise SerializationError(
            f"max_bytes must be an integer >= 0 (or None for {MAX_DOCUMENT_BYTES}), got {_validate.shown(max_bytes)}"
        )
    if isinstance(text, (bytes, bytearray)):
        if len(text) > limit:
            raise SerializationError(f"document of {len(text)} bytes exceeds the limit of {limit}")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(f"document is not UTF-8: {exc}") from None
    if not isinstance(text, str):
        raise SerializationError(f"from_json takes str or bytes, got {type(text).__name__}")
    if len(text) > limit:
        raise SerializationError(f"document of {len(text)} characters exceeds the limit of {limit}")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant,
                         parse_float=_finite_float)
    except SerializationError:
        raise
    except RecursionError:
        raise SerializationError(f"document nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, and int strings over Python's digit limit
        raise SerializationError(f"not valid JSON: {exc}") from None
    _check_depth(doc)
    if not isinstance(doc, dict):
        raise SerializationError(f"a document is a JSON object, got {type(doc).__name__}")
    return doc


def load(text: str | bytes | bytearray | _Parsed, kind: str, fields: Iterable[str], *,
         max_bytes: int | None = None) -> dict[str, Any]:
    """Parse a ``replicalab/<kind>`` document that has exactly ``fields`` besides the header."""
    doc = parse(text, max_bytes=max_bytes)
    expected = f"replicalab/{kind}"
    fmt = doc.get("format")
    if fmt != expected:
        raise SerializationError(f"expected format {_validate.shown(expected)}, got {_validate.shown(fmt)}")
    version = doc.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise SerializationError(
            f"unsupported schema_version {_validate.shown(version)}; this replicalab reads {SCHEMA_VERSION}"
        )
    allowed = set(fields) | {"format", "schema_version"}
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise SerializationError(f"unknown field(s) {unknown} in {expected}; allowed: {sorted(allowed)}")
    missing = sorted(allowed - set(doc))
    if missing:
        raise SerializationError(f"missing field(s) {missing} in {expected}")
    return doc


def from_json(text: str | bytes | bytearray, *, max_bytes: int | None = None) -> Any:
    """Decode any replicalab document, choosing the type from its ``format`` header.

    Only the formats in :data:`FORMATS` are known; the table is fixed in this
    module, so data never chooses what code is imported.
    """
    doc = parse(text, max_bytes=max_bytes)
    fmt = doc.get("format")
    if fmt == OP_FORMAT:
        return op_from_json(_Parsed(doc), max_bytes=max_bytes)
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise SerializationError(f"unknown format {_validate.shown(fmt)}; known: {sorted(FORMATS) + [OP_FORMAT]}")
    _module, name = FORMATS[fmt]
    return _registered(name).from_json(_Parsed(doc), max_bytes=max_bytes)


#: The op types a document may name (a fixed allow-list, never data-driven imports).
OP_TYPES = (
    "GCounter.Increment", "PNCounter.Increment", "PNCounter.Decrement",
    "GSet.Add", "TwoPhaseSet.Add", "TwoPhaseSet.Remove", "ORSet.Add", "ORSet.Remove",
    "LWWRegister.Assign", "MVRegister.Assign",
    "LWWMap.Set", "LWWMap.Delete", "ORMap.Update", "ORMap.Remove",
)

#: The classes this module decodes into, by qualified name. They sit in the layers above
#: this one (clocks, dots, the CRDTs), so this module never imports them at import time:
#: each registers itself when its module is imported, and a class not registered yet is
#: loaded from its module as :data:`FORMATS` names it (a fixed table: a document can only
#: name a class in FORMATS or OP_TYPES, so data never chooses what code is imported).
_REGISTERED: dict[str, type] = {}


def register(*classes: type) -> None:
    """Make ``classes`` decodable by name (called by the modules that define them)."""
    for cls in classes:
        if not isinstance(cls, type):
            raise ConfigError(f"register takes classes, got {_validate.shown(cls)}")
    for cls in classes:
        _REGISTERED[cls.__qualname__] = cls


def _registered(name: str) -> Any:
    """The class named ``name`` (``VectorClock``, ``GCounter.Increment``), its module imported
    if no one has yet (``import replicalab`` imports only what is used)."""
    cls = _REGISTERED.get(name)
    if cls is None:
        _load(name.partition(".")[0])
        cls = _REGISTERED.get(name)
    if cls is None:
        raise SerializationError(f"{name} is not a type replicalab decodes")
    return cls


def _load(state: str) -> None:
    """Import the module that defines state type ``state``, if :data:`FORMATS` names it."""
    for module, name in FORMATS.values():
        if name == state:
            importlib.import_module(module)  # registers its classes


def _op_classes() -> dict[str, type]:
    """The allow-listed op types, by qualified name (their modules imported)."""
    for state in sorted({name.partition(".")[0] for name in OP_TYPES}):
        if state not in _REGISTERED:
            _load(state)
    return {name: _REGISTERED[name] for name in OP_TYPES if name in _REGISTERED}


def write_op_field(op: Any, name: str, value: Any) -> Any:
    """Encode one field of an op by its name (the names mean the same thing in every op)."""
    if name in ("replica", "n", "timestamp"):
        return value
    if name in ("element", "key"):
        return write_element(value, f"op {name}")
    if name == "value":
        if op._value_domain == "element":
            return write_element(value, "op value")
        return write_value(value, "op value")
    if name == "dot":
        return write_dot((value.replica, value.counter))
    if name == "observed":
        return [write_dot((d.replica, d.counter)) for d in value]
    if name == "context":
        return write_counts(value.to_dict())
    if name == "op":
        return {"op": type(value).__qualname__, "fields": value._json_fields()}
    if name == "payload":
        return op._write_payload(value)
    raise SerializationError(f"op field {_validate.shown(name)} has no encoding")  # pragma: no cover


def _read_op_fields(cls: type[Any], fields: dict[str, Any], depth: int) -> dict[str, Any]:
    import attrs

    VectorClock, Dot = _registered("VectorClock"), _registered("Dot")  # noqa: N806 (classes)
    known = {f.name: f for f in attrs.fields(cls)}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise SerializationError(f"unknown field(s) {unknown} for {cls.__qualname__}; allowed: {sorted(known)}")
    missing = sorted(n for n, f in known.items() if f.default is attrs.NOTHING and n not in fields)
    if missing:
        raise SerializationError(f"missing field(s) {missing} for {cls.__qualname__}")
    out: dict[str, Any] = {}
    for name in sorted(fields, key=lambda n: n == "payload"):  # payload last: it needs the nested op
        raw = fields[name]
        what = f"{cls.__qualname__}.{name}"
        if name == "replica":
            out[name] = read_str(raw, what)
        elif name in ("n", "timestamp"):
            out[name] = read_int(raw, what)
        elif name in ("element", "key"):
            out[name] = read_element(raw, what)
        elif name == "value":
            out[name] = read_element(raw, what) if cls._value_domain == "element" else read_value(raw)
        elif name == "dot":
            out[name] = Dot(*read_dot(raw, what))
        elif name == "observed":
            out[name] = [Dot(*d) for d in read_dots(raw, what)]
        elif name == "context":
            out[name] = VectorClock(read_counts(raw, what))
        elif name == "op":
            if depth > 0:
                raise SerializationError("ops nest one level at most (ORMap.Update of a value op)")
            out[name] = _read_op(read_object(raw, what), depth + 1)
        elif name == "payload":
            if "op" not in out:
                raise SerializationError(f"{what} needs the nested op to be read")
            out[name] = cls._read_payload(out["op"], raw)
        else:  # pragma: no cover - every field name of every op is listed above
            raise SerializationError(f"op field {_validate.shown(name)} has no decoding")
    return out


def _read_op(obj: dict[str, Any], depth: int) -> Any:
    if set(obj) != {"op", "fields"}:
        raise SerializationError(f"an op has exactly the fields ['fields', 'op'], got {sorted(obj)}")
    name = obj["op"]
    cls = _op_classes().get(name) if isinstance(name, str) else None
    if cls is None:
        raise SerializationError(f"unknown op {_validate.shown(name)}; known: {sorted(_op_classes())}")
    kwargs = _read_op_fields(cls, read_object(obj["fields"], "fields"), depth)
    with decoding(name):
        return cls(**kwargs)


def op_from_json(text: str | bytes | bytearray | _Parsed, *, max_bytes: int | None = None) -> Any:
    """Decode any op written by ``op.to_json()`` (allow-listed op types only)."""
    doc = load(text, "op", ["op", "fields"], max_bytes=max_bytes)
    return _read_op({"op": doc["op"], "fields": doc["fields"]}, 0)


def decoding(what: str) -> Any:
    """Context manager turning a library error raised while rebuilding a value into SerializationError."""
    return _Decoding(what)


class _Decoding:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Literal[False]:
        if isinstance(exc, ReplicaLabError) and not isinstance(exc, SerializationError):
            raise SerializationError(f"{self.what} does not describe a valid state: {exc}") from exc
        return False


# ---------------------------------------------------------------------------
# Field readers (each names the field and what would be valid)


def read_int(value: Any, what: str, minimum: int = 0) -> int:
    if type(value) is not int:
        raise SerializationError(f"{what} must be an integer, got {json.dumps(value)[:60]}")
    if value < minimum:
        raise SerializationError(f"{what} must be >= {minimum}, got {value}")
    return value


def read_str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SerializationError(f"{what} must be a non-empty string, got {json.dumps(value)[:60]}")
    return value


def read_list(value: Any, what: str, length: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise SerializationError(f"{what} must be a JSON array, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise SerializationError(f"{what} must have {length} items, got {len(value)}")
    return value


def read_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SerializationError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def read_counts(value: Any, what: str) -> dict[str, int]:
    """A ``{"replica": count}`` object with integer counts >= 0."""
    out = {}
    for replica, count in read_object(value, what).items():
        read_str(replica, f"{what} key")
        out[replica] = read_int(count, f"{what}[{replica!r}]")
    return out


def write_counts(counts: Mapping[str, int]) -> dict[str, int]:
    return {r: c for r, c in counts.items() if c}


def write_dot(dot: tuple[str, int]) -> list[Any]:
    return [dot[0], dot[1]]


def read_dot(value: Any, what: str) -> tuple[str, int]:
    replica, counter = read_list(value, what, 2)
    return (read_str(replica, f"{what} replica"), read_int(counter, f"{what} counter", 1))


def write_dots(dots: Iterable[tuple[str, int]]) -> list[list[Any]]:
    return [write_dot(d) for d in sorted(dots)]


def read_dots(value: Any, what: str) -> list[tuple[str, int]]:
    out = [read_dot(d, f"{what} item") for d in read_list(value, what)]
    if len(set(out)) != len(out):
        raise SerializationError(f"{what} lists a dot twice")
    return out


def write_context(vv: Mapping[str, int], cloud: Iterable[tuple[str, int]]) -> dict[str, Any]:
    return {"vv": write_counts(vv), "cloud": write_dots(cloud)}


def read_context(value: Any, what: str) -> tuple[dict[str, int], list[tuple[str, int]]]:
    obj = read_object(value, what)
    if set(obj) != {"vv", "cloud"}:
        raise SerializationError(f"{what} must have exactly the fields ['cloud', 'vv'], got {sorted(obj)}")
    return read_counts(obj["vv"], f"{what}.vv"), read_dots(obj["cloud"], f"{what}.cloud")


def write_element(value: Any, what: str = "element") -> Any:
    """Encode a hashable element: None, int (not bool), str, or a tuple of elements."""
    kind = type(value)
    if value is None or kind is int or kind is str:
        return value
    if kind is tuple:
        return [write_element(item, what) for item in value]
    raise SerializationError(
        f"{what} {_validate.shown(value)} ({kind.__name__}) is outside the serializable element domain: "
        "None, int, str, or tuples of those (bool and float are excluded: True == 1 == 1.0)"
    )


def read_element(value: Any, what: str = "element") -> Any:
    kind = type(value)
    if value is None or kind is int or kind is str:
        return value
    if kind is list:
        return tuple(read_element(item, what) for item in value)
    raise SerializationError(
        f"{what} must be null, an integer, a string or an array of those, got {json.dumps(value)[:60]}"
    )


def element_key(value: Any) -> str:
    """Sort key of an encoded element: its canonical JSON text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def write_value(value: Any, what: str = "value") -> Any:
    """Encode a value: None, bool, int, finite float, str, list of values, dict of str -> value."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        if not math.isfinite(value):
            raise SerializationError(f"{what} {_validate.shown(value)} is not a finite number")
        return value
    if kind is list:
        return [write_value(item, what) for item in value]
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise SerializationError(f"{what} dict keys must be strings, got {_validate.shown(key)}")
            out[key] = write_value(item, what)
        return out
    raise SerializationError(
        f"{what} {_validate.shown(value)} ({kind.__name__}) is outside the serializable value domain: None, "
        "bool, int, finite float, str, lists and str-keyed dicts of those (use a list, not a tuple)"
    )


def read_value(value: Any, what: str = "value") -> Any:
    # parse() already limited the document to JSON types with finite floats.
    return value
