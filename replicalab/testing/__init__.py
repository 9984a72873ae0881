"""Tools for testing CRDTs — yours or ours — with Hypothesis.

* :func:`check_crdt` — point it at a class with ``merge`` (and ``==``) and a
  strategy of ops; it checks on states *reachable by those ops* that merge is
  commutative, associative, idempotent and inflationary, and that replicas
  converge however the ops are split and the states delivered. A failure is
  an ``AssertionError`` carrying a shrunk, runnable counterexample.
* :mod:`replicalab.testing.strategies` — tiny-domain strategies for clocks,
  dots, the ops of every replicalab CRDT, and reachable states.
* :func:`schedules` / :func:`run` — replica schedules as data (which op runs
  where, which stale state is delivered to whom), and their execution.
* :class:`Call` — an op that calls a method by name, for learners' classes.

Needs ``hypothesis`` (``pip install 'replicalab[dev]'``).

    >>> from replicalab.crdts import PNCounter
    >>> from replicalab.testing import check_crdt, strategies
    >>> check_crdt(PNCounter, ops=strategies.crdt_ops(PNCounter), max_examples=10)
"""

from replicalab.testing import strategies
from replicalab.testing.laws import LawViolation, check_crdt
from replicalab.testing.schedules import Apply, Call, Deliver, Execution, Schedule, run, schedules

__all__ = [
    "Apply",
    "Call",
    "Deliver",
    "Execution",
    "LawViolation",
    "Schedule",
    "check_crdt",
    "run",
    "schedules",
    "strategies",
]
