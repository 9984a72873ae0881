"""Small validators shared by the public boundary (not part of the public surface)."""

from __future__ import annotations

import math
import reprlib
from typing import Any

from replicalab.errors import ClockError, ConfigError, LatencyError, ReplicaIdError

_SHOWN = reprlib.Repr()
_SHOWN.maxlevel = 3
_SHOWN.maxstring = 80
_SHOWN.maxother = 80
_SHOWN.maxlong = 40
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque", "maxarray"):
    setattr(_SHOWN, _attr, 12)


def shown(value: Any) -> str:
    """A bounded repr for error messages: at most a few hundred characters, never raising.

    Deeply nested or enormous garbage is cut short (``[[[...]]]``, ``'aaa...aaa'``), and an
    object whose own ``__repr__`` fails is named by its type, so building an error message
    can never itself fail (no ``RecursionError`` from a 50,000-level list).
    """
    try:
        text = _SHOWN.repr(value)
    except Exception:  # a user __repr__ that raises, or recursion inside one
        return f"<{type(value).__name__} object>"
    return text if len(text) <= 300 else text[:297] + "..."


def replica_id(value: Any, what: str = "replica id") -> str:
    """Return ``value`` if it is a usable replica id, else raise :class:`ReplicaIdError`.

    A replica id is a non-empty string. ``bool``, ``None``, numbers and ``''`` are
    refused, because they sort and print ambiguously next to strings.
    """
    if not isinstance(value, str) or isinstance(value, bool):
        raise ReplicaIdError(
            f"{what} must be a non-empty string such as 'eu-west-1', got {shown(value)} "
            f"({type(value).__name__})"
        )
    if not value:
        raise ReplicaIdError(f"{what} must be a non-empty string such as 'eu-west-1', got ''")
    return value


def unhashable(value: Any, what: str, error: type[ConfigError] = ConfigError) -> ConfigError:
    """The error for looking up an unhashable ``value`` (a list, a dict) as a ``what``."""
    return error(f"{what} must be hashable (a string, a number or a tuple), got {shown(value)}")


def name(value: Any, what: str) -> str:
    """Return ``value`` if it is a non-empty string (an op id, an item key), else raise :class:`ConfigError`."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {shown(value)}")
    return value


def counter(value: Any, what: str) -> int:
    """Return ``value`` if it is an int >= 0 (not a bool), else raise :class:`ClockError`."""
    if type(value) is not int:
        raise ClockError(f"{what} must be an integer >= 0, got {shown(value)} ({type(value).__name__})")
    if value < 0:
        raise ClockError(f"{what} must be an integer >= 0, got {shown(value)}")
    return value


def milliseconds(value: Any, what: str) -> float:
    """Return ``value`` if it is a finite number >= 0 (not a bool), else raise :class:`LatencyError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LatencyError(f"{what} must be a number of milliseconds >= 0, got {shown(value)}")
    if type(value) is int and abs(value) > 2**53:  # beyond a float's integers: no time is that long
        raise LatencyError(f"{what} must be a finite number of milliseconds >= 0, got {shown(value)}")
    if not math.isfinite(value) or value < 0:
        raise LatencyError(f"{what} must be a finite number of milliseconds >= 0, got {shown(value)}")
    return value


def probability(value: Any, what: str) -> float:
    """Return ``value`` if it is a number in [0, 1] (not a bool), else raise :class:`LatencyError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LatencyError(f"{what} must be a probability in [0, 1], got {shown(value)}")
    if not (0.0 <= value <= 1.0):  # also refuses NaN
        raise LatencyError(f"{what} must be a probability in [0, 1], got {shown(value)}")
    return float(value)
