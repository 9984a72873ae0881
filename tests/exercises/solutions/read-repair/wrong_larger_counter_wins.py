"""Planted wrong solution: 'newest' by counter — LWW in disguise; concurrent writes vanish."""

from __future__ import annotations

from typing import Any


def read_repair(replies: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    every = [v for versions in replies.values() for v in versions]
    if not every:
        return {"versions": [], "repair": []}
    best = max(every, key=lambda v: int(v["dot"].rpartition(":")[2]))
    repair = sorted(node for node, versions in replies.items() if [v["dot"] for v in versions] != [best["dot"]])
    return {"versions": [best], "repair": repair}
