"""The leader protocol (replicalab.quorum.leader, scenarios.leader): DynamoDB's shape in a region.

Properties of the issue: a strongly consistent read never returns an older write of its key
than one acknowledged before the read was issued (whatever crashes, AZ outages or partitions
happen); eventually consistent reads can, and the test finds one; a leader crash hands the
partition to a follower; an acknowledged write survives the loss of one AZ.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replicalab.errors import ConfigError
from replicalab.quorum.leader import LeaderConfig, LeaderNode, Read, Write, partition_of
from replicalab.replica.base import RecordingContext, Reply
from replicalab.scenarios import leader


@settings(max_examples=25)
@given(st.integers(0, 10**6), st.sampled_from(leader.FAULTS), st.booleans(), st.integers(1, 3))
def test_strong_reads_are_never_stale_and_no_acknowledged_write_is_lost(seed, fault, heal, parts) -> None:
    result = leader.run(seed=seed, fault=fault, heal=heal, partitions=parts, ops=120)
    assert result.stale_strong == ()
    assert result.lost == ()


def test_eventually_consistent_reads_can_be_stale() -> None:
    """Lesson: a follower answers from what it has applied, which trails the leader."""
    result = leader.run(seed=0)
    assert result.stale_eventual and result.stale_strong == ()
    assert "(eventual, at az-" in result.stale_eventual[0]


def test_a_leader_crash_hands_the_partition_to_a_follower() -> None:
    result = leader.run(seed=0, fault="leader-crash", heal=False)
    assert [(node, p) for _, node, p in result.elections] == [("az-b", 0)]
    assert result.trace is not None
    crashed = result.trace.of_kind("Crashed")[0].time
    # Writes keep being acknowledged after the crash: the new leader takes them.
    committed = [e for e in result.trace.of_kind("Committed") if e.time > crashed + 200]
    assert committed and {e.replica for e in committed if e.get("partition") == 0} == {"az-b"}


def test_an_acknowledged_write_survives_the_loss_of_one_az() -> None:
    result = leader.run(seed=3, fault="az-outage", heal=False, ops=200)
    assert result.lost == () and result.acknowledged > 0
    assert result.stale_strong == ()


def test_a_leader_cut_off_cannot_answer_strong_reads() -> None:
    """Lesson: the read-index round. Cut off from the quorum, the old leader of partition 0
    still *believes* it leads, but cannot confirm it, so strong reads there fail instead of
    returning stale data."""
    result = leader.run(seed=1, fault="az-partition", heal=False, ops=200)
    assert result.stale_strong == () and result.failed > 0


def test_a_write_is_acknowledged_only_after_the_write_quorum_has_it() -> None:
    nodes = ("az-a", "az-b", "az-c")
    key = next(f"k{i}" for i in range(100) if partition_of(f"k{i}", 2) == 0)
    node = LeaderNode("az-a", nodes, LeaderConfig())  # partition 0 starts led by az-a
    ctx = RecordingContext("az-a", peers=nodes[1:])
    node.on_start(ctx)
    node.on_message(ctx, "client", Write("w1", key=key, value="v"))
    assert not [c for c in ctx.commands if isinstance(c, Reply)]  # only the leader has it
    from replicalab.quorum.leader import Appended
    node.on_message(ctx, "az-b", Appended(0, 1, True, 1))
    replies = [c for c in ctx.commands if isinstance(c, Reply)]
    assert len(replies) == 1 and replies[0].response.index == 1
    node.on_message(ctx, "client", Read("r1", key=key, consistent=False))
    assert [c for c in ctx.commands if isinstance(c, Reply)][-1].response.value == "v"


def test_same_seed_same_outcome() -> None:
    a = leader.run(seed=4, fault="az-partition")
    b = leader.run(seed=4, fault="az-partition")
    assert a.summary == b.summary and a.trace is not None and b.trace is not None
    assert a.trace.to_json() == b.trace.to_json()


@pytest.mark.parametrize("call, says", [
    (lambda: LeaderConfig(heartbeat=100, election=50), "shorter than the election"),
    (lambda: LeaderConfig(partitions=0), "partitions must be an integer"),
    (lambda: LeaderNode("x", ("a", "b")), "including 'x'"),
    (lambda: LeaderNode("a", ("a",), LeaderConfig(write_quorum=2)), "write_quorum=2"),
    (lambda: leader.run(fault="meteor"), "fault must be one of"),
    (lambda: leader.run(colour=1), "unknown option"),
    (lambda: leader.run(strong=2), "strong must be a fraction"),
])
def test_bad_input_says_what_would_be_valid(call, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert says in str(info.value)


def test_scenarios_run_and_the_cli_run_the_leader_cluster(capsys) -> None:
    from replicalab import scenarios
    from replicalab.cli import main
    assert isinstance(scenarios.run("leader", seed=0, ops=40), leader.LeaderResult)
    assert main(["run", "leader"]) == 0
    assert "stale_strong=0" in capsys.readouterr().out


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_a_new_leader_holds_strong_reads_until_its_own_entry_commits(parts) -> None:
    """Lesson (found by the property test above, seed 294025): a follower elected after the
    leader lost its disk knows its log, not which entries were committed. Answering a strong
    read before its no-op commits returned a state one acknowledged write behind."""
    result = leader.run(seed=294025, fault="follower-crash-lossy", heal=False, partitions=parts, ops=120)
    assert result.stale_strong == () and result.lost == ()
