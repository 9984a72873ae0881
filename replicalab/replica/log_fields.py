"""How a region's writes, stamps and losses appear in its log: plain data for the trace.

Shared by every kind of region (:mod:`replicalab.replica.table`,
:mod:`replicalab.replica.mrsc`) and the anti-entropy driver, so a ``Wrote`` or a
``Merged`` event reads the same whoever logged it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replicalab.items import Stamp, sorted_elements
from replicalab.policies import Loss

__all__ = ["element_fields", "loss_fields", "stamp_fields", "written_fields"]


def written_fields(attributes: Mapping[str, Any], adds: Mapping[str, int],
                   elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]]) -> dict[str, Any]:
    """What a write did to each attribute, for people: values, ``+1``, ``+{pen} -{book}``."""
    shown = {**attributes, **{n: f"+{k}" for n, k in adds.items()}}
    for name, (added, deleted) in elements.items():
        parts = [f"{sign}{{{', '.join(str(e) for e in sorted_elements(part))}}}"
                 for sign, part in (("+", added), ("-", deleted)) if part]
        shown[name] = " ".join(parts)
    return dict(sorted(shown.items()))


def element_fields(elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]]) -> dict[str, Any]:
    """Set ADD/DELETE actions as plain data: ``{attribute: {"add": [...], "delete": [...]}}``."""
    return {name: {"add": sorted_elements(added), "delete": sorted_elements(deleted)}
            for name, (added, deleted) in sorted(elements.items())}


def stamp_fields(stamp: Stamp) -> dict[str, Any]:
    """A stamp as plain data for the trace."""
    return {"wall": stamp.wall, "logical": stamp.logical, "replica": stamp.replica, "seq": stamp.seq}


def loss_fields(losses: tuple[Loss, ...]) -> list[dict[str, str]]:
    """Loss records as plain data for the trace."""
    return [
        {"write": x.write, "attribute": x.attribute, "by": x.by, "rule": x.rule} for x in losses
    ]
