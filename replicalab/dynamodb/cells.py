"""DynamoDB values as a table replica stores them: plain, JSON-ready, type-preserving.

A region of a global table (:class:`~replicalab.replica.table.TableReplica`) keeps each
attribute in a cell whose value must be plain data (it goes into the trace, the ledger and
pictures, byte-identical in every process). DynamoDB values are richer (decimal numbers,
binaries, typed sets, maps), so a value is stored in its *cell form*:

=============================  =============================================
DynamoDB value (Python side)   cell form
=============================  =============================================
``S``  ``str``                 the string itself: ``"12 High Street, London"``
``N``  integral ``Decimal``    an ``int``: ``17``  (so ``version`` reads as 17)
``N``  other ``Decimal``       ``{"N": "0.5"}``
``BOOL`` / ``NULL``            ``True`` / ``None``
``B``  ``bytes``               ``{"B": "<base64>"}``
``SS`` / ``NS`` / ``BS``       ``{"SS": [sorted texts]}`` (numbers and base64 as text)
``L``  ``list``                a list of cell forms
``M``  ``dict``                ``{"M": {name: cell form}}``
=============================  =============================================

Every tag is a one-key dict, and a map is always tagged, so the form is unambiguous and
:func:`from_cell` inverts :func:`to_cell` exactly (``from_cell(to_cell(v))`` equals ``v``
by :func:`~replicalab.dynamodb.values.equal`).

    >>> from decimal import Decimal
    >>> to_cell({"n": Decimal("1.5"), "tags": frozenset({"b", "a"})})
    {'M': {'n': {'N': '1.5'}, 'tags': {'SS': ['a', 'b']}}}
    >>> from_cell(17)
    Decimal('17')
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from replicalab._validate import shown
from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.values import Value, held_number, number_text, type_of
from replicalab.items import members_of

__all__ = ["from_cell", "from_cells", "to_cell", "to_cells", "to_members"]


def to_cell(value: Value) -> Any:
    """The cell form of a DynamoDB value (Python side; see the module docs)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return {"N": format(held_number(value), "f")}  # a crdt counter may be past 38 digits
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [to_cell(v) for v in value]
    if isinstance(value, dict):
        return {"M": {k: to_cell(v) for k, v in sorted(value.items())}}
    if isinstance(value, frozenset):
        kind = type_of(value)
        if kind == "NS":
            texts = sorted(value, key=lambda d: d)
            return {"NS": [number_text(d) for d in texts]}
        if kind == "BS":
            return {"BS": sorted(base64.b64encode(b).decode("ascii") for b in value)}
        return {"SS": sorted(value)}
    raise ValidationException(f"not a DynamoDB value: {shown(value)}")


def from_cell(cell: Any) -> Value:
    """The DynamoDB value (Python side) of a cell form; the inverse of :func:`to_cell`."""
    if isinstance(cell, bool) or cell is None or isinstance(cell, str):
        return cell
    if type(cell) is int:
        return Decimal(cell)
    if isinstance(cell, (list, tuple)):
        return [from_cell(v) for v in cell]
    if isinstance(cell, dict) and len(cell) == 1:
        (tag, payload), = cell.items()
        if tag == "N":
            return Decimal(payload)
        if tag == "B":
            return base64.b64decode(payload)
        if tag == "M":
            return {k: from_cell(v) for k, v in payload.items()}
        if tag == "SS":
            return frozenset(payload)
        if tag == "NS":
            return frozenset(Decimal(p) for p in payload)
        if tag == "BS":
            return frozenset(base64.b64decode(p) for p in payload)
    raise ValidationException(f"not a stored DynamoDB value (cell form): {shown(cell)}")


def to_members(value: frozenset[Any]) -> frozenset[str]:
    """The member strings of a DynamoDB set (Python side): how the ``crdt`` policy names its
    OR-Set elements (:func:`replicalab.items.members_of`: ``S:a``, ``N:1.5``, ``B:<hex>``;
    ``1.0`` and ``1`` are one member, as in DynamoDB).

        >>> sorted(to_members(frozenset({Decimal("1.0"), Decimal("20")})))
        ['N:1', 'N:20']
    """
    if not isinstance(value, frozenset) or not value:
        raise ValidationException(f"to_members takes a non-empty DynamoDB set, got {shown(value)}")
    members = members_of(to_cell(value))
    if members is None:
        raise ValidationException(f"not a DynamoDB set: {shown(value)}")
    return members


def to_cells(item: dict[str, Value]) -> dict[str, Any]:
    """A whole item's attributes in cell form, sorted by name."""
    return {name: to_cell(value) for name, value in sorted(item.items())}


def from_cells(cells: dict[str, Any]) -> dict[str, Value]:
    """A whole item back from cell form."""
    return {name: from_cell(value) for name, value in cells.items()}
