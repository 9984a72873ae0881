"""The client side of a run: the requests clients make, where they go, retries and reads.

:class:`ClientWrite` and :class:`ClientRead` are data (who, where, when, what);
:class:`Clients` turns them into requests on a simulation: routing (local,
key-home, a single primary), the versioned read-then-write with retries, and
strongly consistent reads judged for staleness against ground truth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from replicalab.clocks import VectorClock
from replicalab.ledger import WriteRecord
from replicalab.replica.table import GetItem, PutItem, UpdateItem
from replicalab.scenarios.options import Options
from replicalab.sim.simulation import Reply, Simulation

__all__ = ["ClientRead", "ClientWrite", "Clients", "home_of"]


@attrs.frozen
class ClientWrite:
    """``client`` in ``region`` updates ``key`` at simulated time ``at``.

    ``put=True`` makes it a PutItem that must create the item (append-only
    data). ``read_at`` is when a versioned client read the version it
    expects (default: at the write itself). ``add`` and ``delete`` are
    DynamoDB's ADD and DELETE actions (see :class:`~replicalab.replica.table.UpdateItem`):
    ``add={"used": 1}`` increments a number, ``add={"items": {"pen"}}`` and
    ``delete={"items": {"book"}}`` change a set.
    """

    at: int
    region: str
    op: str
    client: str
    key: str
    attributes: dict[str, Any]
    condition: dict[str, Any] | None = None
    read_at: int | None = None
    put: bool = False
    add: dict[str, Any] = attrs.field(factory=dict)
    delete: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ClientRead:
    """``client`` in ``region`` reads ``key`` at ``at`` (strongly consistent unless told otherwise)."""

    at: int
    region: str
    op: str
    client: str
    key: str
    consistent: bool = True


def home_of(key: str, regions: Sequence[str], homes: Mapping[str, str] | None = None) -> str:
    """The home region of ``key``: ``homes[key]`` if given, else a stable hash of the key.

    The hash is SHA-256 of the key modulo the sorted regions, so the same key
    has the same home in every process (never Python's ``hash()``).

        >>> home_of("sub_42", ["ap-southeast-2", "eu-west-1", "us-east-1"], {"sub_42": "eu-west-1"})
        'eu-west-1'
    """
    if homes and key in homes:
        return homes[key]
    ordered = sorted(regions)
    digest = hashlib.sha256(key.encode()).digest()
    return ordered[int.from_bytes(digest[:8], "big") % len(ordered)]


class Clients:
    """The client side of a run: where requests go, versioned read-then-write, retries."""

    def __init__(self, sim: Simulation, scenario: Any, opts: Options) -> None:
        self.sim = sim
        self.scenario = scenario
        self.opts = opts
        self.read_replies: dict[str, Reply] = {}
        #: Ground truth: the writes on the read's key that had reached the answering region.
        self.read_knowledge: dict[str, VectorClock] = {}
        #: Writes a versioned client gave up before sending: its read failed.
        self.abandoned: list[WriteRecord] = []
        #: Routes requests to AZ nodes when regions have several (set by the scenario).
        self.router: Any = None

    def target(self, key: str, region: str, writing: bool) -> str:
        """The region a request for ``key`` from a client in ``region`` goes to."""
        if writing and self.opts.mode == "single-primary":
            return self.opts.primary  # type: ignore[return-value]
        if writing and self.opts.routing == "key-home":
            return home_of(key, self.scenario.regions, self.opts.homes)
        return region

    def write(self, w: ClientWrite) -> None:
        target = self.target(w.key, w.region, writing=True)
        if self.opts.writes == "versioned" and not w.put:
            self._versioned(w, target, attempt=1, at=w.read_at if w.read_at is not None else w.at)
            return
        if w.put:
            request: Any = PutItem(w.op, w.key, w.attributes, w.condition)
        else:
            request = UpdateItem(w.op, w.key, w.attributes, w.condition, add=w.add,
                                 delete=w.delete)
        self.send(w.at, target, w.key, request, w.client, w.region)

    def _versioned(self, w: ClientWrite, target: str, attempt: int, at: int) -> None:
        suffix = "" if attempt == 1 else f".retry{attempt - 1}"
        read_op, write_op = f"{w.op}{suffix}.read", f"{w.op}{suffix}"

        def after_read(sim: Simulation, reply: Reply) -> None:
            if not reply.response.ok:  # the read never got an answer: the write is not sent
                self.abandoned.append(WriteRecord(
                    id=write_op, replica=target, key=w.key, time=sim.now, client=w.client,
                    attributes=dict(w.attributes), dot=None, seen=VectorClock(),
                    acknowledged=False, error=(f"not sent: the versioned read {read_op} failed "
                                               f"({reply.response.error}: "
                                               f"{reply.response.message})")))
                return
            item = reply.response.item  # type: ignore[attr-defined]
            versions = [v.get("version") for v in (item if isinstance(item, list) else [item]) if v]
            known = [v for v in versions if type(v) is int]
            if item is None:
                request = UpdateItem(write_op, w.key, w.attributes, create_if_absent=True,
                                     add=w.add, delete=w.delete)
            elif not known:  # an item without a version attribute yet: start it at 1
                request = UpdateItem(write_op, w.key, {**w.attributes, "version": 1},
                                     condition={"version": None}, add=w.add, delete=w.delete,
                                     versioned=True)
            else:
                request = UpdateItem(write_op, w.key, w.attributes, expect_version=max(known),
                                     add=w.add, delete=w.delete)
            self.send(max(sim.now, w.at), target, w.key, request, w.client, w.region, after_write)

        def after_write(sim: Simulation, reply: Reply) -> None:
            if reply.response.error == "ConditionalCheckFailed" and attempt <= self.opts.retries:
                self._versioned(w, target, attempt + 1, sim.now)

        self.send(at, target, w.key, GetItem(read_op, w.key), w.client, w.region, after_read)

    def read(self, r: ClientRead) -> None:
        def keep(sim: Simulation, reply: Reply) -> None:
            self.read_replies[r.op] = reply
            # The region has answered; a global read's answer includes what the regions it
            # asked knew, and their replies carried that knowledge here.
            self.read_knowledge[r.op] = sim.knowledge(r.region if self.router is None else reply.replica,
                                                      r.key)

        self.send(r.at, r.region, r.key, GetItem(r.op, r.key, consistent=r.consistent), r.client,
                   r.region, keep)

    def send(self, at: int, target: str, key: Any, request: Any, client: str, via: str,
              on_reply: Any = None) -> None:
        """Send a client's request to region ``target``: to the region's replica, or — when regions
        have AZ nodes — to the node the :class:`~replicalab.scenarios.regions.Router` picks."""
        if self.router is None:
            self.sim.client_request(at, target, request, client=client, via=via, on_reply=on_reply)
        else:
            self.router.send(at, target, key, request, client=client, via=via, on_reply=on_reply)

    def stale_reads(self) -> tuple[str, ...]:
        """Strong reads that missed a write acknowledged before they began.

        A read is stale if some write on its key was acknowledged to its client
        before the read was sent, yet had not reached the answering region when
        it answered (ground truth: no message carrying its effect had arrived).
        A write that arrived and then lost a merge is not staleness but loss;
        the ledger reports it. A transaction is acknowledged with all its parts. A
        read answered at once (its own region) is ordered against the acknowledgements
        of its millisecond by when each reached its client; one that waited for a round
        trip counts every acknowledgement of the millisecond it was sent in as before it.
        """
        facts = self.sim.writes
        replies = self.sim.replies
        # A transaction's reply names the transaction (t1); its writes are its parts (t1.1, ...).
        parts: dict[str, list[str]] = {}
        for op in facts:
            parts.setdefault(op.rpartition(".")[0] or op, []).append(op)
        reads = {r.op for r in self.scenario.reads}
        acked: dict[str, tuple[int, int]] = {}  # write -> (time, place in the replies) of its ack
        for place, r in enumerate(replies):
            op = r.response.op
            if r.response.ok and op not in reads:
                for write in [op] if op in facts else parts.get(op, []):
                    acked.setdefault(write, (r.time, place))
        received = {id(r): place for place, r in enumerate(replies)}
        stale = []
        for read in self.scenario.reads:
            reply = self.read_replies.get(read.op)
            # A read that failed told its client nothing about the item: it cannot be stale.
            if reply is None or not read.consistent or not reply.response.ok:
                continue
            known = self.read_knowledge[read.op]
            # A read answered at once was sent where its reply was received: an ack received
            # after that, in the same millisecond, came after the read began.
            began = received.get(id(reply)) if reply.time == reply.issued else None
            for op, (when, place) in sorted(acked.items()):
                fact = facts[op]
                if fact.scope != read.key or when > reply.issued or (
                        when == reply.issued and began is not None and place > began):
                    continue
                if fact.dot.counter > known.get(fact.dot.replica):
                    stale.append(read.op)
                    break
        return tuple(stale)
