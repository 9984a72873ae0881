"""A boto3-shaped DynamoDB client of one region of a :class:`~replicalab.dynamodb.GlobalTable`.

``table.client("eu-west-1")`` returns a :class:`Client` whose methods have boto3's names,
keyword arguments and response shapes, and raise boto3's error classes (as
``client.exceptions.X``, each with ``response["Error"]["Code"]``, each also a
:mod:`replicalab.errors` class). A function written for ``boto3.client("dynamodb")`` runs
unchanged on it.

A request is parsed and validated here, exactly as the single-region
:class:`~replicalab.dynamodb.table.Table` validates it (a malformed request raises
``ValidationException`` and never reaches a region); the parsed request then travels to the
region (its own, or the key's home under ``routing="key-home"``), which evaluates the
condition against *its local copy* and applies the update there
(:mod:`replicalab.replica.dynamo`). The call returns when the reply reaches the client:
at once for a local region, after a round trip for a remote one (simulated time moves on).

Supported: ``put_item``, ``update_item``, ``delete_item``, ``get_item`` (``ConsistentRead``,
``ProjectionExpression``), ``query`` (``KeyConditionExpression`` on the partition key and
the sort key, ``ScanIndexForward``, ``Limit``, ``ExclusiveStartKey``),
``transact_write_items`` (Put, Update, Delete, ConditionCheck; all or nothing in the
region, replicated item by item), ``batch_write_item`` (PutRequest, DeleteRequest; each item
its own write, not atomic), ``update_time_to_live`` (the table's TTL setting, for every region;
the TTL process itself is :meth:`GlobalTable.expire`). Every response carries ``ResponseMetadata`` with
``HTTPStatusCode`` 200 and the request's op id as ``RequestId``.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Generator, Mapping
from decimal import Decimal
from typing import Any

import attrs

import replicalab.dynamodb.exceptions as _exceptions
from replicalab import _validate
from replicalab._validate import shown
from replicalab.dynamodb.cells import from_cells
from replicalab.dynamodb.evaluate import holds
from replicalab.dynamodb.exceptions import (
    ConditionalCheckFailedException,
    DynamoDBError,
    ProvisionedThroughputExceededException,
    ReplicatedWriteConflictException,
    ServiceUnavailableException,
    TransactionCanceledException,
    ValidationException,
)
from replicalab.dynamodb.expressions import parse_key_condition, parse_projection
from replicalab.dynamodb.placeholders import Substitutions
from replicalab.dynamodb.syntax import Path, Set
from replicalab.dynamodb.table import MAX_ITEM_BYTES, Table, _project
from replicalab.dynamodb.values import Value, from_item, item_size, to_item
from replicalab.errors import ConfigError
from replicalab.replica.base import Response
from replicalab.replica.dynamo import (
    DynamoGet,
    DynamoQuery,
    DynamoResult,
    DynamoTransaction,
    DynamoWrite,
    local_partition,
)

__all__ = ["Client", "answer"]

#: DynamoDB's caps on one TransactWriteItems and one BatchWriteItem.
MAX_TRANSACT_ITEMS = 100
MAX_BATCH_ITEMS = 25

EXCEPTIONS = types.SimpleNamespace(**{name: getattr(_exceptions, name) for name in (
    "ClientError", "ConditionalCheckFailedException", "ProvisionedThroughputExceededException",
    "ReplicatedWriteConflictException", "ResourceNotFoundException",
    "ServiceUnavailableException", "TransactionCanceledException", "ValidationException")})


#: One operation as a generator: it yields ``(request, on_failure, writing)`` for each request
#: it sends, receives each result (or has the boto3 error thrown in), and returns the response.
Steps = Generator[tuple[Any, Any, bool], DynamoResult, dict[str, Any]]


def _operation(steps: Callable[..., Steps]) -> Callable[..., dict[str, Any]]:
    """A boto3-shaped method from an operation's steps: called, it runs them to the end (each
    request waits for its answer). ``method.steps`` stays available, so a driver can run
    several clients' operations at once (:meth:`GlobalTable.start`)."""
    @functools.wraps(steps)
    def method(self: Client, **request: Any) -> dict[str, Any]:
        return self._drive(steps(self, **request))

    method.steps = steps  # type: ignore[attr-defined]
    # What a caller (and the reference docs) see: boto3's response dict, not the steps.
    method.__annotations__ = {**steps.__annotations__, "return": "dict[str, Any]"}
    method.__signature__ = inspect.signature(steps).replace(  # type: ignore[attr-defined]
        return_annotation="dict[str, Any]")
    return method


def _metadata(op: str) -> dict[str, Any]:
    return {"ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": op}}


def _unknown(operation: str, given: Mapping[str, Any]) -> None:
    if given:
        raise ValidationException(
            f"{operation} does not take parameter(s) {sorted(given)} here; see "
            "replicalab.dynamodb.client for the parameters each operation takes")


class Client:
    """boto3-shaped client of ``region`` (see the module docs). ``name`` names the client in
    the ledger and the timeline (e.g. ``"portal"``)."""

    exceptions = EXCEPTIONS

    def __init__(self, table: Any, region: str, name: str) -> None:
        """Client ``name`` of ``table`` (a GlobalTable) in ``region``; ``table.client(region)``
        is the usual way to get one."""
        # Recognised by what it has, not by class: global_table imports this module, and
        # the layering test forbids the cycle an import of GlobalTable here would close.
        if not (isinstance(getattr(table, "_schema", None), Table)
                and callable(getattr(table, "_call", None))
                and isinstance(getattr(getattr(table, "scenario", None), "regions", None), tuple)):
            raise ConfigError(f"a Client belongs to a GlobalTable, got {shown(table)}; get one "
                              "with table.client(region)")
        if not isinstance(region, str) or region not in table.scenario.regions:
            raise ConfigError(f"unknown region {shown(region)}; regions are {list(table.scenario.regions)}")
        _validate.replica_id(name, "client name")
        self._table = table
        self.region = region
        self.name = name
        self._schema: Table = table._schema

    def __repr__(self) -> str:
        return f"<replicalab DynamoDB client {self.name!r} in {self.region} of {self._schema.name!r}>"

    # -- writes

    @_operation
    def put_item(self, *, TableName: str, Item: Any, ConditionExpression: str | None = None,
                 ExpressionAttributeNames: Any = None, ExpressionAttributeValues: Any = None,
                 ReturnValues: str = "NONE", ReturnValuesOnConditionCheckFailure: str = "NONE",
                 **unknown: Any) -> Steps:
        """PutItem: create or replace a whole item, if the condition holds on the local copy."""
        _unknown("PutItem", unknown)
        write = self._put(TableName, Item, ConditionExpression, ExpressionAttributeNames,
                          ExpressionAttributeValues, ReturnValues, ReturnValuesOnConditionCheckFailure)
        result = yield (write[0], ReturnValuesOnConditionCheckFailure, True)
        old = _item_of(result.old)
        out = {"Attributes": from_item(old)} if old and ReturnValues == "ALL_OLD" else {}
        return {**out, **_metadata(write[0].op)}

    @_operation
    def update_item(self, *, TableName: str, Key: Any, UpdateExpression: str | None = None,
                    ConditionExpression: str | None = None, ExpressionAttributeNames: Any = None,
                    ExpressionAttributeValues: Any = None, ReturnValues: str = "NONE",
                    ReturnValuesOnConditionCheckFailure: str = "NONE",
                    **unknown: Any) -> Steps:
        """UpdateItem: evaluated and applied on the local copy (creating the item if missing)."""
        _unknown("UpdateItem", unknown)
        write, request = self._update(TableName, Key, UpdateExpression, ConditionExpression,
                                      ExpressionAttributeNames, ExpressionAttributeValues,
                                      ReturnValues, ReturnValuesOnConditionCheckFailure)
        result = yield (write, ReturnValuesOnConditionCheckFailure, True)
        old, new = _item_of(result.old), _item_of(result.new) or {}
        paths = [a.path for a in request.update.actions] if request.update is not None else []
        attributes: dict[str, Value] = {}
        if ReturnValues == "ALL_OLD":
            attributes = old or {}
        elif ReturnValues == "ALL_NEW":
            attributes = new
        elif ReturnValues == "UPDATED_OLD":
            attributes = _project(old or {}, paths)
        elif ReturnValues == "UPDATED_NEW":
            attributes = _project(new, paths)
        out = {"Attributes": from_item(attributes)} if attributes else {}
        return {**out, **_metadata(write.op)}

    @_operation
    def delete_item(self, *, TableName: str, Key: Any, ConditionExpression: str | None = None,
                    ExpressionAttributeNames: Any = None, ExpressionAttributeValues: Any = None,
                    ReturnValues: str = "NONE", ReturnValuesOnConditionCheckFailure: str = "NONE",
                    **unknown: Any) -> Steps:
        """DeleteItem: the local copy becomes a tombstone, which replicates like any write."""
        _unknown("DeleteItem", unknown)
        write = self._delete(TableName, Key, ConditionExpression, ExpressionAttributeNames,
                             ExpressionAttributeValues, ReturnValues,
                             ReturnValuesOnConditionCheckFailure)
        result = yield (write, ReturnValuesOnConditionCheckFailure, True)
        old = _item_of(result.old)
        out = {"Attributes": from_item(old)} if old and ReturnValues == "ALL_OLD" else {}
        return {**out, **_metadata(write.op)}

    # -- reads

    @_operation
    def get_item(self, *, TableName: str, Key: Any, ConsistentRead: bool = False,
                 ProjectionExpression: str | None = None, ExpressionAttributeNames: Any = None,
                 **unknown: Any) -> Steps:
        """GetItem from the local region. ``ConsistentRead=True`` is a *regional* guarantee
        (it can miss a write another region acknowledged a moment ago), except with
        ``mode="mrsc"``, where it asks the other regions and returns the latest commit."""
        _unknown("GetItem", unknown)
        schema = self._schema
        schema._table(TableName)
        if not isinstance(ConsistentRead, bool):
            raise ValidationException(f"ConsistentRead must be true or false, got {shown(ConsistentRead)}")
        key = schema._key_argument(Key)
        if ProjectionExpression is None and ExpressionAttributeNames is not None:
            raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
        paths: tuple[Path, ...] | None = None
        if ProjectionExpression is not None:
            subs = Substitutions.from_request(ExpressionAttributeNames)
            paths = parse_projection(ProjectionExpression, subs)
            subs.check_all_used()
        op = self._table._next("r")
        result = yield (DynamoGet(op, self._table._key_name(key), consistent=ConsistentRead,
                                  key_item=dict(zip(schema.key, key, strict=True))), "NONE", False)
        item = _item_of(result.item)
        if item is None:
            return _metadata(op)
        return {"Item": from_item(item if paths is None else _project(item, list(paths))),
                **_metadata(op)}

    @_operation
    def query(self, *, TableName: str, KeyConditionExpression: str,
              ExpressionAttributeNames: Any = None, ExpressionAttributeValues: Any = None,
              ScanIndexForward: bool = True, Limit: int | None = None,
              ConsistentRead: bool = False, ExclusiveStartKey: Any = None,
              **unknown: Any) -> Steps:
        """Query the local region: items of one partition, in sort-key order."""
        _unknown("Query", unknown)
        schema = self._schema
        schema._table(TableName)
        for flag, what in ((ScanIndexForward, "ScanIndexForward"), (ConsistentRead, "ConsistentRead")):
            if not isinstance(flag, bool):
                raise ValidationException(f"{what} must be true or false, got {shown(flag)}")
        if Limit is not None and (type(Limit) is not int or Limit < 1):
            raise ValidationException(f"Limit must be an integer >= 1, got {shown(Limit)}")
        if ConsistentRead and self._table.options.mode == "mrsc":
            raise ConfigError("a strongly consistent Query on an MRSC table is not modelled here "
                              "(only GetItem reads globally); use ConsistentRead=False, or "
                              "get_item(..., ConsistentRead=True) per item")
        if not isinstance(KeyConditionExpression, str):
            raise ValidationException(f"KeyConditionExpression must be a string, got "
                                      f"{shown(KeyConditionExpression)}")
        subs = Substitutions.from_request(ExpressionAttributeNames, ExpressionAttributeValues)
        condition = parse_key_condition(KeyConditionExpression, subs, schema.key)
        subs.check_all_used()
        start = schema._key_argument(ExclusiveStartKey) if ExclusiveStartKey is not None else None
        prefix = self._table._key_name((condition.hash_value,))
        order = self._table._order

        def select(pairs: Any) -> tuple[list[dict[str, Value]], bool]:
            """The items a query returns from a region's ``(key, cells)`` pairs; True if cut
            by the limit."""
            items = [{**from_cells(cells), **self._table._key_values(name)} for name, cells in pairs]
            if condition.sort is not None:
                items = [item for item in items if holds(condition.sort, item)]
            items.sort(key=order, reverse=not ScanIndexForward)
            if start is not None:
                mark = order(dict(zip(schema.key, start, strict=True)))
                items = [i for i in items if (order(i) > mark if ScanIndexForward else order(i) < mark)]
            cut = Limit is not None and len(items) > Limit
            return (items[:Limit] if cut else items), cut

        if self._table.read_capacity:
            # Charged before sending, for what the local region will answer: it answers at
            # once (no latency between a client and its region), from the same items.
            self._table._charge_query(self.region, select(local_partition(
                self._table._held(self.region).items, prefix))[0], ConsistentRead)
        op = self._table._next("q")
        result = yield (DynamoQuery(op, prefix, consistent=ConsistentRead), "NONE", False)
        items, cut = select(result.items)
        out: dict[str, Any] = {}
        if cut:
            out["LastEvaluatedKey"] = from_item({k: items[-1][k] for k in schema.key})
        return {"Items": [from_item(i) for i in items], "Count": len(items),
                "ScannedCount": len(items), **out, **_metadata(op)}

    # -- several items

    @_operation
    def transact_write_items(self, *, TransactItems: Any, ClientRequestToken: str | None = None,
                             **unknown: Any) -> Steps:
        """TransactWriteItems: all or nothing in this region; replicated item by item."""
        _unknown("TransactWriteItems", unknown)
        if self._table.options.mode == "mrsc":
            # Refused before anything is sent: DynamoDB's MRSC global tables do not support
            # the transaction APIs.
            raise ValidationException(
                "TransactWriteItems is not supported on a global table in multi-Region strong "
                "consistency (MRSC) mode; write the items one by one (each write is strongly "
                "consistent), or use mode='mrec'")
        if not isinstance(TransactItems, list) or not 1 <= len(TransactItems) <= MAX_TRANSACT_ITEMS:
            raise ValidationException(f"TransactItems must be a list of 1 to {MAX_TRANSACT_ITEMS} "
                                      f"actions, got {shown(TransactItems)}")
        parts: list[DynamoWrite] = []
        for index, entry in enumerate(TransactItems):
            if not isinstance(entry, Mapping) or len(entry) != 1:
                raise ValidationException(f"TransactItems[{index}] must hold exactly one of Put, "
                                          f"Update, Delete, ConditionCheck; got {shown(entry)}")
            (action, spec), = entry.items()
            if not isinstance(spec, Mapping):
                raise ValidationException(f"TransactItems[{index}].{action} must be a mapping")
            parts.append(self._part(f"pending.{index + 1}", action, dict(spec), index))
        keys = [p.key for p in parts]
        if len(set(keys)) != len(keys):
            raise ValidationException("Transaction request cannot include multiple operations on one item")
        # Op ids are taken only once the whole request is valid: a refused call changes nothing.
        op = self._table._next("t")
        parts = [attrs.evolve(p, op=f"{op}.{index + 1}") for index, p in enumerate(parts)]
        failures = tuple(next(iter(e.values())).get("ReturnValuesOnConditionCheckFailure", "NONE")
                         for e in TransactItems)
        yield (DynamoTransaction(op, parts), failures, True)
        return _metadata(op)

    @_operation
    def batch_write_item(self, *, RequestItems: Any, **unknown: Any) -> Steps:
        """BatchWriteItem: each put or delete is its own write (not atomic, no conditions)."""
        _unknown("BatchWriteItem", unknown)
        if not isinstance(RequestItems, Mapping) or len(RequestItems) != 1:
            raise ValidationException("RequestItems must map this table's name to its requests")
        (name, requests), = RequestItems.items()
        self._schema._table(name)
        if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_BATCH_ITEMS:
            raise ValidationException(f"a batch holds 1 to {MAX_BATCH_ITEMS} requests, got "
                                      f"{shown(requests)}")
        writes: list[DynamoWrite] = []
        for index, entry in enumerate(requests):  # validate all before sending any
            if isinstance(entry, Mapping) and set(entry) == {"PutRequest"} and \
                    isinstance(entry["PutRequest"], Mapping) and set(entry["PutRequest"]) == {"Item"}:
                writes.append(self._put(name, entry["PutRequest"]["Item"], None, None, None,
                                        "NONE", "NONE", op="pending")[0])
            elif isinstance(entry, Mapping) and set(entry) == {"DeleteRequest"} and \
                    isinstance(entry["DeleteRequest"], Mapping) and set(entry["DeleteRequest"]) == {"Key"}:
                writes.append(self._delete(name, entry["DeleteRequest"]["Key"], None, None, None,
                                           "NONE", "NONE", op="pending"))
            else:
                raise ValidationException(f"RequestItems[{name!r}][{index}] must be "
                                          "{'PutRequest': {'Item': ...}} or {'DeleteRequest': {'Key': ...}}")
        keys = [w.key for w in writes]
        if len(set(keys)) != len(keys):
            raise ValidationException("Provided list of item keys contains duplicates")
        # Op ids are taken only once the whole batch is valid: a refused call changes nothing.
        writes = [attrs.evolve(w, op=self._table._next("w")) for w in writes]
        unprocessed = []
        for entry, write in zip(requests, writes, strict=True):
            try:
                yield (write, "NONE", True)
            except ProvisionedThroughputExceededException:
                unprocessed.append(entry)  # throttled: the caller retries it (not atomic)
        if len(unprocessed) == len(writes):
            raise ProvisionedThroughputExceededException(
                "The level of configured provisioned throughput for the table was exceeded. "
                "Consider increasing your provisioning level with the UpdateTable API.")
        return {"UnprocessedItems": {name: unprocessed} if unprocessed else {},
                **_metadata(writes[0].op)}

    # -- the table's settings

    def update_time_to_live(self, *, TableName: str, TimeToLiveSpecification: Any,
                            **unknown: Any) -> dict[str, Any]:
        """UpdateTimeToLive: enable (or disable) TTL on ``AttributeName``, for every region of
        the table at once (a global table's TTL setting is the table's, not a region's).

        With TTL enabled, :meth:`GlobalTable.expire` runs a region's TTL process; disabled,
        the process deletes nothing. As DynamoDB: enabling it twice, disabling it when it is
        off, or naming another attribute than the enabled one is a ValidationException.
        """
        _unknown("UpdateTimeToLive", unknown)
        self._schema._table(TableName)
        spec = TimeToLiveSpecification
        if not isinstance(spec, Mapping) or set(spec) != {"Enabled", "AttributeName"} or \
                not isinstance(spec["Enabled"], bool) or not isinstance(spec["AttributeName"], str):
            raise ValidationException("TimeToLiveSpecification must be {'Enabled': true|false, "
                                      f"'AttributeName': NAME}}, got {shown(spec)}")
        name, current = spec["AttributeName"], self._table.ttl_attribute
        if not 1 <= len(name) <= 255:
            raise ValidationException("TimeToLiveSpecification.AttributeName must be 1 to 255 "
                                      f"characters, got {shown(name)}")
        if current is not None and name != current:
            raise ValidationException(f"TimeToLive is active on a different AttributeName: "
                                      f"current AttributeName is {current}")
        if spec["Enabled"] == (current is not None):
            raise ValidationException(f"TimeToLive is already {'enabled' if current else 'disabled'}")
        self._table.ttl_attribute = name if spec["Enabled"] else None
        return {"TimeToLiveSpecification": {"Enabled": spec["Enabled"], "AttributeName": name},
                **_metadata("ttl")}

    # -- building requests

    def _bookkeeping(self, condition: Any, sets: set[str]) -> tuple[str, ...]:
        version = self._table.version_attribute
        extra = (version,) if condition is not None and version in sets else ()
        return (*self._schema.key, *extra)

    def _put(self, name: Any, item: Any, condition: Any, names: Any, values: Any,
             return_values: Any, on_failure: Any, op: str | None = None,
             ) -> tuple[DynamoWrite, Any]:
        schema = self._schema
        schema._table(name)
        parsed = to_item(item, "Item")
        key = schema._key_of(parsed, "item")
        if item_size(parsed) > MAX_ITEM_BYTES:
            raise ValidationException("Item size has exceeded the maximum allowed size")
        request = schema._request("PutItem", key, condition, None, names, values, return_values,
                                  on_failure)
        keys = dict(zip(schema.key, key, strict=True))
        write = DynamoWrite(op or self._table._next("w"), self._table._key_name(key), "PutItem",
                            keys, item=parsed, condition=request.condition,
                            bookkeeping=self._bookkeeping(request.condition, set(parsed)))
        return write, request

    def _update(self, name: Any, key_json: Any, update: Any, condition: Any, names: Any,
                values: Any, return_values: Any, on_failure: Any, op: str | None = None,
                ) -> tuple[DynamoWrite, Any]:
        schema = self._schema
        schema._table(name)
        key = schema._key_argument(key_json)
        request = schema._request("UpdateItem", key, condition, update, names, values,
                                  return_values, on_failure)
        sets = {str(a.path.elements[0]) for a in (request.update.actions if request.update else ())
                if isinstance(a, Set)}
        write = DynamoWrite(op or self._table._next("w"), self._table._key_name(key), "UpdateItem",
                            dict(zip(schema.key, key, strict=True)), update=request.update,
                            condition=request.condition,
                            bookkeeping=self._bookkeeping(request.condition, sets))
        return write, request

    def _delete(self, name: Any, key_json: Any, condition: Any, names: Any, values: Any,
                return_values: Any, on_failure: Any, op: str | None = None) -> DynamoWrite:
        schema = self._schema
        schema._table(name)
        key = schema._key_argument(key_json)
        request = schema._request("DeleteItem", key, condition, None, names, values,
                                  return_values, on_failure)
        return DynamoWrite(op or self._table._next("w"), self._table._key_name(key), "DeleteItem",
                           dict(zip(schema.key, key, strict=True)), condition=request.condition,
                           bookkeeping=tuple(schema.key))

    def _part(self, op: str, action: str, spec: dict[str, Any], index: int) -> DynamoWrite:
        common = ("TableName", "ConditionExpression", "ExpressionAttributeNames",
                  "ExpressionAttributeValues", "ReturnValuesOnConditionCheckFailure")
        allowed = {"Put": ("Item", *common), "Update": ("Key", "UpdateExpression", *common),
                   "Delete": ("Key", *common), "ConditionCheck": ("Key", *common)}
        if action not in allowed:
            raise ValidationException(f"TransactItems[{index}]: unknown action {shown(action)}; "
                                      "use Put, Update, Delete or ConditionCheck")
        extra = sorted(set(spec) - set(allowed[action]))
        if extra:
            raise ValidationException(f"TransactItems[{index}].{action} does not take {extra}")
        on_failure = spec.get("ReturnValuesOnConditionCheckFailure", "NONE")
        args = (spec.get("ConditionExpression"), spec.get("ExpressionAttributeNames"),
                spec.get("ExpressionAttributeValues"))
        name = spec.get("TableName")
        if action == "Put":
            return self._put(name, spec.get("Item"), *args, "NONE", on_failure, op=op)[0]
        if action == "Update":
            if spec.get("UpdateExpression") is None:
                raise ValidationException(f"TransactItems[{index}].Update needs an UpdateExpression")
            return self._update(name, spec.get("Key"), spec["UpdateExpression"], *args, "NONE",
                                on_failure, op=op)[0]
        write = self._delete(name, spec.get("Key"), *args, "NONE", on_failure, op=op)
        if action == "ConditionCheck":
            if spec.get("ConditionExpression") is None:
                raise ValidationException(f"TransactItems[{index}].ConditionCheck needs a "
                                          "ConditionExpression")
            return DynamoWrite(op, write.key, "ConditionCheck", write.key_item,
                               condition=write.condition)
        return write

    # -- sending

    def _send(self, request: Any, on_failure: str | tuple[str, ...],
              writing: bool = True) -> DynamoResult:
        return answer(self._table._call(self, request, writing), on_failure)

    def _drive(self, steps: Steps) -> dict[str, Any]:
        """Run one operation's steps to the end, each request answered before the next."""
        try:
            call = next(steps)
            while True:
                try:
                    result = self._send(*call)
                except DynamoDBError as error:
                    call = steps.throw(error)
                else:
                    call = steps.send(result)
        except StopIteration as done:
            return done.value


def answer(response: Response, on_failure: str | tuple[str, ...]) -> DynamoResult:
    """A region's response as the client takes it: the result, or the boto3 error raised."""
    if response.ok:
        return response if isinstance(response, DynamoResult) else DynamoResult(response.op)
    raise _error(response, on_failure)


def _item_of(cells: Any) -> dict[str, Value] | None:
    return from_cells(cells) if cells is not None else None


def _error(response: Response, on_failure: str | tuple[str, ...]) -> DynamoDBError:
    """The boto3-shaped exception for a region's refusal."""
    error = response.error
    if error == "ConditionalCheckFailed":
        old = getattr(response, "old", None)
        item = from_item(from_cells(old)) if old is not None and on_failure == "ALL_OLD" else None
        return ConditionalCheckFailedException(item=item)
    if error == "ValidationError":
        return ValidationException(response.message)
    if error == "ReplicatedWriteConflict":
        return ReplicatedWriteConflictException(response.message or "Replicated write conflict")
    if error == "TransactionCanceled":
        reasons: list[dict[str, Any]] = []
        for index, reason in enumerate(getattr(response, "reasons", ())):
            if reason["Code"] == "None":
                reasons.append({"Code": "None"})
                continue
            failed = {"Code": reason["Code"], "Message": "The conditional request failed"
                      if reason["Code"] == "ConditionalCheckFailed" else reason["Message"]}
            wants = on_failure[index] if isinstance(on_failure, tuple) else on_failure
            if reason.get("Item") is not None and wants == "ALL_OLD":
                failed["Item"] = from_item(from_cells(reason["Item"]))
            reasons.append(failed)
        return TransactionCanceledException(response.message, reasons)
    return ServiceUnavailableException(f"{error}: {response.message}" if response.message
                                       else str(error))


def sort_value(value: Value) -> tuple[int, Any]:
    """A sort key's order: numbers by value, strings by UTF-8 bytes, binaries by bytes."""
    if isinstance(value, Decimal):
        return (0, value)
    if isinstance(value, str):
        return (1, value.encode("utf-8"))
    return (2, value)
