"""Kind ``sync``: an anti-entropy routine against a peer that meters every byte.

The learner's ``sync(local, peer)`` must bring ``local`` (a ``{key: value
bytes}`` store) level with the peer's store, and return the changes:
``{key: the peer's value}`` for every key to write and ``{key: None}`` for
every key the peer does not have. It learns about the peer only by asking a
:class:`Peer` — the root hash of its keyspace Merkle tree, the child hashes of
some nodes, the items of some buckets — and every question and answer is
charged under :mod:`replicalab.antientropy`'s byte model (16-byte headers,
32-byte hashes, node ids of ``node_id_bytes(fanout, depth)`` bytes, items of
``item_bytes(key, value)`` bytes), so the numbers agree with tutorial
chapters 9 and 10.

The check builds one pair of stores per entry of ``differences``
(``keys`` keys, ``d`` of them differing: changed values, keys only the peer
has, keys the peer deleted, in turn; drawn from the seed and a secret only the
grader's process holds, so they cannot be rebuilt from the seed), runs the learner's ``sync``, and
demands convergence (the local store with the changes applied equals the
peer's) and, if ``budget`` is given, that the bytes charged are at most
``budget`` times :func:`descent_bytes`, what a level-by-level descent costs on
those very stores::

    kind = "sync"
    target = "sync"                      # the learner's function (default "sync")
    keys = 2000                          # keys per store (default 2000)
    differences = [10, 100]              # one pair of stores per entry
    kinds = ["changed", "missing", "deleted"]   # which differences, in turn (default: all)
    fanout = 4                           # the peer's tree (default 16)
    depth = 6                            # default: suggested_depth(keys, fanout)
    budget = 2                           # x the descent's bytes; omit to check convergence only

A failure says which keys are still wrong, or how many bytes the sync used
against the budget and against sending the peer's whole store, call by call.

    >>> peer = Peer({"apple": b"1", "pear": b"2"}, fanout=4, depth=2)
    >>> len(peer.root()), peer.bytes_used           # 16 (request) + 16 + 32 (reply)
    (32, 64)
    >>> len(peer.children(0, [0])[0]), peer.bytes_used - 64   # 16 + 1 + 16 + 4 * 32
    (4, 161)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from replicalab.antientropy import (
    HASH_BYTES,
    HEADER_BYTES,
    full_state_bytes,
    item_bytes,
    node_id_bytes,
)
from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    find,
    is_int,
    is_list_of,
    is_name,
    is_one_of,
)
from replicalab.merkle import FANOUTS, MerkleTree, suggested_depth
from replicalab.sim.rng import RandomStreams

__all__ = ["KINDS_OF_DIFFERENCE", "PARAMS", "REQUIRED", "Peer", "descent_bytes", "make_stores",
           "run"]

#: The differences a pair of stores can have, from the local side's point of view.
KINDS_OF_DIFFERENCE = ("changed", "missing", "deleted")
_DESCRIBE = {"changed": "changed at the peer", "missing": "new at the peer",
             "deleted": "deleted at the peer"}


# -- the peer --------------------------------------------------------------------------

class Peer:
    """The remote replica as a sync routine sees it: Merkle queries of its store, each charged in bytes.

    ``Peer(store, fanout=16, depth=3)`` holds the remote ``{key: value bytes}``
    store and its :class:`~replicalab.merkle.MerkleTree`. Every call is one
    request and one reply; ``bytes_used`` adds up both:

    ============================  ==========================================  ====================================
    call                          returns                                      bytes charged
    ============================  ==========================================  ====================================
    ``root()``                    the root hash                               16 + (16 + 32)
    ``children(level, nodes)``    ``{node: its fanout child hashes}``         16 + id * n + (16 + 32 * fanout * n)
    ``items(buckets)``            ``{key: value}`` of every key the peer       16 + id * n + (16 + item bytes)
                                  holds in those buckets
    ============================  ==========================================  ====================================

    ``nodes`` and ``buckets`` are a node index or a list of them (``n`` of
    them); ``0 <= level < depth``, level 0 being the root; child ``j`` of node
    ``i`` is node ``i * fanout + j`` at ``level + 1``; buckets are the nodes of
    level ``depth``. ``id`` is ``node_id_bytes(fanout, depth)``, an item is
    ``item_bytes(key, value)`` (two 4-byte lengths, the key, the value), as in
    :mod:`replicalab.antientropy`. ``fanout`` and ``depth`` are free to read.

        >>> peer = Peer({"apple": b"1", "pear": b"2"}, fanout=4, depth=1)
        >>> tree = MerkleTree.build({"apple": b"1"}, fanout=4, depth=1)
        >>> mine = tree.child_hashes(0, 0)
        >>> theirs = peer.children(0, 0)[0]
        >>> differing = [j for j in range(4) if mine[j] != theirs[j]]
        >>> peer.items(differing), peer.bytes_used
        ({'pear': b'2'}, 207)
    """

    #: What a learner's code in the grading sandbox may use (the peer stays in the grader).
    __judge_exposes__ = frozenset({"fanout", "depth", "bytes_used", "calls", "root", "children",
                                   "items"})

    def __init__(self, store: Mapping[str, bytes], *, fanout: int = 16, depth: int = 3) -> None:
        self.__store = dict(store)
        self.__tree = MerkleTree.build(self.__store, fanout=fanout, depth=depth)
        self.__id = node_id_bytes(fanout, depth)
        self.__calls: dict[str, list[int]] = {"root": [0, 0, 0], "children": [0, 0, 0],
                                              "items": [0, 0, 0]}  # calls, nodes, bytes

    @property
    def fanout(self) -> int:
        """Children per inner node of the peer's tree."""
        return self.__tree.fanout

    @property
    def depth(self) -> int:
        """Levels below the root; the buckets are level ``depth``."""
        return self.__tree.depth

    @property
    def bytes_used(self) -> int:
        """Bytes charged so far, both directions."""
        return sum(row[2] for row in self.__calls.values())

    def calls(self) -> str:
        """The calls so far, for people: ``'1 root (64 B), 3 children calls for 3 nodes (...)'``."""
        parts = []
        for name, (calls, nodes, charged) in self.__calls.items():
            if not calls:
                continue
            what = "node" if name == "children" else "bucket"
            counted = f" for {nodes:,} {what}{'s' if nodes != 1 else ''}" if name != "root" else ""
            label = name if name == "root" else f"{name} call{'s' if calls != 1 else ''}"
            parts.append(f"{calls:,} {label}{counted} ({charged:,} bytes)")
        return ", ".join(parts) if parts else "no calls"

    def __charge(self, name: str, nodes: int, charged: int) -> None:
        row = self.__calls[name]
        row[0] += 1
        row[1] += nodes
        row[2] += charged

    def __nodes(self, nodes: int | Iterable[int], level: int, what: str) -> list[int]:
        if isinstance(nodes, int) and not isinstance(nodes, bool):
            nodes = [nodes]
        elif isinstance(nodes, (str, bytes, Mapping)) or not isinstance(nodes, Iterable):
            raise ConfigError(f"{what} must be a node index or a list of them, got {nodes!r}")
        out = list(nodes)
        width = self.fanout**level
        for node in out:
            if type(node) is not int or not 0 <= node < width:
                raise ConfigError(f"{what}: {node!r} is not a node of level {level}; nodes there are "
                                  f"0 to {width - 1} (child j of node i is i * fanout + j)")
        return out

    def root(self) -> bytes:
        """The root hash of the peer's tree."""
        self.__charge("root", 1, 2 * HEADER_BYTES + HASH_BYTES)
        return self.__tree.root

    def children(self, level: int, nodes: int | Iterable[int]) -> dict[int, tuple[bytes, ...]]:
        """``{node: the hashes of its fanout children at level + 1}`` for each node of ``level``."""
        if type(level) is not int or not 0 <= level < self.depth:
            raise ConfigError(f"level must be an integer from 0 (the root) to {self.depth - 1} (the "
                              f"buckets' parents), got {level!r}; for buckets' contents use items()")
        wanted = self.__nodes(nodes, level, "children nodes")
        answer = {node: self.__tree.child_hashes(level, node) for node in wanted}
        self.__charge("children", len(wanted), 2 * HEADER_BYTES + self.__id * len(wanted)
                      + HASH_BYTES * self.fanout * len(wanted))
        return answer

    def items(self, buckets: int | Iterable[int]) -> dict[str, bytes]:
        """``{key: value}`` for every key the peer holds in ``buckets`` (nodes of level ``depth``)."""
        wanted = self.__nodes(buckets, self.depth, "items buckets")
        answer: dict[str, bytes] = {}
        charged = 2 * HEADER_BYTES + self.__id * len(wanted)
        for bucket in wanted:
            for key, _ in self.__tree.bucket(bucket):
                answer[key] = self.__store[key]
                charged += item_bytes(key, self.__store[key])
        self.__charge("items", len(wanted), charged)
        return answer

    def __repr__(self) -> str:
        return (f"<Peer fanout={self.fanout} depth={self.depth} keys={len(self.__store)} "
                f"bytes_used={self.bytes_used}>")


def descent_bytes(local: MerkleTree, remote: MerkleTree, store: Mapping[str, bytes]) -> int:
    """Bytes a level-by-level descent is charged by a :class:`Peer` of ``store`` (tree ``remote``).

    One ``root()``; if the roots differ, one ``children`` call per level for
    every node whose hashes differ there, then one ``items`` call for the
    differing buckets::

        64  +  sum over levels l < depth of (32 + (id + 32 * fanout) * m_l)
            +  32 + id * m_depth + item bytes of the peer's keys in those buckets

    with ``m_l`` the nodes that differ at level ``l`` (``m_0 = 1``): the
    byte model of :mod:`replicalab.antientropy` with a request header per call.
    """
    cost = 2 * HEADER_BYTES + HASH_BYTES
    if local.root == remote.root:
        return cost
    fanout, ids = remote.fanout, node_id_bytes(remote.fanout, remote.depth)
    frontier = [0]
    for level in range(remote.depth):
        cost += 2 * HEADER_BYTES + (ids + HASH_BYTES * fanout) * len(frontier)
        below = []
        for node in frontier:
            ours, theirs = local.child_hashes(level, node), remote.child_hashes(level, node)
            below += [node * fanout + j for j in range(fanout) if ours[j] != theirs[j]]
        frontier = below
    cost += 2 * HEADER_BYTES + ids * len(frontier)
    return cost + sum(item_bytes(k, store[k]) for b in frontier for k, _ in remote.bucket(b))


# -- stores ----------------------------------------------------------------------------

def _key(i: int) -> str:
    return f"user:{i:05d}"


def _value(salt: str, i: int, revision: int, length: int) -> bytes:
    body = hashlib.sha256(f"{salt}/{i}/{revision}".encode()).hexdigest() * 3
    return f'{{"user": {i}, "rev": {revision}, "data": "{body[:length]}"}}'.encode()


def make_stores(seed: int, name: str, keys: int, d: int, kinds: Iterable[str],
                turn: int = 0, *, secret: bytes = b""
                ) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, int]]:
    """A seeded pair ``(local, remote)`` of ``keys``-key stores differing in ``d`` keys.

    With a ``secret`` the stores also depend on it: the check passes one only the grader
    holds, so the peer's store cannot be rebuilt from the seed and a root hash.

    Differences cycle through ``kinds`` (starting at position ``turn``):
    ``changed`` (both hold the key, the peer's value is newer), ``missing``
    (only the peer holds it) and ``deleted`` (only the local store does).
    Values are JSON-like, 60 to 140 bytes. Returns the stores and the count of
    each kind.

        >>> local, remote, counts = make_stores(0, "doc", 100, 3, ["changed", "missing", "deleted"])
        >>> len(local), len(remote), counts
        (100, 100, {'changed': 1, 'missing': 1, 'deleted': 1})
    """
    rng = RandomStreams(seed).stream(f"sync:{name}" + (f":{secret.hex()}" if secret else ""))
    salt = f"{rng.random():.17f}"
    lengths = [32 + int(rng.random() * 80) for _ in range(keys + d)]
    local = {_key(i): _value(salt, i, 1, lengths[i]) for i in range(keys)}
    remote = dict(local)
    kinds = list(kinds)
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < min(d, keys):
        i = int(rng.random() * keys)
        if i not in seen:
            seen.add(i)
            chosen.append(i)
    counts = dict.fromkeys(kinds, 0)
    for n, i in enumerate(chosen):
        kind = kinds[(n + turn) % len(kinds)]
        counts[kind] += 1
        if kind == "changed":
            remote[_key(i)] = _value(salt, i, 2, lengths[i])
        elif kind == "missing":
            j = keys + n
            remote[_key(j)] = _value(salt, j, 1, lengths[j])
        else:
            del remote[_key(i)]
    return local, remote, counts


# -- parameters and the check ----------------------------------------------------------

def _fanout(value: Any, key: str) -> None:
    if type(value) is not int or value not in FANOUTS:
        raise ConfigError(f"{key!r} must be one of {list(FANOUTS)}, got {value!r}")


def _budget(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 100:
        raise ConfigError(f"{key!r} must be a number from 1 to 100 (a multiple of the descent's "
                          f"bytes), got {value!r}")


PARAMS = {
    "target": is_name,
    "keys": is_int(1, 20_000),
    "differences": is_list_of(is_int(0, 20_000)),
    "kinds": is_list_of(is_one_of(*KINDS_OF_DIFFERENCE)),
    "fanout": _fanout,
    "depth": is_int(0, 8),
    "budget": _budget,
}
REQUIRED: set[str] = set()


def _short(value: bytes | None) -> str:
    if value is None:
        return "nothing"
    return repr(value[:28] + b"...") if len(value) > 31 else repr(value)


def _problems(local: Mapping[str, bytes], remote: Mapping[str, bytes],
              result: Mapping[str, bytes | None], after: Mapping[str, bytes]) -> list[str]:
    out = []
    for key in sorted(after.keys() | remote.keys()):
        mine, theirs = after.get(key), remote.get(key)
        if mine == theirs:
            continue
        if key not in result:
            if theirs is None:
                out.append(f"{key!r}: the peer has no such key (deleted there); return "
                           f"{{{key!r}: None}} to delete it here")
            else:
                was = "you have " + _short(mine) if mine is not None else "you do not have it"
                out.append(f"{key!r}: missed — the peer has {_short(theirs)}, {was}")
        elif result[key] is None:
            out.append(f"{key!r}: you returned None (delete), but the peer has {_short(theirs)}")
        else:
            out.append(f"{key!r}: you returned {_short(result[key])}, but the peer has "
                       f"{_short(theirs)}")
    return out


def _differing(local: Mapping[str, bytes], remote: Mapping[str, bytes]) -> str:
    """The keys that differed, to rebuild the case (the stores depend on a secret of the grader's)."""
    keys = sorted(k for k in local.keys() | remote.keys() if local.get(k) != remote.get(k))
    shown = ", ".join(keys[:20]) + (f", ... ({len(keys)} in all)" if len(keys) > 20 else "")
    return f"The keys that differed: {shown or 'none'}."


def run(ctx: CheckContext) -> None:
    params = ctx.params
    target_name = params.get("target", "sync")
    target = find(ctx.module, target_name, "function")
    keys = params.get("keys", 2000)
    kinds = params.get("kinds", list(KINDS_OF_DIFFERENCE))
    fanout = params.get("fanout", 16)
    depth = params.get("depth", suggested_depth(keys, fanout))
    budget = params.get("budget")
    differences = params.get("differences", [1, 10, 100])
    # Made here, in the grader's process, after the learner's process was started from the
    # fork server, and never sent to it: the stores cannot be rebuilt from the printed seed and
    # the check's name (a sync that did so could skip the descent). The bytes are judged
    # against the descent on these very stores, so an honest sync's result does not depend on
    # it; a failure lists the keys that differ (the stores are not reproducible from the seed).
    secret = secrets.token_bytes(16)
    for turn, d in enumerate(differences):
        local, remote, counts = make_stores(ctx.seed, f"{ctx.name}/{turn}", keys, d, kinds, turn,
                                            secret=secret)
        peer = Peer(remote, fanout=fanout, depth=depth)
        mix = ", ".join(f"{n} {_DESCRIBE[k]}" for k, n in counts.items() if n)
        differing = (f"{sum(counts.values())} differing ({mix})" if mix
                     else "the same as the peer's")
        where = (f"store {turn + 1} of {len(differences)}: {keys:,} keys here, {differing}; "
                 f"the peer's tree has fanout {fanout}, depth {depth}")
        result = target(dict(local), peer)
        if not isinstance(result, Mapping):
            raise CheckFailed(f"{target_name} must return a dict of the changes — {{key: the peer's "
                              f"value}}, or {{key: None}} to delete — but returned "
                              f"{type(result).__name__}: {result!r:.80}\n({where})")
        after = dict(local)
        for key, value in result.items():
            if not isinstance(key, str):
                raise CheckFailed(f"{target_name} returned a key that is not a string: {key!r}\n"
                                  f"({where})")
            if value is None:
                after.pop(key, None)
            elif isinstance(value, (bytes, bytearray, memoryview)):
                after[key] = bytes(value)
            else:
                raise CheckFailed(f"{target_name} returned {type(value).__name__} for {key!r}; "
                                  f"values are bytes (the peer's value) or None (delete)\n({where})")
        wrong = _problems(local, remote, result, after)
        if wrong:
            listed = "\n".join(f"  {line}" for line in wrong[:5])
            more = f"\n  ... and {len(wrong) - 5} more" if len(wrong) > 5 else ""
            raise CheckFailed(f"after your changes, {len(wrong)} key(s) still differ from the peer's "
                              f"store\n({where})\n{listed}{more}\n{_differing(local, remote)}\n"
                              f"Your calls: {peer.calls()}.")
        if budget is None:
            continue
        need = descent_bytes(MerkleTree.build(local, fanout=fanout, depth=depth),
                             MerkleTree.build(remote, fanout=fanout, depth=depth), remote)
        bound = int(budget * need)
        if peer.bytes_used > bound:
            raise CheckFailed(
                f"converged, but charged {peer.bytes_used:,} bytes: over the budget of {bound:,} "
                f"({budget:g} x the {need:,} bytes of a level-by-level descent); sending the peer's "
                f"whole store costs {full_state_bytes(remote):,}\n({where})\n"
                f"{_differing(local, remote)}\nYour calls: {peer.calls()}.")
