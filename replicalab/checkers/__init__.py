"""Checkers: properties of a run's history decided from the history alone.

* :func:`linearizable` — is a history of register (or key-value) operations
  linearizable? Wing & Gong's search with Lowe's memoisation; the verdict holds a
  witness order, or a small non-linearizable core with an ASCII timeline.
* :class:`History`, :class:`Operation` — the history format (plain data, with a
  versioned JSON form).
* :func:`history_of` — the client history of a scenario run, from its trace.
* :func:`fractured_reads` — reads that saw half of a transaction (a global table replicates
  a transaction item by item).

The checking core imports nothing from the simulator: a history from a real
network, a published test log or a hand-written list checks the same way.
"""

from replicalab.checkers.history import HISTORY_FORMAT, KINDS, History, Operation
from replicalab.checkers.linearizability import MAX_STEPS, MODELS, Verdict, linearizable, timeline
from replicalab.checkers.runs import history_of
from replicalab.checkers.transactions import FracturedRead, fractured_reads

__all__ = [
    "HISTORY_FORMAT",
    "KINDS",
    "MAX_STEPS",
    "MODELS",
    "FracturedRead",
    "History",
    "Operation",
    "Verdict",
    "fractured_reads",
    "history_of",
    "linearizable",
    "timeline",
]
