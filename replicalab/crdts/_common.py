"""Shared internals of the CRDT modules (not part of the public surface).

* Deterministic ordering of arbitrary hashable values (:func:`sort_key`), so
  reprs and JSON never depend on hash or set iteration order.
* Conversions between :class:`~replicalab.dots.Dot` / ``CausalContext`` values
  and the compact ``(vv, cloud)`` form the sets and maps keep inside (dots as
  ``(replica, counter)`` tuples). The dot-set algorithms on that form live once,
  in :mod:`replicalab.dots`.
* Small validators and the op base class with a Python-valid repr.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from replicalab import _validate, serialization
from replicalab.clocks import VectorClock
from replicalab.dots import CausalContext, Dot, DotT, compact, seen
from replicalab.errors import ClockError, ConfigError, MergeValidationError

# ---------------------------------------------------------------------------
# Ordering


def sort_key(value: Any) -> tuple[Any, ...]:
    """A total, deterministic sort key for the values a CRDT may hold.

    None < bools < ints < floats < strings < tuples < anything else (by type
    name, then repr). Never uses ``hash()``.
    """
    kind = type(value)
    if value is None:
        return (0,)
    if kind is bool:
        return (1, value)
    if kind is int:
        return (2, value)
    if kind is float:
        return (3, 0, value) if value == value else (3, 1, 0.0)
    if kind is str:
        return (4, value)
    if kind is tuple:
        return (5, tuple(sort_key(item) for item in value))
    return (9, kind.__module__, kind.__qualname__, repr(value))


def sorted_values(values: Iterable[Any]) -> list[Any]:
    """``values`` sorted deterministically (plain ``sorted`` when it works, else by :func:`sort_key`)."""
    items = list(values)
    try:
        kinds = {type(v) for v in items}
        if len(kinds) <= 1 and (not kinds or kinds <= {str, int}):
            return sorted(items)
    except TypeError:  # pragma: no cover - guarded by the kinds check
        pass
    return sorted(items, key=sort_key)


def hashable(value: Any, what: str) -> Any:
    """Return ``value`` if it can live in a set or as a map key, else raise :class:`ConfigError`."""
    try:
        hash(value)
    except TypeError:
        raise ConfigError(
            f"{what} must be hashable (str, int, tuple...), got {_validate.shown(value)} ({type(value).__name__}); "
            "use a tuple instead of a list"
        ) from None
    return value


def map_key(_instance: Any, _attribute: Any, value: Any) -> None:
    """attrs validator: ``value`` can be a map key (hashable), else :class:`ConfigError`."""
    hashable(value, "a map key")


def entry_of(entries: Mapping[Any, Any], key: Any) -> Any:
    """``entries.get(key)``, or ConfigError for a key no map could hold (unhashable)."""
    try:
        return entries.get(key)
    except TypeError:
        raise _validate.unhashable(key, "map key") from None


def amount(value: Any, what: str = "increment amount") -> int:
    """Return ``value`` if it is an int >= 0 (not a bool), else raise :class:`MergeValidationError`."""
    if type(value) is not int or value < 0:
        raise MergeValidationError(
            f"{what} must be an integer >= 0, got {_validate.shown(value)}; counters only move by "
            "non-negative steps (use decrement on a PNCounter to go down)"
        )
    return value


def counts(entries: Any, what: str) -> dict[str, int]:
    """Validate a ``replica -> count`` mapping, dropping zero entries."""
    if entries is None:
        return {}
    if isinstance(entries, VectorClock):
        return entries.to_dict()
    if not isinstance(entries, Mapping):
        raise ConfigError(f"{what} must be a mapping of replica id -> count, got {type(entries).__name__}")
    out: dict[str, int] = {}
    for replica, count in entries.items():
        _validate.replica_id(replica, f"{what} key")
        if type(count) is not int or count < 0:
            raise MergeValidationError(f"{what} entry {_validate.shown(replica)} must be an integer >= 0, got {_validate.shown(count)}")
        if count:
            out[replica] = count
    return out


# ---------------------------------------------------------------------------
# Dots and compact causal contexts


def dot_tuple(value: Any, what: str = "dot") -> DotT:
    """Accept a :class:`Dot` or a ``(replica, counter)`` pair; return the pair."""
    if isinstance(value, Dot):
        return (value.replica, value.counter)
    if isinstance(value, tuple) and len(value) == 2:
        replica, counter = value
        _validate.replica_id(replica, f"{what} replica")
        if type(counter) is not int or counter < 1:
            raise ClockError(f"{what} counter must be an integer >= 1, got {_validate.shown(counter)}")
        return (replica, counter)
    raise ClockError(f"{what} must be a Dot or a (replica, counter) pair, got {_validate.shown(value)}")


def as_dot(dot: DotT) -> Dot:
    return Dot(dot[0], dot[1])


def context_parts(context: Any) -> tuple[dict[str, int], frozenset[DotT]]:
    """Accept a CausalContext, a VectorClock, a mapping or None; return ``(vv, cloud)``."""
    if context is None:
        return {}, frozenset()
    if isinstance(context, CausalContext):
        return context._parts()
    if isinstance(context, (VectorClock, Mapping)):
        return counts(context, "context"), frozenset()
    raise ClockError(
        f"a context must be a CausalContext (or a VectorClock), got {type(context).__name__}"
    )


# ---------------------------------------------------------------------------
# Ops


class Op:
    """Base of every op value: a repr that is valid Python and a type check on ``apply``.

    Subclasses are frozen attrs classes nested in their CRDT (``GCounter.Increment``),
    so ``type(op).__qualname__`` names them the way a user imports them.
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        serialization.register(cls)  # decodable by its qualified name (GCounter.Increment)

    def __repr__(self) -> str:
        parts = []
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]  # subclasses are attrs classes
            value = getattr(self, field.name)
            if field.kw_only:
                if field.default is not attrs.NOTHING and value == field.default:
                    continue
                parts.append(f"{field.name}={value!r}")
            else:
                parts.append(repr(value))
        return f"{type(self).__qualname__}({', '.join(parts)})"

    def prepare(self, state: Any) -> Op:
        """Return the op with its causal information filled in from ``state`` (the origin).

        Ops whose effect does not depend on the state (counters, G-Sets, LWW
        writes) are already prepared and return themselves.
        """
        return self

    #: Which JSON domain a field named "value" uses: "value" (LWW writes) or "element" (hashed).
    _value_domain = "value"

    def to_json(self) -> str:
        """Canonical JSON of the op: ``{"fields": {...}, "format": "replicalab/op", "op": "GCounter.Increment", ...}``.

        Only fields that differ from their default are written; decode with
        :func:`replicalab.serialization.op_from_json` (or ``Type.Op.from_json``).
        """

        return serialization.document("op", op=type(self).__qualname__, fields=self._json_fields())

    @classmethod
    def from_json(cls, text: str | bytes, *, max_bytes: int | None = None) -> Op:
        """Decode :meth:`to_json` output of this op type; anything else raises SerializationError."""

        op = serialization.op_from_json(text, max_bytes=max_bytes)
        if not isinstance(op, cls):
            raise serialization.SerializationError(
                f"expected a {cls.__qualname__} op, got {type(op).__qualname__}"
            )
        return op

    def _json_fields(self) -> dict[str, Any]:

        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]  # subclasses are attrs classes
            value = getattr(self, field.name)
            if field.default is not attrs.NOTHING and value is None and field.default is None:
                continue
            out[field.name] = serialization.write_op_field(self, field.name, value)
        return out

    def apply(self, state: Any) -> Any:
        """Return ``state`` after this op (a new value; ``state`` is unchanged)."""
        apply_all = getattr(state, "apply_all", None)
        if apply_all is None:
            raise ConfigError(
                f"{type(self).__qualname__}.apply takes a replicalab CRDT, got {type(state).__name__}"
            )
        return apply_all((self,))


def check_state(state: Any, expected: type, op: Any) -> None:
    if not isinstance(state, expected):
        raise ConfigError(
            f"{type(op).__qualname__} applies to a {expected.__name__}, got {type(state).__name__}"
        )


def frozen_collection(value: Any, what: str) -> frozenset:
    """``value`` as a frozenset, or MergeValidationError if it is not a collection of hashables."""
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not hasattr(value, "__iter__"):
        raise MergeValidationError(f"{what} must be a set, got {_validate.shown(value)}")
    try:
        return frozenset(value)
    except TypeError:
        raise MergeValidationError(f"{what} must hold hashable entries, got {_validate.shown(value)}") from None


def mapping_of(value: Any, what: str) -> Mapping:
    """``value`` if it is a mapping (None: empty), else ConfigError."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a mapping, got {_validate.shown(value)}")
    return value


def ops_of(ops: Any, owner: str) -> list[Any]:
    """``ops`` as a list, or :class:`ConfigError` if it is not an iterable of ops (checked first,
    so a bad op late in the list leaves nothing half-applied)."""
    if isinstance(ops, (str, bytes, bytearray, dict)) or not hasattr(ops, "__iter__"):
        raise ConfigError(f"{owner}.apply_all takes an iterable of ops, got {_validate.shown(ops)}")
    return list(ops)


def check_op(op: Any, allowed: tuple[type, ...], owner: str) -> None:
    if not isinstance(op, allowed):
        names = ", ".join(f"{owner}.{t.__name__}" for t in allowed)
        raise ConfigError(f"{owner}.apply_all takes {names} ops, got {_validate.shown(op)}")


def checked_context(context: Any, owner: dict[DotT, Any], holds: str) -> tuple[dict[str, int], frozenset[DotT]]:
    """The compact context of a state built from parts: derived from the dots it holds when
    ``context`` is None, else ``context`` itself, which must cover every dot held (a replica
    has seen every ``holds`` it keeps) or :class:`MergeValidationError` is raised."""
    if context is None:
        return compact({}, owner)
    vv, cloud = compact(*context_parts(context))
    for dot in owner:
        if not seen(vv, cloud, dot):
            raise MergeValidationError(
                f"dot {dot[0]}:{dot[1]} of {_validate.shown(owner[dot])} is not in the context; "
                f"a replica has seen every {holds} it holds"
            )
    return vv, cloud


# -- attrs field helpers shared by the op classes of every type --------------------------


def replica_field(_instance: Any, _attribute: Any, value: Any) -> None:
    """attrs validator: ``value`` is a usable replica id (else :class:`ReplicaIdError`)."""
    _validate.replica_id(value)


def optional_dot(value: Any) -> Dot | None:
    """attrs converter: None, or a :class:`Dot` (a ``(replica, counter)`` pair is accepted)."""
    if value is None:
        return None
    return as_dot(dot_tuple(value, "op dot"))


def optional_dots(value: Any) -> tuple[Dot, ...] | None:
    """attrs converter: None, or the sorted dots an op had observed."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"observed must be an iterable of Dot values, got {_validate.shown(value)}")
    return tuple(sorted(as_dot(dot_tuple(d, "observed dot")) for d in value))


# ---------------------------------------------------------------------------
# Set elements (the sets' shared validators, repr and JSON)


def element_field(_instance: Any, _attribute: Any, value: Any) -> None:
    """attrs validator: ``value`` can be a set element (hashable), else :class:`ConfigError`."""
    hashable(value, "a set element")


def elements_of(values: Any) -> frozenset[Any]:
    """attrs converter: a collection of hashable elements as a frozenset (None: empty)."""
    if values is None:
        return frozenset()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"set elements must be given as a set or list, got {_validate.shown(values)}")
    items = list(values)
    for item in items:
        hashable(item, "a set element")
    return frozenset(items)


def set_repr(values: frozenset[Any]) -> str:
    return "{" + ", ".join(repr(v) for v in sorted_values(values)) + "}"


def write_elements(values: Iterable[Any]) -> list[Any]:
    encoded = [serialization.write_element(v) for v in values]
    return sorted(encoded, key=serialization.element_key)


def read_elements(value: Any, what: str) -> list[Any]:
    out = [serialization.read_element(v, f"{what} item") for v in serialization.read_list(value, what)]
    if len(set(out)) != len(out):
        raise serialization.SerializationError(f"{what} lists an element twice")
    return out
