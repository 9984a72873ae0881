"""Replicas: sans-I/O state machines (the contract) and the table replica (a region)."""

from replicalab.replica.base import Context, RecordingContext, Replica, Request, Response
from replicalab.replica.requests import GetItem, PutItem, ReadResult, UpdateItem
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
