"""DynamoDB's single-item semantics: attribute values, expressions, and a one-region table.

Requests and responses are shaped like boto3's low-level client (DynamoDB JSON in, dicts
out), errors are named like boto3's and are :mod:`replicalab.errors` classes too. Pure: no
time, no replication (the global-table model is built on top of these).

* :mod:`~replicalab.dynamodb.values` — DynamoDB JSON <-> Python values; numbers and sets
* :mod:`~replicalab.dynamodb.expressions` — the UpdateExpression / ConditionExpression parser
* :mod:`~replicalab.dynamodb.evaluate` — conditions and updates applied to one item
* :mod:`~replicalab.dynamodb.table` — put/update/delete/get on one table in one region
"""

from replicalab.dynamodb.evaluate import apply_update, evaluate_condition
from replicalab.dynamodb.exceptions import (
    ConditionalCheckFailedException,
    DynamoDBError,
    ResourceNotFoundException,
    ValidationException,
)
from replicalab.dynamodb.table import AppliedWrite, Table
from replicalab.dynamodb.values import to_dynamodb, to_python

__all__ = [
    "AppliedWrite",
    "ConditionalCheckFailedException",
    "DynamoDBError",
    "ResourceNotFoundException",
    "Table",
    "ValidationException",
    "apply_update",
    "evaluate_condition",
    "to_dynamodb",
    "to_python",
]
