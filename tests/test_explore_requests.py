"""Exploring your own DynamoDB requests: a request file or a GlobalTable's calls, every schedule.

Oracles: the shipped ``london.json`` explores exactly like the ``london`` scenario; a
request scope *runs* byte-identically to ``replicalab run FILE.json`` (RequestFile.replay);
the explorer agrees with the naive enumeration on request scopes; tiny files counted by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import attrs
import pytest

from replicalab import explore
from replicalab.dynamodb import GlobalTable
from replicalab.dynamodb.requestfile import example
from replicalab.errors import ConfigError, ReplicaLabError, SerializationError
from replicalab.explore import calls
from replicalab.explore.naive import every_schedule

EXAMPLES = resources.files("replicalab.dynamodb").joinpath("examples")
LONDON = str(EXAMPLES.joinpath("london.json"))
VERSIONED = str(EXAMPLES.joinpath("london-versioned.json"))
MERGES = ["item-lww", "attribute-lww", "causal", "crdt"]


def _update(at: int, region: str, expression: str, values: dict, condition: str | None = None) -> dict:
    request = {"TableName": "tbl", "Key": {"pk": {"S": "k"}}, "UpdateExpression": expression,
               "ExpressionAttributeValues": values}
    if condition is not None:
        request["ConditionExpression"] = condition
    return {"at": at, "region": region, "client": f"c-{region}", "UpdateItem": request}


def tiny(condition: str | None = None) -> dict:
    """Two regions a and b, one item k with x = 0 and y = 0; a sets x at t=10, b sets y at
    t=20 (if ``condition`` holds on b's copy). The smallest London, as a request file."""
    return {
        "table": {"TableName": "tbl", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]},
        "regions": ["a", "b"],
        "items": [{"pk": {"S": "k"}, "x": {"N": "0"}, "y": {"N": "0"}}],
        "requests": [_update(10, "a", "SET x = :one", {":one": {"N": "1"}}),
                     _update(20, "b", "SET y = :two",
                             {":two": {"N": "2"}, **({":zero": {"N": "0"}} if condition else {})},
                             condition)],
    }


def _shape(space: explore.Space) -> list[tuple]:
    """Each outcome as what it means, not how it is named: the step kinds and replicas of its
    shortest schedule, how many schedules end there, its verdicts, stale reads, convergence."""
    return [(tuple((s.kind, s.replica) for s in o.steps), o.schedules, o.verdicts,
             o.result.stale_reads, o.result.converged) for o in space.outcomes]


# -- oracles: the london scenario, the replay -------------------------------------------------


@pytest.mark.parametrize("merge", MERGES)
def test_london_json_explores_exactly_like_the_london_scenario(merge):
    """Same regions, latencies, item, writes at 140 and 189 and the strong read at 194: the
    same schedules, states, steps and final states in the same order, with the same verdicts.
    (The request file's item also holds its key attribute, subscriber_id, as every DynamoDB
    item does; it is bookkeeping, never part of a write's effect, so no verdict moves.)"""
    scenario, requests = explore.scenario("london", merge), explore.scenario(LONDON, merge)
    for attribute in ("schedules", "states", "transitions", "depth", "reduce"):
        assert getattr(requests, attribute) == getattr(scenario, attribute), attribute
    assert requests.verdicts() == scenario.verdicts()
    assert _shape(requests) == _shape(scenario)
    # The scenario's clients get the same answers (their op ids are the same: w1, w2, r1).
    assert requests.replies() == scenario.replies() == {
        op: {"ok": scenario.schedules} for op in ("w1", "w2", "r1")}


def _relabelled(document: str) -> str:
    """``document`` with message ids renumbered by first appearance: an id is a label given in
    scheduling order, and the scope schedules each client's first call when the run starts,
    where a replay sends it when its time comes (the events, their order and data are the same)."""
    data = json.loads(document)
    ids: dict[int, int] = {}
    for event in data["trace"]:
        if "id" in event["data"]:
            event["data"]["id"] = ids.setdefault(event["data"]["id"], len(ids) + 1)
    return json.dumps(data, sort_keys=True)


@pytest.mark.parametrize("name", ["london", "london-versioned"])
@pytest.mark.parametrize("options", [{}, {"routing": "key-home"}, {"mode": "single-primary"}])
def test_a_request_scope_runs_byte_identically_to_the_replay(name, options):
    """RequestScenario.run is `replicalab run FILE.json`: the same Result, to the byte but for
    message ids' labels, under every merge policy and two seeds. key-home sends us-east-1's
    write to eu-west-1 and back, so that client's read after it runs late, as a synchronous
    caller's next call."""
    file = example(name)
    scope = calls.requests(file)
    for merge in MERGES:
        for seed in (0, 7):
            assert (_relabelled(scope.run(merge, seed, **options).to_json())
                    == _relabelled(file.replay(merge, seed, **options).result.to_json())), (merge, seed)


# -- the versioned pattern: a condition that fails in some schedules only ---------------------


def test_the_versioned_file_finds_the_conditional_failure_and_no_silent_loss():
    """Both writes expect version 17. If w1 reaches us-east-1 before the retention job writes
    at t=189, us-east-1's copy has version 18 there and w2's condition fails: refused, in the
    ledger as rejected. Otherwise both succeed and the version fork is detected. Never a
    silent loss."""
    check = explore.check(VERSIONED, "item-lww", invariant="no-silent-loss")
    assert check.holds
    space = check.space
    assert space.replies() == {"w1": {"ok": 35}, "w2": {"ConditionalCheckFailed": 3, "ok": 32},
                               "r1": {"ok": 35}}
    assert space.verdicts() == {"w1": {"detected": 32, "kept": 3}, "w2": {"kept": 32, "rejected": 3}}
    cx = space.find(lambda r: calls.replies(r)["w2"] == "ConditionalCheckFailed")
    assert cx is not None
    labels = [s.label for s in cx.steps]
    w1_to_us = next(i for i, label in enumerate(labels) if "Replicate(w1) eu-west-1 -> us-east-1" in label)
    assert w1_to_us < next(i for i, label in enumerate(labels) if label.startswith("t=189"))
    again = cx.replay()
    assert calls.replies(again)["w2"] == "ConditionalCheckFailed"
    assert again.ledger.verdicts() == {"w1": "kept", "w2": "rejected"}


# -- reduced == full == naive on request scopes -----------------------------------------------


@pytest.mark.parametrize("source, merge, faults", [
    (VERSIONED, "item-lww", "none"),
    ("tiny-conditional", "causal", "loss"),
    ("tiny", "item-lww", "crash"),
])
def test_on_request_scopes_the_explorer_agrees_with_the_naive_enumeration(source, merge, faults):
    scope = calls.requests(tiny("x = :zero") if source == "tiny-conditional" else
                           tiny() if source == "tiny" else source)
    naive = list(every_schedule(scope, merge, faults=faults))
    verdicts: dict[str, Counter[str]] = {}
    answers: dict[str, Counter[str]] = {}
    for _, result in naive:
        for write, verdict in result.ledger.verdicts().items():
            verdicts.setdefault(write, Counter())[verdict] += 1
        for op, answer in calls.replies(result).items():
            answers.setdefault(op, Counter())[answer] += 1
    full = explore.scenario(scope, merge, faults=faults, reduce=False)
    assert full.schedules == len(naive)
    assert full.verdicts() == {w: dict(sorted(c.items())) for w, c in sorted(verdicts.items())}
    assert full.replies() == {op: dict(sorted(c.items())) for op, c in answers.items()}
    if faults == "crash":  # a request that reaches a crashed region is refused: the client knows
        assert "Unreachable" in full.replies()["w2"]
    reduced = explore.scenario(scope, merge, faults=faults)
    assert reduced.states == full.states
    assert {o.state for o in reduced.outcomes} == {o.state for o in full.outcomes}
    assert {w: set(v) for w, v in reduced.verdicts().items()} == {w: set(v) for w, v in full.verdicts().items()}


# -- counted by hand ------------------------------------------------------------------------


def test_a_two_region_request_file_has_three_schedules_counted_by_hand():
    """Timed: A (a runs w1, replying at once, sends m1 to b), B (b runs w2, sends m2 to a); A
    before B. m1 after A, m2 after B: A m1 B m2, A B m1 m2, A B m2 m1 = 3 schedules; the last
    two differ only in deliveries to different replicas: 2 classes. States: root, A, A m1,
    A B, A m1 B, A B m1, A B m2, and the final A m1 B m2 and A B m1 m2 (= A B m2 m1): 9.
    Only A m1 B m2 lets w2 see w1; otherwise item-lww drops w1 at a: silently lost."""
    full = explore.scenario(tiny(), "item-lww", reduce=False)
    assert (full.schedules, full.states, full.depth) == (3, 9, 4)
    assert full.verdicts() == {"w1": {"kept": 1, "silently-lost": 2}, "w2": {"kept": 3}}
    reduced = explore.requests(tiny(), "item-lww")
    assert (reduced.schedules, reduced.states) == (2, 9)


def test_a_condition_fails_in_exactly_the_schedule_that_delivered_first_by_hand():
    """The same file with w2 conditional on x = 0 at b: false exactly when m1 arrived at b
    before B — 1 schedule of 3 (A m1 B m2), where w2 is refused and w1 kept; in the other 2
    both succeed and w2's later stamp drops w1 under item-lww."""
    space = explore.scenario(tiny("x = :zero"), "item-lww", reduce=False)
    assert space.replies() == {"w1": {"ok": 3}, "w2": {"ConditionalCheckFailed": 1, "ok": 2}}
    assert space.verdicts() == {"w1": {"kept": 1, "silently-lost": 2},
                                "w2": {"kept": 2, "rejected": 1}}


# -- a GlobalTable's calls ---------------------------------------------------------------------


def _table(**options) -> tuple[GlobalTable, list]:
    table = GlobalTable("tbl", key=("pk",), regions=("a", "b"),
                        items=[{"pk": {"S": "k"}, "x": {"N": "0"}, "y": {"N": "0"}}], **options)
    a, b = table.client("a", "c-a"), table.client("b", "c-b")
    table.at(10)
    a.update_item(TableName="tbl", Key={"pk": {"S": "k"}}, UpdateExpression="SET x = :one",
                  ExpressionAttributeValues={":one": {"N": "1"}})
    table.at(20)
    b.update_item(TableName="tbl", Key={"pk": {"S": "k"}}, UpdateExpression="SET y = :two",
                  ExpressionAttributeValues={":two": {"N": "2"}})
    return table, [a, b]


def _state(table: GlobalTable) -> tuple:
    return (table.now, list(table.sent), len(table.calls), table.items("a"), table.items("b"))


def test_a_global_table_explores_like_the_same_requests_in_a_file_and_is_left_as_it_was():
    table, _ = _table(merge="causal", seed=3)
    twin, _ = _table(merge="causal", seed=3)
    before = _state(table)
    space = explore.scenario(table)
    assert (space.merge, space.seed) == ("causal", 3)  # the table's own, by default
    assert "replayed verbatim" in space.note and "not re-run" in space.note
    file = explore.scenario(tiny(), "causal", seed=3)
    assert (space.schedules, space.states, space.verdicts()) == (file.schedules, file.states,
                                                                 file.verdicts())
    lww = explore.scenario(table, "item-lww", reduce=False)
    assert lww.verdicts() == {"w1": {"kept": 1, "silently-lost": 2}, "w2": {"kept": 3}}
    assert _state(table) == before
    assert table.settle().to_json() == twin.settle().to_json()  # it goes on as if never explored


def test_a_retry_after_a_refusal_is_replayed_verbatim_and_named_in_the_note():
    table, (_, b) = _table()
    with pytest.raises(b.exceptions.ConditionalCheckFailedException):
        b.update_item(TableName="tbl", Key={"pk": {"S": "k"}}, UpdateExpression="SET y = :three",
                      ConditionExpression="y = :zero",
                      ExpressionAttributeValues={":three": {"N": "3"}, ":zero": {"N": "0"}})
    b.update_item(TableName="tbl", Key={"pk": {"S": "k"}}, UpdateExpression="SET y = :three",
                  ExpressionAttributeValues={":three": {"N": "3"}})
    space = explore.scenario(table, reduce=False)
    assert "w4 by c-b came after w3 was refused (ConditionalCheckFailed)" in space.note
    # w3's condition is false at b in every schedule (b set y = 2 itself); w4 is sent regardless.
    assert space.replies()["w3"] == {"ConditionalCheckFailed": space.schedules}
    assert space.replies()["w4"] == {"ok": space.schedules}


def test_tables_that_cannot_be_explored_are_refused_with_what_would_do():
    table, _ = _table()
    with pytest.raises(ConfigError, match="choose mode 'mrec' or 'single-primary'"):
        explore.scenario(table, mode="mrsc")
    with pytest.raises(ConfigError, match="writes must be 'plain'"):
        explore.scenario(table, writes="versioned")
    throttled = GlobalTable("tbl", key=("pk",), capacity={"write": 5})
    with pytest.raises(ConfigError, match="capacity=None"):
        explore.scenario(throttled)
    with pytest.raises(ConfigError, match="no requests to explore yet"):
        explore.scenario(GlobalTable("tbl", key=("pk",)))
    strong = GlobalTable("tbl", key=("pk",), mode="mrsc")  # runs; its calls are not explored
    strong.client("us-east-1").put_item(TableName="tbl", Item={"pk": {"S": "a"}})
    with pytest.raises(ConfigError, match="under mode='mrsc' is not supported"):
        explore.scenario(strong)


# -- bad input ------------------------------------------------------------------------------


def test_bad_request_files_are_refused_naming_the_entry_and_field(tmp_path):
    with pytest.raises(ConfigError, match="cannot read .*missing.json: No such file"):
        explore.scenario(str(tmp_path / "missing.json"))
    bad = tiny()
    bad["requests"][1]["region"] = "mars"
    with pytest.raises(SerializationError, match=r"requests\[1\]\.region: unknown region 'mars'; "
                                                 r"regions are \['a', 'b'\]"):
        explore.scenario(bad)
    path = tmp_path / "bad.json"
    bad = tiny()
    bad["requests"][0]["UpdateItem"]["Tablename"] = "t"
    path.write_text(json.dumps(bad))
    with pytest.raises(SerializationError, match=r"bad.json: requests\[0\]\.UpdateItem\.Tablename: "
                                                 "unknown parameter; UpdateItem takes"):
        explore.requests(path)
    with pytest.raises(ConfigError, match="a scenario name, a TableScenario, a GlobalTable, or a request file"):
        explore.scenario(3.5)


@pytest.mark.parametrize("hostile", [None, 42, b"\xff\xfe", "[", [], {}, [1, 2], {"requests": "no"},
                                     [float("nan")], "{\"requests\": []}", object()])
def test_hostile_sources_raise_library_errors(hostile):
    with pytest.raises(ReplicaLabError):
        calls.requests(hostile)


def test_a_malformed_expression_is_the_entrys_outcome_in_every_schedule():
    """As in a replay: the client refuses it before sending; no region ever sees it."""
    doc = tiny()
    doc["requests"][1]["UpdateItem"]["UpdateExpression"] = "SET y = = :two"
    scope = calls.requests(doc)
    assert scope.refused == ((1, "UpdateItem", "ValidationException"),)
    assert explore.scenario(scope).replies() == {"w1": {"ok": 1}}


# -- determinism, the command line ------------------------------------------------------------


def _in_a_process(hash_seed: str) -> str:
    code = ("import json, sys; from replicalab import explore;"
            "s = explore.scenario(sys.argv[1]);"
            "print(json.dumps([s.summary(), s.replies(), [o.state for o in s.outcomes]], sort_keys=True))")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", code, VERSIONED], env=env, capture_output=True,
                          text=True, check=True).stdout


def test_the_same_exploration_of_a_file_in_two_processes_with_different_hash_seeds():
    first, second = _in_a_process("3"), _in_a_process("9001")
    assert first == second
    assert json.loads(first)[1]["w2"] == {"ConditionalCheckFailed": 3, "ok": 32}


def test_cli_explore_a_request_file(tmp_path, capsys):
    from replicalab.cli import main

    assert main(["explore", VERSIONED]) == 0
    out = capsys.readouterr().out
    assert "35 classes of schedules, 166 states" in out
    assert "request  ConditionalCheckFailed  ok" in out and "w2       3" in out
    assert main(["explore", LONDON, "--merge", "item-lww", "--invariant", "no-silent-loss"]) == 1
    assert "deliver Replicate(w2)" in capsys.readouterr().out
    assert main(["explore", LONDON, "--merge", "causal", "--invariant", "no-silent-loss", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["holds"] and document["replies"]["w1"] == {"ok": 48}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny()))
    page = tmp_path / "tiny.html"
    assert main(["explore", str(path), "--faults", "loss", "--html", str(page)]) == 0
    data = json.loads(page.read_text().split('id="replicalab-graph">')[1].split("</script>")[0])
    assert data["schedules"] == explore.scenario(str(path), faults="loss", reduce=False).schedules


def test_cli_explore_request_file_errors_say_what_is_wrong(tmp_path, capsys):
    from replicalab.cli import main

    assert main(["explore", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["explore", LONDON, "--writes", "versioned"]) == 2
    assert "a request file's conditions are its own" in capsys.readouterr().err
    assert main(["explore", LONDON, "--mode", "mrsc"]) == 2
    assert "choose mode 'mrec' or 'single-primary'" in capsys.readouterr().err
    bad = tiny()
    del bad["requests"][0]["at"]
    path = Path(tmp_path / "bad.json")
    path.write_text(json.dumps(bad))
    assert main(["explore", str(path)]) == 2
    assert r"requests[0].at: missing" in capsys.readouterr().err


def test_a_request_scenario_made_by_hand_is_checked_when_made():
    scope = calls.requests(tiny())
    with pytest.raises(ConfigError, match="calls must be a tuple of Call values"):
        calls.RequestScenario(**{**{a: getattr(scope, a) for a in ("name", "description", "regions",
                                                                   "latency", "initial", "workload")},
                                 "calls": ("w1",)})
    stray = attrs.evolve(scope.calls[0], region="mars")
    with pytest.raises(ConfigError, match=r"one of the regions \['a', 'b'\]"):
        attrs.evolve(scope, calls=(stray,))
