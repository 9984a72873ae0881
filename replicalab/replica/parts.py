"""What a write changed *in part*, and which stored value it changed: for the ledger's ``Wrote`` line.

Most writes set an attribute whole, and the ledger judges them by provenance: the cell of
the attribute names the write that set it. Some writes only change a part of an attribute and
keep the rest of the value they read: a nested path (``SET m.k = :v``, ``REMOVE m.k``), an
append (``SET l = list_append(l, :v)``), an increment (``ADD n :v``, ``SET n = n + :v``, an
``UpdateItem`` counter add under a policy that sets the sum). The new cell then names only the
latest write, though an earlier write's part is still in its value. So a region records, for
each such attribute, the parts (``[kind, path]``) and the write whose stored value it built
on (its *base*); the ledger follows these links back (:mod:`replicalab.ledger.rules`).

Kinds: ``set`` and ``remove`` (a nested path), ``append`` and ``prepend`` (a list_append of
the path's own value), ``add`` (an increment of the path's own number), and
``["elements", path, added, deleted]`` (a set ``ADD``/``DELETE``; members as canonical strings).
An attribute a write sets or removes whole, or changes in any other way (``if_not_exists``
alone), has no parts: it is judged whole, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from replicalab.dynamodb.syntax import (
    Add,
    Arithmetic,
    Delete,
    IfNotExists,
    ListAppend,
    Path,
    Remove,
    Set,
    UpdateExpression,
)
from replicalab.items import INITIAL_WRITE, Item

__all__ = ["bases", "expression_parts", "increment_parts", "wrote_fields"]


def _own(operand: Any, path: Path) -> bool:
    """True iff ``operand`` reads the path's own value (``path`` or ``if_not_exists(path, x)``)."""
    return operand == path or (isinstance(operand, IfNotExists) and operand.path == path)


def _members(values: frozenset[Any]) -> list[str]:
    """Set members as canonical strings (``S:x``, ``N:1.5``, ``B:<hex>``): equal DynamoDB
    members (``1`` and ``1.0``) give equal strings, and the trace stays plain JSON."""
    out = []
    for v in values:
        if isinstance(v, Decimal):
            out.append("N:" + format(v.normalize(), "f"))
        elif isinstance(v, bytes):
            out.append("B:" + v.hex())
        else:
            out.append("S:" + str(v))
    return sorted(out)


def _part(action: Any) -> tuple[Any, ...] | None:
    """One action as a part ``(kind, path)``, or None if it replaces its attribute whole."""
    path: Path = action.path
    elements = list(path.elements)
    nested = len(elements) > 1
    if isinstance(action, Remove):
        return ("remove", elements) if nested else None
    if isinstance(action, Add) and isinstance(action.value.value, Decimal):
        return ("add", elements)  # a number added to the path's own value
    if isinstance(action, (Add, Delete)) and isinstance(action.value.value, frozenset):
        members = _members(action.value.value)
        return ("elements", elements, *((members, []) if isinstance(action, Add) else ([], members)))
    if isinstance(action, Set):
        value = action.value
        if isinstance(value, ListAppend):
            if _own(value.left, path) and not _own(value.right, path):
                return ("append", elements)
            if _own(value.right, path) and not _own(value.left, path):
                return ("prepend", elements)
        if isinstance(value, Arithmetic) and _own(value.left, path) != _own(value.right, path) \
                and (value.operator == "+" or _own(value.left, path)):
            return ("add", elements)
        return ("set", elements) if nested else None
    return None


def expression_parts(update: UpdateExpression | None, counters: Mapping[str, int]
                     ) -> dict[str, list[list[Any]]]:
    """``{attribute: [[kind, path], ...]}`` for the attributes ``update`` changed only in part.

    An attribute with any action that replaces it whole is left out, and so are ``counters``
    (increments a counter-keeping policy merges as counters: judged by their own cells).
    """
    if update is None:
        return {}
    out: dict[str, list[list[Any]]] = {}
    whole: set[str] = set()
    for action in update.actions:
        top = str(action.path.elements[0])
        part = _part(action)
        if part is None:
            whole.add(top)
        else:
            out.setdefault(top, []).append(list(part))
    return {a: sorted(ps, key=repr) for a, ps in sorted(out.items())
            if a not in whole and a not in counters}


def increment_parts(adds: Mapping[str, int], counters: bool) -> dict[str, list[list[Any]]]:
    """An ``UpdateItem``'s counter adds as parts, unless the policy keeps counters (``crdt``)."""
    return {} if counters else {a: [["add", [a]]] for a in sorted(adds)}


def bases(item: Item | None, attributes: Any) -> dict[str, str]:
    """``{attribute: write}``: the write whose stored value of each attribute a write read and
    built on — the cell with the greatest stamp among the siblings, as the write resolves them
    (:func:`replicalab.policies.base._base_cells`). Left out when that is nothing, a tombstone
    or the initial value (no write to follow)."""
    out: dict[str, str] = {}
    if item is None:
        return out
    for attribute in attributes:
        cells = [c for v in item.versions for c in v.cells_of(attribute)]
        if not cells:
            continue
        best = max(cells, key=lambda c: c.stamp)
        if not best.removed and not best.counter and best.write != INITIAL_WRITE:
            out[attribute] = best.write
    return out


def wrote_fields(item: Item | None, update: UpdateExpression | None, adds: Mapping[str, int],
                 counters: bool, replace: bool) -> dict[str, Any]:
    """The ``parts`` and ``base`` fields of a write's ``Wrote`` line, built on ``item`` (the
    stored item it read): ``update`` for a DynamoDB UpdateItem (None otherwise), ``adds`` its
    counter increments, ``counters`` whether the policy keeps counters. Empty (no fields at all)
    for a write that changed nothing in part, so its Wrote line keeps its bytes."""
    if replace:
        return {}
    changed = expression_parts(update, adds) if update is not None else increment_parts(adds, counters)
    return {"parts": changed, "base": bases(item, changed)} if changed else {}
