"""The reference for exercise ``london-fix`` (written out, as a learner would). Exercise: a merge policy that fixes the London incident (replicalab exercise ``london-fix``).

Under ``item-lww`` (DynamoDB global tables) the whole item with the later
stamp wins, so the address change in eu-west-1 is silently lost to a batch
job that wrote a *different* attribute 49 ms later in us-east-1. Write a
merge policy under which no write in the London scenario is silently lost and
every region ends with the same item. Then run::

    replicalab exercise check london-fix london_fix.py

Try it by hand too::

    from replicalab import scenarios
    print(scenarios.run("london", merge=LondonFix()).report())

What you work with (all frozen values; build new ones, never modify):

* ``Item(versions)`` — what a region holds for one key; ``item.versions`` is a
  tuple of ``Version`` (exactly one, unless your policy keeps siblings).
* ``Version.of(cells, write=..., stamp=...)`` — one item state; ``version.cells``
  is a tuple of ``(attribute, Cell)`` pairs; ``version.cell_map()`` a dict.
* ``Cell(value, write, stamp, removed=False)`` — one attribute value, the id of
  the write that set it, and that write's ``Stamp``. Stamps are totally
  ordered (``a.stamp > b.stamp``) by (wall time, region, sequence).
* ``Outcome(item, losses=(), note="")`` — what ``merge`` returns; ``losses``
  and ``note`` only explain (the ledger judges from the cells' provenance).
"""

from __future__ import annotations

from typing import ClassVar

from replicalab.items import Cell, Item, Version
from replicalab.policies import MergePolicy, Outcome

__all__ = ["Cell", "Item", "LondonFix", "Outcome", "Version"]


class LondonFix(MergePolicy):
    """A merge policy for the table: what a region does when another region's item arrives.

    Contract:

    * ``merge(local, incoming)`` returns an :class:`Outcome` whose item
      combines ``local`` (None when the region has no item for that key yet)
      with ``incoming``;
    * it is a join on the items regions can reach — commutative, associative,
      idempotent — so every region ends with the same item whatever order
      replication delivers in;
    * in the London scenario no acknowledged write is silently lost.

    Local writes need no code: ``MergePolicy.write`` builds the new version
    and merges it into the local item with *your* ``merge``.
    """

    name: ClassVar[str] = "london-fix"

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        """Combine the region's ``local`` item with an ``incoming`` one."""
        best: dict[str, Cell] = {}
        for item in (local, incoming):
            for version in (item.versions if item is not None else ()):
                for name, cell in version.cells:
                    if name not in best or cell.stamp > best[name].stamp:
                        best[name] = cell
        top = max(best.values(), key=lambda cell: cell.stamp)
        version = Version.of(best, write=top.write, stamp=top.stamp)
        return Outcome(Item((version,)))
