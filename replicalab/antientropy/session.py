"""One side of a Merkle sync as a sans-I/O state machine, and a whole sync run in process.

:class:`SyncSession` is what a replica drives from its handlers; :func:`sync` runs
both sides of a session against each other in one process and reports what it cost
(:class:`SyncReport`). The protocol and its byte model are described in
:mod:`replicalab.antientropy`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.antientropy.wire import (
    _MESSAGES,
    HASH_BYTES,
    SHORT_HASH_BYTES,
    BucketItems,
    ChildHashes,
    InSync,
    MergedItems,
    Message,
    RootHash,
    _bytes_value,
    _check_child_hash_bytes,
    _salt,
    _session_hash,
    full_state_bytes,
    item_bytes,
    node_id_bytes,
)
from replicalab.errors import ConfigError
from replicalab.merkle import DEFAULT_DEPTH, DEFAULT_FANOUT, MerkleTree, suggested_depth

__all__ = ["Merge", "SessionStats", "SyncReport", "SyncSession", "sync"]

#: ``merge(key, local, remote) -> merged``; ``None`` means "no such key on that side".
Merge = Callable[[str, bytes | None, bytes | None], bytes]





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
    #: Differing nodes none of whose children differed on the wire: a short-hash collision
    #: seen (always 0 with full hashes); the keys below them wait for the next session.
    collisions: int = 0
    #: Trees this side rebuilt at the session's agreed depth (adaptive sessions only: the
    #: smaller store's side, when the two key counts call for different depths).
    reshaped: int = 0


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
    ``values`` should not change while the session runs. With ``adaptive=True`` the
    depth follows the key counts: the session runs at ``suggested_depth(max(n_a, n_b))``
    and a side whose tree has another depth rebuilds it from ``values`` for the session
    (see "Depth" in :mod:`replicalab.antientropy`); both sides must be adaptive. If
    ``values`` also has a ``digests()`` method returning ``{key: SHA-256 of its value}``
    (a region's snapshot does, from the digests its items cache), that rebuild uses the
    digests instead of hashing every value again; the tree is the same. Give every session its own id
    (say ``"eu->us#7"``): two replicas that start sessions with each other at once run
    two independent sessions, and messages are routed by ``msg.session``.
    """

    def __init__(self, tree: MerkleTree, values: Mapping[str, bytes], merge: Merge, *,
                 session: str = "sync", child_hash_bytes: int = SHORT_HASH_BYTES,
                 adaptive: bool = False) -> None:
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
        if type(adaptive) is not bool:
            raise ConfigError(f"adaptive must be True (the depth follows the key counts) or False (fixed), "
                              f"got {_validate.shown(adaptive)}")
        #: Whether the depth follows the two key counts (agreed in the first flights).
        self.adaptive = adaptive
        self.session = _validate.name(session, "session")
        #: Length of the child hashes this side sends and expects (32: full SHA-256).
        self.child_hash_bytes = _check_child_hash_bytes(child_hash_bytes)
        self._salt = _salt(self.session) if child_hash_bytes != HASH_BYTES else b""
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
        keys = None
        if self.adaptive:
            keys = len(self.values)
            self._reshape(suggested_depth(keys, self.tree.fanout))
        self._expect = (ChildHashes, InSync) if self.tree.depth else (BucketItems, InSync)
        if self.adaptive:  # the peer may answer with its own root at a deeper agreed depth
            self._expect += (RootHash,)
        return self._send(RootHash(self.session, self.tree.fanout, self.tree.depth, self.tree.root,
                                   self.child_hash_bytes, keys))

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
        size = msg.size(self._id_bytes)
        # Handlers validate before they change anything; count the message only once one
        # accepted it, so a rejected message leaves the stats as they were.
        if isinstance(msg, RootHash):
            out = self._on_root(msg)
        elif isinstance(msg, ChildHashes):
            out = self._on_child_hashes(msg)
        elif isinstance(msg, BucketItems):
            out = self._on_bucket_items(msg)
        elif isinstance(msg, MergedItems):
            out = self._on_merged_items(msg)
        else:
            self.done = True  # InSync
            out = []
        self._counts["messages_received"] += 1
        self._counts["bytes_received"] += size
        return out

    # -- handlers --------------------------------------------------------------------
    def _on_root(self, msg: RootHash) -> list[Message]:
        if self.adaptive or msg.keys is not None:
            return self._on_adaptive_root(msg)
        tree = self.tree
        if (msg.fanout, msg.depth) != (tree.fanout, tree.depth):
            raise ConfigError(
                f"peer's tree has fanout {msg.fanout}, depth {msg.depth} but this one has fanout "
                f"{tree.fanout}, depth {tree.depth}; every replica must build its tree with the same shape"
            )
        if msg.child_hash_bytes != self.child_hash_bytes:
            raise ConfigError(
                f"peer sends {msg.child_hash_bytes}-byte child hashes but this side expects "
                f"{self.child_hash_bytes}; every replica must use the same child_hash_bytes"
            )
        self._started = True
        return self._descend(0, [0] if msg.root != tree.root else [])

    def _on_adaptive_root(self, msg: RootHash) -> list[Message]:
        """A root from a peer whose depth follows its key count: agree on the depth, then descend.

        The agreed depth is ``suggested_depth(max(n_peer, n_here))``, a function of the two
        counts that both sides compute alike. If the peer's root is at that depth, compare
        it; if the peer is the smaller store (its root is shallower), answer with our own
        root at the agreed depth instead, and the peer, now holding both counts, rebuilds
        and compares it (one extra flight).
        """
        tree = self.tree
        if not self.adaptive or msg.keys is None:
            raise ConfigError(
                "one side's tree depth follows its key count (adaptive) and the other's is fixed; "
                "every replica must use the same shape: all adaptive (depth=None) or all the same depth"
            )
        if msg.fanout != tree.fanout:
            raise ConfigError(f"peer's tree has fanout {msg.fanout} but this one has fanout {tree.fanout}; "
                              f"every replica must build its tree with the same shape")
        if msg.child_hash_bytes != self.child_hash_bytes:
            raise ConfigError(
                f"peer sends {msg.child_hash_bytes}-byte child hashes but this side expects "
                f"{self.child_hash_bytes}; every replica must use the same child_hash_bytes"
            )
        if type(msg.keys) is not int or msg.keys < 0:
            raise ConfigError(f"RootHash.keys must be the sender's key count (an integer >= 0), got {_validate.shown(msg.keys)}")
        agreed = suggested_depth(max(msg.keys, len(self.values)), tree.fanout)
        own = suggested_depth(msg.keys, tree.fanout)
        counter = self._sent_level == -1  # the first root of the session: we may answer with ours
        if msg.depth != (own if counter else agreed) or msg.depth > agreed:
            raise ConfigError(
                f"peer's root is at depth {msg.depth} for {msg.keys} keys, but the depth that follows the "
                f"key counts is {own if counter else agreed} (suggested_depth of the larger count)"
            )
        self._started = True
        self._reshape(agreed)
        if msg.depth == agreed:
            return self._descend(0, [0] if msg.root != self.tree.root else [])
        self._sent_level, self._sent_parents = 0, frozenset()
        self._expect = (ChildHashes, InSync)  # agreed > msg.depth >= 0, so the tree has levels
        return self._send(RootHash(self.session, self.tree.fanout, agreed, self.tree.root,
                                   self.child_hash_bytes, len(self.values)))

    def _reshape(self, depth: int) -> None:
        """Use a tree of ``depth`` for this session: the given one, or one rebuilt from ``values``
        (from the digests ``values`` caches, if it offers them: see the class docstring)."""
        tree = self.tree
        if tree.depth == depth:
            return
        digests = getattr(self.values, "digests", None)
        if callable(digests):
            self.tree = MerkleTree.from_digests(digests(), fanout=tree.fanout, depth=depth)
        else:
            self.tree = MerkleTree.build(self.values, fanout=tree.fanout, depth=depth)
        self._id_bytes = node_id_bytes(tree.fanout, depth)
        self._counts["reshaped"] += 1

    def _on_child_hashes(self, msg: ChildHashes) -> list[Message]:
        fanout, bits = self.tree.fanout, self._bits
        level = msg.level
        if len(msg.hashes) != fanout * len(msg.parents):
            raise ConfigError(
                f"ChildHashes at level {level} carries {len(msg.hashes)} hashes for "
                f"{len(msg.parents)} parents; it must carry exactly {fanout} per parent"
            )
        width = self.child_hash_bytes
        if any(type(h) is not bytes or len(h) != width for h in msg.hashes):
            raise ConfigError(f"ChildHashes at level {level} must carry {width}-byte hashes (child_hash_bytes={width})")
        differing: list[int] = []
        collisions = 0
        for i, parent in enumerate(msg.parents):
            if not self._was_sent(parent):
                raise ConfigError(f"ChildHashes names node {parent} of level {level - 1}, whose hash was never sent")
            ours = self._wire_hashes(level - 1, parent)
            theirs = msg.hashes[i * fanout:(i + 1) * fanout]
            found = [(parent << bits) | j for j in range(fanout) if ours[j] != theirs[j]]
            collisions += not found
            differing += found
        self._counts["collisions"] += collisions
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
                hashes += self._wire_hashes(level, node)
            self._sent_level, self._sent_parents = level + 1, frozenset(differing)
            self._expect = (ChildHashes, InSync) if level + 1 < tree.depth else (BucketItems, InSync)
            return self._send(ChildHashes(self.session, level + 1, tuple(differing), tuple(hashes)))
        items = [(key, self.values[key]) for bucket in differing for key, _ in tree.bucket(bucket)
                 if key in self.values]
        self._expect = (MergedItems,)
        return self._send(BucketItems(self.session, tuple(differing), tuple(items)))

    def _wire_hashes(self, level: int, node: int) -> list[bytes]:
        """The child hashes of ``node`` (at ``level``) as they cross the wire in this session."""
        hashes = self.tree.child_hashes(level, node)
        width = self.child_hash_bytes
        if width == HASH_BYTES:
            return list(hashes)
        return [_session_hash(h, self._salt, width) for h in hashes]

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
         fanout: int = DEFAULT_FANOUT, depth: int | None = DEFAULT_DEPTH,
         trees: Sequence[MerkleTree] | None = None, child_hash_bytes: int = SHORT_HASH_BYTES) -> SyncReport:
    """Run one sync session between stores ``a`` (initiator) and ``b`` in process.

    Returns both stores after the repair (new dicts; the inputs are untouched) and the
    account. ``trees`` may pass ``(tree_a, tree_b)`` already built with this shape, to
    skip building them. ``child_hash_bytes`` is passed to both sessions (8, the default, for short
    salted hashes below the root; 32 for full SHA-256). ``depth=None`` makes the depth follow the
    key counts: each tree is built at ``suggested_depth`` of its own store's size and the
    sessions agree on that of the larger one (``report.depth``), with one extra flight when
    the responder ``b`` is the larger. ``converged`` says whether both ended with equal roots: it is
    False only if ``merge`` is not a join (e.g. "remote wins").
    """
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        raise ConfigError("sync takes two mappings of key -> value bytes")
    adaptive = depth is None
    if trees is None:
        ta, tb = (MerkleTree.build(m, fanout=fanout, depth=suggested_depth(len(m), fanout) if depth is None else depth)
                  for m in (a, b))
    else:
        if not isinstance(trees, (tuple, list)) or len(trees) != 2:
            raise ConfigError(f"trees must be a pair (tree of a, tree of b), got {_validate.shown(trees)}")
        ta, tb = trees
        for t in (ta, tb):
            if not isinstance(t, MerkleTree) or t.fanout != fanout or (depth is not None and t.depth != depth):
                raise ConfigError(f"trees must be two MerkleTrees of fanout {fanout}, depth "
                                  f"{'of any' if depth is None else depth}")
    sa = SyncSession(ta, a, merge, session="sync", child_hash_bytes=child_hash_bytes, adaptive=adaptive)
    sb = SyncSession(tb, b, merge, session="sync", child_hash_bytes=child_hash_bytes, adaptive=adaptive)
    flight = [(sb, m) for m in sa.start()]
    # The protocol has at most D + 3 flights, one more when an adaptive responder answers
    # with its root at a deeper agreed depth.
    limit = (suggested_depth(max(len(a), len(b)), fanout) + 4) if depth is None else depth + 3
    rounds = 0
    while flight:
        rounds += 1
        if rounds > limit:  # pragma: no cover - see limit
            raise AssertionError(f"anti-entropy session did not finish in {limit} flights")
        nxt = []
        for dst, msg in flight:
            peer = sa if dst is sb else sb
            nxt += [(peer, reply) for reply in dst.receive(msg)]
        flight = nxt
    final_a, final_b = dict(a), dict(b)
    final_a.update(sa.updates)
    final_b.update(sb.updates)
    ta, tb = sa.tree, sb.tree  # at the session's depth (reshaped, in an adaptive session)
    for key, value in sa.updates.items():
        ta = ta.set(key, value)
    for key, value in sb.updates.items():
        tb = tb.set(key, value)
    stats = (sa.stats, sb.stats)
    differing = {**sa.differing, **sb.differing}
    return SyncReport(
        a=final_a, b=final_b, fanout=fanout, depth=ta.depth, rounds=rounds,
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
