"""DynamoDB's errors, named as boto3 names them, each a :mod:`replicalab.errors` class too.

Code written for boto3 reads ``error.response["Error"]["Code"]``; code written for replicalab
catches :class:`~replicalab.errors.ReplicaLabError`. Both work on the same exception:

    >>> from replicalab.errors import InvalidRequest
    >>> error = ValidationException("ExpressionAttributeValues must not be empty")
    >>> isinstance(error, InvalidRequest), error.response["Error"]["Code"]
    (True, 'ValidationException')
"""

from __future__ import annotations

from typing import Any

from replicalab.errors import (
    ConditionalCheckFailed,
    InvalidRequest,
    ReplicaLabError,
    ReplicatedWriteConflict,
)

__all__ = [
    "ClientError",
    "ConditionalCheckFailedException",
    "DynamoDBError",
    "ProvisionedThroughputExceededException",
    "ReplicatedWriteConflictException",
    "ResourceNotFoundException",
    "ServiceUnavailableException",
    "TransactionCanceledException",
    "ValidationException",
]

_MAX_MESSAGE = 2000


class DynamoDBError(ReplicaLabError):
    """Base of the DynamoDB-shaped errors: ``code`` and a boto3-shaped ``response`` dict."""

    code = "InternalServerError"

    def __init__(self, message: str) -> None:
        if len(message) > _MAX_MESSAGE:  # a hostile name or value must not make a huge message
            message = message[: _MAX_MESSAGE - 3] + "..."
        super().__init__(message)
        self.message = message
        self.response: dict[str, Any] = {"Error": {"Code": self.code, "Message": message}}


class ValidationException(DynamoDBError, InvalidRequest):
    """The request is malformed: bad expression, bad value, wrong key. Nothing was changed."""

    code = "ValidationException"


class ResourceNotFoundException(DynamoDBError, InvalidRequest):
    """The request names a table that does not exist. Nothing was changed."""

    code = "ResourceNotFoundException"


class ConditionalCheckFailedException(DynamoDBError, ConditionalCheckFailed):
    """The request's ConditionExpression was false on the item; nothing was changed.

    With ``ReturnValuesOnConditionCheckFailure="ALL_OLD"`` the item as it was is in
    ``response["Item"]`` (DynamoDB JSON), as boto3 reports it.
    """

    code = "ConditionalCheckFailedException"

    def __init__(self, message: str = "The conditional request failed",
                 item: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        if item is not None:
            self.response["Item"] = item


class ReplicatedWriteConflictException(DynamoDBError, ReplicatedWriteConflict):
    """MRSC: the write conflicted with a concurrent write from another region; not applied."""

    code = "ReplicatedWriteConflictException"


class TransactionCanceledException(DynamoDBError, ConditionalCheckFailed):
    """TransactWriteItems was cancelled: nothing was written. ``response["CancellationReasons"]``
    has one reason per item, in request order (``{"Code": "None"}`` for items that were fine)."""

    code = "TransactionCanceledException"

    def __init__(self, message: str, reasons: list[dict[str, Any]] | None = None) -> None:
        codes = ", ".join(r.get("Code", "None") for r in reasons or [])
        super().__init__(f"Transaction cancelled, please refer cancellation reasons for specific "
                         f"reasons [{codes}]" if reasons is not None else message)
        self.response["CancellationReasons"] = list(reasons or [])


class ProvisionedThroughputExceededException(DynamoDBError):
    """The table's provisioned capacity is exhausted; retry later (nothing was written)."""

    code = "ProvisionedThroughputExceededException"


class ServiceUnavailableException(DynamoDBError):
    """The region could not be reached (it is down, or a partition cuts the client off):
    the client cannot know whether the request took effect."""

    code = "ServiceUnavailable"


#: What boto3 code catches as ``botocore.exceptions.ClientError`` (or ``client.exceptions.
#: ClientError``): every DynamoDB error here derives from it and has ``response["Error"]``.
ClientError = DynamoDBError
