"""A node that crashed without its disk, and never came back, holds nothing at the end.

Lesson: ``Crash(durable=False)`` wipes a node's memory. Until a restart brings it back empty,
the Python object that played it still holds its pre-crash items — but that is not state the
system has. A result must show such a node holding nothing (``final`` and ``items`` empty,
``state_lost`` naming it with the time of its crash), judge convergence without it, and never
let its stale memory count as a copy of a write. A node down *with* its disk
(``durable=True``) is different: its disk holds what it had, and it is shown with it.

One story per protocol: single-replica regions, leader regions, leaderless regions, the
``dynamo`` cluster and the ``leader`` cluster; then a matrix of (protocol, durable, restart)
checked against a brute-force oracle of what converged means.
"""

from __future__ import annotations

import json

import attrs
import pytest

from replicalab import scenarios
from replicalab.scenarios import dynamo, leader
from replicalab.scenarios.regions import AzOutage
from replicalab.sim.faults import Crash, Restart
from replicalab.viz.story import build

LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}
LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless", "n": 2, "r": 1, "w": 1}


def _crash_story(*faults):
    """The ``crash`` scenario (w1 acknowledged at eu-west-1, not yet shipped) with other faults."""
    return attrs.evolve(scenarios.get("crash"), faults=tuple(faults))


def test_a_region_that_lost_its_state_and_stayed_down_holds_nothing():
    """Before: final showed eu-west-1 still holding w1's London address, and the run 'NOT
    converged' because of a dead region's memory."""
    result = _crash_story(Crash(120, "eu-west-1", durable=False)).run("item-lww", 0)
    assert result.final["eu-west-1"] == {} and result.items["eu-west-1"] == {}
    assert result.state_lost == {"eu-west-1": 120}
    assert result.converged  # the two live regions agree; the dead one is not judged
    assert result.ledger["w1"].verdict == "silently-lost"
    assert "crashed at t=120 (durable=False)" in result.ledger["w1"].why
    plain = json.loads(result.to_json())
    assert plain["final"]["eu-west-1"] == {} and plain["state_lost"] == {"eu-west-1": 120}
    report = result.report()
    assert "eu-west-1 is down, its state lost (crashed at t=120, durable=False)" in report
    assert "eu-west-1 (down, state lost)" in report and "12 High Street" not in report.split("Final items")[1].split("Ledger")[0]


def test_a_region_down_with_its_disk_is_shown_with_what_its_disk_holds():
    result = _crash_story(Crash(120, "eu-west-1", durable=True)).run("item-lww", 0)
    assert result.final["eu-west-1"]["sub_42"]["delivery_address"] == "12 High Street, London"
    assert result.state_lost == {} and "state_lost" not in json.loads(result.to_json())
    assert not result.converged  # its disk holds w1, which the others never got


def test_a_restarted_region_is_not_lost():
    result = _crash_story(Crash(120, "eu-west-1", durable=False), Restart(1000, "eu-west-1")).run("item-lww", 0)
    assert result.state_lost == {} and result.final["eu-west-1"]  # refilled by anti-entropy


@pytest.mark.parametrize("opts", [LEADER, LEADERLESS], ids=["leader", "leaderless"])
def test_an_az_node_that_lost_its_disk_and_stayed_down_holds_nothing(opts):
    """Before: eu-west-1c showed w1's London address (its memory at the crash) and made the
    run 'NOT converged'."""
    result = scenarios.run("london", merge="item-lww", seed=0, **opts,
                           az_outages=[AzOutage(150, "eu-west-1", "c", durable=False)])
    assert result.final["eu-west-1c"] == {} and result.items["eu-west-1c"] == {}
    assert result.state_lost == {"eu-west-1c": 150}
    assert result.converged
    for entry in result.ledger:  # no verdict leans on the dead node's memory
        assert "eu-west-1c" not in (entry.why or "")


def test_the_step_through_states_end_empty_at_a_node_that_lost_its_state():
    story = build(_crash_story(Crash(120, "eu-west-1", durable=False)).run("item-lww", 0))
    assert story.states_available
    states = [s.state for s in story.steps if s.replica == "eu-west-1"]
    assert states[0]["sub_42"] and states[-1] == {}


@pytest.mark.parametrize("fault", ["crash-lossy", "isolated-crash"])
def test_a_dynamo_node_that_lost_its_state_and_stayed_down_holds_nothing(fault):
    result = dynamo.run(seed=0, fault=fault, heal=False)
    crashed = {e.replica: e.time for e in result.trace.of_kind("Crashed")}
    assert result.state_lost == crashed and len(crashed) == 1
    (node,) = crashed
    assert result.final[node] == {} and result.hints[node] == {}
    assert json.loads(result.to_json())["state_lost"] == crashed
    assert f"{node} is down, its state lost (crashed at t={crashed[node]}, durable=False)" in result.report()
    # siblings: from the live nodes' final state only (an independent recount)
    expected: dict[str, int] = {}
    for keys in result.final.values():
        for key, values in keys.items():
            if len(values) > 1:
                expected[key] = max(expected.get(key, 0), len(values))
    assert result.siblings == dict(sorted(expected.items()))
    for entry in result.ledger.entries:
        assert node not in entry.held_by, entry


def test_dynamo_siblings_no_longer_count_the_dead_nodes_memory():
    """Before: k1 showed 3 siblings and k0 2, all from n3's pre-crash memory."""
    assert dynamo.run(seed=0, fault="crash-lossy", heal=False).siblings == {"k1": 2, "k2": 2}


def test_a_dynamo_node_that_healed_is_not_lost():
    result = dynamo.run(seed=0, fault="crash-lossy")
    assert result.state_lost == {} and "state_lost" not in json.loads(result.to_json())


def test_the_leader_cluster_counts_only_live_logs_as_keeping_a_write():
    result = leader.run(seed=0, fault="follower-crash-lossy", heal=False, trace=True)
    lost_node = next(e.replica for e in result.trace.of_kind("Crashed"))
    assert lost_node == "az-b"
    kept = [e for e in result.entries if e.verdict == "kept"]
    assert kept and all("a live node's log holds it" in e.why for e in kept)
    assert result.lost == ()  # W=2: every acknowledged write is on the leader's disk too


@pytest.mark.parametrize("protocol", ["single", "leader", "leaderless"])
@pytest.mark.parametrize("durable", [False, True])
@pytest.mark.parametrize("restart", [False, True])
def test_state_lost_final_and_converged_agree_with_the_faults(protocol, durable, restart):
    if protocol == "single":
        faults = [Crash(120, "eu-west-1", durable=durable)] + ([Restart(1000, "eu-west-1")] if restart else [])
        prepared = _crash_story(*faults).prepare("item-lww", 0)
        prepared.sim.run(until=4000)
        node, at = "eu-west-1", 120
    else:
        opts = LEADER if protocol == "leader" else LEADERLESS
        outage = AzOutage(150, "eu-west-1", "c", until=400 if restart else None, durable=durable)
        prepared = scenarios.get("london").prepare("item-lww", 0, **opts, az_outages=[outage])
        prepared.sim.run_until_quiescent()
        node, at = "eu-west-1c", 150
    result = prepared.result()
    replicas = prepared.sim.replicas
    lost = not durable and not restart
    assert result.state_lost == ({node: at} if lost else {})
    for rid, replica in replicas.items():  # shown: nothing if lost, else what it holds
        expected = {} if lost and rid == node else dict(replica.items)
        assert result.items[rid] == expected
    # Brute force: every replica that still has state (up, or down with its disk) holds the
    # same items; in a leaderless region, every such home node of a key the same item for it.
    judged = [rid for rid in replicas if not (lost and rid == node)]
    keys = {k for rid in judged for k in replicas[rid].items}
    if protocol == "leaderless":
        agree = all(len({repr(replicas[r].items.get(k)) for r in judged if replicas[r].owns(k)}) <= 1
                    for k in keys)
    else:
        agree = all(dict(replicas[r].items) == dict(replicas[judged[0]].items) for r in judged)
    assert result.converged == agree
