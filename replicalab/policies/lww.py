"""The last-writer-wins policies: whole item (``item-lww``) and per attribute (``attribute-lww``)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import MergeValidationError
from replicalab.items import Cell, Item, Stamp, Version
from replicalab.policies.base import Loss, MergePolicy, Outcome, _item, _losses, _same, _single

__all__ = ["AttributeLWW", "ItemLWW"]


@attrs.frozen(repr=False)
class ItemLWW(MergePolicy):
    """Whole-item last-writer-wins by ``(wall, region, seq)``: DynamoDB global tables (MREC)."""

    name: ClassVar[str] = "item-lww"
    summary: ClassVar[str] = "whole item, latest (wall timestamp, region) wins (DynamoDB MREC)"

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        mine = _single(_item(local, "local"), self.name) if local is not None else None
        if mine is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        if mine.stamp == theirs.stamp:
            _same(mine, theirs)
            return Outcome(local, (), f"already had {mine.write}")  # type: ignore[arg-type]
        winner, loser = (theirs, mine) if theirs.stamp > mine.stamp else (mine, theirs)
        # The winning item itself (equal to Item((winner,))): it keeps its memoised bytes.
        merged: Item = incoming if winner is theirs else local  # type: ignore[assignment]
        rule = (
            f"item-lww kept {winner.write} ({winner.stamp}) over {loser.write} ({loser.stamp})"
        )
        losses = _losses([loser], merged, {loser.write: winner}, lambda _l, _b: rule)
        return Outcome(merged, losses, rule)


@attrs.frozen(repr=False)
class AttributeLWW(MergePolicy):
    """Per-attribute last-writer-wins: each attribute keeps its latest-stamped cell (Cassandra-style)."""

    name: ClassVar[str] = "attribute-lww"
    summary: ClassVar[str] = "each attribute separately, latest (wall timestamp, region) wins"

    def _version(self, cells: dict[str, Cell], write: str, stamp: Stamp, clock: VectorClock) -> Version:
        # A version's header is derived from its cells (the greatest-stamped one), so the
        # same cells always make the same version whichever order they arrived in. An item
        # with no attributes at all (a put of nothing, an update with no actions on an absent
        # item: DynamoDB keeps the item with only its key) takes the write's own header.
        if not cells:
            return Version.of(cells, write=write, stamp=stamp)
        top = max(cells.values(), key=lambda c: c.stamp)
        return Version.of(cells, write=top.write, stamp=top.stamp)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        if local is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        mine = _single(_item(local, "local"), self.name)
        cells = mine.cell_map()
        losses: list[Loss] = []
        changed = []
        for name, cell in theirs.cells:
            current = cells.get(name)
            if current is None or cell.stamp > current.stamp:
                if current is not None and not current.removed:
                    losses.append(_attr_loss(name, current, cell))
                cells[name] = cell
                changed.append(name)
            elif cell.stamp == current.stamp:
                if cell != current:
                    raise MergeValidationError(
                        f"attribute {_validate.shown(name)} has two different values under stamp {cell.stamp}"
                    )
            elif not cell.removed:
                losses.append(_attr_loss(name, cell, current))
        if not changed:
            if not cells and theirs.stamp > mine.stamp:
                # Two attribute-less items: the later header wins, so merge stays commutative.
                return Outcome(incoming, (), f"stored {theirs.write}")
            note = f"already had {theirs.write}" if not losses else "kept local attributes"
            return Outcome(local, tuple(sorted(losses, key=_loss_key)), note)
        merged = Item((self._version(cells, theirs.write, theirs.stamp, VectorClock()),))
        note = "attribute-lww took " + ", ".join(
            f"{n} from {cells[n].write}" for n in sorted(changed)
        )
        return Outcome(merged, tuple(sorted(losses, key=_loss_key)), note)


def _attr_loss(name: str, loser: Cell, winner: Cell) -> Loss:
    return Loss(
        loser.write,
        name,
        winner.write,
        f"attribute-lww kept {name} from {winner.write} ({winner.stamp}) "
        f"over {loser.write} ({loser.stamp})",
    )


def _loss_key(loss: Loss) -> tuple[str, str]:
    return (loss.write, loss.attribute)

