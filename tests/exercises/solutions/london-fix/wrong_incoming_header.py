"""Planted wrong solution: per-attribute LWW, but the merged version takes the *incoming* header.

Both writes survive in every region, yet regions disagree on the item's write/stamp header,
so they never end equal: merge is not commutative.
"""

from typing import ClassVar

from replicalab.items import Item, Version
from replicalab.policies import MergePolicy, Outcome


class LondonFix(MergePolicy):
    name: ClassVar[str] = "london-fix"

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        if local is None:
            return Outcome(incoming)
        mine, theirs = local.versions[0], incoming.versions[0]
        cells = mine.cell_map()
        for name, cell in theirs.cells:
            if name not in cells or cell.stamp > cells[name].stamp:
                cells[name] = cell
        return Outcome(Item((Version.of(cells, write=theirs.write, stamp=theirs.stamp),)))
