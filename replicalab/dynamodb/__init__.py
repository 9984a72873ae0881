"""DynamoDB's single-item semantics: attribute values, expressions, and a one-region table.

Requests and responses are shaped like boto3's low-level client (DynamoDB JSON in, dicts
out), errors are named like boto3's and are :mod:`replicalab.errors` classes too. Pure: no
time, no replication (the global-table model is built on top of these).

* :mod:`~replicalab.dynamodb.values` — DynamoDB JSON <-> Python values; numbers and sets
* :mod:`~replicalab.dynamodb.expressions` — the UpdateExpression / ConditionExpression parser
* :mod:`~replicalab.dynamodb.evaluate` — conditions and updates applied to one item
* :mod:`~replicalab.dynamodb.table` — put/update/delete/get on one table in one region
* :mod:`~replicalab.dynamodb.cells` — DynamoDB values as a replica stores them

On top of the simulator (imported on first use, since the regions themselves use the modules
above): :class:`~replicalab.dynamodb.global_table.GlobalTable`, a multi-region table run by
boto3-shaped clients (:mod:`~replicalab.dynamodb.client`), and request files
(:mod:`~replicalab.dynamodb.requestfile`).
"""

from typing import Any

from replicalab.dynamodb.evaluate import apply_update, evaluate_condition
from replicalab.dynamodb.exceptions import (
    ClientError,
    ConditionalCheckFailedException,
    DynamoDBError,
    ProvisionedThroughputExceededException,
    ReplicatedWriteConflictException,
    ResourceNotFoundException,
    TransactionCanceledException,
    ValidationException,
)
from replicalab.dynamodb.table import AppliedWrite, Table
from replicalab.dynamodb.values import to_dynamodb, to_python

__all__ = [
    "AppliedWrite",
    "Client",
    "ClientError",
    "ConditionalCheckFailedException",
    "DynamoDBError",
    "GlobalTable",
    "ProvisionedThroughputExceededException",
    "ReplicatedWriteConflictException",
    "ResourceNotFoundException",
    "TransactionCanceledException",
    "Table",
    "ValidationException",
    "apply_update",
    "evaluate_condition",
    "to_dynamodb",
    "to_python",
]


def __getattr__(name: str) -> Any:
    # GlobalTable and its Client sit on the simulator, whose regions import this package's
    # modules: an import at the top would be circular (and would make every import of
    # replicalab.dynamodb pay for the simulator), so it happens on first use.
    if name == "GlobalTable":
        from replicalab.dynamodb.global_table import GlobalTable

        return GlobalTable
    if name == "Client":
        from replicalab.dynamodb.client import Client

        return Client
    raise AttributeError(f"module 'replicalab.dynamodb' has no attribute {name!r}")
