"""A run told as steps and messages: what every picture, export and the step-through page draw.

A **step** is one handler run of one replica: a client request (a write, a
rejection, a read), a delivery and the merge it caused, a timer. It groups the
trace events the simulator recorded for it, in order. Steps are numbered from
1 in trace order; "step 0" means before the run. Trace events of the network
itself (``replica`` None, e.g. a fault) form steps of kind ``fault``.

A **message** is one copy on the wire: a ``Sent`` (or ``Duplicated``) event,
matched with the ``Delivered`` event that has the same sender, destination,
payload and due time. A copy the network lost is ``dropped``; one that had not
arrived when the run stopped is in flight (``delivered`` is None).

**Clocks.** ``Step.vector`` is a *happens-before* vector clock computed from
the trace (Fidge/Mattern): a step ticks its replica's own entry by one, and a
delivery first joins the clock of the step that sent the message.
``Step.lamport`` is the Lamport clock computed the same way. Neither is the
merge policy's version vector (that one lives in the items, see ``states``).

**Item states.** The step-through page shows each replica's items after each
step: starting from the run's initial items (``Result.initial``), they are read
from the history — the table replicas' ``Wrote`` and ``Merged`` events carry the
resulting ``item`` (in :func:`item_plain` form). Nothing is re-run. The states
are accepted only if they end exactly at the result's final items; otherwise
``states_available`` is False and no states are shown.

    >>> from replicalab import scenarios
    >>> story = build(scenarios.run("london", merge="item-lww", seed=0))
    >>> [(s.index, s.time, s.replica, s.kind) for s in story.steps][:2]
    [(1, 140, 'eu-west-1', 'write'), (2, 189, 'us-east-1', 'write')]
    >>> merge = next(s for s in story.steps if s.kind == "merge")
    >>> merge.time, merge.replica, merge.keeps, story.verdicts["w1"]
    (211, 'us-east-1', 'w2', 'silently-lost')
    >>> merge.vector   # w1's step on eu-west-1 happened before; this is us-east-1's 2nd step
    {'eu-west-1': 1, 'us-east-1': 2}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from replicalab.errors import ReplicaLabError
from replicalab.items import INITIAL_WRITE, Item, format_wall
from replicalab.replica.log_fields import DropRule
from replicalab.trace import AnyEvent, Trace, canonical_json

__all__ = ["Message", "Step", "Story", "build", "item_plain"]

#: Trace events that start a new handler run (and therefore a new step).
INPUTS = ("ClientRequested", "Delivered", "TimerFired", "Started")


@attrs.frozen
class Message:
    """One copy of a message on the wire, from the step that sent it to the step that got it."""

    index: int
    src: str
    dst: str
    label: str
    """Short text: the write it carries (``w1``) or the message type."""
    payload: dict[str, Any]
    sent_step: int
    sent_time: int
    due: int | None
    delivered_step: int | None = None
    dropped: bool = False
    lost_step: int | None = None
    """The step whose ``Dropped`` event lost this copy: its send step for a copy lost on the
    way, a later step (the sender's, at the arrival time) for one cut off on arrival."""
    reason: str | None = None
    """Why the network dropped it: ``loss``, ``crashed`` (its destination was down) or
    ``partition``; None if not dropped, or from a trace that does not say."""
    duplicate: bool = False
    size: int | None = None
    """Bytes on the wire, estimated by :func:`wire_size` of the item it carries (None: unknown)."""
    metadata: int | None = None
    """Of ``size``, the bytes that are not attribute values: write ids, version vectors."""

    @property
    def write(self) -> str | None:
        """The client write this message replicates, if any."""
        write = self.payload.get("write") if isinstance(self.payload, dict) else None
        return write if isinstance(write, str) else None


@attrs.frozen
class Step:
    """One handler run of one replica (see the module docs)."""

    index: int
    time: int
    replica: str | None
    kind: str
    """``write``, ``reject``, ``merge``, ``read``, ``deliver``, ``timer``, ``start``, ``fault`` or ``other``."""
    events: tuple[AnyEvent, ...]
    note: str
    """One line for people: what happened, as the text timeline words it."""
    write: str | None = None
    """The client write this step wrote or rejected, or the one the merged message carried."""
    losses: tuple[dict[str, Any], ...] = ()
    """Values the step dropped (``write``, ``attribute``, ``by``, ``rule``): the records of its
    ``Wrote``/``Merged`` events that are drops (:class:`~replicalab.replica.log_fields.DropRule`:
    no initial data, no value carried on in the one that displaced it)."""
    sent: tuple[int, ...] = ()
    received: tuple[int, ...] = ()
    vector: dict[str, int] = attrs.field(factory=dict)
    lamport: int = 0
    keeps: str = ""
    """After a merge: the writes the item holds, ``w1+w2`` within a version, ``w1 | w2`` siblings."""
    state: dict[str, Any] | None = None
    """The acting replica's items after the step (replayed), or None when unavailable."""

    def event(self, kind: str) -> AnyEvent | None:
        """The first event of ``kind`` in this step, or None."""
        return next((e for e in self.events if e.kind == kind), None)


@attrs.frozen
class Story:
    """Steps, messages and verdicts of one run; see :func:`build`."""

    title: str
    replicas: tuple[str, ...]
    steps: tuple[Step, ...]
    messages: tuple[Message, ...]
    verdicts: dict[str, str]
    """``{write id: verdict}`` from the ledger ({} for a bare trace)."""
    entries: dict[str, Any]
    """``{write id: ledger Entry}`` ({} for a bare trace)."""
    initial: dict[str, dict[str, Any]] | None
    """Every replica's items before the run (plain data), or None when unknown."""
    summary: dict[str, int] | None = None
    merge: str | None = None
    stale_reads: tuple[str, ...] = ()
    """Reads (op ids) that returned data older than a write already acknowledged on their key."""
    real: bool = False
    """True for a run on real processes (:mod:`replicalab.net`): real ms, not deterministic."""
    quorum: bool = False
    """True for a cluster run (:mod:`replicalab.quorum`): its verdicts are the quorum ledger's
    (kept, sibling, superseded, hint-only, lost, rejected) and its reads are client ``Get`` requests."""

    @property
    def states_available(self) -> bool:
        """True when per-step item states were replayed and checked against the final items."""
        return self.initial is not None

    def step(self, index: int) -> Step:
        """Step number ``index`` (1-based)."""
        return self.steps[index - 1]

    def write_steps(self) -> dict[str, Step]:
        """``{write id: the step that wrote or rejected it}``."""
        return {s.write: s for s in self.steps if s.kind in ("write", "reject") and s.write}

    def first_lost_here(self, step: Step) -> list[str]:
        """Writes silently lost or detected whose ledger entry names this step as where it happened."""
        out = set()
        for x in step.losses:
            entry = self.entries.get(x["write"])
            if (entry is not None and entry.verdict in ("silently-lost", "detected")
                    and entry.where == step.replica and entry.time == step.time):
                out.add(x["write"])
        return sorted(out)

    def read_op(self, step: Step) -> str | None:
        """The op id of the read a read step served (a table ``Read``, or a cluster ``Get``)."""
        if step.kind != "read":
            return None
        read = step.event("Read") or step.event("ClientRequested")
        op = read.get("op") if read is not None else None
        return op if isinstance(op, str) else None

    def lost_here(self, step: Step) -> list[str]:
        """Writes whose value this step dropped and whose final verdict is silently-lost."""
        return sorted({x["write"] for x in step.losses
                       if self.verdicts.get(x["write"]) == "silently-lost"})


def _assignments(attributes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(attributes.items()))


def stamp_text(event: AnyEvent) -> str:
    """The stamp a write's policy used: its version vector if it has one, else the wall stamp.

        >>> from replicalab.trace import Event
        >>> e = Event(0, 140, "Wrote", "eu", {"stamp": {"wall": 50832140, "replica": "eu", "seq": 1},
        ...                                    "clock": {}})
        >>> stamp_text(e)
        'stamp 14:07:12.140'
    """
    clock = event.get("clock") or {}
    if clock:
        return "vv " + ",".join(f"{k}:{v}" for k, v in sorted(clock.items()))
    stamp = event.get("stamp") or {}
    if "wall" in stamp:
        logical = stamp.get("logical") or 0
        return f"stamp {format_wall(stamp['wall'])}" + (f"+{logical}" if logical else "")
    return ""


def _kind(replica: str | None, events: list[AnyEvent]) -> str:
    kinds = {e.kind for e in events}
    if replica is None:
        return "fault"
    for kind, name in (("Wrote", "write"), ("QuorumPut", "write"), ("Rejected", "reject"),
                       ("Merged", "merge"), ("Read", "read"), ("Delivered", "deliver"),
                       ("TimerFired", "timer")):
        if kind in kinds:
            return name
    if "ClientRequested" in kinds:
        asked = _request_type(events)
        if asked == "Write":
            return "write"  # a client's write reaching a leader-cluster node (it forwards it)
        if asked in ("Get", "Read"):
            return "read"  # a cluster node serving (or coordinating) a client's read
    return "start" if "Started" in kinds else "other"


def _request_type(events: list[AnyEvent]) -> str | None:
    asked = next((e for e in events if e.kind == "ClientRequested"), None)
    request = asked.get("request") if asked is not None else None
    kind = request.get("type") if isinstance(request, dict) else None
    return kind if isinstance(kind, str) else None


def _quorum_note(kind: str, replica: str | None, first: dict[str, AnyEvent]) -> str:
    asked = first.get("ClientRequested")
    client = asked.get("client") if asked is not None else "a client"
    request = asked.get("request") if asked is not None else {}
    key = request.get("key") if isinstance(request, dict) else None
    op = asked.get("op") if asked is not None else ""
    if kind == "write" and "QuorumPut" not in first:
        return f"{replica}: {client} writes {key} ({op})"
    if kind == "write":
        e = first["QuorumPut"]
        hints = e.get("hints") or {}
        stand_ins = (" (stand-ins: " + ", ".join(f"{k} for {v}" for k, v in sorted(hints.items())) + ")"
                     if hints else "")
        return (f"{replica}: {client} writes {e.get('key')} ({e.get('op')}), dot {e.get('dot')}, "
                f"stored at {', '.join(e.get('targets') or ())}{stand_ins}")
    strong = " strongly consistent" if isinstance(request, dict) and request.get("consistent") else ""
    return f"{replica}: {client}{strong} reads {key} ({op})"


def _note(kind: str, replica: str | None, events: list[AnyEvent], rule: DropRule) -> str:
    first = {e.kind: e for e in reversed(events)}
    if (kind == "write" and "Wrote" not in first) or (kind == "read" and "Read" not in first):
        return _quorum_note(kind, replica, first)
    if kind == "write":
        e = first["Wrote"]
        return (f"{replica}: {e.get('client')} writes {e.get('key')} ({e.get('write')}): "
                f"{_assignments(e.get('attributes') or {})} [{stamp_text(e)}]")
    if kind == "reject":
        e = first["Rejected"]
        return (f"{replica} rejects {e.get('client')}'s {e.get('op')}: {e.get('error')} "
                f"({e.get('message')})")
    if kind == "merge":
        e = first["Merged"]
        delivered = first.get("Delivered")
        carried = merge_carried(e.get("write"), delivered.get("msg") if delivered is not None else None,
                                "ReadRepaired" in first)
        text = f"{replica} receives {e.get('key')} from {e.get('source')} ({carried}): {e.get('note')}"
        lost = rule.drops(e)
        if lost:
            text += " — drops " + ", ".join(f"{x['write']}'s {x['attribute']}" for x in lost)
        return text
    if kind == "read":
        e = first["Read"]
        strong = "strong read" if e.get("consistent") else "read"
        seen = e.get("writes")
        sees = f": sees {', '.join(seen) if seen else 'no write'}" if isinstance(seen, list) else ""
        return f"{replica}: {e.get('client')} {strong} of {e.get('key')} ({e.get('op')}){sees}"
    plumbing = {"ClientRequested", "Delivered", "Sent", "Replied", "Started", "TimerFired",
                "Dropped", "Duplicated"}
    domain = list(dict.fromkeys(e.kind for e in events if e.kind not in plumbing))
    extra = f" — {', '.join(domain)}" if domain else ""
    if kind == "deliver":
        e = first["Delivered"]
        return f"{replica} receives {_label(e.get('msg'))} from {e.get('src')}{extra}"
    if kind == "timer":
        return f"{replica}: timer fired{extra}"
    if "ClientRequested" in first:
        e = first["ClientRequested"]
        return f"{replica}: {e.get('client')} sends {request_name(e.get('request'))} {e.get('op')}{extra}"
    cut = next((e for e in events if e.kind == "Partitioned" and e.get("bridges")), None)
    if replica is None and cut is not None:  # an AZ partition: say who is cut from whom
        sides = " | ".join(", ".join(g) for g in cut.get("groups") or ())
        return f"network: cut {sides} (every other node reaches both sides)"
    names = ", ".join(e.kind for e in events)
    return f"{replica or 'network'}: {names}"


#: A DynamoDB request's trace type -> the operation as AWS names it (a write says its own).
_AWS_NAMES = {"DynamoGet": "GetItem", "DynamoQuery": "Query", "DynamoTransaction": "TransactWriteItems"}


def request_name(request: Any) -> str:
    """What a client sent, as the learner wrote it: a DynamoDB request by its AWS operation
    (``UpdateItem``, ``GetItem``), not the trace's internal type (``DynamoWrite``).

        >>> request_name({"type": "DynamoWrite", "operation": "PutItem"}), request_name({"type": "DynamoGet"})
        ('PutItem', 'GetItem')
        >>> request_name({"type": "UpdateItem"}), request_name(None)
        ('UpdateItem', 'request')
    """
    if not isinstance(request, dict):
        return "request"
    kind = request.get("type")
    if kind == "DynamoWrite" and isinstance(request.get("operation"), str):
        return str(request["operation"])
    return _AWS_NAMES.get(kind, kind) if isinstance(kind, str) else "request"


def merge_carried(write: Any, msg: Any, read_repair: bool = False) -> str:
    """What a ``Merged`` event's message carried, for the words ``receives k from r (...)``.

    The write id it names. A catch-up answer (``CaughtUp``, to a node back from an outage)
    and a read repair name none, so say which of the two it was (``read_repair``: the step
    logged ``ReadRepaired``); the merge's note (``stored w2``, ``already had w2``) says
    which writes the copy held.

        >>> merge_carried("w1", None), merge_carried("", {"type": "CaughtUp"}), merge_carried("", None, True)
        ('w1', 'catch-up', 'read repair')
        >>> merge_carried("", {"type": "Replicate"})
        'a copy with no write id'
    """
    if isinstance(write, str) and write:
        return write
    if isinstance(msg, dict) and msg.get("type") == "CaughtUp":
        return "catch-up"
    return "read repair" if read_repair else "a copy with no write id"


def _label(payload: Any) -> str:
    if isinstance(payload, dict):
        write = payload.get("write")
        if isinstance(write, str):
            return write
        kind = payload.get("type")
        if isinstance(kind, str):
            return kind
    text = canonical_json(payload) if not isinstance(payload, str) else payload
    return text if len(text) <= 16 else text[:15] + "…"


def _group(events: Iterable[AnyEvent]) -> list[tuple[int, str | None, list[AnyEvent]]]:
    groups: list[tuple[int, str | None, list[AnyEvent]]] = []
    for event in events:
        if (groups and groups[-1][0] == event.time and groups[-1][1] == event.replica
                and event.kind not in INPUTS):
            groups[-1][2].append(event)
        else:
            groups.append((event.time, event.replica, [event]))
    return [g for g in groups if {e.kind for e in g[2]} != {"Started"}]


def item_plain(item: Item) -> list[dict[str, Any]]:
    """An item as plain data for pictures: one dict per version, cells with provenance.

        >>> from replicalab.items import Cell, Stamp, Version
        >>> cell = Cell("London", "w1", Stamp(5, "eu", 1))
        >>> item_plain(Item((Version.of({"city": cell}, write="w1", stamp=Stamp(5, "eu", 1)),)))
        [{'write': 'w1', 'clock': {}, 'cells': {'city': ['London', 'w1']}}]
    """
    return [
        {
            "write": v.write,
            "clock": v.clock.to_dict(),
            "cells": v.trace_cells(),  # what each attribute reads (a crdt counter's sum)
        }
        for v in item.versions
    ]


def keeps(versions: list[dict[str, Any]] | None) -> str:
    """Which writes an item (as :func:`item_plain` data) holds: ``w1+w2`` in one version,
    `` | `` between siblings.

        >>> keeps([{"cells": {"a": [1, "w1"], "b": [2, "w2"]}}, {"cells": {"a": [3, "w3"]}}])
        'w1+w2 | w3'
    """
    if not versions:
        return ""
    parts = []
    for version in versions:
        writes = sorted({write for _, write in version["cells"].values()} - {INITIAL_WRITE})
        parts.append("+".join(writes) if writes else INITIAL_WRITE)
    return " | ".join(parts)


def wire_size(versions: list[dict[str, Any]]) -> tuple[int, int]:
    """``(total, metadata)`` bytes of an item (as :func:`item_plain` data) in canonical JSON.

    Metadata is everything but the values: write ids, version vectors. An
    estimate of what a replication message carries, the same for every policy.

        >>> wire_size([{"write": "w1", "clock": {"eu": 1}, "cells": {"city": ["London", "w1"]}}])
        (66, 37)
    """
    values = [{"cells": {n: cell[0] for n, cell in v["cells"].items()}} for v in versions]
    total = len(canonical_json(versions).encode())
    return total, total - len(canonical_json(values).encode())


class _Recorded:
    """Item states read from the trace: events that carry the resulting ``item`` (plain data)."""

    def __init__(self, initial: dict[str, Item], replicas: tuple[str, ...]) -> None:
        start = {k: item_plain(i) for k, i in sorted(initial.items())}
        self.items: dict[str, dict[str, Any]] = {r: dict(start) for r in replicas}
        self.payloads: dict[int, Any] = {}

    def sent(self, replica: str, message: int, payload: Any) -> None:
        key = payload.get("key") if isinstance(payload, dict) else None
        self.payloads[message] = self.items[replica].get(key) if isinstance(key, str) else None

    def apply(self, replica: str, e: AnyEvent, message: int | None) -> None:
        if e.kind == "Crashed" and not e.get("durable"):
            self.items[replica] = {}  # its memory is gone: it holds nothing from here on
        elif "item" in e.data and isinstance(e.get("key"), str):
            self.items[replica][e.get("key")] = e.get("item")

    def snapshot(self, replica: str) -> dict[str, Any]:
        return dict(sorted(self.items[replica].items()))

    def sizes(self) -> dict[int, tuple[int, int]]:
        return {n: wire_size(item) for n, item in self.payloads.items() if item}

    def matches(self, final: Mapping[str, Mapping[str, Item]], replicas: tuple[str, ...]) -> bool:
        return all(self.items[r] == {k: item_plain(i) for k, i in final.get(r, {}).items()}
                   for r in replicas)


def build(source: Any) -> Story:
    """The :class:`Story` of a :class:`~replicalab.scenarios.world.Result` or a bare :class:`Trace`.

    A bare trace has no ledger (no verdicts) and no item states.
    """
    trace: Trace = source if isinstance(source, Trace) else source.trace
    ledger = getattr(source, "ledger", None)
    final = getattr(source, "final", None) or {}
    replicas = tuple(sorted({e.replica for e in trace if e.replica is not None} | set(final)))
    merge = getattr(source, "merge", None)

    # Item states: the table replicas' Wrote and Merged events carry the resulting item, so
    # every step's state is read from the history itself (from the run's initial items on).
    initial = getattr(source, "initial", None) if ledger is not None else None
    tracker: _Recorded | None = None
    if initial and any("item" in e.data for e in trace.of_kind("Wrote", "Merged")):
        tracker = _Recorded(initial, replicas)

    messages: list[dict[str, Any]] = []
    waiting: dict[tuple[str, str, str, int], list[int]] = {}
    by_id: dict[int, int] = {}  # message id -> its index in `messages`
    steps: list[Step] = []
    vectors: dict[str, dict[str, int]] = {r: {} for r in replicas}
    lamports: dict[str, int] = {r: 0 for r in replicas}
    failed = False
    rule = DropRule(trace.of_kind("Wrote"))

    for index, (time, replica, events) in enumerate(_group(trace), start=1):
        kind = _kind(replica, events)
        sent: list[int] = []
        received: list[int] = []
        merged_from: int | None = None
        number: int | None
        dropped: dict[str, Any] | None
        for e in events:
            if e.kind in ("Sent", "Duplicated") and replica is not None:
                payload = e.get("msg")
                due = e.get("due")
                number = len(messages)
                messages.append({"index": number, "src": replica, "dst": e.get("dst"),
                                 "label": _label(payload), "payload": payload,
                                 "sent_step": index, "sent_time": time, "due": due,
                                 "duplicate": e.kind == "Duplicated"})
                if e.get("id") is not None:
                    by_id[e.get("id")] = number
                elif due is not None:  # a trace from before message ids: match by content
                    waiting.setdefault((replica, e.get("dst"), canonical_json(payload), due),
                                       []).append(number)
                sent.append(number)
                if tracker is not None and not failed:
                    tracker.sent(replica, number, payload)
            elif e.kind == "Dropped":
                if e.get("id") in by_id:
                    dropped = messages[by_id[e.get("id")]]
                else:
                    dropped = next((m for m in reversed(messages) if m["sent_step"] == index
                                    and m["dst"] == e.get("dst") and m["due"] is None), None)
                if dropped is not None:  # lost on the way, or cut off on arrival
                    dropped["dropped"] = True
                    dropped["lost_step"] = index
                    reason = e.get("reason")
                    dropped["reason"] = reason if isinstance(reason, str) else None
            elif e.kind == "Delivered" and replica is not None:
                if e.get("id") in by_id:
                    number = by_id.pop(e.get("id"))
                else:
                    queue = waiting.get((e.get("src"), replica, canonical_json(e.get("msg")), time))
                    number = queue.pop(0) if queue else None
                if number is not None:
                    messages[number]["delivered_step"] = index
                    received.append(number)
                    merged_from = number
            elif tracker is not None and not failed and replica is not None:
                try:
                    tracker.apply(replica, e, merged_from)
                except (ReplicaLabError, ValueError, TypeError, KeyError, AttributeError):
                    failed = True  # not a table run we can follow: show no states

        vector: dict[str, int] = {}
        lamport = 0
        if replica is not None:
            vector = dict(vectors[replica])
            lamport = lamports[replica]
            for number in received:
                sender = steps[messages[number]["sent_step"] - 1]
                for who, count in sender.vector.items():
                    vector[who] = max(vector.get(who, 0), count)
                lamport = max(lamport, sender.lamport)
            vector[replica] = vector.get(replica, 0) + 1
            vector = dict(sorted(vector.items()))
            lamport += 1
            vectors[replica] = vector
            lamports[replica] = lamport

        write = None
        for e in events:
            if e.kind in ("Wrote", "Merged") and isinstance(e.get("write"), str):
                write = e.get("write")
                break
            if e.kind == "QuorumPut" and isinstance(e.get("op"), str):
                write = e.get("op")
                break
            if kind == "write" and e.kind == "ClientRequested" and isinstance(e.get("op"), str):
                write = e.get("op")  # a leader cluster's write, where the client sent it
            if e.kind == "Rejected":
                write = e.get("op")
                break
        # The drops every view shows (log_fields.DropRule): not the initial data, and not a
        # value carried on in the winner's (an increment its newer total counts).
        losses = tuple(
            dict(sorted(x.items())) for e in events if e.kind in ("Wrote", "Merged")
            for x in rule.drops(e)
        )
        state = None
        keep = ""
        if tracker is not None and not failed and replica is not None:
            state = tracker.snapshot(replica)
            merged = next((e for e in events if e.kind == "Merged"), None)
            if merged is not None:
                keep = keeps(state.get(merged.get("key")))
        steps.append(Step(
            index=index, time=time, replica=replica, kind=kind, events=tuple(events),
            note=_note(kind, replica, events, rule), write=write, losses=losses, sent=tuple(sent),
            received=tuple(received), vector=vector, lamport=lamport, keeps=keep, state=state,
        ))

    items = getattr(source, "items", None)
    states_ok = (tracker is not None and not failed and items is not None
                 and tracker.matches(items, replicas))
    if states_ok and tracker is not None:
        for number, (size, metadata) in tracker.sizes().items():
            messages[number]["size"], messages[number]["metadata"] = size, metadata
    if not states_ok:
        steps = [attrs.evolve(s, state=None, keeps="") for s in steps]
    initial_plain = None
    if states_ok and initial is not None:
        initial_plain = {r: {k: item_plain(i) for k, i in sorted(initial.items())} for r in replicas}

    stale = tuple(sorted(x if isinstance(x, str) else x.read
                         for x in getattr(source, "stale_reads", ()) or ()))
    quorum = any(e.kind == "QuorumPut" for e in trace)
    summary: dict[str, int] | None
    if ledger is not None and not hasattr(ledger, "verdicts"):  # the quorum ledger: entries by op
        quorum = True
        verdicts = {e.op: e.verdict for e in ledger.entries}
        entries = {e.op: e for e in ledger.entries}
        summary = dict(ledger.summary) | {"stale_reads": len(stale)}
    else:
        verdicts = ledger.verdicts() if ledger is not None else {}
        entries = {e.write: e for e in ledger} if ledger is not None else {}
        summary = dict(ledger.summary) if ledger is not None else None
    return Story(
        title=_title(source, trace),
        real=getattr(source, "runtime", "sim") == "net",
        replicas=replicas,
        steps=tuple(steps),
        messages=tuple(Message(**m) for m in messages),
        verdicts=verdicts,
        entries=entries,
        initial=initial_plain,
        summary=summary,
        merge=merge,
        stale_reads=stale,
        quorum=quorum,
    )


def _title(source: Any, trace: Trace) -> str:
    """``london — item-lww, seed=0``: the scenario, its pattern (or policy), seed and skew."""
    scenario = getattr(source, "scenario", None)
    if scenario is None:
        return f"trace of {len(trace)} events"
    pattern = getattr(source, "label", "") or f"merge={source.merge}"
    skew = (getattr(source, "options", None) or {}).get("skew")
    extra = f", skew={canonical_json(skew)}" if skew else ""
    real = " — a REAL network run, not deterministic" if getattr(source, "runtime", "sim") == "net" else ""
    return f"{scenario} — {pattern}, seed={source.seed}{extra}{real}"
