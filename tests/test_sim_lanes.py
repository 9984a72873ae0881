"""Actions scheduled in time order wait in a lane off the heap: the run is exactly the run
with every action on the heap.

A workload scheduled up front (B12: 20,000 client operations) used to sit on the heap and
deepen every push and pop of every message. The lane changes where an action waits, never
when it runs: these tests run the same schedules with the lane on and off (the explorer's
setting) and demand the same order of everything, the same counters and the same pending
count at every step.
"""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.errors import ConfigError
from replicalab.replica.base import Replica
from replicalab.sim import Link, Simulation, Uniform

IDS = ["a", "b", "c"]


class _Echo(Replica):
    """Forward each message once to a random peer and set a timer: events of every kind."""

    def __init__(self, replica_id: str, log: list) -> None:
        super().__init__(replica_id)
        self.log = log

    def on_message(self, ctx, src, msg):
        self.log.append(("msg", ctx.now, self.id, src, msg))
        if msg[1] > 0:
            ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], (msg[0], msg[1] - 1))
        else:
            ctx.set_timer(int(ctx.random() * 4), msg[0])

    def on_timer(self, ctx, timer):
        self.log.append(("timer", ctx.now, self.id, timer))


class _Plain(Simulation):
    """Every action on the heap, as before lanes (and as the explorer keeps them)."""

    _lanes = False


def _run(kind: type[Simulation], times: list[int], runs: list[int | None]) -> tuple[list, list]:
    log: list = []
    sim = kind([_Echo(i, log) for i in IDS], link=Link(Uniform(0, 3)), seed=4)
    pending = []

    def act(n: int):
        def action(s: Simulation) -> None:
            log.append(("act", s.now, n))
            s.replicas[IDS[n % 3]].log.append(("acted", n))
            if n % 4 == 0:  # an action that schedules more actions, now and later
                s.schedule(s.now, lambda s2, n=n: log.append(("inner", s2.now, n)))
                s.schedule(s.now + 2, lambda s2, n=n: log.append(("later", s2.now, n)))
            s._contexts[IDS[n % 3]].send(IDS[(n + 1) % 3], (n, n % 3))
        return action

    for n, at in enumerate(times):
        sim.schedule(at, act(n))
    for until in runs:
        if until is None:
            sim.run(events=3)
        else:
            sim.run(until=max(until, sim.now))
        pending.append((sim.now, sim.statistics()))
    sim.run_until_quiescent()
    pending.append((sim.now, sim.statistics()))
    return log, pending


@given(st.lists(st.integers(0, 12), max_size=25), st.booleans(),
       st.lists(st.one_of(st.none(), st.integers(0, 15)), max_size=4))
def test_a_run_with_lanes_is_the_run_with_every_action_on_the_heap(times, in_order, runs) -> None:
    """Same events in the same order, same statistics (pending included) after every stop:
    actions in time order (a lane), out of order (some go on the heap), and actions that
    schedule actions while the run is under way."""
    if in_order:
        times = sorted(times)
    assert _run(Simulation, times, runs) == _run(_Plain, times, runs)


def test_up_front_actions_wait_off_the_heap_and_count_as_pending() -> None:
    sim = Simulation([Replica(i) for i in IDS], seed=1)
    for at in range(100):
        sim.schedule(at, lambda s: None)
    assert len(sim._heap) == 1 and sim.statistics().pending == 100
    sim.run(until=49)
    assert len(sim._heap) == 1 and sim.statistics().pending == 50
    sim.run_until_quiescent()
    assert sim._heap == [] and sim.statistics().pending == 0 and sim.statistics().events == 100


def test_actions_waiting_in_a_lane_count_against_max_pending() -> None:
    sim = Simulation([Replica(i) for i in IDS], seed=1, max_pending=10)
    for at in range(10):
        sim.schedule(at, lambda s: None)
    before = (list(sim._heap), list(sim._lane), sim.statistics())
    with pytest.raises(ConfigError, match="max_pending=10"):
        sim.schedule(10, lambda s: None)
    with pytest.raises(ConfigError, match="max_pending=10"):
        sim.schedule(0, lambda s: None)  # out of order: it would go on the heap
    assert (list(sim._heap), list(sim._lane), sim.statistics()) == before


def test_a_lane_keeps_the_b12_workload_heap_small() -> None:
    """20,000 operations up front: the heap holds what is in flight, not the workload."""
    rng = random.Random(0)
    sim = Simulation([Replica(i) for i in IDS], seed=1)
    for i in range(2000):
        sim.schedule(i // 2 + int(rng.random() * 2), lambda s: None)
    assert len(sim._heap) < 1000  # out-of-order ones take heap places; in-order ones do not
    sim.run_until_quiescent()
    assert sim.statistics().events == 2000


class _Timeouts(Replica):
    """A time-out per message, all of one length (a lane), plus short timers (the heap);
    some cancelled, some re-armed on firing: every way a timer can leave the queue."""

    def __init__(self, replica_id: str, log: list) -> None:
        super().__init__(replica_id)
        self.log = log
        self.armed: list[int] = []

    def on_message(self, ctx, src, msg):
        self.log.append(("msg", ctx.now, self.id, src, msg))
        self.armed.append(ctx.set_timer(20, ("timeout", msg)))
        if msg % 3 == 0:
            ctx.set_timer(int(ctx.random() * 5), ("short", msg))
        if msg % 4 == 1 and len(self.armed) > 1:
            ctx.cancel_timer(self.armed[-2])
        if msg > 0:
            ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], msg - 1)

    def on_timer(self, ctx, timer):
        self.log.append(("timer", ctx.now, self.id, timer))
        if timer[0] == "short" and timer[1] % 2 == 0:
            ctx.set_timer(20, ("again", timer[1]))


def _timeout_run(kind: type[Simulation], starts: list[int], runs: list[int | None],
                 crash: int | None, trace: bool = True) -> tuple[list, list]:
    from replicalab.sim.faults import Crash, Restart

    log: list = []
    sim = kind([_Timeouts(i, log) for i in IDS], link=Link(Uniform(0, 6)), seed=7, trace=trace)
    for n, at in enumerate(starts):
        sim.schedule(at, lambda s, n=n: s._contexts[IDS[n % 3]].send(IDS[(n + 1) % 3], 6))
    if crash is not None:
        sim.add_faults([Crash(crash, "b"), Restart(crash + 15, "b")])
    stops = []
    for until in runs:
        if until is None:
            sim.run(events=5)
        else:
            sim.run(until=max(until, sim.now))
        stops.append((sim.now, sim.statistics(), sorted(sim._pending_timers.items())))
    sim.run_until_quiescent()
    stops.append((sim.now, sim.statistics(), sorted(sim._pending_timers.items())))
    return log, stops


@given(st.lists(st.integers(0, 30), max_size=12).map(sorted),
       st.lists(st.one_of(st.none(), st.integers(0, 60)), max_size=4),
       st.one_of(st.none(), st.integers(0, 40)))
def test_a_run_with_a_timer_lane_is_the_run_with_every_timer_on_the_heap(starts, runs, crash) -> None:
    """Time-outs of one length set in time order wait in a lane off the heap: the same timers
    fire in the same order among the same events, cancelled ones and those of a crashed
    replica stay silent, and the statistics (pending included) match after every stop."""
    assert _timeout_run(Simulation, starts, runs, crash) == _timeout_run(_Plain, starts, runs, crash)


def test_timers_of_one_length_wait_off_the_heap_and_count_as_pending() -> None:
    log: list = []
    sim = Simulation([_Timeouts(i, log) for i in IDS], link=Link(Uniform(1, 1)), seed=1)
    sim.schedule(0, lambda s: s._contexts["a"].send("b", 30))
    sim.run(until=25)
    timed = [e for e in sim._heap if type(e) is not tuple]
    assert len(sim._timer_lane) > 10 and len(timed) < 8
    assert sim.statistics().pending == len(sim._heap) + len(sim._timer_lane)
    sim.run_until_quiescent()
    assert not sim._timer_lane and sim._heap == [] and sim.statistics().pending == 0


def test_timers_waiting_in_a_lane_count_against_max_pending() -> None:
    class Arm(Replica):
        def on_start(self, ctx):
            if self.id == "a":
                for _ in range(6):
                    ctx.set_timer(5, "t")

    sim = Simulation([Arm(i) for i in IDS], seed=1, max_pending=6)
    sim.run(events=0)
    assert len(sim._timer_lane) == 5 and sim.statistics().pending == 6
    before = (list(sim._heap), list(sim._timer_lane), sim.statistics(), sim._timer_ids)
    with pytest.raises(ConfigError, match="max_pending=6"):
        sim._contexts["a"].set_timer(9, "t")
    assert (list(sim._heap), list(sim._timer_lane), sim.statistics(), sim._timer_ids) == before


@given(st.lists(st.integers(0, 30), max_size=12).map(sorted),
       st.lists(st.integers(0, 60), max_size=4).map(sorted),
       st.one_of(st.none(), st.integers(0, 40)))
def test_without_a_trace_cancelled_timers_leave_the_lane_unseen_and_nothing_else_changes(
        starts, untils, crash) -> None:
    """Without a trace a timer cancelled (or killed by a crash) while it waits in the lane is
    dropped when its turn to reach the heap comes, instead of popping later as a no-op.
    Everything that happens is the same, at the same times; a whole run ends with the same
    counters (each dropped timer counts as the event it would have been). At a stop part-way,
    ``events`` may be ahead and ``pending`` behind by the dropped timers not due yet, and
    ``run(events=n)`` does not count them as steps."""
    log, stops = _timeout_run(Simulation, starts, untils, crash, trace=False)
    plain_log, plain_stops = _timeout_run(_Plain, starts, untils, crash, trace=False)
    assert log == plain_log
    assert stops[-1] == plain_stops[-1] and stops[-1][1].pending == 0
    for (now, stats, timers), (plain_now, plain, plain_timers) in zip(stops, plain_stops, strict=True):
        assert (now, timers) == (plain_now, plain_timers)
        assert attrs.evolve(stats, events=0, pending=0) == attrs.evolve(plain, events=0, pending=0)
        assert stats.events - plain.events == plain.pending - stats.pending >= 0
