"""A Dynamo node: a sans-I/O replica that stores keys and coordinates quorum reads and writes.

Every node plays two parts (DeCandia et al., SOSP 2007, §4–5):

**Storage.** ``store[key]`` holds the key's versions (siblings; see
:mod:`~replicalab.quorum.versions`), ``hints[home][key]`` the versions it keeps for a home
node that could not be reached. Every arriving copy is merged with
:func:`~replicalab.quorum.versions.reconcile`, so the order copies arrive in never matters.

**Coordination.** A client's :class:`~replicalab.quorum.messages.Put` or
:class:`~replicalab.quorum.messages.Get` may reach any node; that node coordinates it::

    targets = the key's preference list (first N distinct nodes on the ring)
    if sloppy: skip nodes suspected down; walk on to the next healthy nodes, each a
               stand-in carrying a hint that names the home node it replaces
    put:  new version = (value, dot = (my identity, ++counter), context = client's context)
          store it at every target; acknowledge once W have stored it
    get:  ask every target; answer once R replied, with the merge of their versions
          (siblings stay siblings); when all replied or time is up, send the merge to
          home replicas that answered with less (read repair)
    timeout ms with too few answers:
          strict: the client gets QuorumNotReached (the write may still be stored at some)
          sloppy: suspect the silent nodes, try the next nodes on the ring once (with
                  hints), then give up the same way

**Hinted handoff.** While it holds hints, a node sends them home every ``handoff_period`` ms;
the home node merges them and answers :class:`~replicalab.quorum.messages.HandedOff`,
after which exactly the versions it took are dropped from the hint.

**Anti-entropy.** With ``anti_entropy`` set, every period a node picks the next peer (in
ring order of ids), builds a :class:`~replicalab.merkle.MerkleTree` over the keys both are
home for (leaf values: the dots of the versions held) and sends it; the peer diffs it
with its own tree and the two exchange just the keys that differ. A session is at most
three messages (rounds): the tree; the peer's versions of the keys that differ, with the
list of those keys; the versions the starter holds of them once it merged the peer's. The whole tree travels in one
message, so it costs what a digest list costs — fewer rounds than the level-by-level
table protocol (:mod:`replicalab.antientropy`), more bytes. Each message is logged as
``QuorumSyncSent`` with its ``bytes`` under the table protocol's byte model
(:mod:`replicalab.antientropy.wire`)::

    tree   = 16 (header) + 32 (root) + sum over its keys of (8 + len(key) + 32 (the leaf's SHA-256))
    items  = 16 + sum over items of (8 + len(key) + len(canonical JSON of the versions))
             + sum over wanted keys of (4 + len(key))

A node's *identity* names its dots: after a crash that lost its state it restarts empty
under a new identity (``n1~2``), so a dot is never reused. The trace gets
``Stored`` (kind ``QuorumStored``), ``HintStored``, ``HandedOff``, ``ReadRepaired`` and
``QuorumSynced`` records, from which the ledger and pictures read what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from replicalab import _validate
from replicalab.antientropy.wire import HASH_BYTES, HEADER_BYTES, LENGTH_BYTES
from replicalab.dots import CausalContext, Dot
from replicalab.errors import ConfigError
from replicalab.merkle import MerkleTree
from replicalab.quorum.config import QuorumConfig
from replicalab.quorum.messages import (
    Fetch,
    Fetched,
    Get,
    HandedOff,
    Handoff,
    Put,
    Repair,
    Store,
    Stored,
    SyncItems,
    SyncTree,
    made_fetch,
    made_fetched,
    made_get_done,
    made_put_done,
    made_store,
    made_stored,
)
from replicalab.quorum.ring import HashRing, sloppy_targets, stand_ins
from replicalab.quorum.versions import (
    DottedVersion,
    Versions,
    context_of,
    digest_of,
    join,
    join_pair,
    same_dots,
)
from replicalab.replica.base import Context, Replica, Response
from replicalab.trace import canonical_json

__all__ = ["NOT_REACHED", "DynamoNode"]

#: The error a client gets when too few replicas answered in time.
NOT_REACHED = "QuorumNotReached"

#: A version's value, read in C (a generator was a Python frame per read).
_value_of = attrgetter("value")

_HANDOFF = ("handoff",)
_SYNC = ("anti-entropy",)


class _Pending:
    """One operation this node coordinates (a plain slotted class: one is made per operation,
    by :func:`_pending`)."""

    __slots__ = ("kind", "client", "key", "asked", "hints", "version", "acks", "replies", "merged",
                 "answered", "retried", "timer")

    kind: str  # "put" | "get"
    client: str
    key: str
    asked: list[str]  # every node asked, in order
    hints: dict[str, str | None]  # node -> the home it stands in for
    version: DottedVersion | None
    acks: list[str]
    replies: dict[str, Versions]
    #: A get's replies joined in the order they came, once it answered (None before):
    #: each later reply joins into it, so read repair need not join them all again.
    merged: Versions | None
    answered: bool
    retried: bool
    timer: int  # the id of its time-out timer


def _pending(kind: str, client: str, key: str, asked: list[str], hints: dict[str, str | None],
             version: DottedVersion | None = None) -> _Pending:
    # Not a __init__: calling a class with a Python __init__ takes CPython 3.11's slow path
    # (replicalab._built says why); an instance made in C and slot stores cost a third of it.
    p = _Pending()  # no __init__: object's own, in C
    p.kind = kind
    p.client = client
    p.key = key
    p.asked = asked
    p.hints = hints
    p.version = version
    p.acks = []
    p.replies = {}
    p.merged = None
    p.answered = False
    p.retried = False
    p.timer = 0
    return p


def _item(key: str, value: bytes) -> int:
    return 2 * LENGTH_BYTES + len(key.encode("utf-8", "surrogatepass")) + len(value)


def tree_bytes(tree: MerkleTree) -> int:
    """Wire bytes of a :class:`SyncTree` (see the module docs): the root and every leaf."""
    return HEADER_BYTES + HASH_BYTES + sum(_item(k, tree.digest_of(k) or b"") for k in tree.keys())


def items_bytes(message: SyncItems) -> int:
    """Wire bytes of a :class:`SyncItems` (see the module docs): each key's versions as
    canonical JSON, and each wanted key."""
    return (HEADER_BYTES + sum(_item(k, canonical_json([v.trace_fields() for v in vs]).encode())
                               for k, vs in message.items)
            + sum(LENGTH_BYTES + len(k.encode("utf-8", "surrogatepass")) for k in message.want))


# Does the runtime keep a trace? ``getattr(ctx, "traced", True)``: without one, a log record's
# data is built for nobody (a runtime that does not say is assumed to keep one). Asked inline
# (a C call), not through a helper function: about three times per client operation.


class DynamoNode(Replica):
    """One node of a leaderless cluster. See the module docs for the protocol.

    ``ring`` is shared by every node (it is a value); ``config`` holds N, R, W and the rest.
    """

    def __init__(self, replica_id: str, ring: HashRing, config: QuorumConfig,
                 identity: str | None = None) -> None:
        super().__init__(replica_id)
        if not isinstance(ring, HashRing) or replica_id not in ring.nodes:
            raise ConfigError(f"node {_validate.shown(replica_id)} needs a HashRing that includes it")
        if identity is not None:
            _validate.replica_id(identity, "node identity")
        if not isinstance(config, QuorumConfig):
            raise ConfigError(f"config must be a QuorumConfig, got {type(config).__name__}")
        if config.n > len(ring.nodes):
            raise ConfigError(f"n={config.n} replicas per key need at least {config.n} nodes, "
                              f"the ring has {len(ring.nodes)}")
        self.ring = ring
        self.config = config
        self.identity = identity or replica_id
        self.store: dict[str, Versions] = {}
        self.hints: dict[str, dict[str, Versions]] = {}
        self.counter = 0
        self._pending: dict[str, _Pending] = {}
        self._suspected: dict[str, int] = {}  # node -> suspected until (ms)
        self._handoff_armed = False
        self._sync_turn = 0
        #: key -> (its home nodes, each with no hint): a key's targets while nobody is suspected.
        self._homes: dict[str, tuple[list[str], dict[str, str | None]]] = {}

    def recover(self, identity: str) -> DynamoNode:
        """Restart after losing everything: empty, under a new identity (dots never reused)."""
        return DynamoNode(self.id, self.ring, self.config, identity)

    # -- lifecycle -----------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        # Operations this node was coordinating died with it: their timers are gone and
        # their clients never hear back (a client-side timeout, outside the cluster).
        self._pending.clear()
        self._handoff_armed = False
        if self.hints:
            self._arm_handoff(ctx)
        if self.config.anti_entropy is not None:
            ctx.set_timer(self.config.anti_entropy, _SYNC)

    # -- messages ------------------------------------------------------------------
    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        if self._suspected:
            self._suspected.pop(src, None)  # it answered: it is up
        kind = type(msg)
        if kind is Store:
            if msg.hint is None and not getattr(ctx, "traced", True):
                # _keep's usual case, inline: a home node's copy, nothing to log (one a Store)
                store, key = self.store, msg.key
                before = store.get(key)
                store[key] = join_pair(before, msg.versions) if before else msg.versions
            else:
                self._keep(ctx, msg.key, msg.versions, msg.hint, msg.op)
            ctx.send(src, made_stored(msg.op))
        elif kind is Stored:
            self._on_stored(ctx, src, msg.op)
        elif kind is Fetch:
            key = msg.key
            held = self._held(key) if self.hints else self.store.get(key, ())  # _held, usually
            ctx.send(src, made_fetched(msg.op, held), scope=key)
        elif kind is Fetched:
            self._on_fetched(ctx, src, msg.op, msg.versions)
        elif kind is Put:
            self._put(ctx, src, msg)
        elif kind is Get:
            self._get(ctx, src, msg)
        elif kind is Repair:
            self._keep(ctx, msg.key, msg.versions, None, "")
        elif kind is Handoff:
            taken = []
            for key, versions in msg.items:
                self._keep(ctx, key, versions, None, "")
                taken.append((key, tuple(str(v.dot) for v in versions)))
            ctx.send(src, HandedOff(tuple(taken)))
        elif kind is HandedOff:
            self._handed_off(ctx, src, msg)
        elif kind is SyncTree:
            self._on_sync_tree(ctx, src, msg.tree)
        elif kind is SyncItems:
            self._on_sync_items(ctx, src, msg)
        else:
            raise ConfigError(f"{self.id} got a message it does not understand: {type(msg).__name__}")

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if type(timer) is tuple and len(timer) == 2 and timer[0] == "timeout":  # one per operation
            self._timed_out(ctx, timer[1])
        elif timer == _HANDOFF:
            self._handoff_armed = False
            self._send_hints(ctx)
        elif timer == _SYNC:
            self._start_sync(ctx)
            ctx.set_timer(self.config.anti_entropy or 1, _SYNC)
        else:
            raise ConfigError(f"{self.id} got a timer it never set: {_validate.shown(timer)}")

    # -- storage -------------------------------------------------------------------
    def _held(self, key: str) -> Versions:
        """Everything this node holds for ``key``: its own copy and any hints for it."""
        own = self.store.get(key, ())
        if not self.hints:
            return own
        return join((own, *(keys[key] for keys in self.hints.values() if key in keys)))

    def _keep(self, ctx: Context, key: str, versions: Versions, hint: str | None, op: str) -> None:
        if hint is None or hint == self.id:
            before = self.store.get(key)
            self.store[key] = join_pair(before, versions) if before else versions
            if getattr(ctx, "traced", True):
                # The dots that arrived (not the merged set): which node ever held which write.
                ctx.log("QuorumStored", key=key, op=op, dots=[str(v.dot) for v in versions])
            return
        keys = self.hints.setdefault(hint, {})
        keys[key] = join_pair(keys.get(key, ()), versions)
        if getattr(ctx, "traced", True):
            ctx.log("HintStored", key=key, op=op, home=hint, dots=[str(v.dot) for v in versions])
        self._arm_handoff(ctx)

    def _arm_handoff(self, ctx: Context) -> None:
        if not self._handoff_armed:
            self._handoff_armed = True
            ctx.set_timer(self.config.handoff_period, _HANDOFF)

    def _send_hints(self, ctx: Context) -> None:
        for home in sorted(self.hints):
            items = tuple(sorted(self.hints[home].items()))
            ctx.send(home, Handoff(home, items), scopes=[k for k, _ in items])
        if self.hints:
            self._arm_handoff(ctx)

    def _handed_off(self, ctx: Context, home: str, msg: HandedOff) -> None:
        keys = self.hints.get(home)
        if keys is None:
            return
        for key, dots in msg.items:
            left = tuple(v for v in keys.get(key, ()) if str(v.dot) not in dots)
            if left:
                keys[key] = left
            else:
                keys.pop(key, None)
            ctx.log("HandedOff", key=key, home=home, dots=list(dots))
        if not keys:
            del self.hints[home]

    # -- coordination --------------------------------------------------------------
    def _targets(self, ctx: Context, key: str) -> tuple[list[str], dict[str, str | None]]:
        """Who to ask for ``key``, and for each stand-in the home node it replaces."""
        if not self.config.sloppy or not self._suspected:
            return self._home_targets(key)
        now = ctx.now
        for node, until in list(self._suspected.items()):
            if until <= now:
                del self._suspected[node]
        return sloppy_targets(self.ring, key, self.config.n, self._suspected)

    def _home_targets(self, key: str) -> tuple[list[str], dict[str, str | None]]:
        """``key``'s home nodes, each with no hint: made once per key and shared (a ring never
        changes), so never changed in place (_timed_out copies them before a retry adds to them)."""
        found = self._homes.get(key)
        if found is None:
            home = list(self.ring.walk(key)[:self.config.n])
            found = (home, dict.fromkeys(home))
            if len(self._homes) < 65536:  # bounded, as the ring's own cache of walks
                self._homes[key] = found
        return found

    def _put(self, ctx: Context, client: str, req: Put) -> None:
        context = req.context
        if type(context) is not CausalContext:  # the one field of a client's write not built here
            raise ConfigError(f"a Put's context is a CausalContext, got {_validate.shown(context)}")
        self.counter += 1
        # identity was checked when the node was made; counter counts from 1
        version = DottedVersion._made(req.value, Dot._made(self.identity, self.counter), context, req.op)
        targets, hints = self._targets(ctx, req.key)
        pending = _pending("put", client, req.key, targets, hints, version)
        if getattr(ctx, "traced", True):
            ctx.log("QuorumPut", key=req.key, op=req.op, dot=str(version.dot), targets=list(targets),
                    hints={k: v for k, v in hints.items() if v is not None})
        self._pending[req.op] = pending
        pending.timer = ctx.set_timer(self.config.timeout, ("timeout", req.op))
        self._send_puts(ctx, req.op, pending, targets)

    def _send_puts(self, ctx: Context, op: str, pending: _Pending, targets: Sequence[str]) -> None:
        assert pending.version is not None
        versions = (pending.version,)
        key, hints = pending.key, pending.hints
        home: Store | None = None  # one message to every home node: a value, sent as often as needed
        for node in targets:
            hint = hints[node]
            if node == self.id:
                self._keep(ctx, key, versions, hint, op)
                self._on_stored(ctx, node, op)
            elif hint is None:
                if home is None:
                    home = made_store(op, key, versions, None)
                ctx.send(node, home, scope=key)
            else:
                ctx.send(node, made_store(op, key, versions, hint), scope=key)

    def _on_stored(self, ctx: Context, node: str, op: str) -> None:
        pending = self._pending.get(op)
        if pending is None or node in pending.acks:
            return
        pending.acks.append(node)
        if not pending.answered and len(pending.acks) >= self.config.w:
            pending.answered = True
            assert pending.version is not None
            dot = str(pending.version.dot)
            ctx.reply(pending.client, made_put_done(op, dot, tuple(pending.acks)))
            if getattr(ctx, "traced", True):
                ctx.log("QuorumWrote", key=pending.key, op=op, dot=dot, acks=list(pending.acks))
        if len(pending.acks) == len(pending.asked):
            del self._pending[op]
            if not getattr(ctx, "traced", True):  # see _finish_get
                ctx.cancel_timer(pending.timer)

    def _get(self, ctx: Context, client: str, req: Get) -> None:
        targets, hints = self._targets(ctx, req.key)
        pending = _pending("get", client, req.key, targets, hints)
        self._pending[req.op] = pending
        pending.timer = ctx.set_timer(self.config.timeout, ("timeout", req.op))
        self._send_gets(ctx, req.op, pending, targets)

    def _send_gets(self, ctx: Context, op: str, pending: _Pending, targets: Sequence[str]) -> None:
        key = pending.key
        fetch: Fetch | None = None  # one message to every node asked: a value
        for node in targets:
            if node == self.id:
                self._on_fetched(ctx, node, op, self._held(key))
            else:
                if fetch is None:
                    fetch = made_fetch(op, key)
                ctx.send(node, fetch, scope=key)

    def _on_fetched(self, ctx: Context, node: str, op: str, versions: Versions) -> None:
        pending = self._pending.get(op)
        if pending is None or node in pending.replies:
            return
        pending.replies[node] = versions
        if pending.merged is not None:
            # join folds its sides left to right, so joining each later reply into the merge
            # is the very join of every reply in order (the same versions, the same tuple).
            pending.merged = join_pair(pending.merged, versions)
        elif not pending.answered and len(pending.replies) >= self.config.r:
            pending.answered = True
            merged = pending.merged = join(tuple(pending.replies.values()))
            ctx.reply(pending.client, made_get_done(op, tuple(map(_value_of, merged)),
                                                    context_of(merged), merged,
                                                    tuple(pending.replies)))
        if len(pending.replies) == len(pending.asked):
            self._finish_get(ctx, op, pending)

    def _finish_get(self, ctx: Context, op: str, pending: _Pending) -> None:
        """All asked nodes answered, or time is up: read repair, then forget the operation."""
        del self._pending[op]
        if not getattr(ctx, "traced", True):
            # Every asked node answered (or this is the time-out, firing: cancelling it does
            # nothing), so the time-out could only find the operation gone. A traced
            # run keeps it (the trace shows every operation's time-out firing); without a trace
            # it is cancelled, and the simulator drops it from its timer lane unseen.
            # tests/test_quorum_lean.py runs faulty clusters both ways and demands the same run.
            ctx.cancel_timer(pending.timer)
        if not self.config.read_repair or len(pending.replies) < 2:
            return
        merged = pending.merged
        if merged is None:  # it timed out before R replied: nothing was joined yet
            merged = join(tuple(pending.replies.values()))
        home = self._home_targets(pending.key)[1]
        for node, versions in pending.replies.items():
            # Both are joins (sorted by dot, one version per dot): same dots, same tuple of
            # keys. The common case, a reply that is the merge itself, costs one identity check.
            if versions is not merged and node in home and not same_dots(versions, merged):
                ctx.log("ReadRepaired", key=pending.key, op=op, node=node,
                        dots=[str(v.dot) for v in merged])
                if node == self.id:
                    self._keep(ctx, pending.key, merged, None, "")
                else:
                    ctx.send(node, Repair(pending.key, merged), scope=pending.key)

    def _timed_out(self, ctx: Context, op: str) -> None:
        pending = self._pending.get(op)
        if pending is None:
            return
        answered = pending.acks if pending.kind == "put" else list(pending.replies)
        silent = [node for node in pending.asked if node not in answered]
        need = self.config.w if pending.kind == "put" else self.config.r
        if self.config.sloppy and not pending.retried and not pending.answered:
            pending.retried = True
            # asked and hints may be the key's shared home targets (_targets): copy, then add.
            pending.asked, pending.hints = list(pending.asked), dict(pending.hints)
            for node in silent:
                self._suspected[node] = ctx.now + self.config.suspect_for
            extra = stand_ins(self.ring, pending.key, pending.asked, self._suspected, silent,
                              pending.hints)
            pending.asked.extend(extra)
            if extra:
                pending.timer = ctx.set_timer(self.config.timeout, ("timeout", op))
                if pending.kind == "put":
                    self._send_puts(ctx, op, pending, extra)
                else:
                    self._send_gets(ctx, op, pending, extra)
                return
        if not pending.answered:
            pending.answered = True
            what = "stored the write" if pending.kind == "put" else "answered"
            ctx.reply(pending.client, Response(op, ok=False, error=NOT_REACHED, message=(
                f"only {len(answered)} of the {need} replicas needed {what} within "
                f"{self.config.timeout} ms (asked {', '.join(pending.asked)})")))
        if pending.kind == "get":
            self._finish_get(ctx, op, pending)
        else:
            del self._pending[op]

    # -- anti-entropy --------------------------------------------------------------
    def _shared_keys(self, peer: str) -> list[str]:
        n = self.config.n
        return sorted(k for k in self.store if peer in self.ring.walk(k)[:n])

    def _tree(self, peer: str, keys: list[str] | None = None) -> MerkleTree:
        keys = self._shared_keys(peer) if keys is None else keys
        return MerkleTree.build({k: digest_of(self.store[k]) for k in keys if k in self.store})

    def _start_sync(self, ctx: Context) -> None:
        peers = [p for p in self.ring.nodes if p != self.id]
        if not peers:
            return
        peer = peers[self._sync_turn % len(peers)]
        self._sync_turn += 1
        tree = self._tree(peer)
        if getattr(ctx, "traced", True):
            ctx.log("QuorumSyncSent", peer=peer, flight="tree", keys=len(tree), bytes=tree_bytes(tree))
        ctx.send(peer, SyncTree(tree))

    def _on_sync_tree(self, ctx: Context, src: str, theirs: MerkleTree) -> None:
        # Keys they hold for both of us plus keys we hold for both: compare the two trees.
        mine = self._tree(src)
        differ = mine.diff(theirs)
        n = self.config.n
        differ = [k for k in differ if src in self.ring.walk(k)[:n] and self.id in self.ring.walk(k)[:n]]
        ctx.log("QuorumSynced", peer=src, differ=differ)
        if not differ:
            return
        items = tuple((k, self.store[k]) for k in differ if k in self.store)
        message = SyncItems(items, want=tuple(differ))
        if getattr(ctx, "traced", True):
            ctx.log("QuorumSyncSent", peer=src, flight="items", keys=len(items), bytes=items_bytes(message))
        ctx.send(src, message, scopes=[k for k, _ in items])

    def _on_sync_items(self, ctx: Context, src: str, msg: SyncItems) -> None:
        for key, versions in msg.items:
            self._keep(ctx, key, versions, None, "")
        if msg.want:
            items = tuple((k, self.store[k]) for k in msg.want if k in self.store)
            if items:
                message = SyncItems(items)
                if getattr(ctx, "traced", True):
                    ctx.log("QuorumSyncSent", peer=src, flight="reply", keys=len(items),
                            bytes=items_bytes(message))
                ctx.send(src, message, scopes=[k for k, _ in items])

