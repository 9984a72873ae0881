"""Oracles for the ``oracle`` check kind: replicalab's own answer to a generated case.

Each entry is a module here defining ``ORACLE``, an :class:`Oracle`. The table
below is fixed; an exercise file can only pick one of its names.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["ORACLES", "Oracle", "oracle"]


@attrs.frozen
class Oracle:
    """How to test a learner's ``target`` against replicalab on random cases.

    ``generate(rng)`` makes a case (plain data); ``expected(case)`` is
    replicalab's answer; ``actual(target, case)`` runs the learner's target on
    it; ``code(name, case)`` is the same call as a line of Python for the
    failure message; ``describe`` says in a few words what is compared.

    ``streams`` says the check may run every case first with no round trip to the
    learner's process (see :func:`replicalab.exercises.kinds.oracle.streamed`): true only
    where ``actual`` calls the learner's class or its objects' methods and reads their
    attributes, building its answer from those reads alone — no ``==``, ``bool`` or
    branching on what the learner's code returned.
    """

    generate: Callable[[random.Random], Any]
    expected: Callable[[Any], Any]
    actual: Callable[[Any, Any], Any]
    code: Callable[[str, Any], str]
    describe: str = ""
    streams: bool = False


#: Oracle name -> the module (in this package) defining ``ORACLE``.
ORACLES: dict[str, str] = {
    "vector-compare": "replicalab.exercises.oracles.vector_compare",
    "lamport-run": "replicalab.exercises.oracles.lamport_run",
    "hlc-run": "replicalab.exercises.oracles.hlc_run",
    "version-forks": "replicalab.exercises.oracles.version_forks",
    "merkle-diff": "replicalab.exercises.oracles.merkle_diff",
}


def oracle(name: str) -> Oracle:
    """The oracle called ``name``."""
    return importlib.import_module(ORACLES[name]).ORACLE
