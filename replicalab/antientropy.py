"""Anti-entropy: a sans-I/O Merkle sync session between two replicas, with a byte account.

Two librarians compare their libraries by phone. They read each other the building's
fingerprint; if it differs, the aisles' fingerprints, then the shelves' of the aisles
that differ only, and so on down to the shelves (buckets) that differ. Then one reads
out every book on those shelves, and the other answers with what it has that differs.
Nothing else crosses the line.

**The protocol.** Each side holds a :class:`~replicalab.merkle.MerkleTree` of its
``{key: value bytes}`` store (same fan-out ``b`` and depth ``D``). One message per flight,
the two sides taking turns:

====================  =============================================================
flight 0 (A to B)     ``RootHash``: A's root.
flight 1 .. D         ``ChildHashes`` for level 1..D: for every node of the level
                      above whose hash differed, the sender's ``b`` child hashes.
flight D + 1          ``BucketItems``: the side that compared the buckets sends every
                      item it holds in the buckets that differ (and names them).
flight D + 2          ``MergedItems``: the other side merges each key of those buckets
                      and returns the merged value wherever it differs from what it
                      was sent; both sides then hold the merged values.
====================  =============================================================

If the roots agree the answer to flight 0 is ``InSync`` and the session ends. So a
session takes **2 rounds (flights) when in sync, else D + 3**: D + 1 flights of hashes
(one per level, root included) and two of items. Every flight is one message.

**Byte model** (what :attr:`SessionStats.bytes_sent` counts): every message has a
16-byte header (kind, session, level, counts); a hash is 32 bytes; a node id is
``ceil(D * log2(b) / 8)`` bytes (enough to name any bucket, at least 1); an item is
``4 + len(key as UTF-8) + 4 + len(value)`` bytes (two length prefixes). With ``m_l``
nodes differing at level ``l`` (``m_0 = 1``), a session that reaches the buckets sends
exactly::

    bytes  = (D + 3) * 16  +  32  +  (32 b + id) * (m_0 + ... + m_{D-1})  +  id * m_D
             + item bytes of both item flights
    hashes = 1 + b * (m_0 + ... + m_{D-1})

For ``d`` differing keys spread uniformly, ``E[m_l] = b**l * (1 - (1 - b**-l)**d)``.

**Merging.** ``merge(key, local, remote) -> bytes`` decides every divergent key; ``None``
stands for "this side has no such key". It must be a join (commutative, associative,
idempotent) for both sides to end equal, and it must return bytes: the protocol never
deletes a key. **Deletions are tombstones**: a value that says "deleted at stamp s", so
that a replica that missed the delete cannot resurrect the key (an absent key is
indistinguishable from one never written, and repair would copy the old value back).
:class:`Stamped` is a ready-made convention: a last-writer-wins stamp plus a payload or
a tombstone; :func:`lww_merge` merges it and :func:`live` reads the live values.

    >>> a = {"cart": Stamped(1, "eu", b"apple").encode(), "old": Stamped(1, "eu", b"x").encode()}
    >>> b = {"cart": Stamped(2, "us", b"pear").encode(), "old": Stamped.tombstone(3, "us").encode()}
    >>> report = sync(a, b, merge=lww_merge, fanout=4, depth=2)
    >>> live(report.a) == live(report.b) == {"cart": b"pear"}, report.rounds, report.divergent
    (True, 5, 2)
    >>> sync(report.a, report.b, merge=lww_merge, fanout=4, depth=2).keys_sent   # no repair loop
    0

**Driving a session** (from a replica's handlers, or any loop): the initiator calls
:meth:`SyncSession.start` and sends what it returns; a fresh session on the other
replica is made when a ``RootHash`` arrives; every incoming message goes to
:meth:`SyncSession.receive`, whose return value is sent back. When ``done`` is true,
write each ``updates[key]`` into the store (merging it with the current value if the
store moved on during the session; for a join that is always safe). Lost messages stall
a session: give it a timeout and start a new one later. Duplicated or stale messages are
ignored and counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ClockError, ConfigError, MergeValidationError, SerializationError
from replicalab.merkle import DEFAULT_DEPTH, DEFAULT_FANOUT, MerkleTree, _check_shape

__all__ = [
    "HASH_BYTES",
    "HEADER_BYTES",
    "LENGTH_BYTES",
    "BucketItems",
    "ChildHashes",
    "InSync",
    "Merge",
    "MergedItems",
    "Message",
    "RootHash",
    "SessionStats",
    "Stamped",
    "SyncReport",
    "SyncSession",
    "digest_list_bytes",
    "full_state_bytes",
    "item_bytes",
    "live",
    "lww_merge",
    "node_id_bytes",
    "sync",
]

#: Fixed cost of every message: kind, session, level and counts.
HEADER_BYTES = 16
#: A SHA-256 hash.
HASH_BYTES = 32
#: The length prefix of a key or a value inside an item.
LENGTH_BYTES = 4

#: ``merge(key, local, remote) -> merged``; ``None`` means "no such key on that side".
Merge = Callable[[str, bytes | None, bytes | None], bytes]


def node_id_bytes(fanout: int, depth: int) -> int:
    """Bytes to name one node on the wire: enough for any bucket, ``ceil(depth*log2(fanout)/8)``, at least 1."""
    bits = _check_shape(fanout, depth) * depth
    return max(1, math.ceil(bits / 8))


def item_bytes(key: str, value: bytes) -> int:
    """Wire size of one ``(key, value)`` item: two 4-byte length prefixes, the key as UTF-8, the value."""
    _wire_key(key)
    _bytes_value(value, f"value of {_validate.shown(key)}")
    return 2 * LENGTH_BYTES + len(key.encode("utf-8")) + len(value)


def full_state_bytes(mapping: Mapping[str, bytes]) -> int:
    """Bytes to send a whole store in one message: the header plus every item."""
    _store(mapping)
    return HEADER_BYTES + sum(item_bytes(k, v) for k, v in mapping.items())


def digest_list_bytes(mapping: Mapping[str, bytes]) -> int:
    """Bytes to send a full digest list in one message: per key a length prefix, the key and a 32-byte digest."""
    _store(mapping)
    return HEADER_BYTES + sum(LENGTH_BYTES + len(_wire_key(k)) + HASH_BYTES for k in mapping)


def _wire_key(key: Any, what: str = "key") -> bytes:
    """A key as it goes on the wire (UTF-8), or ConfigError for a key that is not a string."""
    if not isinstance(key, str):
        raise ConfigError(f"{what}s are strings, got {_validate.shown(key)}")
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{what} {_validate.shown(key)} cannot be written as UTF-8 (a lone surrogate)") from None


def _store(mapping: Any) -> None:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"a store is a mapping of key -> bytes, got {_validate.shown(mapping)}")


def _id_bytes(id_bytes: Any) -> int:
    if type(id_bytes) is not int or id_bytes < 1:
        raise ConfigError(f"id_bytes must be an integer >= 1 (see node_id_bytes), got {_validate.shown(id_bytes)}")
    return id_bytes


def _short(h: bytes) -> str:
    return h.hex()[:12]


# ---------------------------------------------------------------------------
# Messages (frozen values; sizes per the byte model)


@attrs.frozen
class RootHash:
    """Flight 0: the initiator's root, with its tree's shape so a mismatch is caught at once."""

    session: str
    fanout: int
    depth: int
    root: bytes

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        return HEADER_BYTES + HASH_BYTES

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "root": _short(self.root), "bytes": self.size(0)}


@attrs.frozen
class ChildHashes:
    """Flights 1..D: for each differing node ``parents[i]`` of level ``level - 1``, the
    sender's ``fanout`` child hashes at ``level``: ``hashes[i*fanout:(i+1)*fanout]``."""

    session: str
    level: int
    parents: tuple[int, ...]
    hashes: tuple[bytes, ...]

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        return HEADER_BYTES + _id_bytes(id_bytes) * len(self.parents) + HASH_BYTES * len(self.hashes)

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "level": self.level, "parents": len(self.parents),
                "hashes": len(self.hashes)}


@attrs.frozen
class BucketItems:
    """Flight D + 1: the differing buckets, and every item the sender holds in them."""

    session: str
    buckets: tuple[int, ...]
    items: tuple[tuple[str, bytes], ...]
    #: The sender's logical clocks ``(lamport, hlc wall, hlc logical)``, set by a runtime that
    #: keeps them (a table replica does), so items arriving by repair advance the receiver's
    #: clocks like any replicated write. It rides in the header: no extra bytes in the model.
    clock: tuple[int, int, int] | None = None

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        return (HEADER_BYTES + _id_bytes(id_bytes) * len(self.buckets)
                + sum(item_bytes(k, v) for k, v in self.items))

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "buckets": len(self.buckets),
                "keys": [k for k, _ in self.items]}


@attrs.frozen
class MergedItems:
    """Flight D + 2: merged values the receiver lacks, and how many keys truly diverged."""

    session: str
    items: tuple[tuple[str, bytes], ...]
    divergent: int
    #: The sender's logical clocks, as in :class:`BucketItems`.
    clock: tuple[int, int, int] | None = None

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model (``divergent`` rides in the header)."""
        return HEADER_BYTES + sum(item_bytes(k, v) for k, v in self.items)

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session, "keys": [k for k, _ in self.items],
                "divergent": self.divergent}


@attrs.frozen
class InSync:
    """The answer when the hashes just compared all agree: nothing to repair."""

    session: str

    def size(self, id_bytes: int) -> int:
        """Bytes on the wire under the byte model."""
        return HEADER_BYTES

    def trace_fields(self) -> dict[str, Any]:
        return {"session": self.session}


Message = RootHash | ChildHashes | BucketItems | MergedItems | InSync
_MESSAGES = (RootHash, ChildHashes, BucketItems, MergedItems, InSync)


# ---------------------------------------------------------------------------
# One side of a session


@attrs.frozen
class SessionStats:
    """What one side of a session sent and received, under the byte model."""

    messages_sent: int = 0
    bytes_sent: int = 0
    hashes_sent: int = 0
    items_sent: int = 0
    item_bytes_sent: int = 0
    messages_received: int = 0
    bytes_received: int = 0
    ignored: int = 0


def _bytes_value(value: Any, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        hint = ("; merges must return bytes: represent a deletion as a tombstone value "
                "(see Stamped.tombstone) so that it wins against old copies"
                if value is None else "")
        raise ConfigError(f"{what} must be bytes, got {type(value).__name__}{hint}")
    return bytes(value)


class SyncSession:
    """One side of a Merkle anti-entropy exchange, as a sans-I/O state machine.

    ``SyncSession(tree, values, merge, session="s1")`` wraps this replica's tree, the
    store it was built from, and the merge to apply to divergent keys. The initiator
    calls :meth:`start`; both sides feed every incoming message to :meth:`receive` and
    send what it returns (at most one message). When :attr:`done` is true,
    :attr:`updates` holds the merged values this side must write. See the module
    docstring for the protocol, the byte model and how to drive it.

        >>> a, b = {"k": b"v1"}, {"k": b"v2"}
        >>> pick_max = lambda key, local, remote: max(v for v in (local, remote) if v is not None)
        >>> sa = SyncSession(MerkleTree.build(a, depth=1), a, pick_max)
        >>> sb = SyncSession(MerkleTree.build(b, depth=1), b, pick_max)
        >>> flight = sa.start()
        >>> turn = 0
        >>> while flight:
        ...     flight = (sb if turn % 2 == 0 else sa).receive(flight[0]); turn += 1
        >>> sa.updates, sb.updates, sa.done and sb.done, turn
        ({'k': b'v2'}, {}, True, 4)

    The tree must be the tree of ``values`` (same keys, checked by count), and
    ``values`` should not change while the session runs. Give every session its own id
    (say ``"eu->us#7"``): two replicas that start sessions with each other at once run
    two independent sessions, and messages are routed by ``msg.session``.
    """

    def __init__(self, tree: MerkleTree, values: Mapping[str, bytes], merge: Merge, *,
                 session: str = "sync") -> None:
        if not isinstance(tree, MerkleTree):
            raise ConfigError(f"tree must be a MerkleTree (MerkleTree.build(values)), got {type(tree).__name__}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"values must be the mapping the tree was built from, got {type(values).__name__}")
        if len(values) != len(tree):
            raise ConfigError(
                f"tree has {len(tree)} keys but values has {len(values)}: pass the tree built "
                f"from these values (MerkleTree.build(values), or kept up to date with .set)"
            )
        if not callable(merge):
            raise ConfigError(f"merge must be callable as merge(key, local, remote) -> bytes, got {_validate.shown(merge)}")
        self.session = _validate.name(session, "session")
        self.tree = tree
        self.values = values
        self.merge = merge
        #: Merged values this side must write into its store, by key (complete when done).
        self.updates: dict[str, bytes] = {}
        #: Keys that truly diverged (set once the items have been compared).
        self.divergent: int | None = None
        #: Level -> how many nodes at that level this side found differing.
        self.differing: dict[int, int] = {}
        self.done = False
        self._bits = tree.fanout.bit_length() - 1
        self._id_bytes = node_id_bytes(tree.fanout, tree.depth)
        self._started = False
        self._expect: tuple[type, ...] = (RootHash,)
        self._sent_level = -1  # the level whose hashes we sent last
        self._sent_parents: frozenset[int] = frozenset()  # their parents (level >= 1)
        self._counts = dict.fromkeys(attrs.fields_dict(SessionStats), 0)

    # -- reading ---------------------------------------------------------------------
    @property
    def stats(self) -> SessionStats:
        """A snapshot of the counters."""
        return SessionStats(**self._counts)

    @property
    def expecting(self) -> str:
        """What this side waits for, for logs: e.g. ``'ChildHashes at level 2'``."""
        if self.done:
            return "nothing (done)"
        names = " or ".join(t.__name__ for t in self._expect)
        if ChildHashes in self._expect:
            names += f" at level {self._sent_level + 1}"
        return names

    def __repr__(self) -> str:
        return (f"<SyncSession {self.session!r} fanout={self.tree.fanout} depth={self.tree.depth} "
                f"expecting {self.expecting}>")

    # -- driving ---------------------------------------------------------------------
    def start(self) -> list[Message]:
        """Begin as the initiator: returns ``[RootHash]`` to send to the peer."""
        if self._started or self.done:
            raise ConfigError(
                f"session {_validate.shown(self.session)} has already started; call start() once, on the initiator, "
                f"and only receive() on the responder"
            )
        self._started = True
        self.differing.clear()
        self._sent_level, self._sent_parents = 0, frozenset()
        self._expect = (ChildHashes, InSync) if self.tree.depth else (BucketItems, InSync)
        return self._send(RootHash(self.session, self.tree.fanout, self.tree.depth, self.tree.root))

    def receive(self, msg: Message) -> list[Message]:
        """Handle one message from the peer; returns the messages to send back (0 or 1).

        Messages this side does not expect now (duplicates, stale retries) are ignored
        and counted in ``stats.ignored``. Raises :class:`~replicalab.errors.ConfigError`
        for a message of another session (route by ``msg.session``), a peer tree of
        another shape, or a malformed message.
        """
        if not isinstance(msg, _MESSAGES):
            raise ConfigError(f"receive takes an anti-entropy message, got {type(msg).__name__}")
        if msg.session != self.session:
            raise ConfigError(
                f"message for session {_validate.shown(msg.session)} delivered to session {_validate.shown(self.session)}; "
                f"route messages to sessions by their .session"
            )
        if (self.done or not isinstance(msg, self._expect)
                or (isinstance(msg, ChildHashes) and msg.level != self._sent_level + 1)):
            self._counts["ignored"] += 1
            return []
        self._counts["messages_received"] += 1
        self._counts["bytes_received"] += msg.size(self._id_bytes)
        if isinstance(msg, RootHash):
            return self._on_root(msg)
        if isinstance(msg, ChildHashes):
            return self._on_child_hashes(msg)
        if isinstance(msg, BucketItems):
            return self._on_bucket_items(msg)
        if isinstance(msg, MergedItems):
            return self._on_merged_items(msg)
        self.done = True  # InSync
        return []

    # -- handlers --------------------------------------------------------------------
    def _on_root(self, msg: RootHash) -> list[Message]:
        tree = self.tree
        if (msg.fanout, msg.depth) != (tree.fanout, tree.depth):
            raise ConfigError(
                f"peer's tree has fanout {msg.fanout}, depth {msg.depth} but this one has fanout "
                f"{tree.fanout}, depth {tree.depth}; every replica must build its tree with the same shape"
            )
        self._started = True
        return self._descend(0, [0] if msg.root != tree.root else [])

    def _on_child_hashes(self, msg: ChildHashes) -> list[Message]:
        fanout, bits = self.tree.fanout, self._bits
        level = msg.level
        if len(msg.hashes) != fanout * len(msg.parents):
            raise ConfigError(
                f"ChildHashes at level {level} carries {len(msg.hashes)} hashes for "
                f"{len(msg.parents)} parents; it must carry exactly {fanout} per parent"
            )
        differing: list[int] = []
        for i, parent in enumerate(msg.parents):
            if not self._was_sent(parent):
                raise ConfigError(f"ChildHashes names node {parent} of level {level - 1}, whose hash was never sent")
            ours = self.tree.child_hashes(level - 1, parent)
            theirs = msg.hashes[i * fanout:(i + 1) * fanout]
            differing += [(parent << bits) | j for j in range(fanout) if ours[j] != theirs[j]]
        return self._descend(level, differing)

    def _on_bucket_items(self, msg: BucketItems) -> list[Message]:
        tree = self.tree
        buckets = set()
        for bucket in msg.buckets:
            if not self._was_sent(bucket) or self._sent_level != tree.depth:
                raise ConfigError(f"BucketItems names bucket {bucket}, whose hash was never sent")
            buckets.add(bucket)
        remote: dict[str, bytes] = {}
        for key, value in msg.items:
            if not isinstance(key, str) or tree.bucket_of(key) not in buckets:
                raise ConfigError(f"BucketItems carries key {_validate.shown(key)}, which is in none of its buckets")
            remote[key] = _bytes_value(value, f"value of {key!r} in BucketItems")
        keys = set(remote)
        for bucket in buckets:
            keys.update(k for k, _ in tree.bucket(bucket))
        back: list[tuple[str, bytes]] = []
        divergent = 0
        for key in sorted(keys):
            theirs, ours = remote.get(key), self.values.get(key)
            if theirs == ours:
                continue
            divergent += 1
            merged = self._merge(key, ours, theirs)
            if merged != ours:
                self.updates[key] = merged
            if merged != theirs:
                back.append((key, merged))
        self.divergent = divergent
        self.done = True
        return self._send(MergedItems(self.session, tuple(back), divergent))

    def _on_merged_items(self, msg: MergedItems) -> list[Message]:
        for key, value in msg.items:
            if not isinstance(key, str):
                raise ConfigError(f"MergedItems carries a key that is not a string: {_validate.shown(key)}")
            theirs = _bytes_value(value, f"value of {key!r} in MergedItems")
            ours = self.values.get(key)
            merged = self._merge(key, ours, theirs)
            if merged != ours:
                self.updates[key] = merged
        self.divergent = msg.divergent
        self.done = True
        return []

    # -- helpers ---------------------------------------------------------------------
    def _was_sent(self, node: int) -> bool:
        """Whether we sent the hash of ``node`` at ``self._sent_level`` in our last hash flight."""
        if self._sent_level == 0:
            return node == 0
        return type(node) is int and node >= 0 and (node >> self._bits) in self._sent_parents

    def _descend(self, level: int, differing: list[int]) -> list[Message]:
        """We compared level ``level`` and found ``differing`` nodes: answer one level down."""
        self.differing[level] = len(differing)
        tree = self.tree
        if not differing:
            self.done = True
            return self._send(InSync(self.session))
        if level < tree.depth:
            hashes: list[bytes] = []
            for node in differing:
                hashes += tree.child_hashes(level, node)
            self._sent_level, self._sent_parents = level + 1, frozenset(differing)
            self._expect = (ChildHashes, InSync) if level + 1 < tree.depth else (BucketItems, InSync)
            return self._send(ChildHashes(self.session, level + 1, tuple(differing), tuple(hashes)))
        items = [(key, self.values[key]) for bucket in differing for key, _ in tree.bucket(bucket)
                 if key in self.values]
        self._expect = (MergedItems,)
        return self._send(BucketItems(self.session, tuple(differing), tuple(items)))

    def _merge(self, key: str, ours: bytes | None, theirs: bytes | None) -> bytes:
        return _bytes_value(self.merge(key, ours, theirs), f"merge({key!r}, ...) result")

    def _send(self, msg: Message) -> list[Message]:
        counts = self._counts
        counts["messages_sent"] += 1
        counts["bytes_sent"] += msg.size(self._id_bytes)
        if isinstance(msg, RootHash):
            counts["hashes_sent"] += 1
        elif isinstance(msg, ChildHashes):
            counts["hashes_sent"] += len(msg.hashes)
        elif isinstance(msg, (BucketItems, MergedItems)):
            counts["items_sent"] += len(msg.items)
            counts["item_bytes_sent"] += sum(item_bytes(k, v) for k, v in msg.items)
        return [msg]


# ---------------------------------------------------------------------------
# A whole sync, in process


@attrs.frozen
class SyncReport:
    """The outcome of :func:`sync`: both merged stores and the account of the exchange.

    ``rounds`` counts flights (one-way trips; every flight is one message here), so
    ``rounds == 2`` when in sync and ``depth + 3`` otherwise. ``hashes``, ``bytes_sent``,
    ``keys_sent`` and ``item_bytes_sent`` (the part of ``bytes_sent`` that is the items
    themselves) add up both directions; ``differing[l]`` is how many nodes of level
    ``l`` differed (``differing[0]`` is 1 if the roots did). ``divergent`` counts the keys
    that truly differed; ``over_streaming = keys_sent / divergent`` is 1.0 when only
    those keys moved, once. A key changed on both sides crosses twice under a general
    merge (each side needs the other's value), and bucket-mates that did not differ
    push the ratio higher still: shallow trees over-stream. ``full_state_bytes`` is what
    shipping both whole stores would cost, for comparison.
    """

    a: dict[str, bytes] = attrs.field(repr=False)
    b: dict[str, bytes] = attrs.field(repr=False)
    fanout: int
    depth: int
    rounds: int
    messages: int
    hashes: int
    bytes_sent: int
    keys_sent: int
    item_bytes_sent: int
    divergent: int
    differing: tuple[int, ...]
    full_state_bytes: int
    converged: bool

    @property
    def over_streaming(self) -> float | None:
        """``keys_sent / divergent``, or None when nothing diverged."""
        return self.keys_sent / self.divergent if self.divergent else None

    def to_plain(self) -> dict[str, Any]:
        """The account as plain data (without the stores)."""
        plain = attrs.asdict(self, filter=lambda field, _: field.name not in ("a", "b"))
        plain["differing"] = list(self.differing)
        plain["over_streaming"] = self.over_streaming
        return plain


def sync(a: Mapping[str, bytes], b: Mapping[str, bytes], merge: Merge, *,
         fanout: int = DEFAULT_FANOUT, depth: int = DEFAULT_DEPTH,
         trees: Sequence[MerkleTree] | None = None) -> SyncReport:
    """Run one sync session between stores ``a`` (initiator) and ``b`` in process.

    Returns both stores after the repair (new dicts; the inputs are untouched) and the
    account. ``trees`` may pass ``(tree_a, tree_b)`` already built with this shape, to
    skip building them. ``converged`` says whether both ended with equal roots: it is
    False only if ``merge`` is not a join (e.g. "remote wins").
    """
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        raise ConfigError("sync takes two mappings of key -> value bytes")
    if trees is None:
        ta, tb = MerkleTree.build(a, fanout=fanout, depth=depth), MerkleTree.build(b, fanout=fanout, depth=depth)
    else:
        if not isinstance(trees, (tuple, list)) or len(trees) != 2:
            raise ConfigError(f"trees must be a pair (tree of a, tree of b), got {_validate.shown(trees)}")
        ta, tb = trees
        for t in (ta, tb):
            if not isinstance(t, MerkleTree) or (t.fanout, t.depth) != (fanout, depth):
                raise ConfigError(f"trees must be two MerkleTrees of fanout {fanout}, depth {depth}")
    sa = SyncSession(ta, a, merge, session="sync")
    sb = SyncSession(tb, b, merge, session="sync")
    flight = [(sb, m) for m in sa.start()]
    rounds = 0
    while flight:
        rounds += 1
        if rounds > depth + 3:  # pragma: no cover - the protocol has at most depth + 3 flights
            raise AssertionError("anti-entropy session did not finish in depth + 3 flights")
        nxt = []
        for dst, msg in flight:
            peer = sa if dst is sb else sb
            nxt += [(peer, reply) for reply in dst.receive(msg)]
        flight = nxt
    final_a, final_b = dict(a), dict(b)
    final_a.update(sa.updates)
    final_b.update(sb.updates)
    for key, value in sa.updates.items():
        ta = ta.set(key, value)
    for key, value in sb.updates.items():
        tb = tb.set(key, value)
    stats = (sa.stats, sb.stats)
    differing = {**sa.differing, **sb.differing}
    return SyncReport(
        a=final_a, b=final_b, fanout=fanout, depth=depth, rounds=rounds,
        messages=sum(s.messages_sent for s in stats),
        hashes=sum(s.hashes_sent for s in stats),
        bytes_sent=sum(s.bytes_sent for s in stats),
        keys_sent=sum(s.items_sent for s in stats),
        item_bytes_sent=sum(s.item_bytes_sent for s in stats),
        divergent=sa.divergent or sb.divergent or 0,
        differing=tuple(differing[level] for level in sorted(differing)),
        full_state_bytes=full_state_bytes(a) + full_state_bytes(b),
        converged=ta.root == tb.root,
    )


# ---------------------------------------------------------------------------
# A tombstone convention: last-writer-wins stamped values


_MAGIC = b"RLS1"


@attrs.frozen
class Stamped:
    """A value with a last-writer-wins stamp ``(timestamp, replica)``; no payload is a tombstone.

    Values in the keyspace tree are opaque bytes, so a deletion must be a *value* for
    anti-entropy to carry it: ``Stamped.tombstone(t, r)`` says "deleted at stamp
    (t, r)". Under :func:`lww_merge` a tombstone beats every older write and loses to
    every newer one, so repair can neither resurrect a deleted key nor block a later
    write. (Tombstones are kept forever here; collecting them safely needs every replica
    to have seen them, which is a separate protocol.)

        >>> v = Stamped(5, "eu", b"12 High Street")
        >>> Stamped.decode(v.encode()) == v, Stamped.tombstone(6, "us").deleted
        (True, True)
    """

    timestamp: int = attrs.field(validator=lambda _i, _a, v: _validate.counter(v, "timestamp"))
    replica: str = attrs.field(validator=lambda _i, _a, v: _validate.replica_id(v))
    payload: bytes | None

    def __attrs_post_init__(self) -> None:
        if self.timestamp >= 1 << 64:
            raise ClockError(f"timestamp must be below 2**64 (it is encoded in 8 bytes), got {self.timestamp}")
        _wire_key(self.replica, "replica id")  # a lone surrogate cannot be written as UTF-8
        if len(self.replica.encode("utf-8")) >= 1 << 16:
            raise ConfigError("replica id must be shorter than 65,536 bytes in UTF-8")
        if self.payload is not None and not isinstance(self.payload, bytes):
            raise ConfigError(f"payload must be bytes or None (a tombstone), got {type(self.payload).__name__}")

    @classmethod
    def tombstone(cls, timestamp: int, replica: str) -> Stamped:
        """The deletion of a key at stamp ``(timestamp, replica)``."""
        return cls(timestamp, replica, None)

    @property
    def deleted(self) -> bool:
        """True for a tombstone."""
        return self.payload is None

    @property
    def stamp(self) -> tuple[int, str]:
        """``(timestamp, replica)``: the LWW order."""
        return (self.timestamp, self.replica)

    def encode(self) -> bytes:
        """``b"RLS1" || u64 timestamp || u16 len(replica) || replica || 0x00`` (tombstone)
        or ``0x01 || payload``, all big-endian."""
        rid = self.replica.encode("utf-8")
        body = b"\x00" if self.payload is None else b"\x01" + self.payload
        return _MAGIC + self.timestamp.to_bytes(8, "big") + len(rid).to_bytes(2, "big") + rid + body

    @classmethod
    def decode(cls, data: bytes) -> Stamped:
        """Parse :meth:`encode`'s output; raises :class:`~replicalab.errors.SerializationError` otherwise."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise SerializationError(f"a stamped value is bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < 15 or data[:4] != _MAGIC:
            raise SerializationError("not a stamped value: it must start with b'RLS1' and a 10-byte stamp")
        timestamp = int.from_bytes(data[4:12], "big")
        n = int.from_bytes(data[12:14], "big")
        end = 14 + n
        if len(data) <= end:
            raise SerializationError("stamped value is truncated: no flag byte after the replica id")
        try:
            replica = data[14:end].decode("utf-8")
        except UnicodeDecodeError:
            raise SerializationError("stamped value's replica id is not UTF-8") from None
        flag, rest = data[end], data[end + 1:]
        if flag == 0 and not rest:
            payload = None
        elif flag == 1:
            payload = rest
        else:
            raise SerializationError("stamped value's flag must be 0x00 (tombstone, nothing after) or 0x01 (payload)")
        try:
            return cls(timestamp, replica, payload)
        except (ClockError, ConfigError) as error:
            raise SerializationError(f"malformed stamped value: {error}") from None


def lww_merge(key: str, local: bytes | None, remote: bytes | None) -> bytes:
    """Merge two :class:`Stamped` encodings: the greater ``(timestamp, replica)`` wins.

    A missing side (None) loses to anything. A join: commutative, associative and
    idempotent on reachable states. Two *different* values under the same stamp cannot
    both have been written, so they raise :class:`~replicalab.errors.MergeValidationError`
    instead of silently picking one.

        >>> old, new = Stamped(1, "eu", b"a").encode(), Stamped.tombstone(2, "us").encode()
        >>> Stamped.decode(lww_merge("k", old, new)).deleted
        True
    """
    if local is None or remote is None:
        if local is None and remote is None:
            raise ConfigError(f"lww_merge({_validate.shown(key)}): at least one side must have a value")
        return remote if local is None else local  # type: ignore[return-value]
    a, b = Stamped.decode(local), Stamped.decode(remote)
    if a.stamp == b.stamp:
        if a != b:
            raise MergeValidationError(
                f"key {_validate.shown(key)}: two different values carry the same stamp {a.stamp}; a stamp "
                f"names one write, so one of the replicas holds an impossible state"
            )
        return local
    return local if a.stamp > b.stamp else remote


def live(mapping: Mapping[str, bytes]) -> dict[str, bytes]:
    """The live payloads of a store of :class:`Stamped` values, tombstones left out, keys sorted."""
    _store(mapping)
    for key in mapping:
        _wire_key(key)
    out: dict[str, bytes] = {}
    for key in sorted(mapping):
        value = Stamped.decode(mapping[key])
        if value.payload is not None:
            out[key] = value.payload
    return out
