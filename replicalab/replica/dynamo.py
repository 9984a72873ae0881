"""DynamoDB requests applied by a table region: expressions evaluated on the *local* item.

A client (:mod:`replicalab.dynamodb.client`) parses and validates a boto3-shaped request,
then sends one of these requests to a region. The region does what DynamoDB does in one
region, against its own copy only:

* :class:`DynamoWrite` (PutItem, UpdateItem, DeleteItem): the ``ConditionExpression`` is
  evaluated on the local item (with siblings, on every sibling); the ``UpdateExpression``
  is applied to the local item (siblings resolved attribute by attribute, greatest stamp
  first, as a reader would); the attributes the request touched become one ordinary write
  of the region's merge policy: values it SET, tombstones for what it REMOVEd or deleted.
  So the ledger, the merge policies and replication treat it like any other write.
* :class:`DynamoTransaction`: every condition of every part is checked on the local items
  first; if one fails, nothing is written (all-or-nothing *in this region*). Otherwise each
  part is applied as its own write and replicated on its own, item by item, so another region
  can hold half of it for a while.
* :class:`DynamoGet` and :class:`DynamoQuery` read the local items.

Stored values are in cell form (:mod:`replicalab.dynamodb.cells`). The key attributes are
written again by every write and are bookkeeping (never part of a write's effect), so an
item that a delete and a concurrent update race over keeps its key under every policy.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from replicalab import _validate
from replicalab.dynamodb.cells import from_cell, to_cells, to_members
from replicalab.dynamodb.evaluate import apply_update_expression, holds
from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.syntax import Add, Condition, Delete, UpdateExpression
from replicalab.dynamodb.values import MAX_ITEM_BYTES, Value, item_size
from replicalab.errors import ConfigError
from replicalab.items import Cell, Item, value_groups
from replicalab.replica.base import Request, Response

__all__ = ["OPERATIONS", "DynamoGet", "DynamoQuery", "DynamoResult", "DynamoTransaction",
           "DynamoWrite", "local_partition", "resolved", "siblings"]

#: The write operations a region applies.
OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "ConditionCheck")


def _operation(value: Any) -> None:
    if value not in OPERATIONS:
        raise ConfigError(f"operation must be one of {', '.join(OPERATIONS)}, got {_validate.shown(value)}")


@attrs.frozen
class DynamoWrite(Request):
    """One parsed DynamoDB write on item ``key`` (the table's key attributes, encoded).

    ``key_item`` holds the key attributes (Python values); ``item`` the whole new item of a
    PutItem; ``update`` and ``condition`` the parsed expressions. ``bookkeeping`` names the
    attributes this write sets only as bookkeeping (key attributes, the version attribute of
    the versioned pattern). A ``ConditionCheck`` (only inside a transaction) writes nothing.
    """

    mutates: ClassVar[bool] = True

    key: str = attrs.field(validator=lambda _i, _a, v: _validate.name(v, "item key"))
    operation: str = attrs.field(validator=lambda _i, _a, v: _operation(v))
    key_item: Mapping[str, Value] = attrs.field(factory=dict)
    item: Mapping[str, Value] | None = None
    update: UpdateExpression | None = None
    condition: Condition | None = None
    bookkeeping: tuple[str, ...] = ()

    @property
    def scope(self) -> Hashable:
        return self.key

    def trace_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "key": self.key, "operation": self.operation,
                               "attributes": to_cells(dict(self.item)) if self.item else {}}
        if self.update is not None:
            out["update"] = "; ".join(str(action) for action in self.update.actions)
        if self.condition is not None:
            out["condition"] = str(self.condition)
        return out


def _parts(parts: Any) -> tuple[DynamoWrite, ...]:
    if isinstance(parts, (str, bytes, Mapping)) or not hasattr(parts, "__iter__"):
        raise ConfigError(f"a transaction's parts are DynamoWrite requests, got {_validate.shown(parts)}")
    out = tuple(parts)
    if not out or not all(isinstance(p, DynamoWrite) for p in out):
        raise ConfigError(f"a transaction's parts are one or more DynamoWrite requests, got {_validate.shown(out)}")
    return out


@attrs.frozen
class DynamoTransaction(Request):
    """TransactWriteItems: ``parts`` (each a :class:`DynamoWrite` with its own op id), all or
    nothing in the region that receives it. Each part is its own write in the ledger."""

    mutates: ClassVar[bool] = True

    parts: tuple[DynamoWrite, ...] = attrs.field(converter=_parts)

    @property
    def scope(self) -> Hashable:
        return self.parts[0].key if self.parts else None

    def written(self) -> tuple[tuple[str, Hashable], ...]:
        """The ground-truth writes this request makes: one per part that writes."""
        return tuple((p.op, p.key) for p in self.parts if p.operation != "ConditionCheck")

    def trace_fields(self) -> dict[str, Any]:
        return {"op": self.op, "parts": [p.trace_fields() for p in self.parts]}


@attrs.frozen
class DynamoGet(Request):
    """GetItem on ``key``: the local copy (``consistent`` is a regional guarantee only)."""

    key: str = attrs.field(validator=lambda _i, _a, v: _validate.name(v, "item key"))
    consistent: bool = False
    key_item: Mapping[str, Value] = attrs.field(factory=dict)

    @property
    def scope(self) -> Hashable:
        return self.key

    def trace_fields(self) -> dict[str, Any]:
        return {"op": self.op, "key": self.key, "consistent": self.consistent}


@attrs.frozen
class DynamoQuery(Request):
    """Query: every local item whose key is ``prefix`` or starts with ``prefix|`` (one
    partition of the table; the key names are the values joined by ``|``).

    The client applies the sort-key condition, the order and the limit; the region answers
    ``(item key, item)`` pairs and logs which writes each item held, so a checker can tell
    what the read saw.
    """

    prefix: str
    consistent: bool = False


@attrs.frozen
class DynamoResult(Response):
    """A region's answer: ``old`` and ``new`` item (cell form, None if absent) of a write, the
    ``item`` of a read, the ``items`` of a query, the ``reasons`` of a cancelled transaction."""

    old: Any = None
    new: Any = None
    item: Any = None
    items: tuple[Any, ...] = ()
    reasons: tuple[Any, ...] = ()


def _greatest(cells: Any) -> dict[str, Cell]:
    """Each attribute's cell with the greatest stamp — except a ``crdt`` counter, whose value
    is its sum (its increments and the numbers they add to), and a ``crdt`` DynamoDB set,
    whose value is the union of its live member cells as one typed set; with a concurrent
    value of another kind beside either, the newest of them
    (:func:`~replicalab.items.value_groups`), as a reader takes the newest sibling."""
    best: dict[str, Cell] = {}
    counted: dict[str, list[Cell]] = {}
    for name, cell in cells:
        if name not in best or cell.stamp > best[name].stamp:
            best[name] = cell
        counted.setdefault(name, []).append(cell)
    for name, every in counted.items():
        if any((c.counter or c.typed) and not c.removed for c in every):
            stamp, value = value_groups(every)[-1]
            best[name] = Cell(value, best[name].write, stamp)
    return best


def _view(best: Mapping[str, Cell]) -> dict[str, Value] | None:
    out = {name: from_cell(cell.value) for name, cell in sorted(best.items()) if not cell.removed}
    return out or None


def resolved(item: Item | None) -> dict[str, Value] | None:
    """The item as a reader sees it (Python values), or None if absent or deleted.

    With siblings, each attribute comes from the sibling cell with the greatest stamp, the
    same resolution a local write builds on. An item whose cells are all tombstones is absent.
    """
    if item is None:
        return None
    return _view(_greatest(cell for version in item.versions for cell in version.cells))


def siblings(item: Item | None) -> list[dict[str, Value]]:
    """Each sibling as a reader sees it ({} for an absent or deleted one); [{}] for no item."""
    if item is None:
        return [{}]
    return [_view(_greatest(version.cells)) or {} for version in item.versions]


@attrs.frozen
class Planned:
    """What a write will do to the local item: attributes to set, to remove, old and new."""

    attributes: dict[str, Any]
    removed: tuple[str, ...]
    replace: bool
    old: dict[str, Value] | None
    new: dict[str, Value] | None
    #: Integer ``ADD`` amounts sent as counter increments (a policy that keeps counters).
    adds: dict[str, int] = attrs.field(factory=dict)
    #: Set ``ADD``/``DELETE`` sent as OR-Set elements (a policy that keeps sets): attribute ->
    #: (members added, members deleted), as member strings (:func:`~replicalab.items.members_of`).
    elements: dict[str, tuple[frozenset[str], frozenset[str]]] = attrs.field(factory=dict)


class ConditionFailed(Exception):
    """Internal: a write's condition is false locally (``old`` is the local item)."""

    def __init__(self, old: dict[str, Value] | None) -> None:
        super().__init__("The conditional request failed")
        self.old = old


def plan(item: Item | None, msg: DynamoWrite, counters: bool = False,
         sets: bool = False) -> Planned | None:
    """What ``msg`` does to the local ``item``; None for a ConditionCheck.

    With ``counters`` (the region's policy keeps counters, ``crdt``) an ``ADD`` of an integer
    to a top-level attribute that holds an integer or nothing is an increment
    (``Planned.adds``), merged as a counter; otherwise, and under every other policy, ``ADD``
    sets the sum it read locally (so under LWW a concurrent ``ADD`` elsewhere can lose).

    With ``sets`` (the region's policy keeps sets, ``crdt``) an ``ADD`` or ``DELETE`` of a set
    (SS, NS, BS) on a top-level attribute goes as OR-Set elements (``Planned.elements``:
    the members added or deleted, whatever the local set held), so concurrent ``ADD`` s from
    two regions union and a ``DELETE`` removes only the members its region had seen.
    Otherwise ``ADD``/``DELETE`` set the whole set read locally. Either way the update is
    first applied to the local item, so a type error (``ADD`` of an SS to a number or to an
    NS) is refused as DynamoDB refuses it, and ``new`` is what the region answers.

    Raises :class:`ConditionFailed` if the condition is false on the local item (on any
    sibling), :class:`~replicalab.dynamodb.exceptions.ValidationException` if the update
    cannot apply to it (a wrong operand type, a missing path, an item grown too large).
    """
    keys = dict(msg.key_item)
    raw = resolved(item)
    old = {**raw, **keys} if raw is not None else None
    if msg.condition is not None and not all(
            holds(msg.condition, {**s, **keys} if s else s) for s in siblings(item)):
        raise ConditionFailed(old)
    if msg.operation == "ConditionCheck":
        return None
    if msg.operation == "DeleteItem":
        if old is None:
            return Planned({}, (), True, None, None)
        gone = tuple(sorted(n for n in old if n not in keys))
        return Planned({}, gone, True, old, None)
    if msg.operation == "PutItem":
        new = dict(msg.item or {})
        return Planned(to_cells(new), (), True, old, new)
    base = dict(old) if old is not None else dict(keys)
    new = apply_update_expression(msg.update, base) if msg.update is not None else base
    if item_size(new) > MAX_ITEM_BYTES:
        raise ValidationException("Item size to update has exceeded the maximum allowed size")
    tops = sorted({str(a.path.elements[0]) for a in (msg.update.actions if msg.update else ())})
    adds = _increments(msg.update, base) if counters and msg.update is not None else {}
    elements = _set_actions(msg.update) if sets and msg.update is not None else {}
    attributes = {n: new[n] for n in tops if n in new and n not in adds and n not in elements}
    # An emptied set is no tombstone here: its DELETE removed the members its region had seen.
    removed = tuple(n for n in tops if n not in new and n not in elements)
    if raw is None or any(k not in raw for k in keys):
        # Creating the item (or writing to one whose key a concurrent delete took away, per
        # attribute): the key attributes are written too, as bookkeeping.
        attributes.update(keys)
    return Planned(to_cells(attributes), removed, False, old, new, adds, elements)


def _integral(value: Any) -> bool:
    return isinstance(value, Decimal) and value == value.to_integral_value()


def _increments(update: UpdateExpression, base: Mapping[str, Value]) -> dict[str, int]:
    """The update's ``ADD`` actions that are counter increments: an integer added to a
    top-level attribute holding an integer or nothing (a decimal or nested one is not)."""
    out: dict[str, int] = {}
    for action in update.actions:
        if isinstance(action, Add) and len(action.path.elements) == 1:
            name = str(action.path.elements[0])
            if _integral(action.value.value) and (name not in base or _integral(base[name])):
                out[name] = int(action.value.value)  # type: ignore[arg-type]
    return out


def _set_actions(update: UpdateExpression) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """The update's ``ADD``/``DELETE`` of a set on a top-level attribute, as member strings:
    ``{attribute: (added, deleted)}`` (DynamoDB allows one action per path, so one of the
    two is empty). Applied to the local item first (:func:`plan`), so types already agree."""
    out: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for action in update.actions:
        if isinstance(action, (Add, Delete)) and len(action.path.elements) == 1 \
                and isinstance(action.value.value, frozenset):
            members = to_members(action.value.value)
            none: frozenset[str] = frozenset()
            out[str(action.path.elements[0])] = (members, none) if isinstance(action, Add) else (none, members)
    return out


# ---------------------------------------------------------------------------
# The region's side: what a TableReplica does with these requests


def _rejected(region: Any, ctx: Any, src: str, op: str, key: str, error: str, message: str,
              old: Any = None) -> None:
    ctx.log("Rejected", op=op, key=key, client=src, error=error, message=message)
    ctx.reply(src, DynamoResult(op, ok=False, error=error, message=message, old=old))


def _failure(region: Any, part: DynamoWrite) -> tuple[str, str, Any] | Planned | None:
    """Plan ``part`` on the region's local item: the plan, or (error, message, old item)."""
    item = region.items.get(part.key)
    try:
        return plan(item, part, getattr(region.policy, "keeps_counters", False),
                    getattr(region.policy, "keeps_sets", False))
    except ConditionFailed as failed:
        old = to_cells(failed.old) if failed.old is not None else None
        return ("ConditionalCheckFailed",
                f"the condition {part.condition} is false on {region.id}'s copy of {part.key}", old)
    except ValidationException as error:
        return ("ValidationError", error.message, None)


def _write_planned(region: Any, ctx: Any, src: str, part: DynamoWrite, planned: Planned,
                   transaction: str | None = None) -> Planned:
    """Write ``planned`` at ``region`` and replicate it; the plan, with ``new`` as the region
    then reads it where a counter increment made the two differ."""
    if planned.old is None and planned.new is None:
        return planned  # deleting an item the region does not hold: nothing to write
    extra = {"transaction": transaction} if transaction is not None else {}
    outcome, _ = region._apply(ctx, src, part, planned.attributes, replace=planned.replace,
                               removed=planned.removed, extra=extra, adds=planned.adds,
                               elements=planned.elements)
    region._replicate(ctx, part.key, outcome.item, part.op)
    if planned.adds and planned.new is not None:
        # An increment is planned on the value a reader takes (the newest sibling), but the
        # counter sums every concurrent number beside it: answer what the region now holds.
        now = resolved(outcome.item) or {}
        counted = {name: now[name] for name in planned.adds if name in now}
        return attrs.evolve(planned, new={**planned.new, **counted})
    return planned


def handle(region: Any, ctx: Any, src: str, msg: Any) -> bool:
    """Handle a DynamoDB request at ``region`` (a TableReplica); False if ``msg`` is none."""
    if isinstance(msg, DynamoWrite):
        planned = _failure(region, msg)
        if isinstance(planned, tuple):
            _rejected(region, ctx, src, msg.op, msg.key, *planned)
        elif planned is not None:
            planned = _write_planned(region, ctx, src, msg, planned)
            ctx.reply(src, DynamoResult(msg.op, old=_cells(planned.old), new=_cells(planned.new)))
        return True
    if isinstance(msg, DynamoTransaction):
        plans: list[Planned | None] = []
        reasons: list[Any] = []
        for part in msg.parts:
            planned = _failure(region, part)
            if isinstance(planned, tuple):
                error, message, old = planned
                code = "ConditionalCheckFailed" if error == "ConditionalCheckFailed" else "ValidationError"
                reasons.append({"Code": code, "Message": message, "Item": old})
                plans.append(None)
            else:
                reasons.append({"Code": "None"})
                plans.append(planned)
        if any(r["Code"] != "None" for r in reasons):
            message = "; ".join(f"{p.op}: {r['Message']}" for p, r in zip(msg.parts, reasons, strict=True)
                                if r["Code"] != "None")
            ctx.log("Rejected", op=msg.op, key=msg.parts[0].key, client=src,
                    error="TransactionCanceled", message=message)
            ctx.reply(src, DynamoResult(msg.op, ok=False, error="TransactionCanceled",
                                        message=message, reasons=tuple(reasons)))
            return True
        for part, planned in zip(msg.parts, plans, strict=True):
            if planned is not None:
                _write_planned(region, ctx, src, part, planned, transaction=msg.op)
        ctx.reply(src, DynamoResult(msg.op))
        return True
    if isinstance(msg, DynamoGet):
        answer_get(ctx, src, msg, region.items.get(msg.key))
        return True
    if isinstance(msg, DynamoQuery):
        found = local_partition(region.items, msg.prefix)
        seen = {key: list(region.items[key].provenance()) for key, _ in found}
        ctx.log("Queried", op=msg.op, client=src, consistent=msg.consistent, prefix=msg.prefix,
                items=seen)
        ctx.reply(src, DynamoResult(msg.op, items=tuple(found)))
        return True
    return False


def answer_get(ctx: Any, src: str, msg: DynamoGet, item: Item | None) -> None:
    """Answer GetItem ``msg`` with ``item`` (a region's copy, or a quorum's merge) and log it."""
    view = resolved(item)
    view = {**view, **msg.key_item} if view is not None else None
    writes = list(item.provenance()) if item is not None and view is not None else []
    ctx.log("Read", op=msg.op, key=msg.key, client=src, consistent=msg.consistent, writes=writes)
    ctx.reply(src, DynamoResult(msg.op, item=_cells(view)))


def local_partition(items: Mapping[str, Item], prefix: str) -> list[tuple[str, Any]]:
    """``(item key, cells)`` of every present item of partition ``prefix``, in key order:
    what a region answers a :class:`DynamoQuery` with."""
    found = []
    for key in sorted(items):
        if key != prefix and not key.startswith(prefix + "|"):
            continue
        view = resolved(items[key])
        if view is not None:
            found.append((key, to_cells(view)))
    return found


def _cells(view: dict[str, Value] | None) -> dict[str, Any] | None:
    return to_cells(view) if view is not None else None
