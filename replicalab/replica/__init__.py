"""Replicas: sans-I/O state machines (the contract) and the table replica (a region).

The table replica and its message (``TableReplica``, ``Replicate``) are imported on first use
(PEP 562): they bring the DynamoDB expression language, the items and the anti-entropy code,
which a learner's own :class:`Replica` in a :class:`~replicalab.sim.Simulation` never needs.
"""

from __future__ import annotations

from replicalab.replica.base import Context, RecordingContext, Replica, Request, Response
from replicalab.replica.requests import GetItem, PutItem, ReadResult, UpdateItem

#: ``typing.TYPE_CHECKING`` without importing typing: mypy reads any constant of this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from replicalab.replica.table import Replicate, TableReplica

__all__ = [
    "Context",
    "GetItem",
    "PutItem",
    "ReadResult",
    "RecordingContext",
    "Replica",
    "Replicate",
    "Request",
    "Response",
    "TableReplica",
    "UpdateItem",
]


def __getattr__(name: str) -> Any:
    """``TableReplica`` and ``Replicate`` on first use (module docs)."""
    if name in ("TableReplica", "Replicate"):
        from replicalab.replica import table

        value = getattr(table, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'replicalab.replica' has no attribute {name!r}")
