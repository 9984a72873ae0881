"""Planted wrong solution: the right groups, in the order the log happened to deliver them.

Forks come out in the order their first claim appeared in the stream, and
each fork's write ids in log order. Two scans of the same writes read from
the regions' streams in another order would disagree — and a report that
changes with read order cannot be diffed from one night to the next.
"""

from __future__ import annotations

from typing import Any


def find_forks(writes: list[dict[str, Any]]) -> list[tuple[str, int, list[str]]]:
    claims: dict[tuple[str, int], list[str]] = {}
    for record in writes:
        if record.get("version") is not None:
            claims.setdefault((record["key"], record["version"]), []).append(record["write"])
    return [(key, version, ids) for (key, version), ids in claims.items() if len(ids) > 1]
