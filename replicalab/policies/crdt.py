"""The ``crdt`` policy: an item is a causal CRDT map, and its cells are the view a table stores.

The rules are :mod:`replicalab.crdts`' own, not re-implemented here. Every client
write is one dot, ``(replica, seq)`` of its stamp; the item's version clock is
its causal context. Per attribute, the cells form a dot store (a cell is named
by its write's dot, and a set element's cell by its element too), and:

* what a write stores and which cells it supersedes is what the value types
  plan (:mod:`replicalab.crdts.causal`): ``MVRegister._plan`` for a value set,
  ``ORSet._plan`` for set elements added or deleted; a number ``ADD`` replaces
  its replica's counter cell with its new running total under the write's dot,
  and an assignment over a counter records the totals it reset (an
  observed-reset counter, reset by offset, see :class:`CrdtMap`);
* ``merge`` is the join of dot stores, :func:`replicalab.dots.join_stores`,
  under the two clocks.

Cells carry provenance beside each dot (the write id and its stamp), so the
ledger can tell whose effect survived and the policy can report its losses.
Cells are also the stored and serialized form (``Item.to_bytes``), unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from replicalab import _validate
from replicalab import dots as _dots
from replicalab.clocks import VectorClock
from replicalab.crdts import MVRegister, ORSet
from replicalab.errors import ConfigError, MergeValidationError
from replicalab.items import (
    INITIAL_STAMP,
    INITIAL_WRITE,
    Cell,
    Item,
    Stamp,
    Version,
    member_kind,
    members_of,
    observed,
    sorted_elements,
)
from replicalab.policies.base import (
    UNATTRIBUTED,
    Loss,
    MergePolicy,
    Outcome,
    _initial_attributes,
    _item,
    _single,
    _write_arguments,
)

__all__ = ["CrdtMap"]

#: A cell's name in the item's dot store: its write's dot, its attribute, and for a set
#: element the element (one write may set several attributes and add several elements).
CellId = tuple[tuple[str, int], str, Any]


@attrs.frozen(repr=False)
class CrdtMap(MergePolicy):
    """Items as CRDT maps: each attribute a multi-value register, keys add-wins.

    The item holds one version: its cells, and its causal context (the clock:
    for each replica, the highest write sequence number it has seen on this
    item). A cell is named by its write's dot ``(replica, seq)``. The rules,
    per attribute, are the multi-value register's:

    * a local write replaces every cell of the attributes it sets (the replica
      has seen them all) and adds one cell under a fresh dot;
    * ``merge`` keeps a cell if both sides have it, or if the side lacking it
      has not seen its dot (it is concurrent, not overwritten).

    So writes to different attributes both survive, and concurrent writes to
    the *same* attribute survive side by side (the attribute then reads as a
    list of values) until a write that saw them replaces them. Nothing
    concurrent is dropped, and merge is a join. A put that replaces the item
    removes only the attributes its replica had seen (add-wins).

    Two attribute shapes use the same cells and the same merge rule:

    * **counters** (``ADD`` of an integer): an observed-reset counter kept
      as a *reset by offset*. Each replica holds ONE counter cell per
      attribute: its running total (every increment it ever made there), under
      the dot of its latest ``ADD``, which supersedes its previous cell (the
      PN-counter entry, as a dot). A value set on the attribute (``SET``, a
      put, and a ``REMOVE``, which leaves a tombstone for this) is an
      assignment: it replaces every cell it saw, as in a multi-value register,
      and records on its own cell the *offsets* it observed — per replica
      ``(seq, total)`` of the latest counter cell it had seen, or of an offset
      an earlier assignment it saw recorded. The attribute reads as::

          value = Σ surviving number assignments + Σ_r (total_r − offset_r)

      with ``offset_r`` the ``(seq, total)`` of greatest seq among the surviving
      assignments' offsets for ``r`` (``0`` if none; a cell at or before that seq
      adds nothing). A number assignment is an integer or a decimal (``SET n = 2.5``,
      or a decimal ``ADD``, which assigns the sum its region read): the sum is exact, so
      ``SET n = 2.5`` concurrent with ``ADD n 1`` reads 3.5. So an increment counts
      iff no assignment that saw it has been merged: two regions' concurrent
      ``ADD 1`` on 5 read 7 everywhere;
      ``SET n = 0`` concurrent with another region's ``ADD n 1`` reads 1 — the
      other region's next running total (2) minus the 1 the ``SET`` observed;
      a ``REMOVE`` concurrent with an ``ADD 1`` reads 1. A replica whose own
      cell an assignment removed carries on from the total that assignment
      recorded, so all of a replica's totals lie on one running sum. Two
      concurrent ``SET`` s are a multi-value register as for any attribute
      (``[10, 20]``); with an increment beside them that no assignment saw,
      the attribute reads as the sum of all (``SET 10``, ``SET 20`` and a
      concurrent ``ADD 1``: 31). A surviving assignment that is no number (a
      string, a list, a set, a bool) cannot join the sum, and is not hidden by
      it: the attribute then reads as concurrent values, the counter's number
      and each such value, oldest first (:func:`~replicalab.items.value_groups`;
      a DynamoDB reader takes the newest, as for siblings), until an assignment
      that saw them replaces them. Merged increments can carry a counter past
      what DynamoDB stores (38 significant digits: two accepted ``ADD`` s on
      ``10**38 - 2``). Then the item stays readable and writable: a read shows
      the value exactly as held, and only a write that would itself store a
      number past 38 digits (another ``ADD`` that keeps it there) is refused,
      as DynamoDB refuses it; ``SET``, ``REMOVE``, an ``ADD`` back into range
      and writes of other attributes are accepted. Cost: O(replicas + concurrent assignments)
      cells per counter, whatever the number of increments. Why not a plain
      PN-counter of running totals: a running total carries increments that a
      concurrent ``SET`` reset back into the sum (Baquero, Almeida and Lerche,
      "The problem with embedded CRDT counters and a solution", PaPoC 2016;
      observed-reset semantics as in Weidner and Almeida, "An Oblivious
      Observed-Reset Embeddable Replicated Counter", PaPoC 2022 — this
      state-based variant keeps the offsets instead of being oblivious);
    * **sets** (``ADD``/``DELETE`` of elements, or a set value): an add-wins
      OR-Set, one cell per element under the dot of the write that added it.
      A delete drops the element cells its replica had seen, so a concurrent
      add of the same element survives it (add wins), and a concurrent write
      that merely still held the element cannot bring it back (no Dynamo-style
      resurrection). A value set on the attribute (``SET``, a put) is an
      assignment like any other: it replaces every cell it saw (observed-reset)
      and adds its own elements; a ``REMOVE`` replaces them with nothing. An
      emptied set has no cells: the attribute is absent.

      DynamoDB sets (a GlobalTable's ``ADD``/``DELETE`` of an SS, NS or BS,
      ``write(..., typed=True)``; a set value in cell form, ``{"SS": [...]}``)
      are the same OR-Set over *member strings* that carry the type and
      DynamoDB's canonical text — ``S:a``, ``N:1`` (``1.0`` is the same member),
      ``B:<hex>`` (:func:`~replicalab.items.members_of`) — in typed element
      cells (``Cell.typed``), which read back as the typed set
      (:func:`~replicalab.items.typed_view`). Concurrent writes of two
      different types (an SS ``ADD`` beside an NS ``ADD``) are kept side by
      side, as concurrent values are; a reader takes the newest.
    """

    name: ClassVar[str] = "crdt"
    keeps_counters: ClassVar[bool] = True
    keeps_sets: ClassVar[bool] = True
    summary: ClassVar[str] = ("items as CRDT maps: multi-value registers, counters and "
                              "add-wins OR-Sets per attribute")

    def initial(self, attributes: Mapping[str, Any]) -> Item:
        # A set attribute is an OR-Set from the start: one element cell per element, all under
        # the initial dot, which every replica has seen.
        _initial_attributes(attributes)
        cells = [(name, cell) for name, value in attributes.items()
                 for cell in _crdt_cells(value, INITIAL_WRITE, INITIAL_STAMP)]
        return Item((self._make(cells, VectorClock()),))

    def write(
        self,
        item: Item | None,
        attributes: Mapping[str, Any],
        *,
        write: str,
        stamp: Stamp,
        replica: str,
        replace: bool = False,
        adds: Mapping[str, int] | None = None,
        elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]] | None = None,
        typed: bool = False,
    ) -> Outcome:
        _write_arguments(item, attributes, write, stamp, replica, replace, adds, elements)
        _typed_arguments(typed, elements)
        if not isinstance(attributes, Mapping):
            raise ConfigError(f"attributes must be a mapping of name -> value, got {_validate.shown(attributes)}")
        current = _single(_item(item, "item"), self.name) if item is not None else None
        cells = list(current.cells) if current is not None else []
        context = current.clock if current is not None else VectorClock()
        adds = dict(adds or {})
        elements = dict(elements or {})
        stores: dict[str, dict[CellId, Cell]] = {}
        for name, cell in cells:
            stores.setdefault(name, {})[_cell_id(name, cell)] = cell
        superseded: set[CellId] = set()
        for name, store in stores.items():
            superseded.update(_superseded(name, store, attributes, adds, elements, replace, write, replica))
        kept = [(n, c) for n, c in cells if _cell_id(n, c) not in superseded]
        fresh = [(n, c) for n, v in attributes.items() for c in _crdt_cells(v, write, stamp)]
        for name, k in adds.items():
            # This replica's one counter cell: its running total, now under this write's dot
            # (its previous cell, superseded, is part of the total).
            total = _own_total(stores.get(name, {}), replica) + k
            fresh.append((name, Cell(total, write, stamp, counter=True)))
        still: dict[str, set[Any]] = {}
        for name, (added, deleted) in elements.items():
            # A plain list the replica held becomes elements added by this write (a scenario's
            # set stored whole; a DynamoDB set is always elements under crdt: nothing to fold,
            # and a DynamoDB list is no set).
            folded = set() if typed else {
                e for c in stores.get(name, {}).values() if not c.element and not c.removed
                and isinstance(c.value, tuple) for e in c.value}
            still[name] = (folded | added | {c.value for n, c in kept if n == name}) - deleted
            fresh += [(name, Cell(e, write, stamp, element=True, typed=typed))
                      for e in sorted_elements((folded | added) - deleted)]
        assigned = set(stores) if replace else set(attributes) | set(elements)
        new = kept + _with_offsets(fresh, {n: stores[n] for n in sorted(assigned & set(stores))},
                                   write, stamp)
        version = self._make(new, context.merge(VectorClock({stamp.replica: stamp.seq})))
        losses = tuple(Loss(c.write, n, write, _rule(n, c, replica, write, adds),
                            carried=_carried(n, c, replica, adds))
                       for n, c in cells if _cell_id(n, c) in superseded and not c.removed
                       and not _survives(n, c, still))
        return Outcome(Item((version,)), losses, f"applied {write}")

    @staticmethod
    def _make(cells: list[tuple[str, Cell]], clock: VectorClock) -> Version:
        # Total order (one write's set elements share a stamp), so equal cell sets make equal
        # versions whatever order they arrived in.
        ordered = tuple(sorted(cells, key=lambda nc: (nc[0], nc[1].stamp.key, _element_key(nc[1]))))
        # The version is named by its newest live cell: a counter's tombstone (a REMOVE that
        # keeps the offsets it reset) names it only when nothing else is left.
        live = [c for _, c in ordered if not c.removed] or [c for _, c in ordered]
        top = max(live, key=lambda c: c.stamp.key, default=None)
        if top is None:
            return Version((), "", Stamp(-1, "", 0), clock)
        return Version(ordered, top.write, top.stamp, clock)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        if local is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        mine = _single(_item(local, "local"), self.name)
        a = {_cell_id(n, c): (n, c) for n, c in mine.cells}
        b = {_cell_id(n, c): (n, c) for n, c in theirs.cells}
        for key in a.keys() & b.keys():
            if a[key] != b[key]:
                raise MergeValidationError(
                    f"write {key[0]} names two different cells for {_validate.shown(key[1])} "
                    f"({_validate.shown(a[key][1])} and {_validate.shown(b[key][1])})")
        mine_vv, theirs_vv = mine.clock.to_dict(), theirs.clock.to_dict()
        kept = _dots.join_stores(a, b, lambda key: _dots.seen(mine_vv, frozenset(), key[0]),
                                 lambda key: _dots.seen(theirs_vv, frozenset(), key[0]))
        keep = list(kept.values())
        version = self._make(keep, mine.clock.merge(theirs.clock))
        merged = Item((version,))
        if merged == local:
            return Outcome(local, (), f"already had {theirs.write}")
        losses = tuple(sorted(
            {loss for side, other in ((a, b), (b, a)) for loss in _crdt_losses(side, other, kept)},
            key=lambda x: (x.write, x.attribute)))
        # Only values are "concurrent values": a counter's per-replica totals and a set's
        # element cells are one value made of many cells, as the attribute reads.
        cells_per_name = Counter(n for n, c in keep if not (c.counter or c.element))
        concurrent = sorted(n for n, count in cells_per_name.items() if count > 1)
        note = "crdt merged attributes" + (
            f"; concurrent values kept for {', '.join(concurrent)}" if concurrent else "")
        return Outcome(merged, losses, note)


def _superseded(name: str, store: Mapping[CellId, Cell], attributes: Mapping[str, Any],
                adds: Mapping[str, int], elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]],
                replace: bool, write: str, replica: str) -> list[CellId]:
    """The cells of attribute ``name`` that a write supersedes, as the value types plan it.

    A value set (or a put replacing the item) is an assignment: it supersedes every cell of
    the attribute it saw (MVRegister). A counter ``ADD`` supersedes only its replica's own
    counter cell (its new running total includes it); other replicas' cells, assignments and
    the plain number already there (a base they add to) stay. An ``ADD``/``DELETE`` of elements supersedes the cells of those
    elements it saw (ORSet), and the attribute's plain value, which it folds into the set.
    """
    if replace or name in attributes:
        return MVRegister._plan(store, MVRegister.Assign(write, replica=replica))[2]
    if name in adds:
        return [key for key, c in store.items()
                if c.counter and not c.removed and c.stamp.replica == replica]
    if name in elements:
        added, deleted = elements[name]
        members = {key: c.value for key, c in store.items() if c.element}
        plain = {key: c for key, c in store.items() if not c.element}
        out = MVRegister._plan(plain, MVRegister.Assign(write, replica=replica))[2]
        for e in sorted_elements(added | deleted):
            op = ORSet.Add(e, replica=replica) if e in added else ORSet.Remove(e)
            out += ORSet._plan(members, op)[2]
        return out
    return []


def _own_total(store: Mapping[CellId, Cell], replica: str) -> int:
    """``replica``'s running total on one attribute: its counter cell's; if an assignment it
    has seen reset that cell away, the total the assignment observed (the chain goes on from
    there, so every offset recorded for ``replica`` is a point on one running sum); else 0."""
    own = [c for c in store.values() if c.counter and not c.removed and c.stamp.replica == replica]
    if own:
        return int(max(own, key=lambda c: c.stamp.seq).value)
    return observed(store.values()).get(replica, (-1, 0))[1]


def _with_offsets(fresh: list[tuple[str, Cell]], assigned: Mapping[str, Mapping[CellId, Cell]],
                  write: str, stamp: Stamp) -> list[tuple[str, Cell]]:
    """``fresh`` cells, with the counter state each assignment observed recorded on them.

    For every attribute the write assigns (a value, a removal, elements, a put) over cells
    that hold a counter, the offsets are, per replica, the latest ``(seq, total)`` it saw:
    the replica's counter cell, or an offset an earlier assignment it saw recorded. They go
    on the write's new cells of that attribute — on a tombstone if it leaves none (a REMOVE),
    because the increments it reset must stay reset when a concurrent running total arrives.
    """
    out = list(fresh)
    for name, store in assigned.items():
        seen = observed(store.values())
        for c in store.values():
            if c.counter and not c.removed and c.stamp.seq > seen.get(c.stamp.replica, (-1, 0))[0]:
                seen[c.stamp.replica] = (c.stamp.seq, c.value)
        if not seen:
            continue
        offsets = tuple((r, seq, total) for r, (seq, total) in sorted(seen.items()))
        mine = [i for i, (n, c) in enumerate(out) if n == name and not c.counter]
        for i in mine:
            out[i] = (name, attrs.evolve(out[i][1], offsets=offsets))
        if not mine:
            out.append((name, Cell(None, write, stamp, removed=True, offsets=offsets)))
    return out


#: How the rule of a record that is no drop begins: a replica's newer running total carries the
#: increment on. The record says so structurally (``Loss.carried``); these are the words.
COUNTED_ON = "counted on in "


def _carried(name: str, cell: Cell, replica: str, adds: Mapping[str, int]) -> bool:
    """Does a local write that adds to ``name`` carry ``cell`` on, rather than drop it? True for
    this replica's own running total of the counter, which the write's new total includes."""
    return cell.counter and name in adds and cell.stamp.replica == replica


def _rule(name: str, cell: Cell, replica: str, write: str, adds: Mapping[str, int]) -> str:
    if _carried(name, cell, replica, adds):
        return f"{COUNTED_ON}{replica}'s running total of {name} by local write {write}, which saw it"
    return f"overwritten at {replica} by local write {write}"


def _crdt_losses(side: Mapping[CellId, tuple[str, Cell]], other: Mapping[CellId, tuple[str, Cell]],
                 kept: Mapping[CellId, tuple[str, Cell]]) -> list[Loss]:
    """Loss records for ``side``'s cells that the merge dropped because ``other`` had seen them.

    A join drops a cell only when the other side has seen its dot and no longer
    holds it (a counter cell whose replica's newer running total is kept is not lost: the
    total includes it): some write there removed it *having seen it*, and that write
    recorded the loss when it ran. The state does not say which write it was
    (a delete leaves no cell), so the record names no winner (``by="?"``)
    rather than guess one; the ledger does not count an unattributed record
    as a loss to an unseen write.
    """
    totals = {(name, cell.stamp.replica): cell.stamp.seq
              for name, cell in kept.values() if cell.counter and not cell.removed}
    return [Loss(cell.write, name, UNATTRIBUTED,
                 f"crdt: the other side had removed {cell.write}'s {name} after seeing it")
            for key, (name, cell) in side.items()
            if key not in other and key not in kept and not cell.removed
            # A running total its own replica's newer cell carries on is no loss.
            and not (cell.counter and totals.get((name, cell.stamp.replica), -1) > cell.stamp.seq)]


def _dot(cell: Cell) -> tuple[str, int]:
    return (cell.stamp.replica, cell.stamp.seq)


def _cell_id(name: str, cell: Cell) -> CellId:
    return (_dot(cell), name, cell.value if cell.element else None)


def _element_key(cell: Cell) -> tuple[bool, Any]:
    return (isinstance(cell.value, str), cell.value) if cell.element else (False, 0)


def _crdt_cells(value: Any, write: str, stamp: Stamp) -> list[Cell]:
    """The crdt cells of a value set by ``write``: a set is one element cell per element; a
    DynamoDB set in cell form (``{"SS": [...]}``, :func:`~replicalab.items.members_of`) one
    typed element cell per member."""
    if isinstance(value, (set, frozenset)):
        return [Cell(e, write, stamp, element=True) for e in sorted_elements(value)]
    members = members_of(value)
    if members is not None:
        return [Cell(m, write, stamp, element=True, typed=True) for m in sorted(members)]
    return [Cell(value, write, stamp)]


def _typed_arguments(typed: Any, elements: Any) -> None:
    """``typed`` is a bool, and with it every element is a DynamoDB member string, one set
    type per attribute (ConfigError naming what would be valid)."""
    if type(typed) is not bool:
        raise ConfigError(f"typed must be True or False, got {_validate.shown(typed)}")
    if not typed:
        return
    for name, (added, deleted) in (elements or {}).items():
        kinds = {member_kind(m) for m in (*added, *deleted)}
        if len(kinds) > 1:
            raise ConfigError(f"typed elements of {name!r} must be members of one set type "
                              f"(SS, NS or BS), got {sorted(kinds)}")


def _survives(name: str, cell: Cell, still: Mapping[str, set[Any]]) -> bool:
    """Is a replaced set cell's content still in the set (re-added or folded, not deleted)?"""
    if name not in still:
        return False
    values = [cell.value] if cell.element else cell.value if isinstance(cell.value, tuple) else [None]
    return all(v in still[name] for v in values)
