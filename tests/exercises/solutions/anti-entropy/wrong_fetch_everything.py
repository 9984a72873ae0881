"""Planted wrong solution: converges, but fetches every bucket of the peer — the whole store.

The mistake: skip the hashes and ask for every item. The result is right, and
costs about as much as shipping the peer's whole store (some 250 kB here),
whether one key differs or none: the tree's whole point was to send only the
few buckets that differ.
"""

from __future__ import annotations

from typing import Any


def sync(local: dict[str, bytes], peer: Any) -> dict[str, bytes | None]:
    remote = peer.items(range(peer.fanout ** peer.depth))
    changes: dict[str, bytes | None] = {k: v for k, v in remote.items() if local.get(k) != v}
    changes.update({k: None for k in local if k not in remote})
    return changes
