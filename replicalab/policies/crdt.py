"""The ``crdt`` policy: items as CRDT maps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError, MergeValidationError
from replicalab.items import (
    INITIAL_STAMP,
    INITIAL_WRITE,
    Cell,
    Item,
    Stamp,
    Version,
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

    * **counters** (``ADD`` of a number): each replica's cell is its running
      total, a PN-counter entry; the attribute reads as the sum, so every
      concurrent increment counts;
    * **sets** (``ADD``/``DELETE`` of elements, or a set value): an add-wins
      OR-Set, one cell per element under the dot of the write that added it.
      A delete drops the element cells its replica had seen, so a concurrent
      add of the same element survives it (add wins), and a concurrent write
      that merely still held the element cannot bring it back (no Dynamo-style
      resurrection).
    """

    name: ClassVar[str] = "crdt"
    summary: ClassVar[str] = ("items as CRDT maps: multi-value registers, PN-counters and "
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
    ) -> Outcome:
        _write_arguments(item, attributes, write, stamp, replica, replace, adds, elements)
        if not isinstance(attributes, Mapping):
            raise ConfigError(f"attributes must be a mapping of name -> value, got {_validate.shown(attributes)}")
        current = _single(_item(item, "item"), self.name) if item is not None else None
        cells = list(current.cells) if current is not None else []
        context = current.clock if current is not None else VectorClock()
        adds = dict(adds or {})
        elements = dict(elements or {})

        def replaced(name: str, cell: Cell) -> bool:
            """Does this write replace ``cell`` (the replica has seen it)?"""
            if replace or name in attributes:
                return True
            # A counter increment replaces only this replica's own contribution (a PN-counter
            # entry); every other replica's contribution stays. A plain number already there
            # (say the initial value) stays as a base that the contributions add to.
            if name in adds:
                return cell.counter and cell.stamp.replica == replica
            if name in elements:  # OR-Set: an add or delete of e replaces the e it observed
                added, deleted = elements[name]
                return not cell.element or cell.value in added or cell.value in deleted
            return False

        kept = [(n, c) for n, c in cells if not replaced(n, c)]
        own = {n: c.value for n, c in cells if n in adds and c.counter and c.stamp.replica == replica}
        new = kept + [(n, c) for n, v in attributes.items() for c in _crdt_cells(v, write, stamp)]
        new += [(n, Cell(own.get(n, 0) + k, write, stamp, counter=True)) for n, k in adds.items()]
        still: dict[str, set[Any]] = {}
        for name, (added, deleted) in elements.items():
            # A plain list the replica held becomes elements added by this write.
            folded = {e for n, c in cells if n == name and not c.element and not c.removed
                      and isinstance(c.value, tuple) for e in c.value}
            still[name] = (folded | added | {c.value for n, c in kept if n == name}) - deleted
            new += [(name, Cell(e, write, stamp, element=True))
                    for e in sorted_elements((folded | added) - deleted)]
        version = self._make(new, context.merge(VectorClock({stamp.replica: stamp.seq})))
        losses = tuple(Loss(c.write, n, write, f"overwritten at {replica} by local write {write}")
                       for n, c in cells if (n, c) not in kept and not c.removed
                       and not _survives(n, c, still))
        return Outcome(Item((version,)), losses, f"applied {write}")

    @staticmethod
    def _make(cells: list[tuple[str, Cell]], clock: VectorClock) -> Version:
        # Total order (one write's set elements share a stamp), so equal cell sets make equal
        # versions whatever order they arrived in.
        ordered = tuple(sorted(cells, key=lambda nc: (nc[0], nc[1].stamp.key, _element_key(nc[1]))))
        top = max((c for _, c in ordered), key=lambda c: c.stamp.key, default=None)
        if top is None:
            return Version((), "", Stamp(-1, "", 0), clock)
        return Version(ordered, top.write, top.stamp, clock)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        if local is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        mine = _single(_item(local, "local"), self.name)
        # A cell is named by its write's dot and its attribute (one write may set several), and
        # a set's element cell by its element too (one write may add several).
        a = {_cell_id(n, c): (n, c) for n, c in mine.cells}
        b = {_cell_id(n, c): (n, c) for n, c in theirs.cells}
        for key in a.keys() & b.keys():
            if a[key] != b[key]:
                raise MergeValidationError(
                    f"write {key[0]} names two different cells for {_validate.shown(key[1])} "
                    f"({_validate.shown(a[key][1])} and {_validate.shown(b[key][1])})")
        keep = [nc for key, nc in a.items() if key in b or not _covered(key[0], theirs.clock)]
        keep += [nc for key, nc in b.items() if key not in a and not _covered(key[0], mine.clock)]
        version = self._make(keep, mine.clock.merge(theirs.clock))
        merged = Item((version,))
        if merged == local:
            return Outcome(local, (), f"already had {theirs.write}")
        losses = tuple(sorted(
            {loss for side, other in ((a, b), (b, a)) for loss in _crdt_losses(side, other, keep)},
            key=lambda x: (x.write, x.attribute)))
        concurrent = sorted({n for n, _ in keep if sum(1 for m, _ in keep if m == n) > 1})
        note = "crdt merged attributes" + (
            f"; concurrent values kept for {', '.join(concurrent)}" if concurrent else "")
        return Outcome(merged, losses, note)


def _crdt_losses(side: Mapping[Any, tuple[str, Cell]], other: Mapping[Any, tuple[str, Cell]],
                 keep: list[tuple[str, Cell]]) -> list[Loss]:
    """Loss records for ``side``'s cells that the merge dropped because ``other`` had seen them.

    A join drops a cell only when the other side has seen its dot and no longer
    holds it: some write there removed it *having seen it*, and that write
    recorded the loss when it ran. The state does not say which write it was
    (a delete leaves no cell), so the record names no winner (``by="?"``)
    rather than guess one; the ledger does not count an unattributed record
    as a loss to an unseen write.
    """
    return [Loss(cell.write, name, UNATTRIBUTED,
                 f"crdt: the other side had removed {cell.write}'s {name} after seeing it")
            for key, (name, cell) in side.items()
            if key not in other and (name, cell) not in keep and not cell.removed]


def _dot(cell: Cell) -> tuple[str, int]:
    return (cell.stamp.replica, cell.stamp.seq)


def _cell_id(name: str, cell: Cell) -> tuple[tuple[str, int], str, Any]:
    return (_dot(cell), name, cell.value if cell.element else None)


def _element_key(cell: Cell) -> tuple[bool, Any]:
    return (isinstance(cell.value, str), cell.value) if cell.element else (False, 0)


def _crdt_cells(value: Any, write: str, stamp: Stamp) -> list[Cell]:
    """The crdt cells of a value set by ``write``: a set is one element cell per element."""
    if isinstance(value, (set, frozenset)):
        return [Cell(e, write, stamp, element=True) for e in sorted_elements(value)]
    return [Cell(value, write, stamp)]


def _survives(name: str, cell: Cell, still: Mapping[str, set[Any]]) -> bool:
    """Is a replaced set cell's content still in the set (re-added or folded, not deleted)?"""
    if name not in still:
        return False
    values = [cell.value] if cell.element else cell.value if isinstance(cell.value, tuple) else [None]
    return all(v in still[name] for v in values)


def _covered(dot: tuple[str, int], clock: VectorClock) -> bool:
    replica, seq = dot
    return seq <= (clock.get(replica) if replica else 0)

