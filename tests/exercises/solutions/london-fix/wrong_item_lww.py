"""Planted wrong solution: last-writer-wins on the whole item — the incident itself."""

from typing import ClassVar

from replicalab.items import Item
from replicalab.policies import MergePolicy, Outcome


class LondonFix(MergePolicy):
    name: ClassVar[str] = "london-fix"

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        if local is None:
            return Outcome(incoming)
        mine, theirs = local.versions[0], incoming.versions[0]
        return Outcome(incoming if theirs.stamp > mine.stamp else local)
