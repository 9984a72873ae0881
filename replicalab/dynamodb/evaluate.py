"""Expressions evaluated on one item: conditions to booleans, updates to a new item.

Pure functions of (item, parsed expression): the item is never changed in place.

Conditions (DynamoDB Developer Guide, "Comparison operator and function reference"):

* A path that leads nowhere (a missing attribute, a key of a non-map, an index past the
  end) has *no value*, which is not NULL: ``a = :null`` is false when ``a`` is missing and
  true when it holds NULL; ``attribute_exists`` tells them apart.
* ``=`` and ``IN`` compare type and value (a set equals a set with the same members, in any
  order); ``<>`` is the negation of ``=``, so it is true when the attribute is missing.
* ``< <= > >= BETWEEN`` hold only between two numbers, two strings (by UTF-8 bytes) or two
  binaries; anything else is false, not an error.
* ``begins_with`` is for strings and binaries; ``contains`` is substring for strings, and
  membership for sets and lists; ``size`` is the length of a string or binary, the count of
  a set, list or map (on another type it is an error).

Updates (DynamoDB Developer Guide, "Update expressions"), every operand read from the item
*as it was before the update*, actions applied in the order written:

* ``SET`` creates or replaces; a list index past the end appends. A nested path needs its
  parent to exist with the right type, or the update is refused.
* ``REMOVE`` of something that is not there does nothing, but its parent must exist with
  the right type; list indexes are removed as if at once (``REMOVE l[0], l[1]`` removes the
  first two elements).
* ``ADD`` adds to a number (a missing one counts as 0) or unions into a set of the same type.
* ``DELETE`` takes members out of a set of the same type; an emptied set is removed; like
  REMOVE it needs the parent of its path.
* ``+``/``-`` need two numbers, ``list_append`` two lists, and an operand path that has no
  value is an error ("The provided expression refers to an attribute that does not exist").

The results are checked like stored values: a number that needs more than 38 digits is
refused. The functions :func:`evaluate_condition` and :func:`apply_update` take and return
DynamoDB JSON, like requests do.

    >>> item = {"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}}
    >>> evaluate_condition(item, "#v = :expected_v", {"#v": "version"},
    ...                    {":expected_v": {"N": "17"}})
    True
    >>> apply_update(item, "SET delivery_address = :addr, #v = #v + :one", {"#v": "version"},
    ...              {":addr": {"S": "12 High Street, London"}, ":one": {"N": "1"}})
    {'subscriber_id': {'S': 'sub_42'}, 'version': {'N': '18'}, 'delivery_address': {'S': '12 High Street, London'}}
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.expressions import parse_condition, parse_update
from replicalab.dynamodb.placeholders import Substitutions
from replicalab.dynamodb.syntax import (
    Add,
    And,
    Arithmetic,
    Between,
    Compare,
    Condition,
    Delete,
    Function,
    IfNotExists,
    In,
    ListAppend,
    Literal,
    Not,
    Operand,
    Or,
    Path,
    Remove,
    Set,
    SetValue,
    UpdateExpression,
)
from replicalab.dynamodb.values import Value, equal, from_item, to_item, type_of
from replicalab.dynamodb.values import add as add_numbers
from replicalab.dynamodb.values import subtract as subtract_numbers

#: holds(), resolve() and apply_update_expression() work on parsed expressions and Python
#: values (the Table uses them); the promise to users is the DynamoDB JSON pair below.
__all__ = ["apply_update", "evaluate_condition"]


class _Missing:
    """The 'no value' of a path that leads nowhere (distinct from NULL, which is None)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
_NOT_THERE = "The provided expression refers to an attribute that does not exist in the item"
_WRONG_TYPE = "An operand in the update expression has an incorrect data type"
_BAD_PATH = "The document path provided in the update expression is invalid for update"


def resolve(item: dict[str, Value], path: Path) -> Value | _Missing:
    """The value at ``path`` in ``item`` (Python values), or MISSING if it leads nowhere."""
    current: Any = item
    for element in path.elements:
        if isinstance(element, int):
            if not isinstance(current, list) or element >= len(current):
                return MISSING
        elif not isinstance(current, dict) or element not in current:
            return MISSING
        current = current[element]
    return current


# ---------------------------------------------------------------------------
# Conditions


def holds(condition: Condition, item: dict[str, Value]) -> bool:
    """Whether a parsed condition holds on ``item`` (Python values; {} for no item)."""
    if isinstance(condition, And):
        return holds(condition.left, item) and holds(condition.right, item)
    if isinstance(condition, Or):
        return holds(condition.left, item) or holds(condition.right, item)
    if isinstance(condition, Not):
        return not holds(condition.condition, item)
    if isinstance(condition, Compare):
        left, right = _operand(condition.left, item), _operand(condition.right, item)
        if condition.operator == "=":
            return _equal(left, right)
        if condition.operator == "<>":
            return not _equal(left, right)
        return _ordered(condition.operator, left, right)
    if isinstance(condition, Between):
        value = _operand(condition.operand, item)
        return (_ordered(">=", value, _operand(condition.low, item))
                and _ordered("<=", value, _operand(condition.high, item)))
    if isinstance(condition, In):
        value = _operand(condition.operand, item)
        return any(_equal(value, _operand(choice, item)) for choice in condition.choices)
    assert isinstance(condition, Function)
    return _function(condition, item)


def _operand(operand: Operand, item: dict[str, Value]) -> Value | _Missing:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Path):
        return resolve(item, operand)
    value = resolve(item, operand.path)
    if value is MISSING:
        return MISSING
    kind = type_of(value)  # type: ignore[arg-type]
    if kind == "S":
        assert isinstance(value, str)
        return Decimal(len(value))
    if kind in ("B", "SS", "NS", "BS", "L", "M"):
        return Decimal(len(value))  # type: ignore[arg-type]
    raise ValidationException(f"Invalid ConditionExpression: Incorrect operand type for operator "
                              f"or function; operator or function: size, operand type: {kind}")


def _equal(left: Value | _Missing, right: Value | _Missing) -> bool:
    if left is MISSING or right is MISSING:
        return False
    return equal(left, right)  # type: ignore[arg-type]


def _key(value: Value) -> Any:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def _ordered(operator: str, left: Value | _Missing, right: Value | _Missing) -> bool:
    if left is MISSING or right is MISSING:
        return False
    kind = type_of(left)  # type: ignore[arg-type]
    if kind not in ("N", "S", "B") or kind != type_of(right):  # type: ignore[arg-type]
        return False
    a, b = _key(left), _key(right)  # type: ignore[arg-type]
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator])


def _function(function: Function, item: dict[str, Value]) -> bool:
    path = function.arguments[0]
    assert isinstance(path, Path)
    value: Any = resolve(item, path)
    if function.name == "attribute_exists":
        return value is not MISSING
    if function.name == "attribute_not_exists":
        return value is MISSING
    argument: Any = _operand(function.arguments[1], item)
    if value is MISSING or argument is MISSING:
        return False
    if function.name == "attribute_type":
        return type_of(value) == argument
    kind, argument_kind = type_of(value), type_of(argument)
    if function.name == "begins_with":
        if kind == argument_kind and kind in ("S", "B"):
            return value.startswith(argument)
        return False
    # contains
    if kind == "S" and argument_kind == "S" or kind == "B" and argument_kind == "B":
        return argument in value
    if kind in ("SS", "NS", "BS"):
        return kind[0] == argument_kind and argument in value
    if kind == "L":
        return any(_equal(element, argument) for element in value)
    return False


# ---------------------------------------------------------------------------
# Updates


def apply_update_expression(update: UpdateExpression, item: dict[str, Value]) -> dict[str, Value]:
    """The item after ``update`` (Python values); ``item`` itself is left unchanged."""
    new = copy.deepcopy(item)
    values = [_set_value(action.value, item) if isinstance(action, Set) else None
              for action in update.actions]
    removals: list[Path] = []
    for action, value in zip(update.actions, values, strict=True):
        if isinstance(action, Set):
            _write(new, action.path, value)
        elif isinstance(action, Remove):
            removals.append(action.path)
        elif isinstance(action, Add):
            _add(new, action)
        else:
            _delete(new, action)
    # List indexes refer to the list as it was: remove the highest first.
    for path in sorted(removals, key=lambda p: [(isinstance(e, int), e) for e in p.elements],
                       reverse=True):
        _remove(new, path)
    return new


def _set_value(value: SetValue, item: dict[str, Value]) -> Value:
    if isinstance(value, Literal):
        return copy.deepcopy(value.value)
    if isinstance(value, Path):
        found = resolve(item, value)
        if found is MISSING:
            raise ValidationException(_NOT_THERE)
        return copy.deepcopy(found)  # type: ignore[return-value]
    if isinstance(value, IfNotExists):
        found = resolve(item, value.path)
        return copy.deepcopy(found) if found is not MISSING else _set_value(value.default, item)  # type: ignore[return-value]
    if isinstance(value, ListAppend):
        left, right = _set_value(value.left, item), _set_value(value.right, item)
        if not isinstance(left, list) or not isinstance(right, list):
            raise ValidationException(_WRONG_TYPE)
        return left + right
    assert isinstance(value, Arithmetic)
    left, right = _set_value(value.left, item), _set_value(value.right, item)
    if type_of(left) != "N" or type_of(right) != "N":
        raise ValidationException(_WRONG_TYPE)
    assert isinstance(left, Decimal) and isinstance(right, Decimal)
    return add_numbers(left, right) if value.operator == "+" else subtract_numbers(left, right)


def _parent(item: dict[str, Value], path: Path) -> Any:
    """The container ``path`` writes into; refuses a parent that is missing or of the wrong type."""
    parent = resolve(item, Path(path.elements[:-1]))
    last = path.elements[-1]
    if isinstance(last, int) and not isinstance(parent, list) or \
            isinstance(last, str) and not isinstance(parent, dict):
        raise ValidationException(_BAD_PATH)
    return parent


def _write(item: dict[str, Value], path: Path, value: Value) -> None:
    parent = _parent(item, path)
    last = path.elements[-1]
    if isinstance(last, int) and last >= len(parent):
        parent.append(value)
    else:
        parent[last] = value


def _remove(item: dict[str, Value], path: Path) -> None:
    parent = _parent(item, path)
    last = path.elements[-1]
    if isinstance(last, int) and isinstance(parent, list) and last < len(parent):
        del parent[last]
    elif isinstance(last, str) and isinstance(parent, dict):
        parent.pop(last, None)


def _add(item: dict[str, Value], action: Add) -> None:
    current: Any = resolve(item, action.path)
    operand = action.value.value
    if current is MISSING:
        _write(item, action.path, operand)
        return
    kind = type_of(current)
    if kind != type_of(operand):
        raise ValidationException(_WRONG_TYPE)
    if kind == "N":
        _write(item, action.path, add_numbers(current, operand))  # type: ignore[arg-type]
    else:
        _write(item, action.path, current | operand)


def _delete(item: dict[str, Value], action: Delete) -> None:
    current: Any = resolve(item, action.path)
    if current is MISSING:
        _parent(item, action.path)  # nothing to delete, but the parent must be there
        return
    if type_of(current) != type_of(action.value.value):
        raise ValidationException(_WRONG_TYPE)
    remaining = current - action.value.value
    if remaining:
        _write(item, action.path, remaining)
    else:
        _remove(item, action.path)


# ---------------------------------------------------------------------------
# The DynamoDB JSON entry points


def evaluate_condition(item: Any, condition: str, names: Any = None, values: Any = None) -> bool:
    """Whether ``condition`` holds on ``item`` (DynamoDB JSON; ``{}`` for no item).

    ``names`` and ``values`` are the request's ExpressionAttributeNames and
    ExpressionAttributeValues; an unused one is refused, as DynamoDB refuses it.
    """
    python_item = to_item(item)
    subs = Substitutions.from_request(names, values)
    parsed = parse_condition(condition, subs)
    subs.check_all_used()
    return holds(parsed, python_item)


def apply_update(item: Any, update_expression: str, names: Any = None,
                 values: Any = None) -> dict[str, Any]:
    """The item (DynamoDB JSON) after ``update_expression``; ``item`` itself is unchanged."""
    python_item = to_item(item)
    subs = Substitutions.from_request(names, values)
    parsed = parse_update(update_expression, subs)
    subs.check_all_used()
    return from_item(apply_update_expression(parsed, python_item))

