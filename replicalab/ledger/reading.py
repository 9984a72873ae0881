"""Reading a finished simulation into the ledger: ground truth, replies, trace and final states.

:func:`from_simulation` gathers what :func:`~replicalab.ledger.judge` needs from a
:class:`~replicalab.sim.simulation.Simulation` of table replicas and judges it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from replicalab.clocks import VectorClock
from replicalab.items import INITIAL_WRITE, Stamp
from replicalab.ledger.records import Ledger, LossEvent, WriteRecord
from replicalab.ledger.rules import judge
from replicalab.policies import Loss, MergePolicy

__all__ = ["from_simulation", "write_records"]


class _Part:
    """A transaction part read as if it were its own ClientRequested record."""

    def __init__(self, event: Any, part: Mapping[str, Any]) -> None:
        self._event, self._part = event, part

    def get(self, name: str, default: Any = None) -> Any:
        if name == "request":
            return self._part
        if name == "op":
            return self._part["op"]
        return self._event.get(name, default)


def attrs_event(event: Any, part: Mapping[str, Any]) -> _Part:
    """The ClientRequested record of one part of a transaction."""
    return _Part(event, part)


def from_simulation(sim: Any, reports: Mapping[str, str] | None = None,
                    abandoned: Iterable[WriteRecord] = ()) -> Ledger:
    """Build the ledger of a finished simulation of table replicas.

    Reads the simulator's ground truth (``sim.writes``, ``sim.knowledge``), the
    replies, the requests that never reached a region, the trace's
    ``Wrote``/``Merged`` loss records and ``ConflictReported`` events, and every
    live replica's final ``items``. ``reports`` adds conflicts surfaced outside
    the trace (e.g. by the reconciliation scan): write id -> how. ``abandoned``
    adds writes a client gave up before sending (rejected records).
    """
    trace = sim.trace
    if trace is None:
        raise ValueError("the ledger needs a trace; build the Simulation with trace=True")
    records = write_records(sim, abandoned)
    losses = [
        LossEvent(e.time, e.replica, Loss(x["write"], x["attribute"], x["by"], x["rule"],
                                          carried=x.get("carried") is True))
        for e in trace.of_kind("Wrote", "Merged")
        for x in e.get("losses", ())
        if x["write"] != INITIAL_WRITE
    ]
    reports = dict(reports or {})
    for e in trace.of_kind("ConflictReported"):
        for write in e.get("writes", ()):
            reports.setdefault(write, e.get("reason", "conflict reported"))
    down = set(getattr(sim, "down", ()))
    live = [rid for rid in sim.replicas if rid not in down]
    final = {rid: dict(getattr(sim.replicas[rid], "items", {})) for rid in live}
    durable = {e.replica: e.get("durable") for e in trace.of_kind("Crashed")}
    dormant = {rid: dict(getattr(sim.replicas[rid], "items", {})) for rid in sorted(down)
               if durable.get(rid)}
    keys = sorted({r.key for r in records}, key=str)
    # The disks of replicas down at the end are judged like live tables (rules.judge).
    reached = {rid: {k: sim.knowledge(rid, k) for k in keys} for rid in [*live, *dormant]}
    absent = {}
    crashes = [e for e in trace.of_kind("Crashed") if not e.get("durable")]
    held = _held_by(trace) if crashes else {}
    for record in records:
        crash = next((c for c in crashes if c.replica == record.replica and c.time >= record.time),
                     None)
        if crash is None:
            continue
        # Where else it was held, and whether each of those lost it with its state too: "before
        # replicating it" is only true if nothing else ever held it.
        others = {rid: t for rid, t in sorted(held.get(record.id, {}).items())
                  if rid != record.replica}
        wiped = {rid: next((c.time for c in crashes if c.replica == rid and c.time >= t), None)
                 for rid, t in others.items()}
        if any(t is None for t in wiped.values()):
            continue  # a replica kept it past its last crash: the final state says what happened
        hinted = _hinted(sim, down, durable, record.key, record.id)
        lost = (f"lost with {record.replica}'s state when it crashed at t={crash.time} "
                "(durable=False) ")
        if wiped:
            lost += ("and with the state of every other replica that held it, each crashed "
                     "without its state (" + ", ".join(
                         f"{rid} at t={t}" for rid, t in sorted(wiped.items(), key=lambda kv: (kv[1], kv[0])))
                     + ")" + (f"; it is left only as {hinted}, which never took it" if hinted else ""))
        elif hinted:
            lost += f"after replicating it only as {hinted}, which never took it"
        else:
            lost += "before replicating it"
        absent[record.id] = lost
    homes = None
    if any(hasattr(r, "owns") for r in sim.replicas.values()):  # leaderless regions: home nodes
        homes = {k: {rid for rid, r in sim.replicas.items() if not hasattr(r, "owns") or r.owns(k)}
                 for k in keys if isinstance(k, str)}
    return judge(records, final, losses, reports, absent, reached, dormant, homes,
                 _forgot(trace, crashes) if crashes else None, _policy(sim))


def _policy(sim: Any) -> MergePolicy | None:
    """The table's merge policy, to rank a removal against a holder no merge ranked
    (:func:`~replicalab.ledger.rules.judge`): a table replica's own, or the state machine's of
    a node inside a region (:class:`~replicalab.quorum.region.RegionNode`); None if no replica
    has one."""
    for replica in sim.replicas.values():
        for holder in (replica, getattr(replica, "machine", None)):
            policy = getattr(holder, "policy", None)
            if isinstance(policy, MergePolicy):
                return policy
    return None


def _forgot(trace: Any, crashes: list[Any]) -> dict[str, dict[str, int]]:
    """``{replica: {write id: crash time}}``: the writes a replica held (wrote, or merged in)
    before it crashed without its state, with the time of the last such crash. Ground truth
    forgets them with the disk (the restarted replica is a new incarnation), so a write it
    lacks at the end may have *reached* it once: the ledger says so instead of "before it
    reached"."""
    held: dict[tuple[str, str], int] = {}  # (replica, write) -> the first time it held it
    for e in trace.of_kind("Wrote"):
        held.setdefault((e.replica, e.get("write")), e.time)
    for e in trace.of_kind("Merged"):
        for write in _writes_in(e):
            held.setdefault((e.replica, write), e.time)
    out: dict[str, dict[str, int]] = {}
    for (replica, write), first in sorted(held.items()):
        last = max((c.time for c in crashes if c.replica == replica and c.time >= first), default=None)
        if last is not None:
            out.setdefault(replica, {})[write] = last
    return out


def _writes_in(event: Any) -> set[str]:
    """The writes whose cells a ``Merged`` event shows in the replica's item."""
    writes = {event.get("write")}
    for version in event.get("item") or ():
        writes.add(version.get("write"))
        writes.update(cell[1] for cell in (version.get("cells") or {}).values()
                      if isinstance(cell, (list, tuple)) and len(cell) > 1)
    return {w for w in writes if isinstance(w, str) and w}


def _held_by(trace: Any) -> dict[str, dict[str, int]]:
    """``{write id: {replica: the last time}}`` a ``Merged`` event shows the write's cells in
    the replica's item (a replication, a read repair, a catch-up: whatever brought it).
    Keyed by write first, so each crashed write looks up its own holders instead of scanning
    every (replica, write) pair of the run."""
    out: dict[str, dict[str, int]] = {}
    for e in trace.of_kind("Merged"):
        for write in _writes_in(e):
            out.setdefault(write, {})[e.replica] = e.time
    return out


def _hinted(sim: Any, down: set[str], durable: Mapping[str, Any], key: Any, write: str) -> str:
    """Where a leaderless stand-in still keeps ``write`` as a hint for its home node ("a hint
    at eu-west-1a for eu-west-1b"), '' if none does: such a write was replicated, yet its
    effect is in no table (the home node never took it)."""
    kept = [f"a hint at {rid} for {home}" for rid, node in sorted(sim.replicas.items())
            if rid not in down or durable.get(rid)
            for home, items in sorted(getattr(node, "hints", {}).items())
            if (key, write) in items]
    return ", ".join(kept)


def write_records(sim: Any, abandoned: Iterable[WriteRecord] = ()) -> list[WriteRecord]:
    """Every client write of a finished simulation as the ledger sees it, in time order: what it
    set, its ground-truth dot and past, whether its client got an acknowledgement."""
    trace = sim.trace
    replies = {r.response.op: r.response for r in sim.replies}
    wrote = {e.get("write"): e for e in trace.of_kind("Wrote")}
    # A write some region applied (wrote, or accepted as an MRSC commit) took effect even if
    # its client got an error; only one applied nowhere was refused.
    applied = set(wrote) | {e.get("write") for e in trace.of_kind("Merged")}
    requested = {e.get("op"): e for e in trace.of_kind("ClientRequested")}
    # The parts of a transaction are writes of their own, answered by the transaction's reply.
    parent: dict[str, str] = {}
    for op, e in list(requested.items()):
        for part in (e.get("request") or {}).get("parts", ()):
            parent[part["op"]] = op
            requested.setdefault(part["op"], attrs_event(e, part))
    records = []
    facts = sim.writes  # a copy per access: read it once, not once per failed request
    for op, fact in facts.items():
        reply = replies.get(op, replies.get(parent.get(op, op)))
        event = wrote.get(op)
        if event is not None:
            attributes = event.get("attributes")
            s = event.get("stamp")
            stamp = Stamp(s["wall"], s["replica"], s["seq"], s.get("logical", 0))
        else:
            attributes = requested[op].get("request", {}).get("attributes", {})
            stamp = None
        acknowledged = reply is not None and reply.ok
        error = None
        if reply is None:
            error = "no reply reached the client"
        elif not reply.ok:
            error = f"{reply.error}: {reply.message}" if reply.message else str(reply.error)
        added = tuple(sorted(event.get("added", {}))) if event is not None else ()
        elements = {n: (tuple(x["add"]), tuple(x["delete"]))
                    for n, x in (event.get("elements") or {}).items()} if event is not None else {}
        bookkeeping = tuple(event.get("bookkeeping") or ()) if event is not None else ()
        removed = tuple(event.get("removed") or ()) if event is not None else ()
        replaces = bool(event.get("replace")) if event is not None else False
        parts = {a: tuple((kind, tuple(path), *(tuple(m) for m in members))
                          for kind, path, *members in ps)
                 for a, ps in (event.get("parts") or {}).items()} if event is not None else {}
        base = dict(event.get("base") or {}) if event is not None else {}
        records.append(WriteRecord(
            id=op, replica=fact.replica, key=fact.scope, time=fact.time, client=fact.client,
            attributes=attributes, dot=fact.dot, seen=fact.seen, acknowledged=acknowledged,
            error=error, stamp=stamp, added=added, elements=elements, bookkeeping=bookkeeping,
            applied=op in applied, removed=removed, replaces=replaces, parts=parts, base=base,
        ))
    for op, failed in sim.failed_requests.items():
        request = failed.request
        if not request.mutates or op in facts:
            continue
        records.append(WriteRecord(
            id=op, replica=failed.replica, key=request.scope, time=failed.time,
            client=failed.client, attributes=dict(getattr(request, "attributes", {})), dot=None,
            seen=VectorClock(), acknowledged=False,
            error=f"RegionUnreachable: {failed.reason}"))
    records.extend(abandoned)
    records.sort(key=lambda r: r.time)  # stable: same-time writes keep execution order
    return records
