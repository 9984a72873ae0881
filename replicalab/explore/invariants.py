"""Invariants by name: properties of a finished run (a :class:`~replicalab.scenarios.world.Result`).

The explorer checks an invariant on every final state — every schedule's end — never on a
run still going: each is a property of a whole run (the ledger, the final items, the reads'
answers), as the ledger itself is.

``no-silent-loss``        no write is ``silently-lost`` (DESIGN §4's ledger verdict).
``converges``             every live replica ends with the same items.
``no-stale-strong-read``  no strongly consistent read missed a write acknowledged before it
                          began (the run's ``stale_reads``).
``linearizable``          the client history (:func:`~replicalab.checkers.history_of`, one
                          register per item attribute) is linearizable
                          (:func:`~replicalab.checkers.linearizable`, ``model="kv"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replicalab import _validate
from replicalab.checkers import history_of, linearizable
from replicalab.errors import ConfigError
from replicalab.scenarios.world import Result

__all__ = ["INVARIANTS", "invariant"]

Invariant = Callable[[Result], bool]


def _no_silent_loss(result: Result) -> bool:
    return result.summary["silently_lost"] == 0


def _converges(result: Result) -> bool:
    return result.converged


def _no_stale_strong_read(result: Result) -> bool:
    return not result.stale_reads


def _linearizable(result: Result) -> bool:
    return linearizable(history_of(result), model="kv").ok


#: The invariants by name.
INVARIANTS: dict[str, Invariant] = {
    "no-silent-loss": _no_silent_loss,
    "converges": _converges,
    "no-stale-strong-read": _no_stale_strong_read,
    "linearizable": _linearizable,
}


def invariant(given: Any) -> tuple[str, Invariant]:
    """``(name, function)`` for an invariant's name or a function of a Result (its name is
    the function's ``__name__``); anything else raises ConfigError listing the names."""
    if isinstance(given, str) and given in INVARIANTS:
        return given, INVARIANTS[given]
    if callable(given) and not isinstance(given, str):
        return getattr(given, "__name__", "invariant"), given
    raise ConfigError(f"unknown invariant {_validate.shown(given)}; choose one of: "
                      f"{', '.join(INVARIANTS)}, or pass a function of a Result returning True when it holds")
