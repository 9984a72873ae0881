"""The write ledger: for every client write, did it survive — and if not, where and why?

Every client write gets exactly one verdict:

``kept``
    its effect (every attribute it set, with its value) is in the final state
    of every live replica, as the value or in one of the siblings;
``superseded``
    its effect is gone, and every write that removed it, anywhere, at any
    time, had *seen* it (ordinary overwrites);
``silently-lost``
    some merge, at some replica, discarded its effect in favour of a write
    that had not seen it (concurrent with it, or older and winning anyway),
    and nobody was told — even if a later write overwrote the same attributes
    afterwards: the merge history counts, not only the final state;
``detected``
    gone or contested, but the system surfaced it (a conflict report naming
    the write, a version fork flagged by a scan);
``rejected``
    the replica refused it with an error, or the request never reached it (a
    region down, a partition in the way): it took effect nowhere, and the
    client knows. A write whose client got an error (a timeout, an answer cut
    off on its way) but which some region applied anyway is judged by its
    effect like any other, and its why starts with what the client was told;
``unreplicated``
    acknowledged and held by at least one live replica, but the run ended
    before it reached every live replica (the run did not converge: a
    partition never healed, say). A write held nowhere is judged by the other
    rules.

The rules, in order: ``rejected`` if the client got an error; ``kept`` if the
effect is at every live replica; ``silently-lost`` (or ``detected``, when the
system reported it) if any recorded merge discarded part of the effect in
favour of a write that had not seen it — the why names the *first* such merge
(replica, time, the winning write and the stamps) and mentions a later
overwrite; ``unreplicated`` if it is held somewhere and every live replica
missing it never received it; ``superseded`` if every write now holding the
missing attributes had seen it; otherwise ``silently-lost`` (or ``detected``).

``by`` and the why always name the write that actually caused the loss: the
write whose item, attribute or sibling won the merge — for a resolve-by-stamp
step among siblings, the sibling whose value was carried — never a write that
had merely seen the lost one.

A write's *effect* is every attribute it set, with its value, except the
``version`` attribute that the versioned-write pattern maintains: that is
bookkeeping. Two kinds of write are judged by value instead, because their
whole point is to combine with others: a counter ``ADD`` is in effect while
its replica's contribution still counts it, and a set ``ADD``/``DELETE`` while
its added elements are in the set and its deleted elements are not (in at
least one sibling). So a deleted element that comes back — through an item
that still held it, or a concurrent add that wins — counts against the delete.

Verdicts come from things no merge policy controls: the *provenance* carried
by every attribute value (which write set it), the simulator's ground-truth
causality (which writes had reached the writer when it wrote, and which had
reached each replica by the end, see :class:`~replicalab.sim.simulation.WriteFact`),
and the :class:`~replicalab.policies.Loss` records of every merge, which name
the value dropped and the write that won. Whether the winner had seen the
loser is judged from ground truth, never from the policy.
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
from replicalab.policies import UNATTRIBUTED, Loss

__all__ = ["VERDICTS", "Entry", "Ledger", "LossEvent", "WriteRecord", "judge"]

VERDICTS = ("kept", "superseded", "silently-lost", "detected", "rejected", "unreplicated")


@attrs.frozen
class WriteRecord:
    """What the ledger needs to know about one client write.

    ``dot`` and ``seen`` are ground truth (from the simulator): the write's
    own dot, and every write on the same key that had reached its replica.
    A request that never reached a replica has no dot (None) and saw nothing.
    ``bookkeeping`` names attributes the write set only as the versioning
    pattern's bookkeeping; they are not part of its effect.
    """

    id: str
    replica: str
    key: str
    time: int
    client: str
    attributes: dict[str, Any]
    dot: Dot | None
    seen: VectorClock
    acknowledged: bool = True
    error: str | None = None
    stamp: Stamp | None = None
    added: tuple[str, ...] = ()
    #: Set actions: attribute -> (elements added, elements deleted).
    elements: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = attrs.field(factory=dict)
    bookkeeping: tuple[str, ...] = ()
    #: Some region applied it, although its client got an error (a timeout, a lost reply):
    #: the outcome was unknown to the client, so the write is judged by its effect.
    applied: bool = False

    def saw(self, other: WriteRecord) -> bool:
        """True iff ``other``'s effect had reached this write's replica when this write ran."""
        if not isinstance(other, WriteRecord):
            raise ConfigError(f"WriteRecord.saw takes a WriteRecord, got {_validate.shown(other)}")
        return (self.key == other.key and other.dot is not None
                and other.dot.counter <= self.seen.get(other.dot.replica))

    @property
    def effect(self) -> list[str]:
        """The attributes whose values make this write's effect, sorted (bookkeeping excluded)."""
        return sorted(a for a in self.attributes if a not in self.bookkeeping)


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
        """Counts of each verdict, and ``acknowledged``: every write not rejected."""
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
    out: list[str] = []
    for version in item.versions:
        cells = version.cells_of(attribute)
        out.extend(cell.write for cell in cells) if cells else out.append(version.write)
    return sorted(set(out))


def _explain(write: WriteRecord, loss: LossEvent, records: Mapping[str, WriteRecord]) -> str:
    """The why of a loss event: where, when, the rule (with stamps) and who had seen whom."""
    rule = loss.loss.rule
    competitor = records.get(loss.loss.by)
    if competitor is not None and competitor.id != write.id:
        seen = "had seen" if competitor.saw(write) else "had not seen"
        rule = f"{rule}; {competitor.id} {seen} {write.id}"
        if not competitor.saw(write) and write.saw(competitor):
            # The lesson of skew: the loser was the *informed* write; only its stamp was smaller.
            rule += f", yet {write.id} had seen {competitor.id} and still lost on its smaller stamp"
    return f"at {loss.replica} t={loss.time}: {rule}"


def _with_causality(problem: str, holders: set[str], write: WriteRecord,
                    records: Mapping[str, WriteRecord]) -> str:
    """A set problem, with which of the responsible writes had seen ``write``."""
    unseen = [h for h in sorted(holders) if h in records and not records[h].saw(write)]
    return problem + (f" ({', '.join(unseen)} had not seen {write.id})" if unseen else "")


def _reached(write: WriteRecord, knowledge: VectorClock | None) -> bool:
    """Ground truth: had ``write``'s effect reached a replica whose knowledge is ``knowledge``?"""
    if knowledge is None or write.dot is None:
        return False
    return write.dot.counter <= knowledge.get(write.dot.replica)


def _missing(w: WriteRecord, item: Item | None, records: Mapping[str, WriteRecord],
             reset: set[str] = frozenset(),  # type: ignore[assignment]
             ) -> tuple[set[str], str] | None:
    """None if ``w``'s effect is in ``item``; else the writes holding what replaced it (or
    ``<absent>``) and, for set actions, a sentence saying what is wrong."""
    holders: set[str] = set()
    problem = ""
    missing = False
    held = item.writes() if item is not None else set()
    for attribute in w.effect:
        if attribute in w.elements:
            found = _set_effect(item, attribute, w, records)
            if found is not None:
                missing = True
                holders.update(found[0] or ["<absent>"])
                problem = problem or found[1]
            continue
        if (w.id, attribute) in held:
            continue
        if attribute in w.added and attribute not in reset and _counted(item, attribute, w):
            continue
        missing = True
        holders.update(_holders(item, attribute) or ["<absent>"])
    return (holders, problem) if missing else None


def _judge_inputs(writes: Any, final: Any, losses: Any, reports: Any, absent: Any,
                  reached: Any = None, dormant: Any = None,
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

    for what, states in (("final", final), ("dormant", {} if dormant is None else dormant)):
        if not isinstance(states, Mapping) or not all(
                isinstance(r, str) and isinstance(items, Mapping)
                and all(isinstance(i, Item) for i in items.values()) for r, items in states.items()):
            raise ConfigError(f"{what} must map replica -> {{key: Item}}, got {_validate.shown(states)}")
    for what, texts in (("reports", reports), ("absent", absent)):
        if texts is not None and (not isinstance(texts, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in texts.items())):
            raise ConfigError(f"{what} must map write id -> text, got {_validate.shown(texts)}")
    if reached is not None and (not isinstance(reached, Mapping) or not all(
            isinstance(r, str) and isinstance(keys, Mapping)
            and all(isinstance(v, VectorClock) for v in keys.values()) for r, keys in reached.items())):
        raise ConfigError(f"reached must map replica -> {{key: VectorClock}}, got {_validate.shown(reached)}")
    return listed(writes, WriteRecord, "writes"), listed(losses, LossEvent, "losses")


def judge(
    writes: Iterable[WriteRecord],
    final: Mapping[str, Mapping[str, Item]],
    losses: Iterable[LossEvent] = (),
    reports: Mapping[str, str] | None = None,
    absent: Mapping[str, str] | None = None,
    reached: Mapping[str, Mapping[str, VectorClock]] | None = None,
    dormant: Mapping[str, Mapping[str, Item]] | None = None,
) -> Ledger:
    """Give every write its verdict (see the module docs for the rules).

    ``final`` is every *live* replica's final ``{key: Item}``; ``losses`` are
    the policies' loss records; ``reports`` maps a write id to how the system
    surfaced its conflict (making a lost write ``detected``); ``absent``
    explains writes whose value vanished without any merge (a crash);
    ``reached`` is ground truth at the end, ``{replica: {key: knowledge}}``:
    which writes had reached each live replica. Without it, every write is
    taken to have reached every replica (nothing is ``unreplicated``).
    ``dormant`` are the items of replicas that are down at the end but kept
    their state (a durable crash): a write they hold is not lost, only
    ``unreplicated``.

    A counter ``ADD`` whose replica contribution was reset by a write that set
    the attribute (not another ``ADD``) no longer counts, whatever the
    replica's later contributions say.
    """
    writes, losses = _judge_inputs(writes, final, losses, reports, absent, reached, dormant)
    absent = dict(absent or {})
    dormant = dict(dormant or {})
    records = {w.id: w for w in writes}
    reports = dict(reports or {})
    history: dict[str, list[LossEvent]] = {}
    for event in sorted(losses, key=lambda e: e.time):  # stable: same-time events keep order
        history.setdefault(event.loss.write, []).append(event)
    entries = []
    for w in records.values():
        base: dict[str, Any] = {"write": w.id, "replica": w.replica, "key": w.key, "client": w.client,
                "attributes": dict(w.attributes)}
        if not w.acknowledged and not w.applied:
            entries.append(Entry(verdict="rejected", why=w.error or "rejected", where=w.replica,
                                 time=w.time, **base))
            continue
        told = ("" if w.acknowledged else
                f"the client was told {w.error or 'it failed'}, yet it took effect; ")
        holders: set[str] = set()
        problem = ""
        held_at, unreached, lacking = [], [], []
        reset = {e.loss.attribute for e in history.get(w.id, ())
                 if e.loss.by in records and e.loss.attribute not in records[e.loss.by].added}
        for replica in sorted(dormant):
            if _missing(w, dormant[replica].get(w.key), records, reset) is None:
                held_at.append(f"{replica} (down, its state kept)")
        for replica in sorted(final):
            found = _missing(w, final[replica].get(w.key), records, reset)
            if found is None:
                held_at.append(replica)
                continue
            lacking.append(replica)
            knowledge = (reached.get(replica, {}).get(w.key) if reached is not None
                         else VectorClock({w.dot.replica: w.dot.counter}) if w.dot else None)
            if not _reached(w, knowledge):
                unreached.append(replica)
                continue
            holders.update(found[0])
            problem = problem or (f"at {replica}: {found[1]}" if found[1] else "")
        if not lacking:
            entries.append(Entry(verdict="kept", why=told.removesuffix("; "), **base))
            continue
        holders.discard(w.id)
        later = sorted(h for h in holders if h in records and records[h].saw(w))
        overwrite = (f"; later, {', '.join(later)} overwrote it having seen it" if later
                     and len(later) == len(holders) else "")
        # Unattributed records (a join dropping what the other side had removed having seen
        # it) are no evidence of an unseen winner; the removing write recorded its own loss.
        events = [e for e in history.get(w.id, ()) if e.loss.attribute in w.effect
                  and e.loss.by != UNATTRIBUTED]
        unseen = next((e for e in events if e.loss.by not in records
                       or not records[e.loss.by].saw(w)), None)
        if unseen is not None:
            why = told + _explain(w, unseen, records) + overwrite
            entries.append(_lost(w, why, unseen.replica, unseen.time, (unseen.loss.by,),
                                 reports, base))
            continue
        if held_at and len(unreached) == len(lacking):
            why = (f"{told}held by {', '.join(held_at)}, but the run ended before it reached "
                   f"{', '.join(unreached)}")
            entries.append(Entry(verdict="unreplicated", why=why, **base))
            continue
        if holders and len(later) == len(holders):
            why = told + "overwritten by " + ", ".join(later) + ", which had seen it"
            entries.append(Entry(verdict="superseded", why=why, by=tuple(later), **base))
            continue
        unseen_holders = tuple(sorted(h for h in holders if h not in later))
        if w.id in absent:
            why = absent[w.id]
        elif problem:
            why = _with_causality(problem, holders, w, records)
        else:
            why = ("its value is absent from the final state (it never arrived or was "
                   "dropped without a recorded merge)")
        entries.append(_lost(w, told + why, None, None, unseen_holders, reports, base))
    return Ledger(tuple(entries))


def _lost(w: WriteRecord, why: str, where: str | None, when: int | None, by: tuple[str, ...],
          reports: Mapping[str, str], base: dict[str, Any]) -> Entry:
    """A lost write's entry: ``detected`` if the system reported it, else ``silently-lost``."""
    if w.id in reports:
        return Entry(verdict="detected", why=f"{reports[w.id]} ({why})", where=where, time=when,
                     by=by, **base)
    return Entry(verdict="silently-lost", why=why, where=where, time=when, by=by, **base)


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
    replies = {r.response.op: r.response for r in sim.replies}
    wrote = {e.get("write"): e for e in trace.of_kind("Wrote")}
    # A write some region applied (wrote, or accepted as an MRSC commit) took effect even if
    # its client got an error; only one applied nowhere was refused.
    applied = set(wrote) | {e.get("write") for e in trace.of_kind("Merged")}
    requested = {e.get("op"): e for e in trace.of_kind("ClientRequested")}
    records = []
    facts = sim.writes  # a copy per access: read it once, not once per failed request
    for op, fact in facts.items():
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
        bookkeeping = tuple(event.get("bookkeeping") or ()) if event is not None else ()
        records.append(WriteRecord(
            id=op, replica=fact.replica, key=fact.scope, time=fact.time, client=fact.client,
            attributes=attributes, dot=fact.dot, seen=fact.seen, acknowledged=acknowledged,
            error=error, stamp=stamp, added=added, elements=elements, bookkeeping=bookkeeping,
            applied=op in applied,
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
    down = set(getattr(sim, "down", ()))
    live = [rid for rid in sim.replicas if rid not in down]
    final = {rid: dict(getattr(sim.replicas[rid], "items", {})) for rid in live}
    durable = {e.replica: e.get("durable") for e in trace.of_kind("Crashed")}
    dormant = {rid: dict(getattr(sim.replicas[rid], "items", {})) for rid in sorted(down)
               if durable.get(rid)}
    keys = sorted({r.key for r in records}, key=str)
    reached = {rid: {k: sim.knowledge(rid, k) for k in keys} for rid in live}
    absent = {}
    crashes = [e for e in trace.of_kind("Crashed") if not e.get("durable")]
    for record in records:
        crash = next((c for c in crashes if c.replica == record.replica and c.time >= record.time),
                     None)
        if crash is not None:
            absent[record.id] = (f"lost with {record.replica}'s state when it crashed at "
                                 f"t={crash.time} (durable=False) before replicating it")
    return judge(records, final, losses, reports, absent, reached, dormant)


def describe_stamp(stamp: Stamp | None) -> str:
    """``14:07:12.140 eu-west-1`` for a stamp; ``-`` for none."""
    if stamp is None:
        return "-"
    return f"{format_wall(stamp.wall)} {stamp.replica}"
