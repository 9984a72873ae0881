"""Reference: the dotted-version merge of replicalab.quorum.versions, over plain dicts."""

from __future__ import annotations

from typing import Any


def _order(version: dict[str, Any]) -> tuple[str, int]:
    replica, _, counter = version["dot"].rpartition(":")
    return replica, int(counter)


def read_repair(replies: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    by_dot: dict[str, dict[str, Any]] = {}
    for versions in replies.values():
        for version in versions:
            by_dot.setdefault(version["dot"], version)
    kept = [v for dot, v in by_dot.items()
            if not any(dot in other["seen"] for other_dot, other in by_dot.items() if other_dot != dot)]
    merged = sorted(kept, key=_order)
    dots = {v["dot"] for v in merged}
    repair = sorted(node for node, versions in replies.items() if {v["dot"] for v in versions} != dots)
    return {"versions": merged, "repair": repair}
