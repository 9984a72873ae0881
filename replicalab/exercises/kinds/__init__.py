"""Check kinds: the code behind a check's ``kind``; an exercise file only picks one and sets its data.

Every kind is a module here with ``PARAMS`` (the allowed parameter keys, each
with a validator of plain data), ``REQUIRED`` (the keys that must be given)
and ``run(ctx)``, which grades the learner's module and raises
:class:`~replicalab.exercises.kinds.common.CheckFailed` with a message for
people when it fails. Exceptions raised by the learner's own code propagate;
the runner reports them with the learner's file and line.

========== =====================================================================
kind       what it checks
========== =====================================================================
golden     a worked example: construct, call, compare (a tiny data language)
laws       ``check_crdt`` on a class: join laws and convergence, shrunk counterexample
oracle     a function or class against replicalab's own on generated cases
scenario   a merge policy replayed in a scenario over many seeds, judged by the ledger
answer     a written answer (e.g. the law a broken CRDT violates), checked by digest
replica    a sans-I/O replica run in the simulator: does it converge, how fast?
sync       an anti-entropy routine against a peer that meters every byte
explore    an invariant stated as data, judged in every schedule of a scenario
requests   DynamoDB requests (data) replayed on a GlobalTable, judged by the ledger
========== =====================================================================
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from replicalab.errors import ConfigError

__all__ = ["KINDS", "kind_module", "validate_params"]

#: Kind name -> the module (in this package) implementing it. A fixed table: data never
#: names a module to import.
KINDS: dict[str, str] = {
    "golden": "replicalab.exercises.kinds.golden",
    "laws": "replicalab.exercises.kinds.laws",
    "oracle": "replicalab.exercises.kinds.oracle",
    "scenario": "replicalab.exercises.kinds.scenario",
    "answer": "replicalab.exercises.kinds.answer",
    "replica": "replicalab.exercises.kinds.replica",
    "sync": "replicalab.exercises.kinds.sync",
    "explore": "replicalab.exercises.kinds.explore",
    "requests": "replicalab.exercises.kinds.requests",
}


def kind_module(kind: str) -> ModuleType:
    """The module implementing check kind ``kind``."""
    if kind not in KINDS:
        raise ConfigError(f"unknown check kind {kind!r}; kinds are: {', '.join(sorted(KINDS))}")
    return importlib.import_module(KINDS[kind])


def validate_params(kind: str, params: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` unless ``params`` are valid parameters of ``kind``."""
    module = kind_module(kind)
    allowed: dict[str, Any] = module.PARAMS
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} for kind {kind!r}; allowed: "
                          f"{sorted(allowed) + ['hint', 'kind', 'name', 'points', 'requires', 'timeout']}")
    missing = sorted(set(module.REQUIRED) - set(params))
    if missing:
        raise ConfigError(f"kind {kind!r} needs {missing}")
    for key, value in params.items():
        allowed[key](value, key)
    together = getattr(module, "validate", None)  # rules about keys together
    if together is not None:
        together(params)
