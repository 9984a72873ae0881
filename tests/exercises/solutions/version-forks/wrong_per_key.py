"""Planted wrong solution: a fork is "a key written more than once", not "a version claimed twice".

Every item that is ever updated twice gets reported — versions 17, 18, 19 of
``sub_42`` by three successive writes look like a three-way fork. The London
log passes (its two writes do claim the same version); an ordinary history
does not.
"""

from __future__ import annotations

from typing import Any


def find_forks(writes: list[dict[str, Any]]) -> list[tuple[str, int, list[str]]]:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in writes:
        if record.get("version") is not None:
            by_key.setdefault(record["key"], []).append(record)
    return [
        (key, max(r["version"] for r in records), sorted(r["write"] for r in records))
        for key, records in sorted(by_key.items())
        if len(records) > 1
    ]
