"""Exercise: read repair (replicalab exercise ``read-repair``).

A Dynamo coordinator asked the key's home nodes for their versions. Each reply is a list of
versions; a version is a dict::

    {"dot": "n1:3", "seen": ["n1:1", "n2:2"], "value": "..."}

``dot`` names the write (the coordinator ``n1``'s third write), ``seen`` lists every write its
client had read before writing (tutorial chapter 14). Fill in ``read_repair`` (its body raises
``NotImplementedError``); keep its name and signature: the checks call it. Then run::

    replicalab exercise check read-repair read_repair.py

Compare with replicalab's own merge, ``replicalab.quorum.versions.reconcile``, on a real run:
``scenarios.run("dynamo", r=1, w=1)`` logs a ``ReadRepaired`` record per repaired node.

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations

from typing import Any


def read_repair(replies: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    """Merge the replies of a read; say which nodes need the merge sent back.

    Contract: ``versions`` holds every version of every reply whose dot no *other* version
    lists in ``seen`` — one copy per dot, sorted by (replica, counter) with the counter as a
    number. Concurrent versions are all kept (siblings); a version is dropped only because a
    writer had seen it, never because its counter is smaller. ``repair`` lists, sorted, the
    nodes whose set of dots differs from the merge's.

    Return ``{"versions": [...], "repair": [...]}``.
    """
    raise NotImplementedError("merge the replies and find the nodes to repair")
