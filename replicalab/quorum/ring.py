"""A consistent-hash ring with virtual nodes, and Dynamo's preference list.

Every node owns ``vnodes`` tokens: the first 8 bytes of ``SHA-256("<node>#<i>")`` read as
a big-endian integer. A key's position is the first 8 bytes of ``SHA-256(key)``. Walking
the ring clockwise from the key's position, the first ``n`` *distinct* nodes met are the
key's **preference list** (DeCandia et al., SOSP 2007, §4.2–4.3): its home replicas, the
first of them the key's natural coordinator. The walk continues past them to the nodes a
*sloppy* quorum falls back on when a home node is unreachable.

SHA-256 and never :func:`hash`: the ring is the same in every process and under every
``PYTHONHASHSEED``. Ties between equal tokens (astronomically unlikely) break by node id.

    >>> ring = HashRing(["n1", "n2", "n3", "n4", "n5"], vnodes=8)
    >>> ring.preference_list("cart:alice", 3)
    ('n1', 'n2', 'n3')
    >>> ring.walk("cart:alice")
    ('n1', 'n2', 'n3', 'n5', 'n4')
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Collection, Iterable

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["MAX_VNODES", "HashRing", "position", "sloppy_targets", "stand_ins"]

#: Virtual nodes per node, at most (a cap, so a typo cannot build a ring of millions).
MAX_VNODES = 1024


def position(label: str) -> int:
    """The ring position of ``label``: the first 8 bytes of its SHA-256, big-endian."""
    return int.from_bytes(hashlib.sha256(label.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def _nodes(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"a ring is built from an iterable of node ids, got {_validate.shown(value)}")
    nodes = tuple(value)
    for node in nodes:
        _validate.replica_id(node, "node id")
    if not nodes:
        raise ConfigError("a ring needs at least one node")
    if len(set(nodes)) != len(nodes):
        raise ConfigError(f"node ids on a ring must be unique, got {sorted(nodes)}")
    return tuple(sorted(nodes))


def _vnodes(value: object) -> int:
    if type(value) is not int or not 1 <= value <= MAX_VNODES:
        raise ConfigError(f"vnodes must be an integer from 1 to {MAX_VNODES}, got {_validate.shown(value)}")
    return value


@attrs.frozen
class HashRing:
    """Nodes placed on a 64-bit ring by SHA-256, ``vnodes`` tokens each. See the module docs."""

    nodes: tuple[str, ...] = attrs.field(converter=_nodes)
    vnodes: int = attrs.field(default=8, converter=_vnodes)
    _tokens: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    _owners: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)
    _walks: dict[str, tuple[str, ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        placed = sorted((position(f"{node}#{i}"), node) for node in self.nodes for i in range(self.vnodes))
        object.__setattr__(self, "_tokens", tuple(t for t, _ in placed))
        object.__setattr__(self, "_owners", tuple(n for _, n in placed))
        # A cache of walks by key: a ring is immutable, so a key's walk never changes.
        object.__setattr__(self, "_walks", {})

    def walk(self, key: str) -> tuple[str, ...]:
        """Every node once, in the order met walking clockwise from ``key``'s position."""
        if not isinstance(key, str):
            raise ConfigError(f"a key on the ring is a string, got {_validate.shown(key)}")
        found = self._walks.get(key)
        if found is not None:
            return found
        start = bisect.bisect_left(self._tokens, position(key))
        seen: list[str] = []
        count = len(self._owners)
        for i in range(count):
            node = self._owners[(start + i) % count]
            if node not in seen:
                seen.append(node)
                if len(seen) == len(self.nodes):
                    break
        walked = tuple(seen)
        if len(self._walks) < 65536:  # bounded: a long run over many keys cannot grow it forever
            self._walks[key] = walked
        return walked

    def preference_list(self, key: str, n: int) -> tuple[str, ...]:
        """The first ``n`` distinct nodes clockwise from ``key``: its home replicas."""
        if type(n) is not int or not 1 <= n <= len(self.nodes):
            raise ConfigError(f"n must be an integer from 1 to the number of nodes ({len(self.nodes)}), "
                              f"got {_validate.shown(n)}")
        return self.walk(key)[:n]

    def share(self) -> dict[str, float]:
        """The fraction of the ring each node's tokens own (the arc ending at each token)."""
        size = 1 << 64
        owned = dict.fromkeys(self.nodes, 0)
        tokens, owners = self._tokens, self._owners
        for i, token in enumerate(tokens):
            previous = tokens[i - 1] if i else tokens[-1] - size
            # A key at p belongs to the first token >= p: the arc (previous, token].
            owned[owners[i]] += token - previous
        return {node: owned[node] / size for node in self.nodes}


def sloppy_targets(ring: HashRing, key: str, n: int, suspected: Collection[str]
                   ) -> tuple[list[str], dict[str, str | None]]:
    """Who a sloppy coordinator asks for ``key``: the preference list without the
    ``suspected`` nodes, each of those replaced by the next unsuspected node of the walk, a
    *stand-in*; and for each node asked the home node it stands in for (None: it is home).

    Shared by every leaderless coordinator (:mod:`replicalab.quorum.node`,
    :mod:`replicalab.quorum.zone`), so sloppy quorums mean one thing.

        >>> ring = HashRing(["n1", "n2", "n3", "n4", "n5"], vnodes=8)
        >>> sloppy_targets(ring, "cart:alice", 3, {"n2"})
        (['n1', 'n3', 'n5'], {'n1': None, 'n3': None, 'n5': 'n2'})
    """
    home = list(ring.preference_list(key, n))
    skipped = [h for h in home if h in suspected]
    if not skipped:
        return home, dict.fromkeys(home)
    chosen = [h for h in home if h not in suspected]
    hints: dict[str, str | None] = dict.fromkeys(chosen)
    for node in ring.walk(key)[n:]:
        if not skipped:
            break
        if node not in suspected:
            chosen.append(node)
            hints[node] = skipped.pop(0)
    return chosen, hints


def stand_ins(ring: HashRing, key: str, asked: Collection[str], suspected: Collection[str],
              silent: list[str], hints: dict[str, str | None]) -> list[str]:
    """After a timeout: the next nodes of ``key``'s walk, not yet ``asked`` nor suspected, one per
    ``silent`` node; ``hints`` gains, for each, the home node it stands in for (a stand-in for a
    stand-in keeps the hint of the home node it replaces)."""
    fallback = [node for node in ring.walk(key) if node not in asked and node not in suspected]
    extra = fallback[:len(silent)]
    for node, gone in zip(extra, silent, strict=False):
        hints[node] = hints.get(gone) or gone
    return extra
