"""What every check kind shares: the context it runs in, its failure, small helpers."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from replicalab.errors import ConfigError

__all__ = ["CheckContext", "CheckFailed", "RunAgain", "fails_when_run", "find", "learner_object_in",
           "plain", "same_data", "shown"]


class CheckFailed(Exception):
    """The learner's module does not do what the check asks; the message says what and where."""


class RunAgain(BaseException):  # noqa: N818 - a request to the runner, not an error
    """A fast first pass of the check did not come out clean: run it again, the ordinary way,
    in a fresh learner's process that has seen only what it would have seen without that pass."""


@attrs.frozen
class CheckContext:
    """What a kind's ``run`` gets: the learner's module, the check's parameters, the seed."""

    module: ModuleType
    params: dict[str, Any]
    seed: int
    name: str = ""
    #: The exercise's own ``starter.py`` (shipped with replicalab, never the learner's file).
    starter: Path | None = None
    #: May the check try a fast first pass (see :class:`RunAgain`)? False when run again.
    first_pass: bool = True


def fails_when_run(session: Any, code: str) -> bool | None:
    """Run ``code`` exactly as a report would print it, in the learner's process.

    True when it raised there (so it is a runnable counterexample), False when it ran
    through, None when it could not be run (no learner's process, or it failed). The run
    gets a short deadline of its own; the check's deadline is restored afterwards.
    """
    from replicalab.exercises.protocol import deadline
    from replicalab.exercises.remote import LearnerError, WorkerFailed

    if session is None:
        return None
    saved = session.deadline
    session.deadline = min(saved, deadline(3.0)) if saved else deadline(3.0)
    try:
        fails = session.value({"op": "snippet", "code": code})
    except (WorkerFailed, LearnerError):
        return None
    finally:
        session.deadline = saved
    return fails if isinstance(fails, bool) else None


def find(module: ModuleType, name: str, what: str = "name") -> Any:
    """``module.name``, or a :class:`CheckFailed` saying the starter defines it."""
    if not hasattr(module, name):
        raise CheckFailed(f"your module has no {what} {name!r} (the starter defines it; "
                          "keep its name and signature)")
    return getattr(module, name)


def plain(value: Any) -> Any:
    """``value`` as comparable plain data: sets become sorted lists, tuples lists, enums names.

        >>> plain({"a": (1, "x"), "b": frozenset({2, 1})})
        {'a': [1, 'x'], 'b': [1, 2]}
    """
    if hasattr(type(value), "_remote_plain"):  # a learner's object: made plain where it lives
        return value._remote_plain()
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=lambda v: (type(v).__name__, repr(v)))
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {plain(k) if not isinstance(k, str) else k: plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def learner_object_in(value: Any) -> Any:
    """The first object of the learner's (a stand-in) inside plain data ``value``, or None.

    :func:`plain` leaves a learner's object that is not one of the builtin data types as a
    stand-in (an ``int`` subclass is one), and comparing a stand-in runs the learner's ``==``.
    """
    from replicalab.exercises.remote import is_remote

    if is_remote(value):
        return value
    if isinstance(value, (list, tuple)):
        items: Any = value
    elif isinstance(value, Mapping):
        items = [*value.keys(), *value.values()]
    else:
        return None
    for item in items:
        found = learner_object_in(item)
        if found is not None:
            return found
    return None


def same_data(got: Any, expected: Any) -> bool:
    """Is ``got`` (plain data read from the learner) the plain data ``expected``?

    Where ``expected`` is data — the exercise's or replicalab's answer — ``got`` must be data
    too: a learner's object there is never equal, so no ``__eq__`` of the learner's (one
    that says True to anything) decides the comparison. Where ``expected`` holds a learner's
    object (a golden step comparing with a value bound earlier), the learner's ``==`` is the
    equality being checked.
    """
    if learner_object_in(expected) is None and learner_object_in(got) is not None:
        return False
    return bool(got == expected)


def shown(value: Any) -> str:
    """``value`` (plain data read from the learner) for a message: a learner's object in it is
    named by its class, so the message does not print ``1100`` for an object that is not 1100."""
    found = learner_object_in(value)
    if found is None:
        return repr(value)
    kind = type(found)
    return (f"{value!r:.200} — holding an object of your class {kind.__qualname__} "
            f"(from {kind.__module__}), not plain data: the check compares values as data "
            "(int, str, list, dict...), so return the value itself")


# -- validators of plain parameter data -------------------------------------------------

def is_name(value: Any, key: str) -> None:
    if not isinstance(value, str) or not value.isidentifier():
        raise ConfigError(f"{key!r} must be a Python identifier, got {value!r}")


def is_int(minimum: int, maximum: int) -> Callable[[Any, str], None]:
    def check(value: Any, key: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ConfigError(f"{key!r} must be an integer in {minimum}..{maximum}, got {value!r}")
    return check


def is_text(value: Any, key: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key!r} must be a non-empty string, got {value!r}")


def is_data(value: Any, key: str) -> None:
    """Any TOML value (strings, numbers, booleans, lists, tables)."""


def is_one_of(*choices: str) -> Callable[[Any, str], None]:
    def check(value: Any, key: str) -> None:
        if value not in choices:
            raise ConfigError(f"{key!r} must be one of {list(choices)}, got {value!r}")
    return check


def is_list_of(item: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    def check(value: Any, key: str) -> None:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{key!r} must be a non-empty list, got {value!r}")
        for i, v in enumerate(value):
            item(v, f"{key}[{i}]")
    return check


def tables(value: Any, key: str, allowed: set[str], what: str) -> list[tuple[str, dict[str, Any]]]:
    """``(where, table)`` for each table of a non-empty list whose keys are all in ``allowed``.

    Raises :class:`ConfigError` naming the list, the item and the unknown keys.
    """
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key!r} must be a non-empty list of {what} tables")
    out = []
    for i, table in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, got {table!r}")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        out.append((where, table))
    return out


_HEX = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(value: Any, key: str) -> None:
    if not isinstance(value, str) or not _HEX.match(value):
        raise ConfigError(f"{key!r} must be a SHA-256 hex digest (64 lower-case hex digits)")
