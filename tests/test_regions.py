"""Regions with AZ nodes in the table scenarios: ``replicas_per_region=3, region_protocol="leader"``.

The oracle used throughout is independent of the staleness judge and of the ledger: every
write in the generated workloads sets an attribute of its own (``a_<op>`` = op) under
``attribute-lww``, so no write can overwrite or lose to another, and "a read reflects write w"
is simply "the returned item has ``a_w``".
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys

import pytest

from replicalab import scenarios
from replicalab.errors import ConfigError
from replicalab.scenarios.regions import AzOutage
from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
from replicalab.sim.network import Uniform

REGIONS = ("eu-west-1", "us-east-1")
LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}


def lab(seed: int, writes: int = 12, reads: int = 16) -> TableScenario:
    """A seeded two-region workload: writes with an attribute each, strong and eventual reads."""
    rng = random.Random(f"regions-lab/{seed}")
    keys = ("k0", "k1", "k2")
    workload = tuple(
        ClientWrite(at=rng.randrange(0, 400), region=rng.choice(REGIONS), op=f"w{i}", client=f"c{i}",
                    key=rng.choice(keys), attributes={f"a_w{i}": f"w{i}"})
        for i in range(writes))
    reads_ = tuple(
        ClientRead(at=rng.randrange(0, 500), region=rng.choice(REGIONS), op=f"r{i}", client=f"reader{i}",
                   key=rng.choice(keys), consistent=rng.random() < 0.5)
        for i in range(reads))
    return TableScenario(name="regions-lab", description="a seeded two-region workload", regions=REGIONS,
                         latency={REGIONS: Uniform(70, 80)}, initial={k: {"seed": "0"} for k in keys},
                         workload=workload, reads=reads_)


def _reflects(reply_item, op: str) -> bool:
    versions = reply_item if isinstance(reply_item, list) else [reply_item or {}]
    return any(v.get(f"a_{op}") == op for v in versions)


def _oracle_stale(result, scenario, region_only: bool = False) -> dict[str, str]:
    """Reads missing a write acknowledged before they were sent (by the attribute oracle)."""
    replies = result.replies
    acked = {op: r.time for op, r in replies.items() if r.response.ok}
    writes = {w.op: w for w in scenario.workload}
    stale = {}
    for read in scenario.reads:
        reply = replies.get(read.op)
        assert reply is not None, f"read {read.op} got no reply: every read must get one (ok or an error)"
        if not reply.response.ok:
            continue
        for op, when in sorted(acked.items()):
            w = writes.get(op)
            if w is None or w.key != read.key or when > reply.issued:
                continue
            if region_only and w.region != read.region:
                continue
            if not _reflects(reply.response.item, op):
                stale[read.op] = op
                break
    return stale


class Run:
    """A Result, and the replies as the clients got them (the returned items)."""

    def __init__(self, result, replies) -> None:
        self.result, self.replies = result, replies

    def __getattr__(self, name):
        return getattr(self.result, name)


def run(scenario: TableScenario, seed: int = 0, **options) -> Run:
    prepared = scenario.prepare("attribute-lww", seed, **options)
    prepared.sim.run_until_quiescent()
    return Run(prepared.result(), {r.response.op: r for r in prepared.sim.replies})


# -- one replica per region is the default, unchanged ----------------------------------------

def test_one_replica_per_region_is_the_default_and_changes_nothing() -> None:
    assert scenarios.run("london", replicas_per_region=1).to_json() == scenarios.run("london").to_json()


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal", "crdt"])
@pytest.mark.parametrize("pattern", [{}, {"writes": "versioned"}, {"routing": "key-home"},
                                     {"mode": "single-primary"}])
def test_london_with_three_azs_per_region_loses_what_one_replica_loses(merge, pattern) -> None:
    """The loss is between regions, not within: per policy and pattern, the same verdicts."""
    single = scenarios.run("london", merge=merge, **pattern)
    grouped = scenarios.run("london", merge=merge, **pattern, **LEADER)
    assert grouped.ledger.verdicts() == single.ledger.verdicts()
    assert grouped.stale_reads == single.stale_reads
    assert grouped.converged
    assert sorted(grouped.final) == [f"{r}{az}" for r in sorted(single.final) for az in "abc"]


# -- durability, strong reads, eventual reads ------------------------------------------------

@pytest.mark.parametrize("az", "abc")
@pytest.mark.parametrize("durable", [True, False])
@pytest.mark.parametrize("back", [True, False])
def test_an_acknowledged_write_survives_an_az_outage(az, durable, back) -> None:
    for seed in range(3):
        scenario = lab(seed)
        at = random.Random(f"outage/{seed}/{az}").randrange(50, 350)
        outage = AzOutage(at, "eu-west-1", az, until=700 if back else None, durable=durable)
        result = run(scenario, seed, **LEADER, az_outages=[outage])
        acked = {e.write for e in result.ledger if e.verdict != "rejected"}
        assert acked, "the workload must acknowledge writes for the test to mean anything"
        verdicts = result.ledger.verdicts()
        assert all(verdicts[w] == "kept" for w in acked), (outage, verdicts)
        # A node down with its disk holds a stale table (not converged); one down without its
        # disk holds nothing and is not judged (tests/test_state_lost.py): the rest converged.
        assert result.converged == (back or not durable)


@pytest.mark.parametrize("seed", range(6))
def test_a_strong_read_never_misses_a_write_its_region_acknowledged(seed) -> None:
    scenario = lab(seed, writes=16, reads=24)
    outage = AzOutage(150 + 20 * seed, REGIONS[seed % 2], "abc"[seed % 3], until=450, durable=seed % 2 == 0)
    result = run(scenario, seed, **LEADER, az_outages=[outage])
    stale_here = _oracle_stale(result, scenario, region_only=True)
    strong = {r.op for r in scenario.reads if r.consistent}
    assert not strong & set(stale_here), {op: stale_here[op] for op in strong & set(stale_here)}
    # The judge agrees with the attribute oracle on every read, strong or eventual.
    assert set(result.stale_reads) == set(_oracle_stale(result, scenario))


def test_an_eventually_consistent_read_can_be_stale() -> None:
    """Right after an acknowledged write, a follower AZ may not have applied it yet."""
    write = ClientWrite(at=100, region="eu-west-1", op="w0", client="c", key="k0", attributes={"a_w0": "w0"})
    reads = tuple(ClientRead(at=102 + i, region="eu-west-1", op=f"r{i}", client=f"reader{i}", key="k0",
                             consistent=False) for i in range(8))
    scenario = TableScenario(name="eventual", description="reads right after a write", regions=REGIONS,
                             latency={REGIONS: Uniform(70, 80)}, initial={"k0": {"seed": "0"}},
                             workload=(write,), reads=reads)
    result = run(scenario, 0, **LEADER)
    assert result.stale_reads, "no eventually consistent read was stale"
    assert set(result.stale_reads) == set(_oracle_stale(result, scenario))
    why = result.stale_why[result.stale_reads[0]]
    assert "eventually consistent read answered by eu-west-1" in why and "missed w0" in why
    strong = run(attrs_evolve_reads(scenario, consistent=True), 0, **LEADER)
    assert strong.stale_reads == ()


def attrs_evolve_reads(scenario: TableScenario, *, consistent: bool) -> TableScenario:
    import attrs

    return attrs.evolve(scenario, reads=tuple(attrs.evolve(r, consistent=consistent) for r in scenario.reads))


# -- what "held by a region" means -----------------------------------------------------------

_OP = re.compile(r"op='([^']*)'")


@pytest.mark.parametrize("seed", range(4))
def test_a_region_applies_a_write_only_once_a_quorum_of_its_azs_has_it(seed) -> None:
    """Every Wrote/Merged record (what the ledger reads as "held by the region") is logged when
    the entry has committed: by then at least 2 of the region's 3 nodes had it in their log
    (the leader, and followers an Append carrying it had reached — read from the trace)."""
    scenario = lab(seed)
    result = run(scenario, seed, **LEADER,
                 az_outages=[AzOutage(200, "us-east-1", "abc"[seed % 3], until=600, durable=False)])
    has: dict[tuple[str, str], int] = {}  # (node, op) -> first time it held the entry
    for event in result.trace:
        if event.kind == "Delivered" and (event.get("msg") or {}).get("type") == "Append":
            for entry in event.get("msg")["entries"]:
                op = _OP.search(entry).group(1)
                has.setdefault((event.replica, op), event.time)
        elif event.kind in ("Wrote", "Merged"):
            op, node = event.get("write"), event.replica
            region = node[:-1]
            holders = {node} | {n for (n, o), t in has.items() if o == op and n[:-1] == region and t <= event.time}
            assert len(holders) >= 2, (event.kind, op, node, event.time, holders)
    # Ground truth agrees: at the end every live node of a region holds what the region applied.
    for entry in result.ledger:
        if entry.verdict == "kept":
            for keys in result.final.values():
                assert any(v.get(f"a_{entry.write}") == entry.write
                           for v in ([keys[entry.key]] if isinstance(keys[entry.key], dict) else keys[entry.key]))


# -- refused combinations --------------------------------------------------------------------

@pytest.mark.parametrize(("options", "says"), [
    ({"replicas_per_region": 3, "region_protocol": "leaderless", "writes": "versioned"},
     "use region_protocol='leader'"),
    ({"replicas_per_region": 3, "region_protocol": "raft"}, "choose one of: leader, leaderless"),
    ({"replicas_per_region": 3, "mode": "mrsc"}, "choose mode 'mrec' or 'single-primary'"),
    ({"region_protocol": "leader"}, "give replicas_per_region=3"),
    ({"replicas_per_region": 0}, "from 1 to 9"),
    ({"replicas_per_region": "3"}, "from 1 to 9"),
    ({"replicas_per_region": 3, "az_outages": [AzOutage(10, "eu-west-1", "d")]}, "AZs are ['a', 'b', 'c']"),
    ({"replicas_per_region": 3, "az_outages": [AzOutage(10, "mars-1", "a")]}, "unknown region"),
    ({"replicas_per_region": 3, "az_outages": ["eu-west-1a"]}, "AzOutage(...)"),
    ({"az_outages": [AzOutage(10, "eu-west-1", "a")]}, "replicas_per_region=3"),
])
def test_refused_combinations_name_the_valid_choices(options, says) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        scenarios.run("london", **options)


@pytest.mark.parametrize("name", ["crash", "partition"])
def test_scenarios_with_single_replica_timers_or_region_faults_are_refused(name) -> None:
    with pytest.raises(ConfigError, match="run one of: cart, counter, london"):
        scenarios.run(name, **LEADER)


def test_a_bad_az_outage_is_refused_when_built() -> None:
    for bad in [dict(at=-1, region="eu-west-1", az="a"), dict(at=5, region="eu-west-1", az="ab"),
                dict(at=5, region="eu-west-1", az="a", until=5), dict(at=5, region="eu-west-1", az="a", durable=1)]:
        with pytest.raises(ConfigError):
            AzOutage(**bad)


# -- determinism -----------------------------------------------------------------------------

def test_same_seed_same_bytes_in_another_process() -> None:
    code = ("from replicalab import scenarios; from replicalab.scenarios.regions import AzOutage; "
            "print(scenarios.run('london', merge='causal', seed=3, replicas_per_region=3, "
            "az_outages=[AzOutage(150, 'eu-west-1', 'a', until=500, durable=False)]).to_json())")
    here = scenarios.run("london", merge="causal", seed=3, replicas_per_region=3,
                         az_outages=[AzOutage(150, "eu-west-1", "a", until=500, durable=False)]).to_json()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.strip()
    assert out == here


# -- the same options on a GlobalTable -------------------------------------------------------

def test_a_global_table_with_three_azs_per_region_reads_strongly_at_the_leader() -> None:
    from replicalab.dynamodb import GlobalTable

    table = GlobalTable("subs", key=("pk",), replicas_per_region=3, region_protocol="leader",
                        items=[{"pk": {"S": "sub_42"}, "city": {"S": "Manchester"}}],
                        az_outages=[AzOutage(1, "eu-west-1", "a", durable=False)])
    eu, us = table.client("eu-west-1"), table.client("us-east-1")
    key = {"pk": {"S": "sub_42"}}
    table.at(5)
    eu.update_item(TableName="subs", Key=key, UpdateExpression="SET city = :c",
                   ExpressionAttributeValues={":c": {"S": "London"}})
    assert eu.get_item(TableName="subs", Key=key, ConsistentRead=True)["Item"]["city"] == {"S": "London"}
    assert us.get_item(TableName="subs", Key=key)["Item"]["city"] == {"S": "Manchester"}  # not there yet
    assert table.items("eu-west-1")["sub_42"]["city"] == "London"
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "kept"}
    assert list(result.stale_why) == ["r2"] and "eventually consistent" in result.stale_why["r2"]
    assert "eu-west-1b" in result.final and "eu-west-1a" in result.final


# -- the CLI ---------------------------------------------------------------------------------

def test_the_cli_runs_and_compares_with_azs_per_region(capsys) -> None:
    import json

    from replicalab.cli import main

    assert main(["run", "london", "--replicas-per-region", "3", "--region-protocol", "leader", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["options"] == {"region_protocol": "leader", "replicas_per_region": 3}
    assert document["summary"]["silently_lost"] == 1 and "eu-west-1b" in document["final"]
    assert main(["run", "london", "--replicas-per-region", "3", "--merge", "attribute-lww",
                 "--az-outage", "eu-west-1a@145..600:lose-disk", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["options"]["az_outages"] == [
        {"at": 145, "az": "a", "durable": False, "region": "eu-west-1", "until": 600}]
    assert document["summary"]["kept"] == 2
    assert main(["compare", "london", "--replicas-per-region", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 AZ nodes per region (leader); not applicable: MRSC (3 regions)" in out
    assert "single primary" in out and "MRSC (3 regions)  " not in out
    assert main(["compare", "london", "--replicas-per-region", "3", "--json",
                 "--az-outage", "eu-west-1a@145..600:lose-disk"]) == 0
    outage_rows = json.loads(capsys.readouterr().out)
    assert main(["compare", "london", "--replicas-per-region", "3", "--json"]) == 0
    assert outage_rows != json.loads(capsys.readouterr().out)  # the outage reached every row's runs
    assert main(["compare", "london", "--replicas-per-region", "3",
                 "--az-outage", "eu-west-1a@145..600:lose-disk", "--az-outage", "us-east-1b@10"]) == 0
    assert "AZ outages eu-west-1a@145..600:lose-disk, us-east-1b@10;" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "says"), [
    (["run", "london", "--replicas-per-region", "3", "--region-protocol", "raft"], "choose one of: leader, leaderless"),
    (["run", "london", "--n", "2"], "set(s) a cluster's options"),
    (["run", "london", "--az-outage", "eu-west-1a"], "NODE@AT[..UNTIL][:lose-disk]"),
    (["run", "london", "--replicas-per-region", "3", "--mode", "mrsc"], "choose mode 'mrec' or 'single-primary'"),
    (["run", "dynamo", "--replicas-per-region", "3"], "--replicas-per-region"),
    (["run", "london", "--replicas-per-region", "3", "--net"], "--replicas-per-region"),
])
def test_the_cli_refuses_what_regions_with_azs_cannot_do(argv, says, capsys) -> None:
    from replicalab.cli import main

    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own refusals exit with status 2
        status = exit_.code
    assert status == 2
    assert says in capsys.readouterr().err


def test_the_space_time_picture_groups_a_regions_az_nodes() -> None:
    from replicalab.viz import to_svg

    svg = to_svg(scenarios.run("london", **LEADER))
    for region in ("ap-southeast-2", "eu-west-1", "us-east-1"):
        assert f"{region} (3 AZs)" in svg
    lanes = [f">{r}{az}<" for r in ("ap-southeast-2", "eu-west-1", "us-east-1") for az in "abc"]
    assert all(lane in svg for lane in lanes)
    assert [svg.index(lane) for lane in lanes] == sorted(svg.index(lane) for lane in lanes)
    assert "(3 AZs)" not in to_svg(scenarios.run("london"))


def test_a_stale_read_of_a_write_lost_later_is_still_stale() -> None:
    """Lesson: staleness is about the moment of the answer. w1 is silently lost at t=219 (LWW
    drops it at us-east-1), but a follower that answered at t=143, before applying w1, gave a
    stale answer then — the later loss must not excuse it."""
    import attrs

    london = scenarios.get("london")
    eventual = tuple(ClientRead(at=143 + i, region="eu-west-1", op=f"e{i}", client="app", key="sub_42",
                                consistent=False) for i in range(3))
    result = attrs.evolve(london, reads=london.reads + eventual).run(**LEADER)
    assert result.ledger.verdicts()["w1"] == "silently-lost"
    assert set(result.stale_reads) == {"r1", "e0", "e1"}
    assert result.stale_why["e0"] == (
        "eventually consistent read answered by eu-west-1b at t=143 missed w1, acknowledged at "
        "t=143 (the read was sent at t=143); it had reached the node, not yet applied")
