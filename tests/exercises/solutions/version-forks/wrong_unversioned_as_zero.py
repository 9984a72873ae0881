"""Planted wrong solution: a write with no version is filed under version 0.

``record.get("version", 0)`` looks harmless, but two plain ``UpdateItem``
calls on one item (no version attribute, no condition) now "both claim
version 0" and are reported as a fork. They claimed nothing: only writes that
set a version can fork it. (And ``"version": None`` slips through as None.)
"""

from __future__ import annotations

from typing import Any


def find_forks(writes: list[dict[str, Any]]) -> list[tuple[str, int, list[str]]]:
    claims: dict[tuple[str, int], list[str]] = {}
    for record in writes:
        version = record.get("version", 0)
        claims.setdefault((record["key"], version), []).append(record["write"])
    return [
        (key, version, sorted(ids))
        for (key, version), ids in sorted(claims.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
        if len(ids) > 1
    ]
