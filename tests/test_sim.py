"""The simulator: ordering, time, the network model, ground truth, caps and statistics."""

import random

import pytest

from replicalab.errors import ConfigError
from replicalab.replica.base import Replica, Request
from replicalab.sim import (
    Constant,
    Exponential,
    Link,
    RandomStreams,
    Simulation,
    Uniform,
    WallClock,
    full_mesh,
    line,
    ring,
    star,
    watts_strogatz,
)


class Recorder(Replica):
    """Logs every message; forwards messages of the form ('fwd', dst, payload)."""

    def __init__(self, replica_id):
        super().__init__(replica_id)
        self.got = []

    def on_message(self, ctx, src, msg):
        self.got.append((ctx.now, src, msg))
        if isinstance(msg, tuple) and msg[0] == "fwd":
            ctx.send(msg[1], msg[2])


class Sender(Recorder):
    def __init__(self, replica_id, sends):
        super().__init__(replica_id)
        self.sends = sends

    def on_start(self, ctx):
        for dst, msg in self.sends:
            ctx.send(dst, msg)


def test_same_time_events_run_in_schedule_order():
    a = Sender("a", [("b", n) for n in range(20)])
    sim = Simulation([a, Recorder("b")], link=Link(Constant(5)))
    sim.run_until_quiescent()
    got = sim.replica("b").got
    assert [m for _, _, m in got] == list(range(20))
    assert {t for t, _, _ in got} == {5}


def test_zero_latency_is_delivered_after_the_current_handler():
    class Chain(Replica):
        def __init__(self, rid):
            super().__init__(rid)
            self.order = []

        def on_start(self, ctx):
            if self.id == "a":
                ctx.send("b", "first")
                self.order.append("sent")

        def on_message(self, ctx, src, msg):
            self.order.append(msg)

    sim = Simulation([Chain("a"), Chain("b")], link=Link(Constant(0)))
    sim.run_until_quiescent()
    assert sim.replica("a").order == ["sent"] and sim.replica("b").order == ["first"]
    assert sim.now == 0


def test_run_until_stops_the_clock_at_until_and_leaves_later_events():
    sim = Simulation([Sender("a", [("b", "x")]), Recorder("b")], link=Link(Constant(50)))
    sim.run(until=30)
    assert sim.now == 30 and sim.statistics().pending == 1 and sim.replica("b").got == []
    sim.run(until=50)
    assert sim.replica("b").got == [(50, "a", "x")]


def test_run_events_processes_exactly_that_many():
    sim = Simulation([Sender("a", [("b", n) for n in range(10)]), Recorder("b")])
    sim.run(events=4)
    assert len(sim.replica("b").got) == 4 and sim.statistics().events == 4


def test_uniform_latency_stays_within_bounds_and_varies():
    sim = Simulation([Sender("a", [("b", n) for n in range(300)]), Recorder("b")],
                     link=Link(Uniform(70, 80)), seed=3)
    sim.run_until_quiescent()
    times = [t for t, _, _ in sim.replica("b").got]
    assert min(times) >= 70 and max(times) <= 80 and len(set(times)) > 5


def test_random_latency_reorders_messages():
    sim = Simulation([Sender("a", [("b", n) for n in range(50)]), Recorder("b")],
                     link=Link(Uniform(1, 100)), seed=1)
    sim.run_until_quiescent()
    order = [m for _, _, m in sim.replica("b").got]
    assert sorted(order) == list(range(50)) and order != list(range(50))


@pytest.mark.parametrize("latency", [Constant(3, jitter=2.0), Exponential(5.0, offset=1),
                                     Uniform(0, 0, jitter=1.0)])
def test_latency_is_never_negative_and_is_an_integer(latency):
    rng = random.Random(0)
    draws = [latency.sample(rng) for _ in range(2000)]
    assert all(type(d) is int and d >= 0 for d in draws)


def test_loss_and_duplication_are_counted_and_seeded():
    def run(seed):
        sim = Simulation([Sender("a", [("b", n) for n in range(1000)]), Recorder("b")],
                         link=Link(Constant(1), loss=0.2, duplicate=0.1), seed=seed)
        sim.run_until_quiescent()
        return sim.statistics(), [m for _, _, m in sim.replica("b").got]

    stats, got = run(7)
    assert 150 < stats.dropped < 250 and 50 < stats.duplicated < 110
    assert stats.delivered == len(got) == 1000 - stats.dropped + stats.duplicated
    assert run(7) == (stats, got)
    assert run(8)[1] != got


def test_per_link_override_applies_both_ways_unless_given_separately():
    sim = Simulation(
        [Sender("a", [("b", "ab")]), Sender("b", [("a", "ba"), ("c", "bc")]), Recorder("c")],
        topology=line(["a", "b", "c"]),
        link=Link(Constant(1)),
        links={("a", "b"): Link(Constant(40))},
    )
    sim.run_until_quiescent()
    assert sim.replica("b").got == [(40, "a", "ab")]
    assert sim.replica("a").got == [(40, "b", "ba")]
    assert sim.replica("c").got == [(1, "b", "bc")]


def test_streams_are_independent_by_name_and_stable_across_instances():
    s = RandomStreams(5)
    first = [s.stream("x").random() for _ in range(3)]
    s2 = RandomStreams(5)
    s2.stream("y").random()  # drawing from another stream does not shift "x"
    assert [s2.stream("x").random() for _ in range(3)] == first
    assert RandomStreams(6).stream("x").random() != first[0]


@pytest.mark.parametrize("seed", [0, 1, 7, -3, 2**70])
def test_a_generator_draws_what_the_stream_of_its_name_draws(seed):
    """RandomStreams.generator is the same stream as .stream, as a bare C generator: equal draws
    for every name (a lone surrogate too), from the first draw on and far into the sequence."""
    from _random import Random as Bare

    names = ["link:a->b", "link:b->a", "replica:a", "", "\ud800", "x" * 300]
    for name in names:
        generator = RandomStreams(seed).generator(name)
        stream = RandomStreams(seed).stream(name)
        assert type(generator) is Bare and isinstance(stream, random.Random)
        assert [generator.random() for _ in range(700)] == [stream.random() for _ in range(700)]
    streams = RandomStreams(seed)
    assert streams.generator("g") is streams.generator("g")


def test_a_generator_copies_and_pickles_with_its_state():
    """A simulation whose links drew can be deep-copied or pickled, as when they were streams."""
    import copy
    import pickle

    generator = RandomStreams(4).generator("link:a->b")
    generator.random()
    expected = RandomStreams(4).generator("link:a->b")
    expected.random()
    want = [expected.random() for _ in range(5)]
    for twin in (copy.copy(generator), copy.deepcopy(generator), pickle.loads(pickle.dumps(generator))):
        assert twin is not generator and type(twin) is type(generator)
        assert [twin.random() for _ in range(5)] == want
    assert [generator.random() for _ in range(5)] == want  # copying drew nothing from it


def test_a_stream_name_is_one_object_a_stream_or_a_generator():
    """Two objects replaying one stream would repeat its draws: a name made as one is refused as
    the other, and the refusal changes nothing."""
    streams = RandomStreams(3)
    stream, generator = streams.stream("s"), streams.generator("g")
    stream.random(), generator.random()
    with pytest.raises(ConfigError, match="made as a stream"):
        streams.generator("s")
    with pytest.raises(ConfigError, match="made as a generator"):
        streams.stream("g")
    with pytest.raises(ConfigError, match="named by a string"):
        streams.generator(7)  # type: ignore[arg-type]
    assert streams.stream("s") is stream and streams.generator("g") is generator
    assert sorted(streams._streams) == ["g", "s"]
    fresh_stream, fresh_generator = RandomStreams(3).stream("s"), RandomStreams(3).generator("g")
    fresh_stream.random(), fresh_generator.random()  # where the refused calls left the two
    assert (stream.random(), generator.random()) == (fresh_stream.random(), fresh_generator.random())


@pytest.mark.parametrize("latency", [Constant(7), Constant(3, jitter=2.5), Uniform(1, 10),
                                     Uniform(1, 10, jitter=1.0), Uniform(0.5, 7.25, jitter=0.75),
                                     Exponential(4.0), Exponential(2, offset=5)])
def test_samplers_draw_the_same_from_a_generator_as_from_its_stream(latency):
    """A link's sampler draws from its bare generator; any caller may pass a random.Random."""
    on_generator = latency.sampler(RandomStreams(9).generator("link:a->b"))
    on_stream = latency.sampler(RandomStreams(9).stream("link:a->b"))
    assert [on_generator() for _ in range(500)] == [on_stream() for _ in range(500)]


def test_wall_clock_skew_and_epoch():
    class Stamp(Replica):
        def on_start(self, ctx):
            ctx.log("Wall", wall=ctx.wall_time())

    sim = Simulation([Stamp("a"), Stamp("b")], clocks={"b": WallClock(skew=-30)}, epoch=1000)
    sim.run(until=0)
    walls = {e.replica: e.get("wall") for e in sim.trace.of_kind("Wall")}
    assert walls == {"a": 1000, "b": 970}


def test_timers_fire_in_order_and_cancelled_timers_do_not():
    class Timed(Replica):
        def __init__(self, rid):
            super().__init__(rid)
            self.fired = []

        def on_start(self, ctx):
            ctx.set_timer(30, "late")
            ctx.set_timer(10, "early")
            doomed = ctx.set_timer(20, "cancelled")
            ctx.cancel_timer(doomed)

        def on_timer(self, ctx, timer):
            self.fired.append((ctx.now, timer))

    sim = Simulation([Timed("a")])
    sim.run_until_quiescent()
    assert sim.replica("a").fired == [(10, "early"), (30, "late")]
    assert sim.statistics().timers_fired == 2


@pytest.mark.parametrize("durable", [True, False])
def test_a_crashed_replicas_timers_die_with_it_even_if_it_is_back_when_they_are_due(durable):
    """A periodic timer chain is not doubled by a restart: the one armed before the crash
    never fires; only the one on_start arms again does (found by review)."""
    from replicalab.sim.faults import Crash, Restart

    class Tick(Replica):
        def on_start(self, ctx):
            if self.id == "a":
                ctx.set_timer(100, "tick")

        def on_timer(self, ctx, timer):
            ctx.log("Tick")
            if ctx.now < 500:
                ctx.set_timer(100, "tick")

        def recover(self, identity):
            return Tick(self.id)

    sim = Simulation([Tick("a"), Tick("b")], seed=0)
    sim.add_faults([Crash(150, "a", durable=durable), Restart(160, "a")])
    sim.run_until_quiescent()
    assert [e.time for e in sim.trace.of_kind("Tick")] == [100, 260, 360, 460, 560]


def test_a_replica_cancels_only_its_own_pending_timers():
    """Timer ids are unique across the simulation, so another replica's id, or one not yet
    handed out, must cancel nothing (it once cancelled whatever timer later got that id)."""
    class Timed(Replica):
        def on_start(self, ctx):
            if self.id == "b":
                ctx.cancel_timer(1)  # a's first timer, not b's
                ctx.cancel_timer(3)  # not handed out yet
            else:
                ctx.set_timer(10, "tick")

        def on_timer(self, ctx, timer):
            ctx.log("Tick")
            if ctx.now < 50:
                ctx.set_timer(10, "tick")

    sim = Simulation([Timed("a"), Timed("b")], seed=0)
    sim.run_until_quiescent()
    assert [e.time for e in sim.trace.of_kind("Tick")] == [10, 20, 30, 40, 50]


def test_a_timer_that_always_rearms_hits_the_event_cap_instead_of_hanging():
    class Forever(Replica):
        def on_start(self, ctx):
            ctx.set_timer(1, "tick")

        def on_timer(self, ctx, timer):
            ctx.set_timer(1, "tick")

    sim = Simulation([Forever("a")], max_events=500)
    with pytest.raises(ConfigError, match="max_events=500"):
        sim.run_until_quiescent()
    assert sim.statistics().events == 500


def test_max_time_cap_raises_instead_of_running_on():
    class Slow(Replica):
        def on_start(self, ctx):
            ctx.set_timer(10_000, "later")

        def on_timer(self, ctx, timer):
            pass

    sim = Simulation([Slow("a")], max_time=1_000)
    with pytest.raises(ConfigError, match="max_time=1000"):
        sim.run_until_quiescent()


def test_scheduled_actions_run_before_ordinary_events_of_the_same_millisecond():
    order = []

    class Log(Replica):
        def on_message(self, ctx, src, msg):
            order.append(msg)

    sim = Simulation([Log("a")])
    sim.client_request(5, "a", Request("r1"))
    sim.schedule(5, lambda s: order.append("action"))
    sim.run_until_quiescent()
    assert order == ["action", Request("r1")]


class Write(Request):
    mutates = True

    def __init__(self, op, key):
        super().__init__(op)
        object.__setattr__(self, "_key", key)

    @property
    def scope(self):
        return self._key


class Gossip(Replica):
    """Forwards each client write's key to its peers; peers do nothing further."""

    def on_message(self, ctx, src, msg):
        if isinstance(msg, Request):
            for peer in ctx.peers:
                ctx.send(peer, ("about", msg.scope), scope=msg.scope)


def test_ground_truth_records_what_each_write_had_seen():
    sim = Simulation([Gossip("a"), Gossip("b")], link=Link(Constant(10)))
    sim.client_request(0, "a", Write("w1", "k"))
    sim.client_request(5, "b", Write("w2", "k"))   # before w1 arrives: concurrent
    sim.client_request(20, "b", Write("w3", "k"))  # after w1 arrived: saw w1 and w2
    sim.client_request(20, "a", Write("w4", "other"))  # another key: saw nothing of k
    sim.run_until_quiescent()
    w = sim.writes
    assert not w["w2"].saw(w["w1"]) and not w["w1"].saw(w["w2"])
    assert w["w3"].saw(w["w1"]) and w["w3"].saw(w["w2"])
    assert not w["w4"].saw(w["w1"])
    assert sim.knowledge("a", "k").to_dict() == {"a": 1, "b": 2}


def test_message_reordering_does_not_fake_causality_across_keys():
    """A write has 'seen' another only through messages about the same key.

    Lamport's happened-before would say k2 follows k1 (k1 -> x1 -> send -> receive -> k2),
    but b has not received anything about k when it writes k2, so k2 did not see k1.
    """

    class SlowOnK(Replica):
        def on_message(self, ctx, src, msg):
            if isinstance(msg, Request) and self.id == "a":
                if msg.scope == "k":
                    ctx.set_timer(50, msg.scope)  # replicate k late
                else:
                    ctx.send("b", ("about", msg.scope), scope=msg.scope)

        def on_timer(self, ctx, scope):
            ctx.send("b", ("about", scope), scope=scope)

    sim = Simulation([SlowOnK("a"), SlowOnK("b")], link=Link(Constant(10)))
    sim.client_request(0, "a", Write("k1", "k"))
    sim.client_request(1, "a", Write("x1", "x"))
    sim.client_request(20, "b", Write("k2", "k"))  # after x1 arrived (t=11), before k1 (t=60)
    sim.client_request(70, "b", Write("k3", "k"))  # after k1 arrived
    sim.run_until_quiescent()
    w = sim.writes
    assert not w["k2"].saw(w["k1"])
    assert w["k3"].saw(w["k1"]) and w["k3"].saw(w["k2"])


@pytest.mark.parametrize("graph,edges", [
    (full_mesh(list("abcd")), 6), (ring(list("abcd")), 4), (line(list("abcd")), 3),
    (star("a", list("bcd")), 3),
])
def test_topology_builders(graph, edges):
    assert sorted(graph.nodes) == list("abcd") and graph.number_of_edges() == edges


def test_watts_strogatz_is_connected_and_named_in_order():
    graph = watts_strogatz(50, 4, 0.2, seed=1)
    assert sorted(graph.nodes)[:3] == ["n00", "n01", "n02"]
    Simulation([Recorder(n) for n in graph.nodes], topology=graph)  # validates connectivity


def test_statistics_is_a_frozen_snapshot():
    sim = Simulation([Sender("a", [("b", 1)]), Recorder("b")])
    before = sim.statistics()
    sim.run_until_quiescent()
    after = sim.statistics()
    assert before.delivered == 0 and after.delivered == 1 and after.sent == 1
    with pytest.raises(AttributeError):
        after.delivered = 5


def test_tracing_off_records_nothing_and_changes_no_outcome():
    def run(trace):
        sim = Simulation([Sender("a", [("b", n) for n in range(30)]), Recorder("b")],
                         link=Link(Uniform(1, 9)), seed=4, trace=trace)
        sim.run_until_quiescent()
        return sim

    on, off = run(True), run(False)
    assert off.trace is None and len(on.trace) > 0
    assert on.replica("b").got == off.replica("b").got


def test_a_default_full_mesh_stores_nothing_per_pair_until_a_link_is_used():
    """A full mesh of n replicas has n(n-1)/2 links; building one must not cost that much.
    The default topology implies the links and makes a link's state on its first message, so
    even MAX_REPLICAS replicas build at once, and the draws are those of an eager mesh."""
    from replicalab.sim.limits import MAX_REPLICAS
    from replicalab.sim.topology import FullMesh, full_mesh

    class Quiet(Replica):
        def on_message(self, ctx, src, msg):
            ctx.log("Got", src=src)

    big = Simulation([Quiet(f"r{i:05d}") for i in range(MAX_REPLICAS)])
    assert isinstance(big.topology, FullMesh)
    assert big.topology.number_of_edges() == MAX_REPLICAS * (MAX_REPLICAS - 1) // 2
    assert all(len(ctx._links) == 0 for ctx in big._contexts.values())
    ctx = big._contexts["r00007"]
    assert len(ctx.peers) == MAX_REPLICAS - 1 and "r00007" not in ctx.peers
    assert ctx.peers[6] == "r00006" and ctx.peers[7] == "r00008" and ctx.peers[-1] == "r09999"

    def run(topology):
        ids = [f"n{i}" for i in range(6)]

        class Chatty(Quiet):
            def on_start(self, ctx):
                for peer in ctx.peers:
                    ctx.send(peer, self.id)

        sim = Simulation([Chatty(i) for i in ids], topology=topology, seed=7)
        sim.run_until_quiescent()
        return [(e.time, e.replica, e.get("src")) for e in sim.trace.of_kind("Got")]

    assert run(None) == run(full_mesh([f"n{i}" for i in range(6)]))  # same draws either way


# ---------------------------------------------------------------------------
# Commands: the simulator carries out the same frozen commands RecordingContext records


class Chatter(Replica):
    """On start: a log, a send about a key, a timer (then cancelled) and another timer."""

    def on_start(self, ctx):
        ctx.log("Began", peers=list(ctx.peers))
        for peer in ctx.peers:
            ctx.send(peer, ("hello", self.id), scope="k")
        ctx.cancel_timer(ctx.set_timer(5, "never"))
        ctx.set_timer(7, "tick")

    def on_message(self, ctx, src, msg):
        ctx.log("Heard", src=src, msg=list(msg))

    def on_timer(self, ctx, timer):
        ctx.log("Ticked", timer=timer)


class Replayed(Chatter):
    """Chatter whose start runs under a RecordingContext; the simulator then executes what
    it recorded, mapping the recorder's timer ids to the simulator's (as the grader does)."""

    def on_start(self, ctx):
        from replicalab.replica.base import CancelTimer, RecordingContext, SetTimer

        recorder = RecordingContext(self.id, now=ctx.now, peers=list(ctx.peers))
        super().on_start(recorder)
        timers = {}
        for command in recorder.commands:
            if isinstance(command, CancelTimer):
                command = CancelTimer(timers[command.timer_id])
            done = ctx.execute(command)
            if isinstance(command, SetTimer):
                timers[command.id] = done


def test_commands_a_recording_context_recorded_run_on_the_simulator_as_the_handler_would():
    """One set of command classes: what RecordingContext records, the simulator executes,
    and the history is the same as when the handler talks to the simulator directly."""
    direct = Simulation([Chatter(r) for r in "abc"], seed=4, link=Link(Uniform(1, 9)))
    replayed = Simulation([Replayed(r) for r in "abc"], seed=4, link=Link(Uniform(1, 9)))
    direct.run_until_quiescent()
    replayed.run_until_quiescent()
    assert direct.trace.to_json() == replayed.trace.to_json()
    assert direct.statistics() == replayed.statistics()
    assert direct.statistics().timers_fired == 3  # the cancelled timers did not fire


def test_recording_context_keeps_commands_and_their_effects_in_step():
    from replicalab.replica.base import CancelTimer, Log, RecordingContext, Send, SetTimer

    ctx = RecordingContext("a", peers=["b", "c"])
    Chatter("a").on_start(ctx)
    assert ctx.commands == [Log("Began", {"peers": ["b", "c"]}), Send("b", ("hello", "a"), "k"),
                            Send("c", ("hello", "a"), "k"), SetTimer(5, "never", 1),
                            CancelTimer(1), SetTimer(7, "tick", 2)]
    assert [command.effect for command in ctx.commands] == ctx.effects
    assert [e.kind for e in ctx.effects] == ["log", "send", "send", "set_timer", "cancel_timer",
                                             "set_timer"]


def test_executing_something_that_is_not_a_command_is_refused():
    sim = Simulation([Replica("a")])
    with pytest.raises(ConfigError, match="not a command"):
        sim._contexts["a"].execute(("send", "b", "hi"))
