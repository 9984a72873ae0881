"""How a message, a timer or a request is described in the trace: deterministic plain data.

The trace must be the same bytes in every process, so whatever reaches it is
plain data, an attrs class, or an object with a ``trace_fields()`` method or an
address-free ``repr``; anything else is refused with a message saying how to
fix the class (determinism never breaks silently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["describe"]

_SCALARS = frozenset({str, int, float, bool, type(None)})


def describe(msg: Any) -> Any:
    """A message as deterministic plain data for the trace.

    Plain data, attrs classes, and objects with a ``trace_fields()`` method or a ``repr``
    without a memory address are described; anything else (a class with Python's default
    ``<Foo object at 0x7f...>`` repr) raises :class:`ConfigError`, because the address
    differs between processes and the same seed would no longer give the same trace.
    """
    if type(msg) in _SCALARS:  # the common case on the hot path: nothing to look into
        return msg
    fields = getattr(msg, "trace_fields", None)
    if fields is not None:
        described = fields()
        _check_stable(described, msg)
        return {"type": type(msg).__name__, **described}
    if attrs.has(type(msg)):
        out = {"type": type(msg).__name__}
        for field in attrs.fields(type(msg)):
            out[field.name] = _plain(getattr(msg, field.name))
        return out
    return _plain(msg)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {_stable(str(k), k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    return _stable(repr(value), value)


# Python's default repr, <module.Foo object at 0x7f3a...>, and that of functions and methods.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def _stable(text: str, value: Any) -> str:
    """``text`` (a repr or str of ``value`` for the trace), if it holds no memory address."""
    if _ADDRESS.search(text) is None:
        return text
    kind = type(value)
    raise ConfigError(
        f"{kind.__qualname__} cannot go into the trace deterministically: it prints as "
        f"{_validate.shown(text)}, with a memory address that differs between "
        f"runs. Make {kind.__qualname__} an attrs class or dataclass, give it a __repr__ that shows "
        "only its fields, or a trace_fields() method returning plain data (or run with trace=False)"
    )


def _check_stable(value: Any, owner: Any) -> None:
    """Raise unless ``value`` (what ``owner.trace_fields()`` returned) prints the same in every run."""
    if not isinstance(value, dict):
        raise ConfigError(f"{type(owner).__qualname__}.trace_fields() must return a dict of plain data, "
                          f"got {_validate.shown(value)}")
    _plain(value)
