"""One DynamoDB table in one region: put, update, delete and get one item, boto3-shaped.

The request and response shapes are boto3's low-level client's (``client.put_item(...)``):
keys, items and ``ExpressionAttributeValues`` in DynamoDB JSON, responses as dicts such as
``{"Attributes": {...}}``, errors as the exception classes boto3 code catches
(:mod:`replicalab.dynamodb.exceptions`). There is no time, no replication and no capacity
here: this is the single-item semantics that a region applies to its local copy, and that
the global-table model builds on.

A request is checked completely before anything changes (key schema, expressions, names
and values, ReturnValues), then its condition is evaluated against the stored item, then
the write is applied. A refused request changes nothing and is not logged. Each applied
write is logged as an :class:`AppliedWrite` that names the top-level attributes it wrote
and removed: what a replication policy needs to know about it.

    >>> table = Table("subscribers", key=("subscriber_id",))
    >>> _ = table.put_item(TableName="subscribers", Item={
    ...     "subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}})
    >>> table.update_item(
    ...     TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}},
    ...     UpdateExpression="SET delivery_address = :addr, #v = :new_v",
    ...     ConditionExpression="#v = :expected_v",
    ...     ExpressionAttributeNames={"#v": "version"},
    ...     ExpressionAttributeValues={":addr": {"S": "12 High Street, London"},
    ...                                ":expected_v": {"N": "17"}, ":new_v": {"N": "18"}},
    ...     ReturnValues="UPDATED_NEW")
    {'Attributes': {'delivery_address': {'S': '12 High Street, London'}, 'version': {'N': '18'}}}
    >>> sorted(table.log[-1].written)
    ['delivery_address', 'version']
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs

from replicalab._validate import shown
from replicalab.dynamodb.evaluate import (
    MISSING,
    apply_update_expression,
    holds,
    resolve,
)
from replicalab.dynamodb.exceptions import (
    ConditionalCheckFailedException,
    ResourceNotFoundException,
    ValidationException,
)
from replicalab.dynamodb.expressions import parse_condition, parse_projection, parse_update
from replicalab.dynamodb.placeholders import Substitutions
from replicalab.dynamodb.syntax import Condition, Path, Remove, UpdateExpression
from replicalab.dynamodb.values import (
    MAX_ITEM_BYTES,
    Value,
    from_item,
    item_size,
    to_item,
    type_of,
)

__all__ = ["AppliedWrite", "Table"]

_KEY_TYPES = ("S", "N", "B")
_MAX_HASH_KEY_BYTES = 2048
_MAX_RANGE_KEY_BYTES = 1024
_RETURN_VALUES = {
    "PutItem": ("NONE", "ALL_OLD"),
    "UpdateItem": ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"),
    "DeleteItem": ("NONE", "ALL_OLD"),
}


@attrs.frozen
class AppliedWrite:
    """One write a table applied, and which top-level attributes it touched.

    ``written``: attributes that hold a value the request gave them (a SET to the same
    value counts: it is still a write). ``removed``: attributes the request took away
    (REMOVE, a DELETE that emptied a set, a put that left them out, a delete). ``deleted``:
    the whole item is gone.
    """

    operation: str
    key: tuple[Any, ...]
    written: frozenset[str]
    removed: frozenset[str]
    deleted: bool = False


@attrs.frozen
class _Request:
    """A checked request, ready to run."""

    key: tuple[Any, ...]
    condition: Condition | None
    update: UpdateExpression | None
    return_values: str
    on_failure: str


class Table:
    """A single-region DynamoDB table: items by primary key, boto3-shaped verbs.

    ``key`` is the key schema: ``(hash,)`` or ``(hash, range)``; ``key_types`` gives each
    key attribute's type (``"S"``, ``"N"`` or ``"B"``; strings by default).
    """

    def __init__(self, name: str, key: tuple[str, ...] = ("pk",),
                 key_types: Mapping[str, str] | None = None) -> None:
        if not isinstance(name, str) or not 3 <= len(name) <= 255:
            raise ValidationException(f"TableName must be text of 3 to 255 characters, got {shown(name)}")
        if not isinstance(key, tuple) or len(key) not in (1, 2) or \
                not all(isinstance(k, str) and k for k in key) or len(set(key)) != len(key):
            raise ValidationException(
                f"key must be (hash,) or (hash, range) attribute names, got {shown(key)}")
        types = {k: "S" for k in key}
        if key_types is not None:
            if not isinstance(key_types, Mapping) or set(key_types) - set(key):
                raise ValidationException(
                    f"key_types must map key attributes to S, N or B, got {shown(key_types)}")
            types.update(key_types)
        if not all(t in _KEY_TYPES for t in types.values()):
            raise ValidationException(f"key types must be S, N or B, got {shown(types)}")
        self.name = name
        self.key = key
        self.key_types = types
        self.items: dict[tuple[Any, ...], dict[str, Value]] = {}
        self.log: list[AppliedWrite] = []

    def __repr__(self) -> str:
        return f"Table({self.name!r}, key={self.key!r}, key_types={self.key_types!r})"

    # -- the verbs

    def put_item(self, TableName: str, Item: Any, ConditionExpression: str | None = None,
                 ExpressionAttributeNames: Any = None, ExpressionAttributeValues: Any = None,
                 ReturnValues: str = "NONE",
                 ReturnValuesOnConditionCheckFailure: str = "NONE") -> dict[str, Any]:
        """Create or replace a whole item, if ``ConditionExpression`` holds on the old one."""
        self._table(TableName)
        item = to_item(Item, "Item")
        key = self._key_of(item, "item")
        if item_size(item) > MAX_ITEM_BYTES:
            raise ValidationException("Item size has exceeded the maximum allowed size")
        request = self._request("PutItem", key, ConditionExpression, None,
                                ExpressionAttributeNames, ExpressionAttributeValues,
                                ReturnValues, ReturnValuesOnConditionCheckFailure)
        old = self._check(request)
        self.items[key] = item
        self.log.append(AppliedWrite("PutItem", key, frozenset(item),
                                     frozenset(old or {}) - frozenset(item)))
        return {"Attributes": from_item(old)} if old and request.return_values == "ALL_OLD" else {}

    def update_item(self, TableName: str, Key: Any, UpdateExpression: str | None = None,
                    ConditionExpression: str | None = None, ExpressionAttributeNames: Any = None,
                    ExpressionAttributeValues: Any = None, ReturnValues: str = "NONE",
                    ReturnValuesOnConditionCheckFailure: str = "NONE") -> dict[str, Any]:
        """Edit an item's attributes (creating it if missing), if ``ConditionExpression`` holds."""
        self._table(TableName)
        key = self._key_argument(Key)
        request = self._request("UpdateItem", key, ConditionExpression, UpdateExpression,
                                ExpressionAttributeNames, ExpressionAttributeValues,
                                ReturnValues, ReturnValuesOnConditionCheckFailure)
        old = self._check(request)
        base = old if old is not None else dict(zip(self.key, key, strict=True))
        actions = request.update.actions if request.update is not None else ()
        new = apply_update_expression(request.update, base) if request.update else dict(base)
        if item_size(new) > MAX_ITEM_BYTES:
            raise ValidationException("Item size to update has exceeded the maximum allowed size")
        self.items[key] = new
        tops = {str(action.path.elements[0]) for action in actions}
        written = frozenset(top for top in tops if top in new and any(
            action.path.elements[0] == top and not (isinstance(action, Remove)
                                                    and len(action.path.elements) == 1)
            for action in actions))
        removed = frozenset(top for top in tops if top not in new)
        self.log.append(AppliedWrite("UpdateItem", key, written, removed))
        paths = [action.path for action in actions]
        if request.return_values == "ALL_OLD":
            attributes: dict[str, Value] = old or {}
        elif request.return_values == "ALL_NEW":
            attributes = new
        elif request.return_values == "UPDATED_OLD":
            attributes = _project(old or {}, paths)
        elif request.return_values == "UPDATED_NEW":
            attributes = _project(new, paths)
        else:
            attributes = {}
        return {"Attributes": from_item(attributes)} if attributes else {}

    def delete_item(self, TableName: str, Key: Any, ConditionExpression: str | None = None,
                    ExpressionAttributeNames: Any = None, ExpressionAttributeValues: Any = None,
                    ReturnValues: str = "NONE",
                    ReturnValuesOnConditionCheckFailure: str = "NONE") -> dict[str, Any]:
        """Delete an item, if ``ConditionExpression`` holds; deleting a missing item is no error."""
        self._table(TableName)
        key = self._key_argument(Key)
        request = self._request("DeleteItem", key, ConditionExpression, None,
                                ExpressionAttributeNames, ExpressionAttributeValues,
                                ReturnValues, ReturnValuesOnConditionCheckFailure)
        old = self._check(request)
        if old is None:
            return {}
        del self.items[key]
        self.log.append(AppliedWrite("DeleteItem", key, frozenset(), frozenset(old), deleted=True))
        return {"Attributes": from_item(old)} if request.return_values == "ALL_OLD" else {}

    def get_item(self, TableName: str, Key: Any, ConsistentRead: bool = False,
                 ProjectionExpression: str | None = None,
                 ExpressionAttributeNames: Any = None) -> dict[str, Any]:
        """``{"Item": ...}`` for a stored item, ``{}`` for none (reads are local and current).

        ``ProjectionExpression`` returns only the listed paths; an item none of whose paths
        exist comes back as ``{"Item": {}}``, as DynamoDB returns it.
        """
        self._table(TableName)
        if not isinstance(ConsistentRead, bool):
            raise ValidationException(f"ConsistentRead must be true or false, got {shown(ConsistentRead)}")
        key = self._key_argument(Key)
        if ProjectionExpression is None and ExpressionAttributeNames is not None:
            raise ValidationException(
                "ExpressionAttributeNames can only be specified when using expressions")
        paths: tuple[Path, ...] | None = None
        if ProjectionExpression is not None:
            subs = Substitutions.from_request(ExpressionAttributeNames)
            paths = parse_projection(ProjectionExpression, subs)
            subs.check_all_used()
        item = self.items.get(key)
        if item is None:
            return {}
        return {"Item": from_item(item if paths is None else _project(item, list(paths)))}

    def scan(self, TableName: str) -> dict[str, Any]:
        """Every item, ordered by key (DynamoDB's order is by hash; this one is stable)."""
        self._table(TableName)
        items = [from_item(self.items[key]) for key in sorted(self.items, key=_sortable)]
        return {"Items": items, "Count": len(items), "ScannedCount": len(items)}

    # -- checking a request

    def _table(self, name: Any) -> None:
        if name != self.name or not isinstance(name, str):
            raise ResourceNotFoundException("Requested resource not found")

    def _key_argument(self, key: Any) -> tuple[Any, ...]:
        item = to_item(key, "Key")
        if set(item) != set(self.key) or any(type_of(item[k]) != self.key_types[k] for k in self.key):
            raise ValidationException("The provided key element does not match the schema")
        return self._key_of(item, "key")

    def _key_of(self, item: dict[str, Value], what: str) -> tuple[Any, ...]:
        for name in self.key:
            if name not in item:
                raise ValidationException(
                    f"One or more parameter values were invalid: Missing the key {name} in the {what}")
            actual = type_of(item[name])
            if actual != self.key_types[name]:
                raise ValidationException(
                    f"One or more parameter values were invalid: Type mismatch for key {name} "
                    f"expected: {self.key_types[name]} actual: {actual}")
            if item[name] in ("", b""):
                raise ValidationException(
                    f"One or more parameter values are not valid. The AttributeValue for a key "
                    f"attribute cannot contain an empty {'string' if item[name] == '' else 'binary'} "
                    f"value. Key: {name}")
            limit = _MAX_HASH_KEY_BYTES if name == self.key[0] else _MAX_RANGE_KEY_BYTES
            if item_size({"": item[name]}) > limit:
                what = "Size of hashkey has" if name == self.key[0] else \
                    "Aggregated size of all range keys has"
                raise ValidationException(f"One or more parameter values were invalid: {what} "
                                          f"exceeded the maximum size limit of {limit} bytes")
        return tuple(item[name] for name in self.key)

    def _request(self, operation: str, key: tuple[Any, ...], condition: Any, update: Any,
                 names: Any, values: Any, return_values: Any, on_failure: Any) -> _Request:
        if return_values not in _RETURN_VALUES[operation]:
            raise ValidationException(f"ReturnValues can only be {', '.join(_RETURN_VALUES[operation])} "
                                      f"for {operation}, got {shown(return_values)}")
        if on_failure not in ("NONE", "ALL_OLD"):
            raise ValidationException(f"ReturnValuesOnConditionCheckFailure can only be NONE or "
                                      f"ALL_OLD, got {shown(on_failure)}")
        if condition is None and update is None:
            for given, what in ((names, "ExpressionAttributeNames"),
                                (values, "ExpressionAttributeValues")):
                if given is not None:
                    raise ValidationException(f"{what} can only be specified when using expressions")
        subs = Substitutions.from_request(names, values)
        parsed_update = parse_update(update, subs) if update is not None else None
        parsed_condition = parse_condition(condition, subs) if condition is not None else None
        subs.check_all_used()
        if parsed_update is not None:
            for path in parsed_update.paths:
                if path.elements[0] in self.key:
                    raise ValidationException(
                        f"One or more parameter values were invalid: Cannot update attribute "
                        f"{path.elements[0]}. This attribute is part of the key")
        return _Request(key, parsed_condition, parsed_update, return_values, on_failure)

    def _check(self, request: _Request) -> dict[str, Value] | None:
        """The stored item (None if there is none), once the request's condition holds on it."""
        old = self.items.get(request.key)
        if request.condition is not None and not holds(request.condition, old or {}):
            shown_item = from_item(old) if old is not None and request.on_failure == "ALL_OLD" else None
            raise ConditionalCheckFailedException(item=shown_item)
        return old


def _sortable(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((type(part).__name__, part) for part in key)


def _path_order(path: Path) -> tuple[tuple[int, Any], ...]:
    return tuple((1, e) if isinstance(e, int) else (0, e) for e in path.elements)


def _project(item: dict[str, Value], paths: list[Path]) -> dict[str, Value]:
    """The parts of ``item`` at ``paths``, as ProjectionExpression and ReturnValues=UPDATED_*
    report them: maps keep the projected keys, lists the projected elements in index order."""
    out: dict[str, Any] = {}
    slots: dict[tuple[int, str | int], Any] = {}  # (projected container, element) -> its copy
    for path in sorted(paths, key=_path_order):
        if resolve(item, path) is MISSING:
            continue
        current: Any = out
        source: Any = item
        for depth, element in enumerate(path.elements):
            source = source[element]
            slot = (id(current), element)
            if slot in slots:
                current = slots[slot]
                continue
            last = depth == len(path.elements) - 1
            child = copy.deepcopy(source) if last else ({} if isinstance(source, dict) else [])
            if isinstance(current, list):
                current.append(child)
            else:
                current[element] = child
            slots[slot] = child
            current = child
    return out
