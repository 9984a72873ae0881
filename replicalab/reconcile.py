"""The reconciliation scan: finding version forks in what the regions acknowledged.

With a version attribute and conditional updates, every write claims the
version it produces (``expect_version + 1``). Two regions can both pass their
*local* check at version 17 and both produce 18; last-writer-wins then keeps
one. The loss is no longer silent: the regions' write logs (think DynamoDB
Streams) now hold two acknowledged writes claiming the same ``(item,
version)`` — a *version fork* — which this scan finds. The ledger marks the
losing side of a fork ``detected``: the system did not prevent the loss, but
it can be found and repaired.

The scan reads only what an operator could read — the ``Wrote`` records the
regions logged — never the simulator's ground truth.

    >>> from replicalab import scenarios
    >>> r = scenarios.run("london", writes="versioned")
    >>> [(f.key, f.version, f.writes) for f in r.forks]
    [('sub_42', 18, ('w1', 'w2'))]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.events import TraceEvent
from replicalab.trace import Event

__all__ = ["Fork", "find_version_forks"]


@attrs.frozen
class Fork:
    """Acknowledged writes ``writes`` (sorted) all claimed ``version`` of ``key``."""

    key: str
    version: int
    writes: tuple[str, ...]

    def describe(self) -> str:
        """One line for people."""
        return f"version fork on {self.key}: {', '.join(self.writes)} all wrote version {self.version}"


def find_version_forks(events: Iterable[Event], attribute: str = "version") -> list[Fork]:
    """Scan ``Wrote`` events for two or more writes claiming the same ``(key, version)``.

    Returns forks sorted by key and version. Writes without the version
    attribute are ignored.
    """
    if not isinstance(attribute, str) or not attribute:
        raise ConfigError(f"attribute must be a non-empty attribute name, got {_validate.shown(attribute)}")
    if isinstance(events, (str, bytes, bytearray, Mapping)) or not hasattr(events, "__iter__"):
        raise ConfigError(f"events must be trace events (sim.trace, result.trace), got {_validate.shown(events)}")
    events = list(events)
    for event in events:
        if not isinstance(event, (Event, TraceEvent)):
            raise ConfigError(f"events must be trace Event records, got {_validate.shown(event)}")
    claims: dict[tuple[str, int], list[str]] = {}
    for event in events:
        if event.kind != "Wrote":
            continue
        attributes = event.get("attributes", {})
        version = attributes.get(attribute) if isinstance(attributes, dict) else None
        if type(version) is int and isinstance(event.get("key"), str) and isinstance(event.get("write"), str):
            claims.setdefault((event.get("key"), version), []).append(event.get("write"))
    # A write read twice (from two regions' streams, say) is one claim, not a fork with itself.
    return [
        Fork(key, version, tuple(sorted(set(writes))))
        for (key, version), writes in sorted(claims.items())
        if len(set(writes)) > 1
    ]
