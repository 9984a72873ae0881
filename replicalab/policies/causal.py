"""The ``causal`` policy: version vectors per item, concurrent versions kept as siblings."""

from __future__ import annotations

from typing import ClassVar

import attrs

from replicalab.clocks import VectorClock
from replicalab.items import Item, Version
from replicalab.policies.base import MergePolicy, Outcome, _item, _losses, _same

__all__ = ["CausalSiblings"]


@attrs.frozen(repr=False)
class CausalSiblings(MergePolicy):
    """Version vectors per item; concurrent versions are kept as siblings, never dropped.

    The keep-concurrent rule: a version is dropped only if another version's
    clock strictly dominates it (that writer had seen it). Everything else
    stays, so after a merge the item holds one version or several concurrent
    siblings.
    """

    name: ClassVar[str] = "causal"
    summary: ClassVar[str] = "version vectors; concurrent versions kept as siblings"

    def _clock(self, versions: list[Version], replica: str) -> VectorClock:
        clock = VectorClock()
        for version in versions:
            clock = clock.merge(version.clock)
        return clock.tick(replica)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        _item(incoming, "incoming")
        if local is None:
            return Outcome(incoming, (), f"stored {', '.join(v.write for v in incoming)}")
        _item(local, "local")
        by_clock: dict[VectorClock, Version] = {}
        for version in (*local.versions, *incoming.versions):
            seen = by_clock.get(version.clock)
            if seen is not None:
                _same(seen, version)
            by_clock[version.clock] = version
        candidates = list(by_clock.values())
        survivors = []
        displaced: dict[str, Version] = {}
        for version in candidates:
            dominator = next((w for w in candidates if version.clock < w.clock), None)
            if dominator is None:
                survivors.append(version)
            else:
                displaced[version.write] = dominator
        merged = Item(survivors)
        if merged == local:
            return Outcome(local, (), "already had " + ", ".join(v.write for v in incoming))
        losses = _losses(
            [v for v in candidates if v.write in displaced],
            merged,
            displaced,
            lambda lost, by: f"causal: {by.write} {by.clock!r} had seen {lost.write} {lost.clock!r}",
        )
        if merged.has_siblings:
            note = "causal kept concurrent siblings " + ", ".join(v.write for v in merged)
        else:
            note = f"causal kept {merged.versions[0].write}"
        return Outcome(merged, losses, note)

