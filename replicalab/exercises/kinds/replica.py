"""Kind ``replica``: a sans-I/O replica run in the simulator — does it converge, how fast, how cheaply?

The learner's class (``replica`` names it) is a :class:`~replicalab.replica.base.Replica`
that spreads *rumours*: clients tell a few replicas a rumour each, as a
:class:`Rumour` request, and every replica must end up knowing every one.
The contract the check relies on:

* ``cls(replica_id, period=period)`` builds a replica; ``period`` (ms) is how
  often it may gossip;
* rumours arrive as ``on_message(ctx, client, Rumour(op=..., rumour=...))``;
* ``replica.known`` is the set of rumours it knows (strings), read as the run goes; for the
  learner's replicas (all in one sandboxed process) a rumour in ``known`` counts only if the
  grader saw it reach that replica — told by a client, or carried by a delivered message
  from a replica that had it (:class:`~replicalab.exercises.kinds.replica_runtime.Evidence`);
* handlers only use ``ctx``: no printing, files, sockets, sleeping, real
  clock or global randomness.

For every topology and ``seeds`` seeds (from the check's seed on) the check
builds the graph, tells ``rumours`` rumours to distinct random replicas in the
first two periods, and runs the simulator up to a deadline ``rounds`` periods
after the last one was told. It fails when

* at the deadline some replica still lacks some rumour — the message names
  them, what they lacked, and how to replay the run;
* the replicas sent more than ``messages`` messages per replica per period on
  average (so flooding every peer on every timer fails);
* a handler printed, opened a file, used a socket or ran a program (or slept,
  from Python 3.12, which audits ``time.sleep``);
* with ``replay = true``: the first run, repeated with the same seed, did
  something different (randomness or time not taken from ``ctx``)::

    kind = "replica"
    replica = "Gossip"
    topologies = [{ graph = "full-mesh", n = 16 }, { graph = "watts-strogatz", n = 32, k = 4, p = 0.2 }]
    seeds = 3
    rumours = 3
    period = 100        # ms (default 100)
    rounds = 12         # the deadline, in periods after the last rumour was told
    messages = 4        # budget: messages per replica per period, on average
    loss = 0.05         # each message lost with this probability (default 0)
    latency = [5, 20]   # ms, uniform (the default)
    replay = true       # run the first seed twice and compare (default false)

Graphs: ``full-mesh`` (``n``), ``ring`` (``n``), ``line`` (``n``),
``watts-strogatz`` (``n``, ``k``, ``p``; connected) and ``random-regular``
(``n``, ``d``; connected). Replicas are ``n00``, ``n01``, ...

A run can be replayed by hand with :func:`setup`, exactly as the check ran it:

    >>> from replicalab.exercises.kinds.replica import Rumour, setup
    >>> from replicalab.replica.base import Replica
    >>> class Flood(Replica):
    ...     def __init__(self, replica_id, period=100):
    ...         super().__init__(replica_id)
    ...         self.known = set()
    ...     def on_message(self, ctx, src, msg):
    ...         new = {msg.rumour} if isinstance(msg, Rumour) else set(msg) - self.known
    ...         if new:
    ...             self.known |= new
    ...             for peer in ctx.peers:
    ...                 ctx.send(peer, tuple(sorted(self.known)))
    >>> sim, told = setup(Flood, {"graph": "ring", "n": 5}, seed=1, rumours=2)
    >>> [(t.at, t.replica, t.rumour) for t in told]
    [(3, 'n4', 'rumour-1'), (47, 'n3', 'rumour-2')]
    >>> sim.run(until=300)
    >>> {r.id: sorted(r.known) for r in sim.replicas.values()}["n0"]
    ['rumour-1', 'rumour-2']
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import attrs

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    find,
    is_int,
    is_list_of,
    is_name,
)
from replicalab.exercises.kinds.replica_runtime import (
    GUARD,
    Evidence,
    Guarded,
    HandlerDidIO,
    RemoteReplica,
    learner_line,
)
from replicalab.exercises.kinds.topologies import (
    build_graph,
    check_bool,
    check_latency,
    check_probability,
    check_topology,
    describe_graph,
)
from replicalab.replica.base import Replica, Request
from replicalab.sim import Link, Simulation, Uniform
from replicalab.sim.rng import RandomStreams

__all__ = ["PARAMS", "REQUIRED", "Outcome", "Rumour", "Told", "build_graph", "run", "setup",
           "trial"]


@attrs.frozen
class Rumour(Request):
    """A client tells a replica a rumour: ``Rumour(op="tell-1", rumour="rumour-1")``."""

    rumour: str = attrs.field(validator=attrs.validators.instance_of(str))


@attrs.frozen
class Told:
    """Rumour ``rumour`` was told to ``replica`` at ``at`` ms."""

    at: int
    replica: str
    rumour: str


PARAMS = {
    "replica": is_name,
    "topologies": is_list_of(check_topology),
    "seeds": is_int(1, 50),
    "rumours": is_int(1, 20),
    "period": is_int(10, 10_000),
    "rounds": is_int(1, 1000),
    "messages": is_int(1, 1000),
    "loss": check_probability,
    "latency": check_latency,
    "replay": check_bool,
}
REQUIRED = {"replica", "topologies", "rounds", "messages"}


# -- one run ----------------------------------------------------------------------------

def setup(cls: type, topology: Mapping[str, Any], *, seed: int, rumours: int = 3,
          period: int = 100, loss: float = 0.0, latency: tuple[int, int] = (5, 20),
          trace: bool = True, max_events: int = 10_000_000) -> tuple[Simulation, list[Told]]:
    """A simulation of ``cls`` replicas on ``topology`` with the rumours told, not yet run.

    Exactly what the check runs for one seed; call ``sim.run(until=...)`` and look.
    """
    graph = build_graph(topology, seed)
    ids = sorted(graph.nodes)
    replicas = [cls(replica_id, period=period) for replica_id in ids]
    sim = Simulation(replicas, topology=graph, seed=seed, trace=trace, max_events=max_events,
                     link=Link(Uniform(latency[0], latency[1]), loss=loss))
    draw = RandomStreams(seed).stream("exercise:rumours")
    pool = list(ids)
    drawn = []
    for _ in range(min(rumours, len(ids))):
        replica = pool.pop(int(draw.random() * len(pool)))
        drawn.append((int(draw.random() * 2 * period), replica))
    told = [Told(at, replica, f"rumour-{i + 1}") for i, (at, replica) in enumerate(sorted(drawn))]
    for t in told:
        sim.client_request(t.at, t.replica, Rumour(op=f"tell-{t.rumour}", rumour=t.rumour))
    return sim, told


@attrs.frozen
class Outcome:
    """How one run went: when everyone knew everything (None: not at the end), its cost, who lacked what."""

    told: tuple[Told, ...]
    replicas: int
    period: int
    deadline: int
    stopped_at: int
    converged_at: int | None
    sent: int
    budget: int
    events: int
    missing: dict[str, tuple[str, ...]]
    storm: bool = False
    trace: tuple[tuple, ...] = ()
    #: replica -> rumours it claimed to know that no client told it and no message brought it
    unfounded: dict[str, tuple[str, ...]] = attrs.field(factory=dict)

    @property
    def rounds(self) -> int | None:
        """Whole periods from the last rumour told until everyone knew everything."""
        if self.converged_at is None:
            return None
        return math.ceil((self.converged_at - self.told[-1].at) / self.period)

    @property
    def per_replica_per_period(self) -> float:
        """Messages sent per replica per period, on average over the run."""
        return self.sent / self.replicas / (self.stopped_at / self.period)


def _founded(replica: Replica, claimed: set[str], unfounded: dict[str, set[str]] | None
             ) -> set[str]:
    """What ``replica`` claims to know and the grader saw reach it (see :class:`Evidence`)."""
    evidence = getattr(replica, "evidence", None) if isinstance(replica, RemoteReplica) else None
    if evidence is None:
        return claimed
    had = evidence.of(replica.id)
    beyond = (claimed & evidence.rumours) - had
    if beyond and unfounded is not None:
        unfounded.setdefault(replica.id, set()).update(beyond)
    return claimed & had


def _all_known(replicas: Collection[Replica], name: str,
               unfounded: dict[str, set[str]] | None = None) -> list[set[str]]:
    """``_known`` of every replica (held to the evidence); for the learner's replicas, one request."""
    replicas = list(replicas)
    if replicas and all(isinstance(r, RemoteReplica) for r in replicas):
        from replicalab.exercises.remote import LearnerError, session_of

        session = session_of(replicas[0].remote)  # type: ignore[attr-defined]
        try:
            values = session.value({"op": "gets", "name": "known",
                                    "on": [session.encode(r.remote) for r in replicas]})  # type: ignore[attr-defined]
        except LearnerError as error:
            if not error.is_a("AttributeError"):
                raise
            values = None
        if isinstance(values, list) and len(values) == len(replicas):
            return [_founded(r, _checked_known(r, name, v), unfounded)
                    for r, v in zip(replicas, values, strict=True)]
    return [_founded(r, _known(r, name), unfounded) for r in replicas]


def _checked_known(replica: Replica, name: str, known: Any) -> set[str]:
    if isinstance(known, (str, bytes)) or not isinstance(known, Collection):
        raise CheckFailed(f"{name}({replica.id!r}).known must be a set of rumours, "
                          f"got {known!r}")
    return set(known)


def _known(replica: Replica, name: str) -> set[str]:
    if not hasattr(replica, "known"):
        raise CheckFailed(f"{name}({replica.id!r}) has no attribute 'known' (the starter sets "
                          "self.known = set() in __init__; keep it: the check reads it)")
    known = replica.known
    if isinstance(known, (str, bytes)) or not isinstance(known, Collection):
        raise CheckFailed(f"{name}({replica.id!r}).known must be a set of rumours, "
                          f"got {known!r}")
    return set(known)


def trial(cls: type, topology: Mapping[str, Any], *, seed: int, rumours: int = 3,
          period: int = 100, rounds: int = 12, messages: int = 4, loss: float = 0.0,
          latency: tuple[int, int] = (5, 20), record: bool = False, module: Any = None) -> Outcome:
    """Run ``cls`` as the check does and return the :class:`Outcome` (nothing is judged here).

    The run stops at the deadline, or as soon as the message budget is spent,
    or at a storm of events (a timer re-arming with no delay). Handlers run
    with I/O refused; an attempt raises :class:`CheckFailed` naming it.
    ``record`` keeps the trace's events without their payloads (for the replay
    comparison). Exceptions from the learner's handlers propagate.
    """
    name = getattr(cls, "__name__", "replica")
    n = build_graph(topology, seed).number_of_nodes()
    step = max(1, period // 10)
    longest = (2 + rounds) * period  # every rumour is told within two periods
    # A storm is stopped long before the simulator's own cap: the budget twice over, plus a
    # timer per replica per step, plus slack.
    cap = 2 * messages * n * (2 + rounds) + n * (longest // step + 2) + 1000
    GUARD.attempts.clear()
    try:
        with Guarded():
            sim, told = setup(cls, topology, seed=seed, rumours=rumours, period=period, loss=loss,
                              latency=latency, trace=record, max_events=cap)
        evidence = Evidence(sim.replicas, (t.rumour for t in told))
        for replica in sim.replicas.values():
            if isinstance(replica, RemoteReplica):
                replica.evidence = evidence
        unfounded: dict[str, set[str]] = {}
        deadline = told[-1].at + rounds * period
        budget = messages * n * deadline // period
        everything = {t.rumour for t in told}
        converged_at = None
        storm = False
        t = 0
        while t < deadline:
            t = min(t + step, deadline)
            try:
                with Guarded():
                    sim.run(until=t)
            except ConfigError:
                if sim.statistics().events < cap:
                    raise  # the learner's own mistake (a bad timer delay, say)
                storm = True
                break
            if sim.statistics().sent > budget:
                break
            if t >= told[-1].at:
                if all(everything <= known
                       for known in _all_known(sim.replicas.values(), name, unfounded)):
                    converged_at = t if converged_at is None else converged_at
                else:
                    converged_at = None  # not everyone knows everything (any more)
    except HandlerDidIO as error:
        what = GUARD.attempts[0] if GUARD.attempts else str(error)
        raise CheckFailed(
            f"a handler {what}{learner_line(error, module)}\n\n"
            "Handlers do no I/O: no print, files, sockets or sleeping. Everything a replica does "
            "goes through ctx: ctx.send, ctx.set_timer, and ctx.log(kind, **data) to record "
            "what happened in the trace (look at it after the run).") from None
    if GUARD.attempts:  # a handler caught HandlerDidIO and carried on
        raise CheckFailed(f"a handler {GUARD.attempts[0]} (and caught the error). Handlers do "
                          "no I/O: everything a replica does goes through ctx.")
    missing = {}
    for replica in sim.replicas.values():
        lacks = everything - _founded(replica, _known(replica, name), unfounded)
        if lacks:
            missing[replica.id] = tuple(sorted(lacks))
    trace: tuple[tuple, ...] = ()
    if record and sim.trace is not None:
        keep = ("dst", "src", "due", "id", "op", "client")
        trace = tuple((e.time, e.kind, e.replica, tuple((k, e.data[k]) for k in keep if k in e.data))
                      for e in sim.trace)
    stats = sim.statistics()
    return Outcome(told=tuple(told), replicas=n, period=period, deadline=deadline, stopped_at=t,
                   converged_at=converged_at, sent=stats.sent, budget=budget, events=stats.events,
                   missing=missing, storm=storm, trace=trace,
                   unfounded={r: tuple(sorted(u)) for r, u in sorted(unfounded.items())})


# -- the check ---------------------------------------------------------------------------

def _replay_code(ctx: CheckContext, spec: Mapping[str, Any], seed: int, until: int,
                 options: dict[str, Any]) -> str:
    module = Path(getattr(ctx.module, "__file__", "your_module.py")).stem
    cls = ctx.params["replica"]
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    return (f"    from replicalab.exercises.kinds.replica import setup\n"
            f"    from {module} import {cls}\n"
            f"    sim, told = setup({cls}, {dict(spec)!r}, seed={seed}{extra})\n"
            f"    sim.run(until={until})\n"
            f"    print({{r.id: sorted(r.known) for r in sim.replicas.values()}})\n"
            f"    print(sim.statistics())")


def _reach_line(outcome: Outcome) -> str:
    reached = []
    for t in outcome.told:
        lacking = sum(t.rumour in lacks for lacks in outcome.missing.values())
        reached.append(f"{t.rumour} reached {outcome.replicas - lacking} of {outcome.replicas}")
    return ", ".join(reached) + "."


def _told_line(told: tuple[Told, ...]) -> str:
    return ", ".join(f"{t.rumour} to {t.replica} at t={t.at}" for t in told)


def run(ctx: CheckContext) -> None:
    from replicalab.exercises.remote import LearnerError, describe, is_remote, session_of

    params = ctx.params
    cls = find(ctx.module, params["replica"], "class")
    if is_remote(cls):
        facts = describe(cls)
        if not (facts.get("is_class") and "replicalab.replica.base.Replica" in facts.get("bases", [])):
            raise CheckFailed(f"{params['replica']} must be a class derived from "
                              "replicalab.replica.base.Replica (the starter's is)")
        session_of(cls).guard = True
        learner = cls

        def cls(replica_id: str, period: int = 100) -> Replica:
            return RemoteReplica(learner(replica_id, period=period), replica_id)

        cls.__name__ = params["replica"]
        try:
            _run_trials(ctx, cls)
        except LearnerError as error:
            if error.type_name != "HandlerDidIO":
                raise
            raise CheckFailed(
                f"a handler {error.attempt or error.message}"
                + (f" at {error.where}" if error.where else "") + "\n\n"
                "Handlers do no I/O: no print, files, sockets or sleeping. Everything a replica does "
                "goes through ctx: ctx.send, ctx.set_timer, and ctx.log(kind, **data) to record "
                "what happened in the trace (look at it after the run).") from None
        return
    if not (isinstance(cls, type) and issubclass(cls, Replica)):
        raise CheckFailed(f"{params['replica']} must be a class derived from "
                          "replicalab.replica.base.Replica (the starter's is)")
    _run_trials(ctx, cls)


def _run_trials(ctx: CheckContext, cls: Any) -> None:
    params = ctx.params
    options: dict[str, Any] = {"rumours": params.get("rumours", 3),
                               "period": params.get("period", 100)}
    if params.get("loss"):
        options["loss"] = params["loss"]
    if "latency" in params:
        options["latency"] = tuple(params["latency"])
    rounds, messages = params["rounds"], params["messages"]
    for index, spec in enumerate(params["topologies"]):
        for seed in range(ctx.seed, ctx.seed + params.get("seeds", 1)):
            replay = params.get("replay", False) and index == 0 and seed == ctx.seed
            outcome = trial(cls, spec, seed=seed, rounds=rounds, messages=messages,
                            record=replay, module=ctx.module, **options)
            where = (f"{describe_graph(spec)}, seed {seed}"
                     + (f", {options['loss']:.0%} message loss" if options.get("loss") else ""))
            _judge(ctx, outcome, spec, seed, where, options, rounds, messages)
            if replay:
                again = trial(cls, spec, seed=seed, rounds=rounds, messages=messages,
                              record=True, module=ctx.module, **options)
                _same_run(outcome, again, where)


def _judge(ctx: CheckContext, outcome: Outcome, spec: Mapping[str, Any], seed: int, where: str,
           options: dict[str, Any], rounds: int, messages: int) -> None:
    period = outcome.period
    if outcome.sent > outcome.budget:
        raise CheckFailed(
            f"{where}: too many messages, {outcome.sent} by t={outcome.stopped_at} ms "
            f"({outcome.per_replica_per_period:.1f} per replica per {period} ms period). The "
            f"budget is {messages} per replica per period on average: {outcome.budget} in all "
            f"by the deadline, t={outcome.deadline} ms.\n"
            "Gossip with one random peer per period, one message carrying everything you know: "
            "not with every peer, not one message per rumour, not on every message received."
            "\n\nReplay it:\n\n"
            + _replay_code(ctx, spec, seed, outcome.stopped_at, options))
    if outcome.storm:
        raise CheckFailed(
            f"{where}: {outcome.events} events by t={outcome.stopped_at} ms, far more than "
            f"gossip every {period} ms needs ({outcome.sent} messages). A timer that re-arms "
            "with no delay, or one timer more each time one fires?\n\nReplay it:\n\n"
            + _replay_code(ctx, spec, seed, outcome.stopped_at, options))
    if outcome.missing:
        lines = [f"    {r} lacked {', '.join(lacks)}"
                 for r, lacks in sorted(outcome.missing.items())[:8]]
        if len(outcome.missing) > 8:
            more = len(outcome.missing) - 8
            lines.append(f"    ... and {more} more replica{'s' if more > 1 else ''}")
        raise CheckFailed(
            f"{where}: at the deadline, {rounds} periods ({rounds * period} ms) after the last "
            f"rumour was told, {len(outcome.missing)} of {outcome.replicas} replicas did not "
            f"know every rumour. At t={outcome.deadline} ms:\n" + "\n".join(lines)
            + f"\n{_reach_line(outcome)}\n(told: {_told_line(outcome.told)}; "
            f"{outcome.sent} messages sent.)\n" + _unfounded_lines(outcome) + "\n"
            "Replay it:\n\n" + _replay_code(ctx, spec, seed, outcome.deadline, options))


def _unfounded_lines(outcome: Outcome) -> str:
    """Why a replica that claimed a rumour was counted as lacking it (or '')."""
    if not outcome.unfounded:
        return ""
    lines = [f"    {r} claims {', '.join(rumours)}, but was never sent "
             + ("it" if len(rumours) == 1 else "them")
             for r, rumours in list(outcome.unfounded.items())[:8]]
    if len(outcome.unfounded) > 8:
        lines.append(f"    ... and {len(outcome.unfounded) - 8} more")
    return ("Some replicas claim rumours they were never sent:\n" + "\n".join(lines) + "\n"
            "A replica knows a rumour only when a client told it, or a message delivered to it "
            "(from a replica that had the rumour) carried it: replicas share nothing but "
            "messages, so `known` filled any other way does not count.\n")


def _same_run(first: Outcome, second: Outcome, where: str) -> None:
    if first.trace == second.trace and first.missing == second.missing:
        return
    a_events, b_events = first.trace, second.trace
    i = next((i for i, (a, b) in enumerate(zip(a_events, b_events, strict=False)) if a != b),
             min(len(a_events), len(b_events)))

    def show(events: tuple[tuple, ...]) -> str:
        if i >= len(events):
            return "nothing more (the run ended)"
        time, kind, replica, data = events[i]
        return f"t={time} {kind} on {replica} {dict(data)}"

    raise CheckFailed(
        f"{where}: the same seed gave two different runs. Event {i} of the trace:\n"
        f"    first run:  {show(a_events)}\n    second run: {show(b_events)}\n"
        "Handlers must be deterministic: draw randomness with ctx.random() (never the random "
        "module) and read time with ctx.now (never the real clock).")
