"""Histories of client operations: what a linearizability checker reads.

A history is a list of :class:`Operation` values. Each says which ``process``
(a client: one row of a picture) called which operation at ``call`` time, what
it passed (``input``) and, once it returned at ``ret``, what it got back
(``output``). An operation that never returned (``ret=None``: a timeout, an
answer lost on its way) may or may not have taken effect, at any time after its
call; it has no output.

The operations, on one register (``key=None``) or on register ``key`` of a
key-value map (model ``"kv"``):

* ``"write"`` — input: the value written; output: None;
* ``"read"`` — input: None; output: the value read;
* ``"cas"`` — input: ``(expected, new)``; output: True if it swapped, False if
  the register did not hold ``expected`` (then it changed nothing).

Values are ``None`` (every register's initial value, unless the checker is
given another ``initial``), integers and
strings; ``bool`` is refused because ``True == 1`` in Python, so a register
could not tell them apart. Times are integers >= 0 (ms, nanoseconds, or
positions in a log: only their order matters). Two operations are ordered in
real time only if one returned *strictly before* the other was called; equal
times count as concurrent.

**The JSON form** is public and versioned, like replicalab's other documents::

    {"format": "replicalab/history", "schema_version": 1,
     "operations": [{"process": "p1", "call": 0, "return": 5, "kind": "write",
                     "key": null, "input": 1, "output": null, "label": "w1"}, ...]}

``return`` is ``null`` for an operation that never returned; a ``cas`` input is
a two-element array. Every field is required; unknown fields are refused.

    >>> h = History([Operation("p1", 0, 5, "write", 1), Operation("p2", 6, 8, "read", output=1)])
    >>> History.from_json(h.to_json()) == h
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from replicalab import _validate, serialization
from replicalab.errors import ConfigError, SerializationError

__all__ = ["HISTORY_FORMAT", "KINDS", "History", "Operation"]

#: The ``format`` header of a history document.
HISTORY_FORMAT = "replicalab/history"
#: The operation kinds a history may hold.
KINDS = ("read", "write", "cas")


def _check_value(value: Any, what: str) -> Any:
    if value is None or type(value) in (int, str):
        return value
    raise ConfigError(f"{what} must be None, an integer or a string (not bool or float: "
                      f"True == 1 == 1.0), got {_validate.shown(value)}")


def _check_time(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ConfigError(f"{what} must be an integer >= 0, got {_validate.shown(value)}")
    return value


@attrs.frozen
class Operation:
    """One client operation: ``process`` called ``kind(input)`` at ``call`` and got ``output`` at ``ret``.

    ``ret=None``: it never returned (it may or may not have taken effect), and
    ``output`` must be None. ``key`` names the register in a key-value history
    (None on a single register). ``label`` is for people (a request's op id).
    Every field is checked here, so a bad operation never reaches the checker.

        >>> Operation("p1", 0, 3, "cas", (1, 2), True)
        Operation(process='p1', call=0, ret=3, kind='cas', input=(1, 2), output=True, key=None, label='')
    """

    process: str
    call: int
    ret: int | None
    kind: str
    input: Any = None
    output: Any = None
    key: str | None = None
    label: str = ""

    def __attrs_post_init__(self) -> None:
        _validate.name(self.process, "an operation's process")
        _check_time(self.call, "an operation's call time")
        if self.ret is not None:
            _check_time(self.ret, "an operation's return time (or None: it never returned)")
            if self.ret < self.call:
                raise ConfigError(f"an operation returns at or after its call: call={self.call}, "
                                  f"ret={self.ret}")
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ConfigError(f"an operation's kind is one of {list(KINDS)}, got "
                              f"{_validate.shown(self.kind)}")
        if self.key is not None:
            _validate.name(self.key, "an operation's key (or None on a single register)")
        if not isinstance(self.label, str):
            raise ConfigError(f"an operation's label is a string, got {_validate.shown(self.label)}")
        if self.kind == "write":
            _check_value(self.input, "a write's input")
            if self.output is not None:
                raise ConfigError(f"a write's output is None, got {_validate.shown(self.output)}")
        elif self.kind == "read":
            if self.input is not None:
                raise ConfigError(f"a read's input is None, got {_validate.shown(self.input)}")
            if self.ret is None and self.output is not None:
                raise ConfigError("a read that never returned has no output (None), got "
                                  f"{_validate.shown(self.output)}")
            _check_value(self.output, "a read's output")
        else:
            if type(self.input) is not tuple or len(self.input) != 2:
                raise ConfigError(f"a cas input is a tuple (expected, new), got "
                                  f"{_validate.shown(self.input)}")
            _check_value(self.input[0], "a cas's expected value")
            _check_value(self.input[1], "a cas's new value")
            if self.ret is None:
                if self.output is not None:
                    raise ConfigError("a cas that never returned has no output (None), got "
                                      f"{_validate.shown(self.output)}")
            elif type(self.output) is not bool:
                raise ConfigError(f"a cas's output is True (it swapped) or False (it did not), "
                                  f"got {_validate.shown(self.output)}")

    @property
    def returned(self) -> bool:
        """True if the operation returned (its effect and output are known)."""
        return self.ret is not None

    def describe(self) -> str:
        """A short text such as ``write(1)``, ``read() -> 1``, ``cas(1, 2) -> ok``, ``write(3) -> ?``."""
        where = f"[{self.key}]" if self.key is not None else ""
        if self.kind == "write":
            text = f"write{where}({self.input!r})"
            return text if self.returned else text + " -> ?"
        if self.kind == "read":
            return f"read{where}() -> " + (repr(self.output) if self.returned else "?")
        expected, new = self.input
        outcome = "?" if not self.returned else ("ok" if self.output else "fail")
        return f"cas{where}({expected!r}, {new!r}) -> {outcome}"

    def to_plain(self) -> dict[str, Any]:
        """This operation as plain data (one entry of the JSON form's ``operations``)."""
        value = list(self.input) if self.kind == "cas" else self.input
        return {"process": self.process, "call": self.call, "return": self.ret, "kind": self.kind,
                "key": self.key, "input": value, "output": self.output, "label": self.label}


_OPERATION_FIELDS = ("process", "call", "return", "kind", "key", "input", "output", "label")


def _operation_from_plain(value: Any, index: int) -> Operation:
    what = f"operations[{index}]"
    obj = serialization.read_object(value, what)
    if set(obj) != set(_OPERATION_FIELDS):
        raise SerializationError(f"{what} must have exactly the fields {sorted(_OPERATION_FIELDS)}, "
                                 f"got {sorted(obj)}")
    kind = obj["kind"]
    given = obj["input"]
    if kind == "cas" and isinstance(given, list):
        given = tuple(given)
    for name in ("call", "return"):
        if type(obj[name]) is bool:  # JSON true is not a time
            raise SerializationError(f"{what}.{name} must be an integer, got {obj[name]}")
    with serialization.decoding(what):
        return Operation(obj["process"], obj["call"], obj["return"], kind, given, obj["output"],
                         obj["key"], obj["label"])


def _operations(value: Any) -> tuple[Operation, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"a history is a list of Operation values, got {_validate.shown(value)}")
    ops = tuple(value)
    for index, op in enumerate(ops):
        if not isinstance(op, Operation):
            raise ConfigError(f"a history holds Operation values; operations[{index}] is "
                              f"{_validate.shown(op)}")
    return ops


@attrs.frozen
class History:
    """A list of :class:`Operation` values, in any order (the checker sorts by time).

    Build one from operations, from its JSON form (:meth:`from_json`), or from a
    run's trace (:func:`replicalab.checkers.history_of`).
    """

    operations: tuple[Operation, ...] = attrs.field(converter=_operations)

    def __len__(self) -> int:
        return len(self.operations)

    @property
    def keys(self) -> list[str | None]:
        """The registers the operations touch, sorted (None: the single register)."""
        named = sorted({op.key for op in self.operations if op.key is not None})
        return ([None] if any(op.key is None for op in self.operations) else []) + list(named)

    def to_plain(self) -> dict[str, Any]:
        """The history document as plain data."""
        return {"format": HISTORY_FORMAT, "schema_version": serialization.SCHEMA_VERSION,
                "operations": [op.to_plain() for op in self.operations]}

    def to_json(self) -> str:
        """The canonical JSON history document (see the module docs)."""
        return serialization.document("history", operations=[op.to_plain() for op in self.operations])

    @classmethod
    def from_json(cls, text: str | bytes | bytearray, *, max_bytes: int | None = None) -> History:
        """Read a history document; anything malformed raises :class:`SerializationError`."""
        doc = serialization.load(text, "history", ["operations"], max_bytes=max_bytes)
        ops = serialization.read_list(doc["operations"], "operations")
        return cls(_operation_from_plain(op, i) for i, op in enumerate(ops))
