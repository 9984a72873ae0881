"""Review reproducers, session 29: last session's crdt counter, simulator, stepper and gradebook.

Found with independent oracles: the crdt counter's own documented rule ("concurrent SETs with
an increment beside them read as the sum of all"), a region's next read after its own write,
a deep copy of a simulation mid-run that must continue exactly as the original, the same run
under two PYTHONHASHSEEDs, a spreadsheet's other separators, moto as single-region DynamoDB.
Each test states what was wrong and what is true. All of them pass: the fixes landed with the
crdt set and counter work (hor, hcn), the literal text fix (hvz) and the deleted alias below.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from replicalab.dynamodb import GlobalTable
from replicalab.replica.base import Replica
from replicalab.sim import Link, Simulation, Uniform, full_mesh

# -- the crdt counter beside a concurrent assignment that is not an integer ----------------------

QUOTA = {"pk": {"S": "quota"}}


def _number(shown: Any) -> Decimal:
    """A final-state number as it is shown: an int, or a decimal in its cell form ``{'N': '3.5'}``."""
    return Decimal(shown["N"]) if isinstance(shown, dict) else Decimal(shown)


def _add_beside_a_concurrent_set(value: dict[str, Any]) -> Any:
    """us-east-1 ``ADD n 1`` and eu-west-1 ``SET n = value`` at the same moment (neither saw the
    other), on ``n = 5``, under ``crdt``: the settled result."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "5"}}])
    us, eu = table.client("us-east-1", "us"), table.client("eu-west-1", "eu")
    table.at(100)
    us.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                   ExpressionAttributeValues={":v": {"N": "1"}})
    eu.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
                   ExpressionAttributeValues={":v": value})
    return table.settle()


def test_an_integer_set_beside_a_concurrent_add_reads_as_the_documented_sum() -> None:
    """The control for the counter tests below (passes): ``SET n = 10`` beside a concurrent ``ADD n 1``
    reads 11 everywhere, as CrdtMap documents (the surviving value plus the increment no
    assignment saw), and both writes are kept."""
    result = _add_beside_a_concurrent_set({"N": "10"})
    assert {state["quota"]["n"] for state in result.final.values()} == {11}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_a_decimal_set_beside_a_concurrent_add_is_in_the_sum() -> None:
    """What was wrong: ``SET n = 2.5`` concurrent with ``ADD n 1`` settles to ``n = 1`` in every
    region — the 2.5 vanishes from the read, while the ledger calls the SET ``kept``. What is
    true (CrdtMap's documented rule, "value = Σ surviving assignment values + Σ increments no
    assignment saw", as the integer control above reads): 2.5 + 1 = 3.5."""
    result = _add_beside_a_concurrent_set({"N": "2.5"})
    assert {_number(state["quota"]["n"]) for state in result.final.values()} == {Decimal("3.5")}


def test_a_decimal_add_beside_a_concurrent_integer_add_counts_both() -> None:
    """What was wrong: on a quota at 5 under ``crdt``, eu-west-1 ``ADD used 0.5`` and us-east-1
    ``ADD used 1`` in the same millisecond settle to ``used = 1`` everywhere, both ``kept`` —
    the 5 and the 0.5 are gone (found from tutorial 07's own sentence, "An ADD of a decimal
    (0.5) is not a counter increment: the region writes the sum it read, as under LWW"). What
    is true by that rule: eu-west-1's 5.5 is an assignment, us-east-1's 1 an increment it had
    not seen, so every region reads 5.5 + 1 = 6.5 (and even LWW would say 5.5 or 6, never 1)."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "used": {"N": "5"}}])
    table.at(100)
    for region, amount in (("eu-west-1", "0.5"), ("us-east-1", "1")):
        table.client(region, region).update_item(
            TableName="quotas", Key=QUOTA, UpdateExpression="ADD used :v",
            ExpressionAttributeValues={":v": {"N": amount}})
    result = table.settle()
    assert {_number(state["quota"]["used"]) for state in result.final.values()} == {Decimal("6.5")}


@pytest.mark.parametrize("value", [
    pytest.param({"S": "x"}, id="string"),
    pytest.param({"SS": ["a"]}, id="string-set"),
    pytest.param({"L": [{"N": "1"}]}, id="list")])
def test_a_write_the_ledger_calls_kept_can_be_read(value: dict[str, Any]) -> None:
    """What was wrong: ``SET n = "x"`` concurrent with ``ADD n 1`` (crdt) — the ledger says both
    writes are ``kept``, yet every region reads ``n = 1``: the string is stored (its cell
    survives every merge) but no read can ever see it, so "kept" is a verdict nobody can check.
    What is true: a ``kept`` assignment's value is visible in the attribute's read (as
    concurrent values are for any other attribute), or the ledger does not call it kept."""
    result = _add_beside_a_concurrent_set(value)
    shown = [state["quota"]["n"] for state in result.final.values()]
    assert result.ledger.verdicts()["w2"] != "kept" or all(isinstance(n, list) for n in shown), shown



def test_an_add_answers_the_value_its_own_region_then_reads() -> None:
    """What was wrong: under ``crdt``, after concurrent ``SET n = 10`` (eu-west-1) and ``SET n =
    20`` (us-east-1) have both arrived everywhere, eu-west-1's ``ADD n 1`` with
    ``ReturnValues=ALL_NEW`` answers ``n = 21``, and a GetItem in the same region right after
    (nothing else written in between) returns ``n = 31``: the client is told one number and
    the table holds another. What is true: an UpdateItem's ALL_NEW is the item its region
    holds after the write — here what the next read there returns."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "5"}}])
    eu, us = table.client("eu-west-1", "eu"), table.client("us-east-1", "us")
    table.at(100)
    for client, value in ((eu, "10"), (us, "20")):
        client.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
                           ExpressionAttributeValues={":v": {"N": value}})
    table.at(3000)
    told = eu.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                          ExpressionAttributeValues={":v": {"N": "1"}}, ReturnValues="ALL_NEW")
    read = eu.get_item(TableName="quotas", Key=QUOTA, ConsistentRead=True)
    assert told["Attributes"]["n"] == read["Item"]["n"], (told["Attributes"], read["Item"])


def test_two_concurrent_adds_never_make_an_item_unreadable() -> None:
    """What was wrong: under ``crdt``, on ``n = 10**38 - 2`` (38 digits), eu-west-1 ``ADD n 1`` and
    us-east-1 ``ADD n 2`` are each accepted (99…99 and 1E+38 fit), both are ``kept``, and the
    merged counter is ``10**38 + 1`` — 39 significant digits. From then on every GetItem and
    every UpdateItem of the item (even ``SET m = :v``) raises ValidationException "Attempting to
    store more than 38 significant digits in a Number": the item can never be read or written
    again through the API. What is true: an acknowledged write never makes a valid GetItem
    fail."""
    from replicalab.dynamodb.exceptions import DynamoDBError

    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "9" * 37 + "8"}}])
    table.at(100)
    for region, amount in (("eu-west-1", "1"), ("us-east-1", "2")):
        table.client(region, region).update_item(
            TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
            ExpressionAttributeValues={":v": {"N": amount}})
    table.at(3000)
    try:
        table.client("eu-west-1", "reader").get_item(TableName="quotas", Key=QUOTA)
    except DynamoDBError as error:
        raise AssertionError(f"a GetItem of a held item failed: {error}") from None

# -- a deep copy of a simulation mid-run -------------------------------------------------------


class _Gossip(Replica):
    """Each message is answered and passed on to another peer, six hops deep."""

    def __init__(self, replica_id: str, peers: list[str]) -> None:
        super().__init__(replica_id)
        self.peers = [p for p in peers if p != replica_id]
        self.heard = 0

    def on_start(self, ctx: Any) -> None:
        for peer in self.peers:
            ctx.send(peer, 0)

    def on_message(self, ctx: Any, src: str, msg: Any) -> None:
        self.heard += 1
        if msg < 6:
            ctx.send(self.peers[self.heard % len(self.peers)], msg + 1)
            ctx.send(src, msg + 1)


def _gossip(trace: bool) -> Simulation:
    ids = ["a", "b", "c", "d"]
    return Simulation([_Gossip(i, ids) for i in ids], seed=5, topology=full_mesh(ids), trace=trace,
                      link=Link(Uniform(1, 20, jitter=2.0), loss=0.2, duplicate=0.3))


def _ending(sim: Simulation) -> tuple[Any, ...]:
    trace = sim.trace.to_json() if sim._trace is not None else None
    return trace, sim.statistics(), [r.heard for r in sim.replicas.values()]


@pytest.mark.parametrize("trace", [True, False], ids=["traced", "untraced"])
def test_a_simulation_copied_mid_run_continues_exactly_as_the_original(trace: bool) -> None:
    """What was wrong: ``copy.deepcopy`` of any Simulation raises ``TypeError: cannot pickle
    'dict_keys' object`` (it copied before last session). What is true: a deep copy taken
    mid-run — lossy, duplicating, jittered links whose bare generators have drawn — continues to
    the same trace, statistics and replica states as the original and as a fresh run (checked
    with the alias removed: the generators' copyreg hook does its part)."""
    original = _gossip(trace)
    original.run(until=15)
    twin = copy.deepcopy(original)
    fresh = _gossip(trace)
    fresh.run(until=15)
    for sim in (original, twin, fresh):
        sim.run_until_quiescent()
    assert _ending(twin) == _ending(original) == _ending(fresh)


# -- what the step-through page shows of a crdt counter ------------------------------------------


def test_the_stepper_shows_a_crdt_counter_as_it_reads() -> None:
    """What was wrong (before last session too; the one-cell-per-replica counter kept it): the
    ``counter`` story under ``crdt`` settles to ``used = 3`` in every region, but the state the
    step-through page (and every Wrote/Merged trace item) shows for each region after its last
    step is ``used: [1, 'w3']`` — one replica's running total, as if two increments were lost.
    What is true: the state a step shows for an attribute is what the attribute reads."""
    from replicalab import scenarios
    from replicalab.viz.story import build

    result = scenarios.run("counter", merge="crdt", seed=0)
    story = build(result)
    for region, items in result.final.items():
        assert items["quota_acme"]["used"] == 3
        last = [s.state for s in story.steps if s.replica == region and s.state][-1]
        assert [v["cells"]["used"][0] for v in last["quota_acme"]] == [3], (region, last)



def test_the_stepper_never_shows_a_counted_increment_as_dropped() -> None:
    """What was wrong: two ``ADD n 1`` at eu-west-1 (t=0, t=10) under ``crdt``: both ``kept``,
    n reads 2 everywhere — yet the second write's step lists a loss of w1 ("counted on in
    eu-west-1's running total of n by local write w2, which saw it"), so the step-through page's
    ledger panel shows w1 "dropped so far: eu-west-1 (step 2)" beside its final verdict
    ``kept``. A Loss means "write's value of attribute vanished"; an increment carried in the
    newer running total did not vanish (the crdt merge already records no loss for it). What
    is true: no step of a run lists a loss of a write whose increment still counts."""
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.viz.story import build

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="two-adds", description="two increments in one region", regions=regions,
        latency={regions: Uniform(50, 60)}, initial={"k": {"n": 0}},
        workload=(ClientWrite(0, "eu-west-1", "w1", "c1", "k", {}, add={"n": 1}),
                  ClientWrite(10, "eu-west-1", "w2", "c2", "k", {}, add={"n": 1})))
    result = scenario.run("crdt", 0)
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    assert {state["k"]["n"] for state in result.final.values()} == {2}
    dropped = [(step.index, loss) for step in build(result).steps for loss in step.losses]
    assert dropped == [], dropped

# -- the gradebook CSV opened where cells split on ';' or tabs --------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_a_file_name_cannot_start_a_formula_cell_after_a_separator_of_another_locale(delimiter) -> None:
    """What was wrong: ``to_csv`` put a ``'`` only before a formula character at the *start* of
    a name, and the csv writer quotes only cells holding a ``,``. A student file named
    ``bob;=1+1.py`` was written as ``bob;=1+1,0,10,...``: a spreadsheet that splits on ``;``
    (the default where ``,`` is the decimal mark; OWASP's CSV-injection page names the
    separators too) reads a cell ``=1+1,0,10,...`` and evaluates it — and so does the clash
    row's problem text, which repeats the name. Same with a tab. What is true (fixed here, in
    classroom._inert): no cell of the gradebook starts like a formula whichever of ``,``, ``;``
    or a tab the spreadsheet splits on; plain names are unchanged."""
    import csv

    from replicalab import exercises
    from replicalab.exercises import classroom

    spec = exercises.get("gcounter")
    names = ["bob;=1+1", "eve;@SUM(A1)", "x\t-2", "y;;+3", "z\t\t=4", "carol;dave", "b-ob"]
    rows = [classroom.Row(n, f"{n}.py", None, f"both {n}.py and {n}/ are submissions of {n}: keep one")
            for n in names]
    text = classroom.to_csv(spec, rows)
    for split in (",", delimiter):
        cells = [cell for row in csv.reader(text.splitlines()[1:], delimiter=split) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], (split, cells)
    students = [row[0] for row in csv.reader(text.splitlines()[1:])]
    assert students[-2:] == ["carol;dave", "b-ob"]


# -- a set literal in a DynamoDB request, in the trace ---------------------------------------------

_SET_STORY = """
import hashlib
from replicalab.dynamodb import GlobalTable
key = {"pk": {"S": "c"}}
table = GlobalTable("carts", merge="crdt", items=[{**key, "s": {"SS": ["a"]}}])
table.at(100)
table.client("eu-west-1", "e").update_item(
    TableName="carts", Key=key, UpdateExpression="ADD s :v",
    ExpressionAttributeValues={":v": {"SS": ["x", "y", "zz", "q"]}})
print(hashlib.sha256(table.settle().to_json().encode()).hexdigest())
"""


def test_a_run_with_a_set_literal_is_byte_identical_under_any_hash_seed() -> None:
    """What was wrong (before last session too): the same GlobalTable story — one ``ADD s :v``
    of the string set {x, y, zz, q} — gives a different ``Result.to_json()`` under
    PYTHONHASHSEED=0 and =7: the trace shows the set literal in hash order. What is true (the
    design's determinism contract): same seed, byte-identical output in any process under any
    PYTHONHASHSEED."""
    import os
    import subprocess
    import sys

    digests = set()
    for hash_seed in ("0", "7"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", _SET_STORY], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        digests.add(done.stdout.strip())
    assert len(digests) == 1, digests


# -- the crdt counter on one region, against moto ------------------------------------------------

_NUMBERS = ("1", "-2", "0", "7", "2.5", "100000000000000000000")


def _counter_request(rng: Any) -> tuple[str, dict[str, Any]]:
    """One request on item ``k``'s numbers ``n`` and ``m``: ADDs (integral and not), SET, REMOVE,
    ``n = n + :v``, a conditional ADD, a put with or without ``n``, a delete."""
    def number() -> dict[str, str]:
        return {"N": rng.choice(_NUMBERS)}
    key = {"pk": {"S": "k"}}
    update = {"TableName": "counters", "Key": key}
    return rng.choice([
        ("update_item", {**update, "UpdateExpression": "ADD n :v", "ExpressionAttributeValues": {":v": number()}}),
        ("update_item", {**update, "UpdateExpression": "ADD n :v, m :w",
                         "ExpressionAttributeValues": {":v": number(), ":w": number()}}),
        ("update_item", {**update, "UpdateExpression": "SET n = :v", "ExpressionAttributeValues": {":v": number()}}),
        ("update_item", {**update, "UpdateExpression": "REMOVE n"}),
        ("update_item", {**update, "UpdateExpression": "SET n = n + :v", "ExpressionAttributeValues": {":v": number()}}),
        ("update_item", {**update, "UpdateExpression": "ADD n :v", "ConditionExpression": "n > :c",
                         "ExpressionAttributeValues": {":v": number(), ":c": {"N": "3"}}, "ReturnValues": "ALL_NEW"}),
        ("put_item", {"TableName": "counters", "Item": {**key, **({"n": number()} if rng.random() < 0.5 else {})}}),
        ("delete_item", {**update, "ReturnValues": "ALL_OLD"}),
    ])


def test_the_crdt_counter_on_one_region_answers_as_dynamodb_does() -> None:
    """Not a defect: a standing oracle. The moto comparisons ran every policy but ``crdt``, whose
    integer ``ADD`` now takes another path (an increment merged as a counter, read through
    counter_value). On one region nothing is concurrent, so every answer, error and item must
    be DynamoDB's (moto's): 25 seeded sequences of ADD / SET / REMOVE / put / delete on two
    numbers. Numbers compare as values (moto prints ``5.0`` where DynamoDB prints ``5``)."""
    import random
    from decimal import Decimal

    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from botocore.exceptions import ClientError

    from replicalab.dynamodb.exceptions import DynamoDBError

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return ({"N": Decimal(value["N"]).normalize()} if set(value) == {"N"}
                    else {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"})
        return [plain(v) for v in value] if isinstance(value, list) else value

    def on(client: Any, errors: Any, operation: str, request: dict[str, Any]) -> tuple[str, Any]:
        try:
            answer = getattr(client, operation)(**request)
            return "ok", plain({k: v for k, v in answer.items() if k == "Attributes"})
        except errors as error:
            return (error.code if isinstance(error, DynamoDBError) else error.response["Error"]["Code"]), None

    key = {"pk": {"S": "k"}}
    with moto.mock_aws():
        theirs = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        for seed in range(25):
            if "counters" in theirs.list_tables()["TableNames"]:
                theirs.delete_table(TableName="counters")
            theirs.create_table(TableName="counters", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                BillingMode="PAY_PER_REQUEST")
            ours = GlobalTable("counters", merge="crdt", regions=("us-east-1",)).client("us-east-1")
            rng = random.Random(f"review-29/counter/{seed}")
            done = []
            for _ in range(10):
                operation, request = _counter_request(rng)
                done.append((operation, request))
                mine, moto_says = on(ours, DynamoDBError, operation, request), on(theirs, ClientError, operation, request)
                assert mine == moto_says, done
                assert (plain(ours.get_item(TableName="counters", Key=key).get("Item"))
                        == plain(theirs.get_item(TableName="counters", Key=key).get("Item"))), done


# -- the trace format's word on Wrote.parts ------------------------------------------------------


def test_the_trace_format_names_every_kind_of_part_a_wrote_line_carries() -> None:
    """What was wrong: tutorials/trace-format.md (the public, versioned format) said a part is
    ``[kind, path]`` with kind ``set``, ``remove``, ``append``, ``prepend`` or ``add``; a set
    ``ADD``/``DELETE`` writes ``["elements", path, added, deleted]`` (replica/parts.py), which a
    reader of the format could not know. What is true (fixed here, in the doc): the paragraph
    on ``Wrote.parts`` names every kind a run writes, and the elements form's shape."""
    from pathlib import Path

    table = GlobalTable("parts", merge="item-lww", items=[{
        "pk": {"S": "k"}, "m": {"M": {"a": {"N": "1"}}}, "l": {"L": []}, "n": {"N": "0"}, "s": {"SS": ["a"]}}])
    client = table.client("eu-west-1", "app")
    for i, (expression, values) in enumerate([
            ("SET m.b = :v", {":v": {"N": "2"}}), ("REMOVE m.a", None),
            ("SET l = list_append(l, :v)", {":v": {"L": [{"S": "x"}]}}),
            ("SET l = list_append(:v, l)", {":v": {"L": [{"S": "y"}]}}),
            ("ADD n :v", {":v": {"N": "1"}}), ("ADD s :v", {":v": {"SS": ["b"]}}),
            ("DELETE s :v", {":v": {"SS": ["a"]}})]):
        table.at(1000 * (i + 1))
        client.update_item(TableName="parts", Key={"pk": {"S": "k"}}, UpdateExpression=expression,
                           **({"ExpressionAttributeValues": values} if values else {}))
    parts = [p for e in table.settle().trace.of_kind("Wrote") for ps in e.get("parts").values() for p in ps]
    kinds = {p[0] for p in parts}
    assert kinds == {"set", "remove", "append", "prepend", "add", "elements"}, parts
    doc = (Path(__file__).resolve().parent.parent / "tutorials" / "trace-format.md").read_text()
    said = " ".join(doc[doc.index("`Wrote.parts`"):].split("\n\n")[0].split())
    assert all(f"`{kind}`" in said or f'"{kind}"' in said for kind in kinds), said
    assert '["elements", path, added, deleted]' in said, said
