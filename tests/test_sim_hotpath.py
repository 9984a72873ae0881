"""The delivery hot path against an independent oracle: every message's fate under random
fault schedules (partitions of every shape, one-way cuts, heals, crashes, restarts with and
without state) is what the schedule says, traced or not.

The simulator keeps a partition as each receiver's set of cut-off senders (``_cut_from``,
rebuilt when a partition starts or heals) and a replica's handler in its context
(``_on_message``, replaced on a restart without state). The oracle here recomputes, from the
fault list alone, which links are cut and which replicas are down at every millisecond.
"""

from __future__ import annotations

import random

import networkx as nx
import pytest

from replicalab.errors import ConfigError
from replicalab.replica.base import Replica
from replicalab.sim import Link, Simulation, Uniform
from replicalab.sim.faults import Crash, Heal, OneWayCut, Partition, Restart

IDS = ["a", "b", "c", "d", "e"]


class _Gossip(Replica):
    """Forward each message to a random peer; count what arrived (per incarnation)."""

    def __init__(self, replica_id: str, incarnation: int = 1) -> None:
        super().__init__(replica_id)
        self.incarnation = incarnation
        self.got = 0

    def on_start(self, ctx):
        for _ in range(4):
            ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], self.incarnation)

    def on_message(self, ctx, src, msg):
        self.got += 1
        ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], self.incarnation)

    def recover(self, identity: str) -> Replica:
        return _Gossip(self.id, self.incarnation + 1)


def _schedule(seed: int) -> list:
    """A valid random fault schedule over IDS: times increase, heals follow cuts, restarts
    follow crashes."""
    rng = random.Random(seed)
    faults: list = []
    t, cut, down = 0, False, set()
    while t < 300:
        t += 1 + int(rng.random() * 40)
        kind = rng.choice(["isolate", "split", "bridge", "oneway", "heal", "crash", "restart"])
        if kind == "isolate":
            faults.append(Partition.isolate(t, rng.choice(IDS), IDS))
        elif kind == "split":
            faults.append(Partition.split(t, rng.sample(IDS, 2), IDS))
        elif kind == "bridge":
            b, *rest = rng.sample(IDS, 5)
            faults.append(Partition.bridge(t, b, rest[:2], rest[2:]))
        elif kind == "oneway":
            src, dst = rng.sample(IDS, 2)
            faults.append(OneWayCut(t, src, dst))
        elif kind == "heal" and cut:
            faults.append(Heal(t))
        elif kind == "crash" and len(down) < 2:
            r = rng.choice([r for r in IDS if r not in down])
            faults.append(Crash(t, r, durable=rng.random() < 0.5))
            down.add(r)
        elif kind == "restart" and down:
            r = sorted(down)[0]
            faults.append(Restart(t, r))
            down.discard(r)
        else:
            continue
        cut = (cut or kind in ("isolate", "split", "bridge", "oneway")) and kind != "heal"
    return faults


def _oracle(faults: list) -> list[tuple[int, set[tuple[str, str]], set[str]]]:
    """(from time t, the cut pairs, the replicas down) after each fault, from the list alone."""
    states: list[tuple[int, set[tuple[str, str]], set[str]]] = [(0, set(), set())]
    for f in sorted(faults, key=lambda f: f.at):
        cut, down = set(states[-1][1]), set(states[-1][2])
        if isinstance(f, Partition):
            groups = [set(g) for g in f.groups]
            rest = set(IDS) - set().union(*groups) - set(f.bridges)
            groups += [rest] if rest else []
            for i, left in enumerate(groups):
                for right in groups[i + 1:]:
                    cut |= {(x, y) for x in left for y in right} | {(y, x) for x in left for y in right}
        elif isinstance(f, OneWayCut):
            cut.add((f.src, f.dst))
        elif isinstance(f, Heal):
            cut = set()
        elif isinstance(f, Crash):
            down.add(f.replica)
        elif isinstance(f, Restart):
            down.discard(f.replica)
        states.append((f.at, cut, down))
    return states


def _at(states, t):
    """The oracle's state at time t: faults at t apply before that millisecond's deliveries."""
    return [s for s in states if s[0] <= t][-1]


def _ring() -> nx.Graph:
    """IDS in a ring: most pairs a partition cuts are no link, and each replica has two peers."""
    return nx.cycle_graph(IDS)


def _run(seed: int, trace: bool, loss: float, topology: nx.Graph | None = None,
         ) -> tuple[Simulation, list[_Gossip]]:
    replicas = [_Gossip(i) for i in IDS]
    sim = Simulation(replicas, topology=topology, seed=seed,
                     link=Link(Uniform(1, 9, jitter=1.0), loss=loss), trace=trace)
    sim.add_faults(_schedule(seed))
    sim.run(until=400)
    return sim, replicas


@pytest.mark.parametrize("ring", [False, True], ids=["mesh", "ring"])
@pytest.mark.parametrize("loss", [0.0, 0.1])
@pytest.mark.parametrize("seed", range(8))
def test_every_message_meets_the_fate_the_fault_schedule_gives_it(seed, loss, ring):
    sim, _ = _run(seed, True, loss, _ring() if ring else None)
    states = _oracle(_schedule(seed))
    sent = {e.id: e for e in sim.trace.of_kind("Sent")}
    delivered = sim.trace.of_kind("Delivered")
    dropped = [e for e in sim.trace.of_kind("Dropped") if e.reason != "loss"]  # on arrival
    assert delivered and dropped, "the schedule should both deliver and cut messages"
    for e in delivered:
        _, cut, down = _at(states, e.time)
        assert (e.src, e.replica) not in cut and e.replica not in down, e
        assert sent[e.id].due == e.time
    for e in dropped:
        _, cut, down = _at(states, e.time)
        if e.reason == "crashed":
            assert e.dst in down, e
        else:
            assert e.reason == "partition" and (e.replica, e.dst) in cut and e.dst not in down, e
    # Every message that left is delivered, dropped on arrival or still on its way.
    pending = {e[2] for e in sim._heap if type(e) is tuple}
    arrived = [e.id for e in delivered] + [e.id for e in dropped]
    assert len(arrived) == len(set(arrived))
    assert set(arrived) | pending == {i for i, e in sent.items() if e.due is not None}
    # The receivers' cut sets are the simulator's pairs over links, regrouped (None: no peer
    # is cut off from it); the simulator keeps every pair the faults cut.
    for replica, ctx in sim._contexts.items():
        senders = {s for s, d in sim._cut if d == replica and sim.topology.has_edge(s, d)}
        assert ctx._cut_from == (senders or None)
    assert sim._cut == _at(states, sim.now)[1]


@pytest.mark.parametrize("seed", range(8))
def test_a_traceless_faulty_run_is_the_traced_run(seed):
    off, replicas_off = _run(seed, False, 0.1)
    on, replicas_on = _run(seed, True, 0.1)
    assert off.statistics() == on.statistics()
    assert [(r.got, r.incarnation) for r in off.replicas.values()] == \
        [(r.got, r.incarnation) for r in on.replicas.values()]


def test_a_replica_restarted_without_state_gets_the_messages_for_it():
    """The context's handler is the new replica's: the old object hears nothing more."""
    replicas = [_Gossip(i) for i in IDS]
    sim = Simulation(replicas, seed=3, link=Link(Uniform(1, 9)), trace=False)
    sim.add_faults([Crash(50, "c", durable=False), Restart(60, "c")])
    sim.run(until=55)
    old = sim.replica("c")
    before = old.got
    sim.run(until=300)
    new = sim.replica("c")
    assert new is not old and new.incarnation == 2
    assert old.got == before and new.got > 0
    assert sim._contexts["c"]._on_message == new.on_message


@pytest.mark.parametrize("low, high, jitter", [(1, 10, 1.0), (1, 10, 2), (0, 0, 0), (70, 80, 0),
                                               (3, 3, 5), (0.5, 7.25, 0.75), (1, 2**40, 3)])
def test_latency_draws_are_the_int_formulas_to_the_bit(low, high, jitter):
    """The samplers hold floats (specialized arithmetic); the draws are those of the formulas
    on the numbers as given, ints included."""
    from math import log

    from replicalab.sim import Constant

    rng, ref = random.Random(5), random.Random(5)
    uniform = Uniform(low, high, jitter=jitter).sampler(rng)
    for _ in range(200):
        r = ref.random()
        want = int(low + (high - low) * r + 0.5) if not jitter else \
            int(low + (high - low) * r - jitter * log(1.0 - ref.random()) + 0.5)
        assert uniform() == want
    rng, ref = random.Random(6), random.Random(6)
    constant = Constant(low, jitter=jitter).sampler(rng)
    for _ in range(200):
        want = int(low + 0.5) if not jitter else int(low - jitter * log(1.0 - ref.random()) + 0.5)
        assert constant() == want


# -- where a run stops, and the counters it leaves --------------------------------------------
# run() counts events by the ticks it took and deliveries as the events that were not something
# else. The oracle: the event times of one full traced run (stopping never reorders the queue, so
# every run of the same seed processes a prefix of them), and the documented stop rules.

STOP_FAULTS = [Partition.isolate(5, "a", IDS), Heal(30)]


def _stop_sim(max_events: int = 10_000, max_time: int | None = 10_000) -> tuple[Simulation, list[_Gossip]]:
    replicas = [_Gossip(i) for i in IDS]
    sim = Simulation(replicas, seed=11, link=Link(Uniform(1, 9)), max_events=max_events,
                     max_time=max_time)
    sim.add_faults(STOP_FAULTS)
    return sim, replicas


def _timeline(events: int) -> list[tuple[int, bool]]:
    """(time, is a delivery) of the first ``events`` events, in the order processed."""
    sim, _ = _stop_sim(max_events=events, max_time=None)
    sim.run(events=events)
    first = len(IDS) + 1  # steps 1..n are the replicas starting
    steps: dict[int, tuple[int, bool]] = {}
    for e in sim.trace.events:
        if e.step >= first:
            steps[e.step] = (e.time, steps.get(e.step, (0, False))[1] or type(e).__name__ == "Delivered")
    assert sorted(steps) == list(range(first, first + len(steps)))
    return [steps[s] for s in sorted(steps)]


TIMELINE = _timeline(10_001)  # one more than any run below may process


def _expected(until, events, max_events, max_time):
    """(error or None, events processed, deliveries, now) by the stop rules, from TIMELINE."""
    limit = min(max_events, events if events is not None else max_events)
    last = min(t for t in (until, max_time, 1 << 62) if t is not None)
    done = 0
    while done < min(limit, len(TIMELINE) - 1) and TIMELINE[done][0] <= last:
        done += 1
    delivered = sum(1 for _, d in TIMELINE[:done] if d)
    now = TIMELINE[done - 1][0] if done else 0
    due = TIMELINE[done][0]  # the event after the last processed (TIMELINE runs past them all)
    error = None
    if not (until is not None and due > until):
        if max_time is not None and due > max_time:
            error = "max_time"
        elif done == limit and limit != events:
            error = "max_events"
    if error is None and until is not None:
        now = max(now, until)
    return error, done, delivered, now


@pytest.mark.parametrize("max_time", [None, 40, 120])
@pytest.mark.parametrize("max_events", [0, 37, 400, 10_000])
@pytest.mark.parametrize("events", [None, 0, 1, 37, 400])
@pytest.mark.parametrize("until", [None, 0, 5, 29, 30, 60, 150])
def test_a_run_stops_where_the_rules_say_with_exact_counters(until, events, max_events, max_time):
    if until is not None and max_time is not None and until > max_time:
        return  # refused before anything runs (tested in test_sim.py)
    want_error, want_events, want_delivered, want_now = _expected(until, events, max_events, max_time)
    sim, _ = _stop_sim(max_events, max_time)
    error = None
    try:
        sim.run(until, events=events)
    except ConfigError as e:
        error = "max_time" if "max_time" in str(e) else "max_events"
    stats = sim.statistics()
    assert (error, stats.events, stats.delivered, sim.now) == \
        (want_error, want_events, want_delivered, want_now)


def test_runs_in_slices_count_what_one_run_counts():
    whole, _ = _stop_sim()
    whole.run(until=150)
    sliced, _ = _stop_sim()
    while sliced.now < 150:
        sliced.run(until=min(150, sliced.now + 7), events=13)
    assert sliced.statistics() == whole.statistics()


class _Asking(_Gossip):
    """Reads the simulation's statistics (and the trace's step) from inside its handlers."""

    sim: Simulation
    asked: list

    def on_message(self, ctx, src, msg):
        self.asked.append((self.sim.trace.step, self.sim.statistics()))
        super().on_message(ctx, src, msg)


def test_statistics_asked_during_a_run_count_the_event_being_handled():
    replicas = [_Asking(i) for i in IDS]
    sim = Simulation(replicas, seed=11, link=Link(Uniform(1, 9)))
    asked: list = []
    for r in replicas:
        r.sim, r.asked = sim, asked
    sim.add_faults(STOP_FAULTS)
    sim.schedule(12, lambda s: asked.append((s.trace.step, s.statistics())))
    sim.run(until=20)
    sim.run(until=50, events=300)
    delivered_at = sorted(e.step for e in sim.trace.of_kind("Delivered"))
    assert len(asked) > 20
    for step, stats in asked:  # the k-th event, while handled: k events, deliveries so far
        assert stats.events == step - len(IDS)
        assert stats.delivered == sum(1 for s in delivered_at if s <= step)
    final = sim.statistics()
    assert final.delivered == len(delivered_at) and final.events == sim.trace.step - len(IDS)


# -- the pending cap, as a send asks it --------------------------------------------------------


class _Flood(Replica):
    """Sends until the simulator refuses; remembers how many it got out and the refusal."""

    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.sent, self.refused = 0, None

    def on_start(self, ctx):
        self._flood(ctx)

    def on_message(self, ctx, src, msg):
        pass

    def _flood(self, ctx):
        try:
            while True:
                ctx.send(ctx.peers[0], self.sent)
                self.sent += 1
        except ConfigError as e:
            self.refused = str(e)


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("actions", [0, 1, 5])
def test_a_send_is_refused_exactly_when_the_heap_and_the_lane_hold_max_pending(trace, actions):
    """`len(heap) >= _heap_room` is `len(heap) + queued >= max_pending`, lane or no lane."""
    flood = _Flood("a")
    sim = Simulation([flood, _Flood("b")], seed=1, max_pending=40, trace=trace)
    rooms = []
    for k in range(actions):  # in time order: the first heads the lane on the heap, the rest wait
        sim.schedule(1 + k, lambda s: rooms.append((s._heap_room, s._max_pending - s._queued)))
    assert sim._heap_room == 40 - sim._queued and sim._queued == max(0, actions - 1)
    sim.run(until=0)  # start: each replica floods until refused
    assert flood.sent == 40 - actions and "max_pending=40" in flood.refused
    assert sim.statistics().pending == 40 and sim.statistics().sent == flood.sent  # b got none out
    sim.run()
    assert all(room == want for room, want in rooms) and len(rooms) == actions
    assert sim._heap_room == 40 and sim._queued == 0


class _Ticker(Replica):
    """Sets time-outs in time order (they wait in the timer lane), and records the
    simulation's room beside what it should be whenever one fires."""

    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.sim: Simulation | None = None
        self.rooms: list[tuple[int, int]] = []

    def on_start(self, ctx) -> None:
        for k in range(6):
            ctx.set_timer(10 + k, ("t", k))

    def on_message(self, ctx, src, msg) -> None:
        pass

    def on_timer(self, ctx, timer) -> None:
        sim = self.sim
        self.rooms.append((sim._heap_room, sim._max_pending - sim._queued))
        if timer[1] % 2 == 0:
            ctx.cancel_timer(ctx.set_timer(50, ("later", timer[1])))  # cancelled in the lane


@pytest.mark.parametrize("trace", [False, True])
def test_the_heap_room_counts_the_timers_waiting_in_their_lane(trace):
    """The timer lane's waiting timers are pending too: `_heap_room` is max_pending less
    every queued event, the timer lane's as well as the action lane's."""
    ticker = _Ticker("a")
    sim = ticker.sim = Simulation([ticker], seed=1, max_pending=40, trace=trace)
    sim.run(until=0)
    assert sim._queued == 5 and sim._heap_room == 40 - sim._queued
    sim.run()
    assert ticker.rooms and all(room == want for room, want in ticker.rooms)
    assert sim._heap_room == 40 and sim._queued == 0
