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
(one per level, root included) and two of items. Every flight is one message. (An
adaptive session whose responder holds the larger store takes one flight more: see "Depth".)

**Byte model** (what :attr:`SessionStats.bytes_sent` counts): every message has a
16-byte header (kind, session, level, counts); the root hash is 32 bytes and a child hash
``c`` bytes (``child_hash_bytes``: 8 by default, 32 for full SHA-256); a node id is
``ceil(D * log2(b) / 8)`` bytes (enough to name any bucket, at least 1); an item is
``4 + len(key as UTF-8) + 4 + len(value)`` bytes (two length prefixes). With ``m_l``
nodes differing at level ``l`` (``m_0 = 1``), a session that reaches the buckets sends
exactly::

    bytes  = (D + 3) * 16  +  32  +  (c b + id) * (m_0 + ... + m_{D-1})  +  id * m_D
             + item bytes of both item flights
    hashes = 1 + b * (m_0 + ... + m_{D-1})

For ``d`` differing keys spread uniformly, ``E[m_l] = b**l * (1 - (1 - b**-l)**d)``.

**Short child hashes** (the default, ``child_hash_bytes=8``; ``32`` is full-hash mode).
Below the root, each hash in a ``ChildHashes`` flight is cut to ``c`` bytes: the node's
SHA-256 salted with the session id and truncated, ``SHA-256(session || 0x00 || h)[:c]``
(:func:`session_hash`); with ``c = 32`` it is the node's SHA-256 itself, unsalted. The
**root stays a full 32-byte SHA-256**, so "these two stores are equal" (the ``InSync``
answer to flight 0) is decided at full strength. At n = 1,000,000 keys, d = 1000, b = 16,
c = 8 cuts what names the differing keys from about 1.4 % of a full digest list (c = 32)
to about 0.4 % (benchmark B6).

*Why short hashes and not an IBLT.* Both get under 1 % of a digest list at d = 1000; short
hashes keep the protocol, its rounds (D + 3) and every message kind unchanged, keep the
byte model a closed form, and need no peeling decoder that can fail and retry. An IBLT
would save rounds, not bytes that matter here (B6 prints the comparison).

*What a collision costs.* Equal subtrees always compare equal, so the only error is two
*different* subtrees whose short hashes agree: probability ``2**-(8c)`` per comparison,
``2**-64`` at c = 8. A session compares ``b * (m_0 + ... + m_{D-1})`` child hashes, at most
``b * D * d`` (about 20,000 at n = 10**6, d = 1000, b = 16), so a session misses anything
with probability below ``20,000 * 2**-64``, about ``1e-15``. A miss is not a wrong state:
the keys below the colliding node are simply not repaired *this* session, everything else
is, and nothing is ever written that a full-hash session would not write (merging is still
per key, on the items themselves). The full roots still differ afterwards, so the next
session looks again; because the salt is the session id, its comparisons are independent
of the last one's, and it misses the same keys again with probability ``2**-64``. (Plain
truncation without the salt would repeat the collision in every session for as long as
both subtrees stayed unchanged: a permanent blind spot, which is why we salt.) Anti-entropy
is periodic background repair that already tolerates lost messages (a lost message stalls a
whole session, at rates many orders of magnitude above 1e-15), so a delay of one period
at that probability is acceptable. A parent that differed although all its children
agree on the wire is a collision seen: ``SessionStats.collisions`` counts it.

**Depth** (``adaptive=True``; :func:`sync` with ``depth=None``; a table region's default
``AntiEntropy(depth=None)``). The depth follows the key count: each side's tree has
``suggested_depth(n)`` levels for its own ``n`` keys (about one key per bucket), and a
session runs at ``D = suggested_depth(max(n_a, n_b))``, the larger store's. Peers agree
on it without a round of their own: the ``RootHash`` of flight 0 also carries its
sender's key count (in the header: no extra bytes). The responder now knows both counts.
If ``D`` is the initiator's depth, it rebuilds its own tree at ``D`` if needed (it is the
smaller store) and compares roots as usual. If the responder is the larger store, it
answers with its *own* ``RootHash`` at ``D`` and key count instead; the initiator, now
knowing both counts as well, rebuilds its tree at ``D`` and carries on as the responder
of a fixed-depth session. So a session takes D + 3 flights, one more (a 48-byte root)
when the responder is the larger, and the smaller side rebuilds its tree (O(its keys))
for the session. Why this rule: the depth is a function both sides compute from the same
two numbers, so no shape has to be configured alike on every replica; the larger store
decides because crowded buckets cost it the most; and ``suggested_depth`` changes only
where a count crosses a power of the fan-out, so replicas of one table almost always
agree already and rebuild nothing. Both sides must be adaptive (a fixed-depth peer is
refused with :class:`~replicalab.errors.ConfigError`), and a root whose depth does not
follow from the counts it carries is refused too.

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

from replicalab.antientropy.session import Merge, SessionStats, SyncReport, SyncSession, sync
from replicalab.antientropy.stamped import Stamped, live, lww_merge
from replicalab.antientropy.wire import (
    HASH_BYTES,
    HEADER_BYTES,
    LENGTH_BYTES,
    SHORT_HASH_BYTES,
    BucketItems,
    ChildHashes,
    InSync,
    MergedItems,
    Message,
    RootHash,
    digest_list_bytes,
    full_state_bytes,
    item_bytes,
    node_id_bytes,
    session_hash,
)

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
    "SHORT_HASH_BYTES",
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
    "session_hash",
    "sync",
]
