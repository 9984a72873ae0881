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
from typing import Any

import pytest

from replicalab.dynamodb import GlobalTable
from replicalab.replica.base import Replica
from replicalab.sim import Link, Simulation, Uniform, full_mesh

# The crdt counter reproducers of this review (a decimal or a string beside a counter, an ADD's
# answer, a sum past 38 digits, the stepper's view of a counter) live, fixed, in
# tests/test_crdt_counter_review.py.

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
