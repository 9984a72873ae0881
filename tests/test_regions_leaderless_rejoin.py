"""A write that comes back to a home node that lost its disk (issue fb, :mod:`replicalab.quorum.zone`).

The race: a leaderless node coordinates a write, ships it to the other regions and loses its
disk 0-10 ms later; its catch-up asks the remote home nodes, whose answers may leave before the
shipped write arrives. Contract (the module docs' "a write from a node's earlier incarnation
comes back to it"): once every node is up again, each key's home nodes hold the same item —
whatever n, w, sloppy quorum or merge policy — and a run where nothing restarts sends not one
message more than without the mechanism. The oracles: the same run with the mechanism switched
off (a differential count of messages, and the verdicts that change), and every home node's
table against every other's.
"""

from __future__ import annotations

import random

import pytest

from replicalab import scenarios
from replicalab.quorum import zone
from replicalab.scenarios.regions import AzOutage
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")
LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless"}


def _story(seed: int) -> tuple[TableScenario, str, dict, str, int, int]:
    """A seeded story: 2 or 3 regions, one or two keys, 3-6 writes (sets and counter adds), n in
    1..3, w in 1..n, sloppy sometimes; the write whose coordinator will lose its disk, how long
    after its first ship (0-10 ms), and for how long (1-60 ms)."""
    rng = random.Random(f"rejoin-story-{seed}")
    regions = (("ap-southeast-2", "us-east-1") if rng.random() < 0.6
               else ("ap-southeast-2", "eu-west-1", "us-east-1"))
    latency = {(a, b): Uniform(60 + int(rng.random() * 60), 130)
               for i, a in enumerate(regions) for b in regions[i + 1:]}
    keys = ("k",) if rng.random() < 0.5 else ("k", "j")
    writes = []
    for i in range(3 + int(rng.random() * 4)):
        region = regions[int(rng.random() * len(regions))]
        key = keys[int(rng.random() * len(keys))]
        at = 50 + int(rng.random() * 400)
        if rng.random() < 0.5:
            writes.append(ClientWrite(at, region, f"w{i + 1}", f"c{i + 1}", key, {"a": f"v{i + 1}"}))
        else:
            writes.append(ClientWrite(at, region, f"w{i + 1}", f"c{i + 1}", key, {}, add={"n": i + 1}))
    writes.sort(key=lambda w: w.at)
    scenario = TableScenario(name="rejoin", description="a coordinator loses its disk just after shipping",
                             regions=regions, latency=latency,
                             initial={k: {"a": "a0", "n": 0} for k in keys}, workload=tuple(writes))
    n = 1 + int(rng.random() * 3)
    w = 1 + int(rng.random() * n)
    options = {**LEADERLESS, "n": n, "r": 1, "w": w, "sloppy": rng.random() < 0.3 and n < 3}
    merge = POLICIES[int(rng.random() * len(POLICIES))]
    target = writes[int(rng.random() * len(writes))].op
    return scenario, merge, options, target, int(rng.random() * 11), 1 + int(rng.random() * 60)


def _outage(base, target: str, delay: int, down_for: int) -> AzOutage:
    """The target write's coordinator (in the run without faults) loses its disk ``delay`` ms
    after its first message to another region."""
    coordinator = next(e.replica for e in base.trace.of_kind("Wrote") if e.get("write") == target)
    region = coordinator[:-1]
    shipped = [e.time for e in base.trace.of_kind("Sent") if e.replica == coordinator
               and e.get("msg", {}).get("type") == "Replicate" and e.get("msg", {}).get("write") == target
               and not e.get("dst", "").startswith(region)]
    at = shipped[0] + delay
    return AzOutage(at, region, coordinator[-1], until=at + down_for, durable=False)


class _Forgetful(set):
    """A node's memory of whom it answered that never remembers: no copy ever goes back."""

    def add(self, _node: object) -> None:
        return None


def _without_mechanism(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the copy-back off (the code before issue fb), for the differential oracle."""
    init = zone.LeaderlessNode.__init__

    def forgetful_init(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self._rejoined = _Forgetful()

    monkeypatch.setattr(zone.LeaderlessNode, "__init__", forgetful_init)


# Seeds 35, 203, 231, 236 and 242 never converged before (n=1, w=1: item-lww and crdt, one
# with a sloppy quorum); the others cover n=2..3, w>1, three regions and two keys.
SEEDS = (35, 203, 231, 236, 242, 0, 1, 2, 3, 5, 8, 13, 21)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_home_node_of_a_key_ends_with_the_same_item_after_a_coordinator_lost_its_disk(seed: int) -> None:
    scenario, merge, options, target, delay, down_for = _story(seed)
    outage = _outage(scenario.run(merge, seed, **options), target, delay, down_for)
    result = scenario.run(merge, seed, az_outages=[outage], **options)
    assert [e.replica for e in result.trace.of_kind("Crashed")] == [outage.node]
    for key in scenario.initial:
        homes = {node: state[key] for node, state in result.final.items() if key in state}
        assert len(homes) == options["n"] * len(scenario.regions), (key, sorted(homes))
        assert len({repr(item) for item in homes.values()}) == 1, (seed, key, homes)
    assert result.converged
    assert "unreplicated" not in result.ledger.verdicts().values()


def test_the_writes_that_come_back_are_the_ones_that_were_unreplicated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Differential oracle on the stories that never converged before: with the copy-back off
    the coordinator's lost write is 'unreplicated' for ever; with it, 'kept' — and no other
    write's verdict moves (a write coming back changes only whether the run converged)."""
    before: dict[int, dict[str, str]] = {}
    after: dict[int, dict[str, str]] = {}
    stories = {seed: _story(seed) for seed in SEEDS[:5]}
    outages = {seed: _outage(s.run(m, seed, **o), t, d, f) for seed, (s, m, o, t, d, f) in stories.items()}
    for seed, (scenario, merge, options, *_rest) in stories.items():
        after[seed] = scenario.run(merge, seed, az_outages=[outages[seed]], **options).ledger.verdicts()
    _without_mechanism(monkeypatch)
    for seed, (scenario, merge, options, *_rest) in stories.items():
        before[seed] = scenario.run(merge, seed, az_outages=[outages[seed]], **options).ledger.verdicts()
    for seed in stories:
        moved = {w: (before[seed][w], after[seed][w]) for w in after[seed] if before[seed][w] != after[seed][w]}
        assert moved and set(moved.values()) == {("unreplicated", "kept")}, (seed, moved)


@pytest.mark.parametrize("options", [{"n": 1, "r": 1, "w": 1}, {"n": 2, "r": 1, "w": 2, "sloppy": True},
                                     {"n": 3, "r": 2, "w": 2}])
def test_a_run_where_nothing_restarts_sends_not_one_message_more(options: dict,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """London, leaderless, no faults: the same messages, one for one, with the copy-back on and off."""
    def sent(result) -> list[tuple]:
        return [(e.time, e.replica, e.get("dst"), e.get("msg", {}).get("type")) for e in result.trace.of_kind("Sent")]

    with_it = [sent(scenarios.run("london", seed=seed, **LEADERLESS, **options)) for seed in (0, 1)]
    _without_mechanism(monkeypatch)
    without = [sent(scenarios.run("london", seed=seed, **LEADERLESS, **options)) for seed in (0, 1)]
    assert with_it == without and all(with_it)


def test_the_copy_goes_back_from_the_remote_home_node_after_its_catch_up_answer() -> None:
    """Where the repair is visible: in seed 35's story the remote home node answers the restarted
    coordinator's CatchUp, then the shipped write arrives and it sends a Replicate back to it."""
    scenario, merge, options, target, delay, down_for = _story(35)
    outage = _outage(scenario.run(merge, 35, **options), target, delay, down_for)
    result = scenario.run(merge, 35, az_outages=[outage], **options)
    node = outage.node
    answered = [e for e in result.trace.of_kind("Sent") if e.get("dst") == node
                and e.get("msg", {}).get("type") == "CaughtUp" and not e.replica.startswith(outage.region)]
    back = [e for e in result.trace.of_kind("Sent") if e.get("dst") == node and e.time > outage.until
            and e.get("msg", {}).get("type") == "Replicate" and e.get("msg", {}).get("write") == target]
    assert back, "no copy went back"
    first = [e for e in answered if e.replica == back[0].replica]
    assert first and first[0].time < back[0].time, (first, back)
