"""Faults on the timeline: partitions, heals, link changes, crashes and clock trouble."""

import pytest

from replicalab.errors import ConfigError, FaultScheduleError
from replicalab.replica.base import Replica
from replicalab.replica.table import TableReplica, UpdateItem
from replicalab.sim import Constant, Link, Simulation
from replicalab.sim.faults import (
    ClockBump,
    ClockSkew,
    Crash,
    Heal,
    LinkChange,
    OneWayCut,
    Partition,
    Restart,
)

IDS = ["a", "b", "c"]


class Pinger(Replica):
    """Sends 'ping n' to every peer at t = 10 n (a timer), and records what arrives."""

    def __init__(self, rid, rounds=10):
        super().__init__(rid)
        self.got, self.rounds, self.n = [], rounds, 0

    def on_start(self, ctx):
        ctx.set_timer(10, "tick")

    def on_timer(self, ctx, timer):
        self.n += 1
        for peer in ctx.peers:
            ctx.send(peer, (self.id, self.n))
        if self.n < self.rounds:
            ctx.set_timer(10, "tick")

    def on_message(self, ctx, src, msg):
        self.got.append((ctx.now, msg))


def pingers(**kwargs):
    return Simulation([Pinger(i) for i in IDS], link=Link(Constant(5)), **kwargs)


def test_a_partition_drops_messages_across_it_until_healed():
    sim = pingers()
    sim.add_faults([Partition.isolate(32, "a", IDS), Heal(72)])
    sim.run_until_quiescent()
    from_a = [t for t, (src, _) in sim.replica("b").got if src == "a"]
    assert from_a and all(not 32 <= t < 72 for t in from_a)
    # b and c, on the same side, never lost a message
    assert len([1 for _, (src, _) in sim.replica("b").got if src == "c"]) == 10
    kinds = [e.kind for e in sim.trace if e.kind in ("Partitioned", "Healed")]
    assert kinds == ["Partitioned", "Healed"]


def test_messages_in_flight_when_the_partition_starts_are_lost():
    sim = pingers()
    sim.add_faults([Partition.isolate(12, "a", IDS), Heal(100)])  # pings sent at 10 arrive at 15
    sim.run_until_quiescent()
    assert not [t for t, (src, n) in sim.replica("b").got if src == "a" and n == 1]


def test_a_one_way_cut_drops_only_one_direction():
    sim = pingers()
    sim.add_faults([OneWayCut(0, "a", "b")])
    sim.run_until_quiescent()
    assert not [m for _, m in sim.replica("b").got if m[0] == "a"]
    assert len([m for _, m in sim.replica("a").got if m[0] == "b"]) == 10


def test_components_report_who_can_reach_whom():
    sim = pingers()
    sim.add_faults([Partition.split(5, ["a"], IDS)])
    sim.run(until=6)
    assert sim.partitioned and sim.components() == [["a"], ["b", "c"]]


def test_a_bridge_still_talks_to_both_sides():
    sim = pingers()
    sim.add_faults([Partition.bridge(0, "b", ["a"], ["c"])])
    sim.run_until_quiescent()
    sources = {m[0] for _, m in sim.replica("b").got}
    assert sources == {"a", "c"} and not [m for _, m in sim.replica("c").got if m[0] == "a"]


def test_a_crashed_replica_receives_nothing_and_its_timers_stop():
    sim = pingers()
    sim.add_faults([Crash(25, "a")])
    sim.run_until_quiescent()
    a = sim.replica("a")
    assert a.n == 2 and all(t < 25 for t, _ in a.got)


def test_durable_restart_keeps_state_and_rearms_timers():
    sim = pingers()
    sim.add_faults([Crash(25, "a", durable=True), Restart(60, "a")])
    sim.run_until_quiescent()
    a = sim.replica("a")
    assert a.n == 10 and any(t > 60 for t, _ in a.got)


def region(rid):
    return TableReplica(rid, "item-lww", {})


def test_losing_state_brings_a_replica_back_empty_under_a_new_identity():
    sim = Simulation([region("a"), region("b")], link=Link(Constant(50)))
    sim.client_request(0, "a", UpdateItem("w1", "k", {"x": 1}))
    sim.add_faults([Crash(10, "a", durable=False), Restart(20, "a")])
    sim.client_request(30, "a", UpdateItem("w2", "j", {"x": 2}))
    sim.run_until_quiescent()
    a = sim.replica("a")
    assert a.actor == "a~2" and "k" not in a.items  # w1 was lost with a's state...
    assert sim.replica("b").items["k"].to_plain() == {"x": 1}  # ...but had left on the wire
    assert sim.writes["w2"].dot.replica == "a~2" and sim.writes["w1"].dot.replica == "a"
    assert sim.replica("b").items["j"].versions[0].stamp.replica == "a~2"


def test_client_requests_to_a_crashed_replica_fail_and_the_client_is_told():
    """The request never runs (no write fact), and the client gets an error, not silence."""
    sim = Simulation([region("a"), region("b")])
    sim.add_faults([Crash(5, "a")])
    sim.client_request(10, "a", UpdateItem("w1", "k", {"x": 1}))
    sim.run_until_quiescent()
    assert "w1" not in sim.writes and "w1" in sim.failed_requests
    [reply] = sim.replies
    assert not reply.response.ok and reply.response.error == "RegionUnreachable"
    assert reply.time == 10 and "a is down" in reply.response.message


def test_clock_skew_and_bump_change_the_wall_clock_from_then_on():
    class Wall(Replica):
        def on_start(self, ctx):
            ctx.set_timer(10, "t")

        def on_timer(self, ctx, timer):
            ctx.log("Wall", wall=ctx.wall_time())
            if ctx.now < 40:
                ctx.set_timer(10, "t")

    sim = Simulation([Wall("a")])
    sim.add_faults([ClockSkew(15, "a", -100), ClockBump(25, "a", 30)])
    sim.run_until_quiescent()
    assert [e.get("wall") for e in sim.trace.of_kind("Wall")] == [10, 0, 0, 0]  # clamped at 0
    # 20 - 100 = -80 -> 0; 30 - 70 = -40 -> 0; 40 - 70 -> 0


def test_a_link_change_applies_from_its_time_on():
    sim = pingers()
    sim.add_faults([LinkChange(50, "a", "b", loss=1.0)])
    sim.run_until_quiescent()
    assert all(t < 56 for t, m in sim.replica("b").got if m[0] == "a")


@pytest.mark.parametrize("faults,fragment", [
    ([Crash(5, "zz")], "unknown replica 'zz'"),
    ([Heal(5)], "no partition is active"),
    ([Partition.isolate(5, "a", IDS), Heal(9), Heal(12)], "no partition is active"),
    ([Crash(-1, "a")], "integer time"),
    ([Crash(5, "a"), Crash(9, "a")], "already down"),
    ([Restart(5, "a")], "not down"),
    ([Partition(5, (("a", "b"), ("b", "c")))], "appears twice"),
    ([LinkChange(5, "a", "b", loss=2.0)], "probability"),
    (["not a fault"], "not a fault"),
])
def test_bad_fault_schedules_are_refused_whole(faults, fragment):
    sim = pingers()
    with pytest.raises(FaultScheduleError, match=fragment):
        sim.add_faults(faults)
    assert sim.statistics().pending == 0  # nothing was scheduled


def test_a_fault_in_the_past_is_refused():
    sim = pingers()
    sim.run(until=50)
    with pytest.raises(FaultScheduleError, match=">= now"):
        sim.add_faults([Crash(10, "a")])


def test_a_replica_that_cannot_lose_state_says_so_on_restart():
    sim = Simulation([Pinger("a"), Pinger("b")], link=Link(Constant(5)))
    sim.add_faults([Crash(5, "a", durable=False), Restart(8, "a")])
    with pytest.raises(ConfigError, match="cannot lose its state"):
        sim.run_until_quiescent()
