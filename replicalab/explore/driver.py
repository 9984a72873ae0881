"""Driving a scenario one chosen event at a time: the explorer's model of a run.

The model (stated once, used everywhere in :mod:`replicalab.explore`):

* **Clients keep their times.** Client requests, replies reaching clients, scheduled
  faults and timers are *timed* events: they happen in the order of the scenario's
  timeline ``(time, priority, seq)``, and each sets the simulated clock to its time.
* **The network is asynchronous.** Any message in flight may be delivered next, however
  long ago it was sent — before the next timed event or after it. A delivery happens at
  the current simulated time (it does not move the clock), so latency draws no longer
  decide anything: the explorer tries every order instead.
* **Faults, when asked,** are bounded choices: drop a message in flight (``loss``), deliver
  one twice (``duplicate``), crash a replica durably and restart it at any later step
  (``crash``; what reaches it while it is down is lost, a client's request is refused), at
  most ``n`` times each per schedule. ``amnesia`` is a crash without durable state: the
  replica comes back empty under a new causal identity (``A~2``), as the simulator's
  non-durable crash does (DESIGN §4), so what only it held is gone.
* **Timers** fire in time order among the timed events, unless asked (``timers="choice"``):
  then any pending timer may also fire *early*, at any step, at the current simulated time
  (like a delivery, it does not move the clock) — a slow network or a fast local clock.
  Each timer still fires at most once (its event leaves the queue when it fires, and a
  cancelled or crashed-away timer is never offered), so this adds no new events: a scope
  whose timers stop is still finite, and one whose timers never stop is refused as before.

A :class:`Stepped` simulation is an ordinary :class:`~replicalab.sim.simulation.Simulation`
whose queue is drained by :meth:`Stepped.take` instead of ``run()``: the same replicas,
the same trace, ledger, pictures. :meth:`Stepped.steps` lists what may happen next.
Everything is re-executed from the scenario's seed along a list of steps (see
:func:`replay`), which is simple and obviously faithful: a state is exactly what the
simulator computes, never a copy that could drift from it.
"""

from __future__ import annotations

import array
import hashlib
import heapq
from collections.abc import Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.events import Delivered, Dropped, Duplicated
from replicalab.explore import canon
from replicalab.scenarios.world import Prepared, TableScenario
from replicalab.sim.describe import describe
from replicalab.sim.events import PRIORITY_NORMAL, Deliver, Fire
from replicalab.sim.runtime import SimRuntime
from replicalab.sim.simulation import Simulation

__all__ = ["KINDS", "Faults", "Step", "Stepped", "fingerprint", "in_flight", "message_text", "replay",
           "start"]

#: What a step can be: deliver a message, run the next timed event, drop or duplicate a message,
#: crash a replica (durably, or losing its state: ``amnesia``) or restart it, fire a timer early.
KINDS = ("deliver", "next", "drop", "duplicate", "crash", "amnesia", "restart", "fire")


#: The faults a schedule may have, by name.
FAULTS = ("loss", "duplicate", "crash", "amnesia")
#: How timers fire: in time order only, or also early at any step (see the module docs).
TIMERS = ("order", "choice")


@attrs.frozen
class Faults:
    """How many messages one schedule may lose (``loss``) and duplicate (``duplicate``), and
    how many times a replica may crash (``crash``: durably, keeping its state; messages that
    reach it while it is down are lost; it comes back at any later step, one down at a time)
    and crash losing its state (``amnesia``: it comes back empty, under a new causal
    identity). ``timers`` is not a budget but how timers fire: ``"order"`` or ``"choice"``."""

    loss: int = 0
    duplicate: int = 0
    crash: int = 0
    amnesia: int = 0
    timers: str = "order"

    @classmethod
    def parse(cls, faults: Any) -> Faults:
        """``"none"``, or fault names joined by ``+`` (``"loss"``, ``"loss+crash"``: one each),
        or a mapping ``{"loss": n, "duplicate": m, "crash": k, "amnesia": a}``; else ConfigError."""
        if isinstance(faults, Faults):
            return faults
        if isinstance(faults, str):
            names = [] if faults == "none" else faults.split("+")
            if all(n in FAULTS for n in names) and len(set(names)) == len(names):
                return cls(**{n: 1 for n in names})  # type: ignore[arg-type]  # FAULTS are the int fields
        elif isinstance(faults, dict) and set(faults) <= set(FAULTS):
            for name, n in faults.items():
                if type(n) is not int or not 0 <= n <= 3:
                    raise ConfigError(f"faults[{name!r}] must be an integer from 0 to 3 (each one "
                                      f"multiplies the schedules), got {_validate.shown(n)}")
            return cls(**faults)
        raise ConfigError(
            f"faults must be 'none', fault names joined by '+' ({', '.join(FAULTS)}; e.g. "
            f"'loss+crash'), or a mapping like {{'loss': 1, 'crash': 1}}, got {_validate.shown(faults)}")

    def left(self, steps: Sequence[Step]) -> Faults:
        """The budget left after ``steps``."""
        kinds = [s.kind for s in steps]
        return Faults(self.loss - kinds.count("drop"), self.duplicate - kinds.count("duplicate"),
                      self.crash - kinds.count("crash"), self.amnesia - kinds.count("amnesia"),
                      self.timers)

    def with_timers(self, timers: Any) -> Faults:
        """The same budget with timers firing ``timers`` (``"order"`` or ``"choice"``)."""
        if timers not in TIMERS:
            raise ConfigError(f"timers must be 'order' (in time order) or 'choice' (a pending timer "
                              f"may also fire early, at any step), got {_validate.shown(timers)}")
        return attrs.evolve(self, timers=timers)


@attrs.frozen(order=True)
class Step:
    """One choice: ``kind`` (see :data:`KINDS`) of message or event ``id``.

    ``id`` is the message id (the trace's ``id``) or, for ``next``, the event's place in
    the queue; both are the same in every re-execution of the same steps. ``replica`` is
    where it happens (a delivery's destination); ``label`` says it in words.
    """

    kind: str
    id: int
    replica: str | None = attrs.field(default=None, order=False)
    label: str = attrs.field(default="", order=False)

    def to_plain(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "replica": self.replica, "label": self.label}


def _what(msg: Any) -> str:
    described = describe(msg)
    if isinstance(described, dict):
        write = described.get("write")
        kind = described.get("type", type(msg).__name__)
        return f"{kind}({write})" if write is not None else str(kind)
    return str(described)


class Stepped(Simulation):
    """A simulation run one chosen step at a time (see the module docs).

    It drives the simulation's own queue and handlers (private to ``replicalab.sim``):
    the explorer must run exactly what ``run()`` runs, only in an order it chooses.
    """

    #: Every scheduled action on the heap, where :meth:`steps` sees it and :meth:`take` may pick it.
    _lanes = False
    #: Set by each delivery :meth:`take` carries out (see there).
    created: tuple[int, ...] = ()
    touched_clients: bool = False
    #: Replicas the explorer crashed (faults "crash"/"amnesia") and has not restarted: only
    #: those may come back. A crash the scope itself scheduled restarts when the scope says.
    injected: frozenset[str] = frozenset()

    def steps(self, faults: Faults) -> list[Step]:
        """What may happen next, in a fixed order: deliveries by (destination, source, id),
        then the next timed event, then early timer firings (``timers="choice"``), then drops
        and duplications, restarts and crashes (when ``faults`` allows)."""
        heap: list[Any] = self._heap  # deliveries are plain tuples, the rest typed (events.py)
        deliveries = sorted((e for e in heap if type(e) is tuple), key=lambda e: (e[3], e[4], e[2]))
        out = [Step("deliver", e[2], e[3], f"deliver {_what(e[5])} {e[4]} -> {e[3]} (#{e[2]})")
               for e in deliveries]
        timed = [e for e in heap if type(e) is not tuple]
        if timed:
            first = min(timed, key=lambda e: (e[0], e[1], e[2]))
            out.append(Step("next", first[2], None, f"t={first[0]}: {_event(first)}"))
            if faults.timers == "choice":
                # Only timers still pending: a cancelled one would fire as a no-op step.
                pending = self._pending_timers
                out += [Step("fire", e[2], e[3], f"timer {e[5]!r} fires early at {e[3]} (due t={e[0]})")
                        for e in sorted(timed, key=lambda e: (e[0], e[1], e[2]))
                        if e is not first and type(e) is Fire and e[4] in pending]
        if faults.loss:
            out += [Step("drop", e[2], e[3], f"lose {_what(e[5])} {e[4]} -> {e[3]} (#{e[2]})")
                    for e in deliveries]
        if faults.duplicate:
            out += [Step("duplicate", e[2], e[3], f"duplicate {_what(e[5])} {e[4]} -> {e[3]} (#{e[2]})")
                    for e in deliveries]
        # A replica the explorer crashed may come back at any step (so a finished schedule has
        # none of those down); ids for these are negative: they name a replica (its place
        # among the sorted ids).
        replicas = list(self._replicas)
        out += [Step("restart", -1 - i, r, f"{r} restarts") for i, r in enumerate(replicas)
                if r in self._down and r in self.injected]
        if faults.crash and not self._down and (deliveries or timed):
            out += [Step("crash", -1 - i, r, f"{r} crashes (keeps its state)")
                    for i, r in enumerate(replicas)]
        if faults.amnesia and not self._down and (deliveries or timed):
            out += [Step("amnesia", -1 - i, r, f"{r} crashes and loses its state")
                    for i, r in enumerate(replicas)]
        return out

    def take(self, step: Step) -> None:
        """Carry out ``step`` (one that :meth:`steps` offered now)."""
        if step.kind in ("crash", "amnesia", "restart"):
            self._crash_or_restart(step)
            return
        entry: Any = next((e for e in self._heap if e[2] == step.id), None)
        timed = step.kind in ("next", "fire")
        if entry is None or (type(entry) is tuple) == timed or (step.kind == "fire" and type(entry) is not Fire):
            raise ConfigError(f"step {step.label or step} is not possible here")
        self.created, self.touched_clients = (), False
        if step.kind == "duplicate":
            self._duplicate(entry)
            return
        self._heap.remove(entry)
        heapq.heapify(self._heap)
        self._events += 1
        trace = self._trace
        if trace is not None:
            trace.step += 1
        if step.kind == "next":
            self.now = max(self.now, entry[0])
            self._on[type(entry)](entry)
            return
        if step.kind == "fire":
            self._fire(entry)  # early: at the current time, like a delivery
            return
        _, _, seq, dst, src, msg, causal = entry
        if step.kind == "drop":
            self._dropped += 1
            if trace is not None:
                trace._add(Dropped, self.now, src, dst=dst, msg=describe(msg), reason="loss", id=seq)
            return
        if (self._cut and (src, dst) in self._cut) or (self._down and dst in self._down):
            self._drop_on_arrival(Deliver._make(entry))
            return
        if causal is not None:
            self._truth.receive(dst, causal)
        self._delivered += 1
        if trace is not None:
            trace._add(Delivered, self.now, dst, src=src, msg=describe(msg), id=seq)
        first = self._seq
        before = self._outside(dst)
        self._handlers[dst](self._contexts[dst], src, msg)
        #: The messages this delivery sent (their ids), and whether it did anything beyond its
        #: own replica and the messages it sent: a reply, a timer, a client callback. The
        #: explorer's reduction relies on both (see replicalab.explore.space).
        self.created = tuple(e[2] for e in self._heap if type(e) is tuple and e[2] >= first)
        self.touched_clients = self._outside(dst) != before

    def _outside(self, replica: str) -> tuple[int, ...]:
        """What a delivery to ``replica`` must not change for deliveries elsewhere to commute
        with it: timed events queued, client replies and failures, timers pending, timers set."""
        timed = sum(1 for e in self._heap if type(e) is not tuple)
        return (timed, len(self._clients.replies), len(self._clients.failed),
                len(self._pending_timers), self._timer_ids, len(self._clients.issued))

    def _crash_or_restart(self, step: Step) -> None:
        replica = step.replica
        if replica not in self._replicas or (replica in self._down) != (step.kind == "restart") \
                or (step.kind == "restart" and replica not in self.injected):
            raise ConfigError(f"step {step.label or step} is not possible here")
        self.created, self.touched_clients = (), False
        self._events += 1
        if self._trace is not None:
            self._trace.step += 1
        runtime = SimRuntime(self)
        if step.kind != "restart":
            durable = step.kind == "crash"
            runtime.crash(replica, durable)
            runtime.record("Crashed", replica, {"durable": durable})
            self.injected = self.injected | {replica}
        else:
            runtime.restart(replica)
            self.injected = self.injected - {replica}

    def _duplicate(self, entry: Any) -> None:
        _, _, seq, dst, src, msg, causal = entry
        again = self._seq
        self._seq = again + 1
        heapq.heappush(self._heap, (self.now, PRIORITY_NORMAL, again, dst, src, msg, causal))
        self._duplicated += 1
        if self._trace is not None:
            self._trace.step += 1
            self._trace._add(Duplicated, self.now, src, dst=dst, msg=describe(msg), due=self.now, id=again)


#: DynamoDB requests by the operation a user wrote (a DynamoWrite says which itself).
_OPERATIONS = {"DynamoGet": "GetItem", "DynamoQuery": "Query", "DynamoTransaction": "TransactWriteItems"}


def _request_name(request: Any) -> str:
    """What a client request is called in a step's label: ``UpdateItem``, ``GetItem``, ..."""
    operation = getattr(request, "operation", None)
    name = type(request).__name__
    return operation if isinstance(operation, str) else _OPERATIONS.get(name, name)


def _event(event: Any) -> str:
    kind = type(event).__name__
    if kind == "ClientArrival":
        return f"{event.client} sends {_request_name(event.request)} {event.request.op} to {event.replica}"
    if kind == "ReplyArrival":
        return f"the reply to {event.reply.response.op} reaches {event.reply.client}"
    if kind == "Fire":
        return f"timer {event.timer!r} fires at {event.replica}"
    return "a scheduled fault"


def start(scenario: TableScenario, merge: Any, seed: int, options: dict[str, Any]) -> Prepared:
    """The scenario's run, built on a :class:`Stepped` simulation and started."""
    prepared = scenario.prepare(merge, seed, simulation=Stepped, **options)
    prepared.sim._start()
    return prepared


def replay(scenario: TableScenario, merge: Any, seed: int, options: dict[str, Any],
           steps: Sequence[Step]) -> Prepared:
    """Re-execute ``steps`` from the start: the run they make."""
    prepared = start(scenario, merge, seed, options)
    sim = prepared.sim
    for step in steps:
        sim.take(step)  # type: ignore[attr-defined]
    return prepared


#: Trace fields that name a message or an event by its place in this one execution (ids,
#: due times of the latency draws the explorer ignores): left out of a state's fingerprint,
#: so two orders that reach the same state are recognised as one.
_EXECUTION_NAMES = ("id", "due")


def message_text(entry: Any) -> str:
    """A message in flight as canonical JSON, without its id: who to, who from, what, and the
    ground truth it carries."""
    return canon.text([entry[3], entry[4], canon.plain(entry[5]), canon.plain(entry[6])])


def in_flight(prepared: Prepared, message_id: int) -> Any:
    """The queue entry of message ``message_id``."""
    return next(e for e in prepared.sim._heap if type(e) is tuple and e[2] == message_id)


def fingerprint(prepared: Prepared, budget: Faults) -> str:
    """SHA-256 over the canonical JSON of everything that decides the rest of a run and its
    verdicts: each replica's state, the messages in flight (without their ids), the timed
    events still to come, ground truth, the clients' state, what is down or cut, the fault
    budget left, and the trace so far as a multiset of records (the ledger reads merge
    losses, replies and conflict reports from it) without step numbers and message ids."""
    sim: Any = prepared.sim
    flight = sorted(message_text(e) for e in sim._heap if type(e) is tuple)
    timed = [[e[0], e[1], type(e).__name__, canon.plain(list(e[3:]))]
             for e in sorted((e for e in sim._heap if type(e) is not tuple),
                             key=lambda e: (e[0], e[1], e[2]))]
    # Trace data is plain JSON data already (the trace's canonical export relies on it).
    records = sorted(canon.text([e.kind, e.time, e.replica,
                                 {k: v for k, v in e.data.items() if k not in _EXECUTION_NAMES}])
                     for e in sim.trace)
    clients = prepared.clients
    state = {
        "now": sim.now,
        "replicas": {rid: canon.plain(r) for rid, r in sim._replicas.items()},
        "flight": flight,
        "timed": timed,
        "knowledge": canon.plain(sim._truth.knowledge),
        "writes": canon.plain(sim._truth.writes),
        "replies": sorted(canon.text(canon.plain(r)) for r in sim._clients.replies),
        "failed": canon.plain(dict(sim._clients.failed)),
        "reads": canon.plain(clients.read_replies),
        "read_knowledge": canon.plain(clients.read_knowledge),
        "abandoned": canon.plain(clients.abandoned),
        "down": sorted(sim._down), "cut": sorted(sim._cut),
        "injected": sorted(getattr(sim, "injected", ())),
        # Whether a down replica keeps its state, and each replica's causal identity (A~2 after
        # an amnesia crash): both decide what a restart and later writes do.
        "durable": sorted(sim._durable.items()), "identity": sorted(sim._identity.items()),
        "pending_timers": sorted(sim._pending_timers.values()),
        "budget": [budget.loss, budget.duplicate, budget.crash, budget.amnesia, budget.timers],
        # The random streams as they stand: the draws still to come (a replica's random(),
        # a lossy link) are part of what decides the rest of the run.
        "streams": {name: _stream_state(rng) for name, rng in sorted(sim.streams._streams.items())},
        "trace": records,
    }
    return canon.digest(state)


def _stream_state(rng: Any) -> str:
    """SHA-256 of a Mersenne Twister's state (its 625 words as bytes: cheaper than its repr)."""
    state = rng.getstate()
    # A random.Random's state is (VERSION, words, gauss_next); a link's bare generator
    # (RandomStreams.generator) gives the words alone, and gets the fingerprint a stream in
    # that state has (its gauss_next is never set: only random() is drawn).
    version, words, gauss = state if len(state) == 3 else (3, state, None)
    return hashlib.sha256(array.array("Q", words).tobytes() + repr((version, gauss)).encode()).hexdigest()
