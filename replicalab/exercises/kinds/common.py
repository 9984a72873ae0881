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

__all__ = ["CheckContext", "CheckFailed", "RunAgain", "fails_when_run", "find", "plain"]


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
