"""The write ledger: for every client write, did it survive — and if not, where and why?

Every client write gets exactly one verdict:

``kept``
    its effect (every attribute it set, with its value) is in the final state
    of every replica, as the value or in one of the siblings;
``superseded``
    its effect is gone, but only because of writes that had *seen* it
    (ordinary overwrites);
``silently-lost``
    its effect is gone because of a write that had not seen it (concurrent
    with it, or older and winning anyway), and nobody was told;
``detected``
    gone or contested, but the system surfaced it (a conflict report naming
    the write, a version fork flagged by a scan);
``rejected``
    the replica refused it with an error; the client knows.

A write's *effect* is every attribute it set, with its value. Two kinds of
write are judged by value instead, because their whole point is to combine
with others: a counter ``ADD`` is in effect while its replica's contribution
still counts it, and a set ``ADD``/``DELETE`` while its added elements are in
the set and its deleted elements are not (in at least one sibling). So a
deleted element that comes back — through an item that still held it, or a
concurrent add that wins — counts against the delete.

Verdicts come from two things no merge policy controls: the *provenance*
carried by every attribute value (which write set it) and the simulator's
ground-truth causality (which writes had reached the writer when it wrote,
see :class:`~replicalab.sim.simulation.WriteFact`). Policies only contribute
the *explanation*: the first recorded :class:`~replicalab.policies.Loss` of
the write says at which replica, by which rule and against which competing
write its value was dropped.

Verdicts are judged against the final state of every replica; run the
simulation to quiescence first. A write that has not reached some replica
yet counts as not kept there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.errors import ConfigError
from replicalab.items import INITIAL_WRITE, Item, Stamp, format_wall
from replicalab.policies import Loss

__all__ = ["VERDICTS", "Entry", "Ledger", "LossEvent", "WriteRecord", "judge"]

VERDICTS = ("kept", "superseded", "silently-lost", "detected", "rejected")


@attrs.frozen
class WriteRecord:
    """What the ledger needs to know about one client write.

    ``dot`` and ``seen`` are ground truth (from the simulator): the write's
    own dot, and every write on the same key that had reached its replica.
    """

    id: str
    replica: str
    key: str
    time: int
    client: str
    attributes: dict[str, Any]
    dot: Dot
    seen: VectorClock
    acknowledged: bool = True
    error: str | None = None
    stamp: Stamp | None = None
    added: tuple[str, ...] = ()
    #: Set actions: attribute -> (elements added, elements deleted).
    elements: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = attrs.field(factory=dict)

    def saw(self, other: WriteRecord) -> bool:
        """True iff ``other``'s effect had reached this write's replica when this write ran."""
        if not isinstance(other, WriteRecord):
            raise ConfigError(f"WriteRecord.saw takes a WriteRecord, got {_validate.shown(other)}")
        return self.key == other.key and other.dot.counter <= self.seen.get(other.dot.replica)


@attrs.frozen
class LossEvent:
    """A policy dropped ``loss.write``'s value of ``loss.attribute`` at ``replica`` at ``time``."""

    time: int
    replica: str
    loss: Loss


@attrs.frozen
class Entry:
    """One ledger line: a write, its verdict and, unless kept, where and why."""

    write: str
    verdict: str
    replica: str
    key: str
    client: str
    attributes: dict[str, Any]
    why: str = ""
    where: str | None = None
    time: int | None = None
    by: tuple[str, ...] = ()

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "write": self.write, "verdict": self.verdict, "replica": self.replica,
            "key": self.key, "client": self.client, "attributes": self.attributes,
            "why": self.why, "where": self.where, "time": self.time, "by": list(self.by),
        }


@attrs.frozen
class Ledger:
    """Every write's :class:`Entry`, in the order the writes ran."""

    entries: tuple[Entry, ...]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, write: str) -> Entry:
        for entry in self.entries:
            if entry.write == write:
                return entry
        raise KeyError(f"no write {write!r} in the ledger; writes are {[e.write for e in self.entries]}")

    def verdicts(self) -> dict[str, str]:
        """``{write id: verdict}``."""
        return {e.write: e.verdict for e in self.entries}

    @property
    def summary(self) -> dict[str, int]:
        """Counts: acknowledged, kept, superseded, silently_lost, detected, rejected."""
        counts = {v.replace("-", "_"): 0 for v in VERDICTS}
        for entry in self.entries:
            counts[entry.verdict.replace("-", "_")] += 1
        return {"acknowledged": len(self.entries) - counts["rejected"], **counts}

    def to_plain(self) -> list[dict[str, Any]]:
        """Plain data for JSON."""
        return [e.to_plain() for e in self.entries]


def _counted(item: Item | None, attribute: str, write: WriteRecord) -> bool:
    """A crdt counter still counts ``write``'s increment: its replica's contribution is at
    least as recent as the write (a later contribution is a running total that includes it)."""
    if item is None or write.stamp is None:
        return False
    return any(cell.counter and cell.stamp.replica == write.stamp.replica
               and cell.stamp.seq >= write.stamp.seq
               for version in item.versions for cell in version.cells_of(attribute))


def _set_effect(
    item: Item | None, attribute: str, write: WriteRecord, records: Mapping[str, WriteRecord],
) -> tuple[list[str], str] | None:
    """None if ``write``'s set ADD/DELETE on ``attribute`` is in effect in ``item``; else the
    writes responsible and a sentence saying what is wrong.

    Set actions are judged by value, like counters: an add is in effect while
    its elements are in the set, a delete while its elements are not — in at
    least one sibling. Who is responsible: the write whose value of the set the
    item holds (a whole-set cell), the writes whose element cells are there
    (a deleted element is back), or the writes that deleted a missing element.
    """
    added, deleted = write.elements[attribute]
    versions = item.versions if item is not None else ()
    if not versions:
        return None if not added else ([], f"the item {write.key} is gone")
    problems: list[str] = []
    holders: set[str] = set()
    for version in versions:
        have = version.elements(attribute)
        missing = [e for e in added if e not in have]
        back = [e for e in deleted if e in have]
        if not missing and not back:
            return None
        plain = [c.write for c in version.cells_of(attribute) if not c.element]
        for e in missing:
            removers = [r.id for r in records.values() if r.key == write.key and r.id != write.id
                        and e in r.elements.get(attribute, ((), ()))[1]]
            holders.update(plain or removers)
            problems.append(f"{e!r} is missing from {attribute}"
                            + (f", which holds {' and '.join(sorted(set(plain)))}'s value" if plain
                               else f", deleted by {', '.join(removers)}" if removers else ""))
        for e in back:
            by = sorted({c.write for c in version.cells_of(attribute)
                         if (c.element and c.value == e) or (not c.element and not c.removed)})
            holders.update(by)
            problems.append(f"{e!r} is in {attribute} again, added by {', '.join(by)}")
    return sorted(holders), "; ".join(sorted(set(problems)))


def _holders(item: Item | None, attribute: str) -> list[str]:
    """Writes whose value (or removal) of ``attribute`` the item holds; [] if it holds nothing."""
    if item is None:
        return []
    out = []
    for version in item.versions:
        cells = version.cells_of(attribute)
        out.extend(cell.write for cell in cells) if cells else out.append(version.write)
    return sorted(set(out))


def _explain(
    write: WriteRecord, loss: LossEvent | None, records: Mapping[str, WriteRecord],
    absent: str | None = None,
) -> tuple[str, str | None, int | None]:
    if loss is None:
        return (absent or "its value is absent from the final state (it never arrived or was "
                "dropped without a recorded merge)", None, None)
    rule = loss.loss.rule
    competitor = records.get(loss.loss.by)
    if competitor is not None and competitor.id != write.id:
        seen = "had seen" if competitor.saw(write) else "had not seen"
        rule = f"{rule}; {competitor.id} {seen} {write.id}"
        if not competitor.saw(write) and write.saw(competitor):
            # The lesson of skew: the loser was the *informed* write; only its stamp was smaller.
            rule += f", yet {write.id} had seen {competitor.id} and still lost on its smaller stamp"
    return f"at {loss.replica} t={loss.time}: {rule}", loss.replica, loss.time


def _with_causality(problem: str, holders: set[str], write: WriteRecord,
                    records: Mapping[str, WriteRecord]) -> str | None:
    """A set problem, with which of the responsible writes had seen ``write``."""
    if not problem:
        return None
    unseen = [h for h in sorted(holders) if h in records and not records[h].saw(write)]
    return problem + (f" ({', '.join(unseen)} had not seen {write.id})" if unseen else "")


def _judge_inputs(writes: Any, final: Any, losses: Any, reports: Any, absent: Any,
                  ) -> tuple[list[WriteRecord], list[LossEvent]]:
    """Check judge()'s arguments at the boundary (ConfigError naming the argument)."""
    def listed(value: Any, kind: type, what: str) -> list[Any]:
        if isinstance(value, (str, bytes, bytearray, Mapping)) or not hasattr(value, "__iter__"):
            raise ConfigError(f"{what} must be an iterable of {kind.__name__}, got {_validate.shown(value)}")
        out = list(value)
        for one in out:
            if not isinstance(one, kind):
                raise ConfigError(f"{what} must hold {kind.__name__} records, got {_validate.shown(one)}")
        return out

    if not isinstance(final, Mapping) or not all(
            isinstance(r, str) and isinstance(items, Mapping)
            and all(isinstance(i, Item) for i in items.values()) for r, items in final.items()):
        raise ConfigError(f"final must map replica -> {{key: Item}}, got {_validate.shown(final)}")
    for what, texts in (("reports", reports), ("absent", absent)):
        if texts is not None and (not isinstance(texts, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in texts.items())):
            raise ConfigError(f"{what} must map write id -> text, got {_validate.shown(texts)}")
    return listed(writes, WriteRecord, "writes"), listed(losses, LossEvent, "losses")


def judge(
    writes: Iterable[WriteRecord],
    final: Mapping[str, Mapping[str, Item]],
    losses: Iterable[LossEvent] = (),
    reports: Mapping[str, str] | None = None,
    absent: Mapping[str, str] | None = None,
) -> Ledger:
    """Give every write its verdict (see the module docs for the rules).

    ``final`` is each replica's final ``{key: Item}``; ``losses`` are the
    policies' loss records in time order; ``reports`` maps a write id to how
    the system surfaced its conflict (making a lost write ``detected``);
    ``absent`` explains writes whose value vanished without any merge (a crash).
    """
    writes, losses = _judge_inputs(writes, final, losses, reports, absent)
    absent = dict(absent or {})
    records = {w.id: w for w in writes}
    reports = dict(reports or {})
    first_loss: dict[str, LossEvent] = {}
    for event in sorted(losses, key=lambda e: e.time):
        first_loss.setdefault(event.loss.write, event)
    entries = []
    for w in records.values():
        base = {"write": w.id, "replica": w.replica, "key": w.key, "client": w.client,
                "attributes": dict(w.attributes)}
        if not w.acknowledged:
            entries.append(Entry(verdict="rejected", why=w.error or "rejected", where=w.replica,
                                 time=w.time, **base))
            continue
        holders: set[str] = set()
        missing = False
        set_problem = ""
        for replica in sorted(final):
            item = final[replica].get(w.key)
            held = item.writes() if item is not None else set()
            for attribute in sorted(w.attributes):
                if attribute in w.elements:
                    problem = _set_effect(item, attribute, w, records)
                    if problem is not None:
                        missing = True
                        holders.update(problem[0] or ["<absent>"])
                        set_problem = set_problem or f"at {replica}: {problem[1]}"
                    continue
                if (w.id, attribute) in held:
                    continue
                if attribute in w.added and _counted(item, attribute, w):
                    continue
                missing = True
                found = _holders(item, attribute)
                holders.update(found if found else ["<absent>"])
        if not missing:
            entries.append(Entry(verdict="kept", **base))
            continue
        holders.discard(w.id)
        later = [h for h in sorted(holders) if h in records and records[h].saw(w)]
        by = tuple(sorted(holders))
        if holders and len(later) == len(holders):
            why = "overwritten by " + ", ".join(later) + ", which had seen it"
            entries.append(Entry(verdict="superseded", why=why, by=by, **base))
            continue
        loss = first_loss.get(w.id)
        why, where, when = _explain(w, loss, records, absent.get(w.id) or _with_causality(
            set_problem, holders, w, records))
        if loss is not None:
            by = (loss.loss.by,)  # the competing write that won, not the stale value it carried
        if w.id in reports:
            entries.append(Entry(verdict="detected", why=f"{reports[w.id]} ({why})", where=where,
                                 time=when, by=by, **base))
        else:
            entries.append(Entry(verdict="silently-lost", why=why, where=where, time=when, by=by,
                                 **base))
    return Ledger(tuple(entries))


def from_simulation(sim: Any, reports: Mapping[str, str] | None = None) -> Ledger:
    """Build the ledger of a finished simulation of table replicas.

    Reads the simulator's ground truth (``sim.writes``), the replies, the
    trace's ``Wrote``/``Merged`` loss records and ``ConflictReported`` events,
    and every replica's final ``items``. ``reports`` adds conflicts surfaced
    outside the trace (e.g. by the reconciliation scan): write id -> how.
    """
    trace = sim.trace
    if trace is None:
        raise ValueError("the ledger needs a trace; build the Simulation with trace=True")
    replies = {r.response.op: r.response for r in sim.replies}
    wrote = {e.get("write"): e for e in trace.of_kind("Wrote")}
    requested = {e.get("op"): e for e in trace.of_kind("ClientRequested")}
    records = []
    for op, fact in sim.writes.items():
        reply = replies.get(op)
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
        records.append(WriteRecord(
            id=op, replica=fact.replica, key=fact.scope, time=fact.time, client=fact.client,
            attributes=attributes, dot=fact.dot, seen=fact.seen, acknowledged=acknowledged,
            error=error, stamp=stamp, added=added, elements=elements,
        ))
    losses = [
        LossEvent(e.time, e.replica, Loss(x["write"], x["attribute"], x["by"], x["rule"]))
        for e in trace.of_kind("Wrote", "Merged")
        for x in e.get("losses", ())
        if x["write"] != INITIAL_WRITE
    ]
    reports = dict(reports or {})
    for e in trace.of_kind("ConflictReported"):
        for write in e.get("writes", ()):
            reports.setdefault(write, e.get("reason", "conflict reported"))
    final = {rid: dict(getattr(r, "items", {})) for rid, r in sim.replicas.items()}
    absent = {}
    crashes = [e for e in trace.of_kind("Crashed") if not e.get("durable")]
    for record in records:
        crash = next((c for c in crashes if c.replica == record.replica and c.time >= record.time),
                     None)
        if crash is not None:
            absent[record.id] = (f"lost with {record.replica}'s state when it crashed at "
                                 f"t={crash.time} (durable=False) before replicating it")
    return judge(records, final, losses, reports, absent)


def describe_stamp(stamp: Stamp | None) -> str:
    """``14:07:12.140 eu-west-1`` for a stamp; ``-`` for none."""
    if stamp is None:
        return "-"
    return f"{format_wall(stamp.wall)} {stamp.replica}"
