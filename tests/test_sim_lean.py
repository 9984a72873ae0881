"""The lean hot path: a traceless run is the traced run without its trace, and the trace's
compact records read exactly as the events they stand for."""

from __future__ import annotations

import pytest

from replicalab.errors import ConfigError, TopologyError
from replicalab.events import Delivered, Dropped, Duplicated, Sent
from replicalab.replica.base import Replica
from replicalab.sim import Constant, Link, Simulation, Uniform
from replicalab.sim.context import SimContext, TracedContext
from replicalab.sim.faults import Partition
from replicalab.trace import Trace

IDS = ["a", "b", "c", "d"]


class _Gossip(Replica):
    """Forward each message to a random peer, keeping a Lamport time (an int)."""

    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.time = 0
        self.seen: list[tuple[str, int]] = []

    def on_start(self, ctx):
        for _ in range(3):
            self.time += 1
            ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], self.time)

    def on_message(self, ctx, src, msg):
        self.time = max(self.time, msg) + 2
        self.seen.append((src, msg))
        ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], self.time)


def _run(trace: bool, link: Link, partition: bool, events: int = 400) -> tuple[Simulation, list]:
    replicas = [_Gossip(i) for i in IDS]
    sim = Simulation(replicas, seed=7, link=link, trace=trace)
    if partition:
        sim.add_faults([Partition.isolate(5, "a", IDS)])
    sim.run(events=events)
    return sim, [(r.time, r.seen) for r in replicas]


LINKS = [Link(Constant(3)), Link(Uniform(1, 9, jitter=2.0)), Link(Constant(2), loss=0.2),
         Link(Uniform(1, 5), duplicate=0.3), Link(Uniform(1, 5, jitter=1.0), loss=0.1, duplicate=0.2)]


@pytest.mark.parametrize("partition", [False, True])
@pytest.mark.parametrize("link", LINKS, ids=repr)
def test_a_traceless_run_is_the_traced_run_without_its_trace(link, partition):
    """Same draws, same queue, same counters and states: only the trace is missing."""
    off, states_off = _run(False, link, partition)
    on, states_on = _run(True, link, partition)
    assert states_off == states_on
    assert off.statistics() == on.statistics() and off.now == on.now
    assert sorted(off._heap, key=lambda e: e[2]) == sorted(on._heap, key=lambda e: e[2])
    assert type(off._contexts["a"]) is SimContext and type(on._contexts["a"]) is TracedContext
    # What the trace says agrees with the counters it was not used for.
    stats = on.statistics()
    assert len(on.trace.of_kind("Sent")) == stats.sent
    assert len(on.trace.of_kind("Delivered")) == stats.delivered
    assert len(on.trace.of_kind("Dropped")) == stats.dropped
    assert len(on.trace.of_kind("Duplicated")) == stats.duplicated


def test_both_contexts_refuse_a_send_to_a_non_peer_and_change_nothing():
    for trace in (False, True):
        sim = Simulation([_Gossip("a"), _Gossip("b")], seed=1, trace=trace)
        ctx = sim._contexts["a"]
        before = (sim.statistics(), list(sim._heap), len(sim.trace) if trace else 0)
        for bad in ("zz", 5, ["b"], "a"):
            with pytest.raises(TopologyError, match="has no link to"):
                ctx.send(bad, 1)
        assert (sim.statistics(), list(sim._heap), len(sim.trace) if trace else 0) == before


@pytest.mark.parametrize("reads", [(), (10,), (3, 30, 31), tuple(range(0, 60, 7))])
def test_the_trace_reads_the_same_whenever_it_is_read(reads):
    """Compact records become their events on the first read after they were recorded:
    reading mid-run, at any points, gives the same events and the same JSON as one read
    at the end; a list read earlier grows with the run, as the trace's own list."""
    link = Link(Uniform(1, 5, jitter=1.0), loss=0.1, duplicate=0.2)
    once = Simulation([_Gossip(i) for i in IDS], seed=3, link=link)
    once.run(until=60)
    often = Simulation([_Gossip(i) for i in IDS], seed=3, link=link)
    held = often.trace.events
    for t in reads:
        often.run(until=t)
        assert len(often.trace.events) == len(often.trace)
    often.run(until=60)
    assert often.trace.to_json() == once.trace.to_json()
    assert held is often.trace.events and held == once.trace.events
    for seq, event in enumerate(often.trace):
        assert event.seq == seq
        assert type(event) in (Sent, Delivered, Dropped, Duplicated) or event.kind == "Started"


def test_compact_records_build_the_events_the_classes_build():
    trace = Trace()
    trace.step = 4
    trace._compact("Sent", 10, "a", "b", {"k": [1]}, 15, 7)
    trace.record(11, "Learned", "b", {"x": 1})
    trace._compact("Delivered", 15, "b", "a", {"k": [1]}, 7)
    assert len(trace) == 3 and trace._events == []  # nothing built until read
    sent, learned, delivered = trace.events
    assert sent == Sent(seq=0, time=10, replica="a", step=4, dst="b", msg={"k": [1]}, due=15, id=7)
    assert learned.seq == 1 and learned.kind == "Learned"
    assert delivered == Delivered(seq=2, time=15, replica="b", step=4, src="a", msg={"k": [1]},
                                  id=7)


@pytest.mark.parametrize("cap", [0, 1, 2, 5])
def test_the_cap_counts_compact_and_built_records_alike(cap):
    trace = Trace(max_events=cap)
    for i in range(cap):
        if i % 2:
            trace._compact("Sent", i, "a", "b", i, i + 1, i)
        else:
            trace.record(i, "Learned", "a", {})
        if i == 1:
            assert len(trace.events) == 2  # a read in between moves the records, not the cap
    with pytest.raises(ConfigError, match=f"max_trace_events={cap}"):
        trace._compact("Delivered", 9, "b", "a", 1, 1)
    with pytest.raises(ConfigError, match=f"max_trace_events={cap}"):
        trace.record(9, "Learned", "a", {})
    assert len(trace) == cap == len(trace.events)


def test_only_the_compact_kinds_are_recorded_compactly():
    trace = Trace()
    with pytest.raises(ValueError, match="not recorded compactly"):
        trace._compact("Dropped", 1, "a", "b", 1, "loss", 3)
    assert len(trace) == 0


@pytest.mark.parametrize("name", ["crash", "partition", "london", "counter"])
@pytest.mark.parametrize("merge", ["item-lww", "causal"])
def test_messages_sent_derived_from_the_queue_counter_match_the_trace(name, merge):
    """``statistics().sent`` is derived (seqs taken, less scheduled events and duplicates):
    with timers, client requests, crashes and partitions it still counts one per Sent."""
    from replicalab import scenarios

    result = scenarios.run(name, merge=merge, seed=3)
    stats = result.statistics
    assert stats.sent == len(result.trace.of_kind("Sent")) > 0
    assert stats.duplicated == len(result.trace.of_kind("Duplicated"))


def test_messages_sent_count_duplicates_once_and_lost_messages_too():
    """A duplicate takes a seq but is not a second send; a lost message was still sent."""
    link = Link(Uniform(1, 5), loss=0.3, duplicate=0.4)
    sim, _ = _run(False, link, partition=True, events=300)
    traced, _ = _run(True, link, partition=True, events=300)
    stats = sim.statistics()
    assert stats.duplicated > 0 and stats.dropped > 0
    assert stats.sent == len(traced.trace.of_kind("Sent")) == traced.statistics().sent


@pytest.mark.parametrize("seed", [0, 1, 99])
def test_latency_samplers_draw_exactly_the_closed_forms(seed):
    """The samplers are bound methods shared per latency kind (3.11 inlines their calls);
    each must draw exactly the documented expression, one stream step at a time."""
    import math
    import random

    from replicalab.sim import Exponential
    from replicalab.sim.rng import exponential

    cases = [
        (Constant(7), lambda r: 7),
        (Constant(2.6), lambda r: 3),
        (Constant(3, jitter=1.5), lambda r: int(3 - 1.5 * math.log(1.0 - r.random()) + 0.5)),
        (Uniform(1, 9), lambda r: int(1 + 8 * r.random() + 0.5)),
        (Uniform(1, 10, jitter=1.0),
         lambda r: int(1 + 9 * r.random() - 1.0 * math.log(1.0 - r.random()) + 0.5)),
        (Exponential(4.0, offset=2.0), lambda r: int(2.0 + exponential(r, 4.0) + 0.5)),
    ]
    for latency, oracle in cases:
        draw, expected = latency.sampler(random.Random(seed)), random.Random(seed)
        assert [draw() for _ in range(200)] == [oracle(expected) for _ in range(200)], latency
