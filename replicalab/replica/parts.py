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
the path's own value), ``add`` (an increment of the path's own number),
``["elements", path, added, deleted]`` (a set ``ADD``/``DELETE``; members as canonical strings),
and ``keep``: ``SET p = if_not_exists(p, :v)`` where ``p`` had a value in the item the write
read, so the write set ``p`` to the value it already had, ``REMOVE m.k`` where ``m.k`` had
none, a set ``DELETE`` of members none of which were there or an ``ADD`` of members all of
which were — it changed nothing there and has no effect there to lose (it is still a write the region stamps and replicates, so it can win
a merge like any other). Where ``p`` had no value, it is a ``set`` of ``:v`` (whole, if ``p`` is
an attribute). An attribute a write sets or removes whole, or changes in any other way, has no
parts: it is judged whole, as before.

A set ``DELETE`` that empties the set removes the attribute (DynamoDB keeps no empty sets): the
attribute is then both removed and changed in part, and the ledger judges it by its part (its
deleted members stay out), so a later ``ADD`` of other members that had seen it leaves it in
effect. For that chain to be followed, :func:`bases` names the write of a tombstone too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from replicalab.dynamodb.cells import from_cell
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

_NOTHING = object()  # no value at the path
_UNREAD = object()  # a value that is not one cell's (a crdt counter or element set)

__all__ = ["bases", "expression_parts", "has_value", "increment_parts", "leaves", "member_strings", "same_place",
           "step_into", "value_at", "wrote_fields"]


def _own(operand: Any, path: Path) -> bool:
    """True iff ``operand`` reads the path's own value (``path`` or ``if_not_exists(path, x)``)."""
    return operand == path or (isinstance(operand, IfNotExists) and operand.path == path)


def same_place(a: str | int, b: str | int) -> bool:
    """Two path elements may name the same place: the same map key, or any two list indexes
    (an index names a different element once the list has changed, so never rely on it).

        >>> same_place("a", "a"), same_place("a", "b"), same_place(0, 3), same_place("0", 0)
        (True, False, True, False)
    """
    return (a == b and type(a) is type(b)) or (type(a) is int and type(b) is int)


def leaves(later: Iterable[Sequence[Any]], mine: Iterable[Sequence[Any]]) -> bool:
    """True iff a write whose parts are ``later``, applied on a value holding the parts
    ``mine`` (both one attribute's), leaves them as they were: every later part is elsewhere in
    the value, or adds to the same list (append/prepend after an append/prepend) or number (add
    after add), or changes the same set without deleting what ``mine`` added or adding what it
    deleted, or wrote back the value it read (``keep``).

    The one rule the ledger (:mod:`replicalab.ledger.rules`) judges a chain of partial writes
    by and every view of a run (:class:`~replicalab.replica.log_fields.DropRule`) shows drops
    by, so a picture never says "dropped" beside a ledger's "kept". Parts are the ledger's
    tuples or the trace's JSON lists (``[kind, path, *members]``; a path's elements map keys
    (str) and list indexes (int), set members canonical strings, :func:`member_strings`); a
    list and a tuple path with equal elements are the same path.

        >>> leaves([["set", ["m", "b"]]], [["set", ["m", "a"]]])   # disjoint nested paths
        True
        >>> leaves([("set", ("m",))], [("set", ("m", "a"))])       # replaced the map holding it
        False
        >>> leaves([["elements", ["s"], [], ["S:z"]]], [["elements", ["s"], ["S:x"], []]])
        True
        >>> leaves([["elements", ["s"], [], ["S:x"]]], [["elements", ["s"], ["S:x"], []]])
        False
    """
    for kind, path, *members in mine:
        for other, place, *theirs in later:
            if other == "keep":
                continue  # if_not_exists of a path that had a value: it wrote that value back
            if not all(same_place(a, b) for a, b in zip(path, place, strict=False)):
                continue  # disjoint: neither path is a prefix of the other
            # The ledger's paths are tuples and the trace's lists: compare them as sequences.
            same = path == place if type(path) is type(place) else tuple(path) == tuple(place)
            if same and ({kind, other} <= {"append", "prepend"} or kind == other == "add"):
                continue
            if same and kind == other == "elements" \
                    and not set(members[0]) & set(theirs[1]) and not set(members[1]) & set(theirs[0]):
                continue
            return False
    return True


def member_strings(values: frozenset[Any]) -> list[str]:
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


def _part(action: Any, read: Any = None) -> tuple[Any, ...] | None:
    """One action as a part ``(kind, path)``, or None if it replaces its attribute whole.
    ``read(path)`` is the value a path had in the item the write read (:func:`value_at`), to
    tell a no-op (``keep``); None: unknown, judged as if it had none."""
    path: Path = action.path
    elements = list(path.elements)
    nested = len(elements) > 1
    if read is not None and _no_op(action, read(elements)):
        return ("keep", elements)
    if isinstance(action, Remove):
        return ("remove", elements) if nested else None
    if isinstance(action, Add) and isinstance(action.value.value, Decimal):
        return ("add", elements)  # a number added to the path's own value
    if isinstance(action, (Add, Delete)) and isinstance(action.value.value, frozenset):
        members = member_strings(action.value.value)
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


def _no_op(action: Any, before: Any) -> bool:
    """True iff ``action`` left the value it read at its path (``before``) as it was:
    ``if_not_exists`` of the path itself where it had a value (not a crdt counter, where it
    assigns the total it read: a reset), ``REMOVE`` of a nested path that
    had none, a set ``DELETE`` of members none of which were there, a set ``ADD`` of members
    all of which were."""
    if isinstance(action, Set) and isinstance(action.value, IfNotExists):
        # On a crdt counter it is an assignment of the total it read: the counter's reset.
        return action.value.path == action.path and before is not _NOTHING and before is not _UNREAD
    if isinstance(action, Remove):
        return len(action.path.elements) > 1 and before is _NOTHING
    if isinstance(action, (Add, Delete)) and isinstance(action.value.value, frozenset) \
            and before is not _UNREAD:
        had = set(member_strings(before)) if isinstance(before, frozenset) else set()
        members = set(member_strings(action.value.value))
        return not members & had if isinstance(action, Delete) else members <= had
    return False


def expression_parts(update: UpdateExpression | None, counters: Mapping[str, int],
                     item: Any = _UNREAD) -> dict[str, list[list[Any]]]:
    """``{attribute: [[kind, path], ...]}`` for the attributes ``update`` changed only in part.

    An attribute with any action that replaces it whole is left out, and so are ``counters``
    (increments a counter-keeping policy merges as counters: judged by their own cells).
    ``item`` is the stored item the write read (None: none), to tell the actions that left
    their path as it was (``keep``, :func:`_no_op`); left out, no action is taken for one.
    """
    if update is None:
        return {}
    out: dict[str, list[list[Any]]] = {}
    whole: set[str] = set()
    for action in update.actions:
        top = str(action.path.elements[0])
        part = _part(action, None if item is _UNREAD else (lambda path: value_at(item, path)))
        if part is None:
            whole.add(top)
        else:
            out.setdefault(top, []).append(list(part))
    return {a: sorted(ps, key=repr) for a, ps in sorted(out.items())
            if a not in whole and a not in counters}


def increment_parts(adds: Mapping[str, int], counters: bool) -> dict[str, list[list[Any]]]:
    """An ``UpdateItem``'s counter adds as parts, unless the policy keeps counters (``crdt``)."""
    return {} if counters else {a: [["add", [a]]] for a in sorted(adds)}


def _best(item: Item | None, attribute: str) -> Any:
    """The cell of ``attribute`` a write reads: the greatest stamp among the siblings, as the
    write resolves them (:func:`replicalab.policies.base._base_cells`); None if none."""
    cells = [c for v in item.versions for c in v.cells_of(attribute)] if item is not None else []
    return max(cells, key=lambda c: c.stamp) if cells else None




def value_at(item: Item | None, path: Any) -> Any:
    """The value at ``path`` (``[attribute, key or index, ...]``) in ``item`` as a write reads
    it (:func:`_best`), as a DynamoDB value; ``_NOTHING`` if it has none, ``_UNREAD`` if it
    has one spread over cells (a crdt counter, a crdt set of element cells)."""
    best = _best(item, str(path[0]))
    if best is None or best.removed:
        return _NOTHING
    if any((c.counter or c.element) and not c.removed
           for v in item.versions for c in v.cells_of(str(path[0]))):  # type: ignore[union-attr]
        return _UNREAD  # a crdt counter or element set: its value is not one cell's
    return step_into(from_cell(best.value), path[1:], _NOTHING)


def step_into(value: Any, steps: Any, missing: Any) -> Any:
    """The part of ``value`` (a DynamoDB value) that ``steps`` (map keys and list indexes, the
    path after its attribute) lead to, or ``missing`` where a step finds nothing."""
    for step in steps:
        if isinstance(step, int) and isinstance(value, list) and 0 <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return missing
    return value


def has_value(item: Item | None, path: Any) -> bool:
    """True iff ``path`` has a value in ``item`` as a write reads it: what ``if_not_exists``
    tests (:func:`value_at`)."""
    return value_at(item, path) is not _NOTHING


def bases(item: Item | None, attributes: Any) -> dict[str, str]:
    """``{attribute: write}``: the write whose stored value of each attribute a write read and
    built on (:func:`_best`) — a tombstone's write too (a set ``DELETE`` that emptied the set
    removed the attribute, and a later ``ADD`` builds on that). Left out when that is nothing,
    a crdt counter or the initial value (no write to follow)."""
    out: dict[str, str] = {}
    if item is None:
        return out
    for attribute in attributes:
        best = _best(item, attribute)
        if best is not None and not best.counter and best.write != INITIAL_WRITE:
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
    changed = (expression_parts(update, adds, item) if update is not None
               else increment_parts(adds, counters))
    return {"parts": changed, "base": bases(item, changed)} if changed else {}
