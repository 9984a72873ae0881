"""The reference for exercise ``version-forks``: replicalab's own reconciliation scan.

:func:`replicalab.reconcile.find_version_forks` reads the ``Wrote`` events the
regions' replicas log; here the stream records are turned back into those
events and the scan's forks into plain tuples.
"""

from __future__ import annotations

from typing import Any

from replicalab.reconcile import find_version_forks
from replicalab.trace import Event

Fork = tuple[str, int, list[str]]


def find_forks(writes: list[dict[str, Any]]) -> list[Fork]:
    """The version forks in ``writes``, sorted by key and version (see the starter)."""
    events = [
        Event(n, 0, "Wrote", record.get("region"), {
            "write": record["write"],
            "key": record["key"],
            "attributes": {} if record.get("version") is None else {"version": record["version"]},
        })
        for n, record in enumerate(writes)
    ]
    return [(fork.key, fork.version, list(fork.writes)) for fork in find_version_forks(events)]
