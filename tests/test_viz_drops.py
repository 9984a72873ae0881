"""Every view of a run names the same drops, by one rule (:class:`~replicalab.replica.log_fields.DropRule`).

A region logs, with every write and merge, the values it displaced (``losses``). Not every
displaced value is a lost one: a second ``ADD n 1`` in one region displaces the first one's
value, yet its sum counts that increment. Lesson: a page that says "drops w1's n" beside a
ledger that says "w1 kept" teaches that increments vanish. The text timeline, the step-through
page, the space-time picture, Mermaid and ShiViz all read the drops through one rule, so they
say the same thing, and none shows a carried-on increment as dropped.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from replicalab import scenarios
from replicalab.dynamodb import GlobalTable
from replicalab.errors import ConfigError
from replicalab.replica.log_fields import DropRule
from replicalab.replica.parts import leaves
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim import Uniform
from replicalab.trace import Event
from replicalab.viz import mermaid, shiviz, svg, text
from replicalab.viz.html import page_data
from replicalab.viz.story import Story, build

POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")
REGIONS = ("eu-west-1", "us-east-1")


def _two_adds(*later: ClientWrite) -> TableScenario:
    """eu-west-1 ``ADD n 1`` at t=0 and again at t=10 (the second saw the first), then ``later``."""
    return TableScenario(
        name="two-adds", description="two increments in one region", regions=REGIONS,
        latency={REGIONS: Uniform(50, 60)}, initial={"k": {"n": 0}},
        workload=(ClientWrite(0, "eu-west-1", "w1", "c1", "k", {}, add={"n": 1}),
                  ClientWrite(10, "eu-west-1", "w2", "c2", "k", {}, add={"n": 1}), *later))


def _timeline_drops(result: Any) -> Counter[tuple[str, str]]:
    """``(write, attribute)`` of every "— drops w1's n, ..." the text timeline prints."""
    out: Counter[tuple[str, str]] = Counter()
    for line in text.timeline(result).splitlines():
        if " — drops " in line:
            for part in line.split(" — drops ", 1)[1].split(", "):
                write, attribute = part.split("'s ", 1)
                out[(write, attribute)] += 1
    return out


def _merge_drops(story: Story) -> Counter[tuple[str, str]]:
    return Counter((x["write"], x["attribute"]) for s in story.steps if s.kind == "merge" for x in s.losses)


@pytest.mark.parametrize("merge", POLICIES)
def test_a_second_increment_in_one_region_is_no_drop_in_any_view(merge: str) -> None:
    """What was wrong: under item-lww, attribute-lww and causal, w2 (``ADD n 1`` after w1's, in
    the same region) displaces w1's value 1 by its sum 2; the region logs that as a loss of
    w1, and every view showed it — the timeline "us-east-1 receives k (w2) — drops w1's n",
    the picture and Mermaid "drops w1.n", the page's ledger panel "dropped at eu-west-1 (step
    2)" — beside the ledger's verdict: w1 kept (n reads 2). Under crdt the record was hidden
    only by the step-through's prefix match on the rule's words. What is true: w2 built its
    value on w1's by an increment (its Wrote line's ``parts``/``base``; under crdt the policy
    marks the record ``carried``), so no view lists it."""
    result = _two_adds().run(merge, 0)
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    assert {items["k"]["n"] for items in result.final.values()} == {2}
    # The record is still in the trace (the ledger reads it) ...
    recorded = [x for e in result.trace.of_kind("Wrote", "Merged") for x in e.get("losses")
                if x["write"] == "w1"]
    assert recorded, "the region still logs that w2 displaced w1's value"
    # ... and no view shows it.
    story = build(result)
    assert [(s.index, s.losses) for s in story.steps if s.losses] == []
    assert " drops " not in text.report(result)
    assert "drops" not in mermaid.to_mermaid(result)
    for compact in (False, True):
        assert "drops" not in svg.to_svg(result, compact=compact)
    assert "silently lost here" not in shiviz.to_shiviz(result)
    assert all(step["losses"] == [] for step in page_data(story)["steps"])


def test_the_crdt_policy_marks_a_counted_on_increment_in_the_trace() -> None:
    """The crdt record is structurally no drop: ``"carried": true`` beside its rule's words (a
    field added to the trace's JSON form; a record without it keeps its old bytes)."""
    result = _two_adds(ClientWrite(500, "us-east-1", "w3", "c3", "k", {"n": 0})).run("crdt", 0)
    wrote = next(e for e in result.trace.of_kind("Wrote") if e.get("write") == "w2")
    assert wrote.get("losses") == [{
        "write": "w1", "attribute": "n", "by": "w2", "carried": True,
        "rule": "counted on in eu-west-1's running total of n by local write w2, which saw it"}]
    plain = json.loads(result.trace.to_json())
    others = [x for e in plain for x in e["data"].get("losses", ()) if x["by"] != "w2"]
    assert others and all("carried" not in x for x in others)


@pytest.mark.parametrize("merge", POLICIES)
def test_a_reset_after_two_increments_drops_the_running_total_once_everywhere(merge: str) -> None:
    """us-east-1 ``SET n = 0`` at t=500, having seen both increments: every view shows the same
    drops — w2's value (which carries w1's increment) at us-east-1's write and at eu-west-1's
    merge; nothing before the reset."""
    result = _two_adds(ClientWrite(500, "us-east-1", "w3", "c3", "k", {"n": 0})).run(merge, 0)
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "superseded", "w3": "kept"}
    story = build(result)
    shown = [(s.time, s.replica, x["write"]) for s in story.steps for x in s.losses]
    assert shown == [(500, "us-east-1", "w2"), (557, "eu-west-1", "w2")], shown
    assert _timeline_drops(result) == _merge_drops(story) == Counter({("w2", "n"): 1})
    assert "drops w2.n" in mermaid.to_mermaid(result)
    assert "drops w2.n" in svg.to_svg(result)


@pytest.mark.parametrize(("w3", "shown", "verdict"), [
    ({"add": {"n": 5}}, ["w1"], "kept"), ({"attributes": {"n": 7}}, ["w1", "w3"], "superseded")])
def test_an_increment_built_on_one_sibling_still_drops_the_other(
        w3: dict[str, Any], shown: list[str], verdict: str) -> None:
    """The rule hides no real drop. Under causal, eu-west-1 holds siblings w1 (``ADD n 1``)
    and w3 (us-east-1's concurrent write); its ``ADD n 1`` w4 adds to one of them (the greatest
    stamp: w3) and so drops w1's value — shown, and the ledger says superseded. If w3 was an
    ``ADD n 5``, w4's sum still counts it: not shown, w3 kept. If w3 was ``SET n = 7``, n no
    longer reads 7: shown, w3 superseded — as the ledger judges it."""
    scenario = TableScenario(
        name="siblings", description="an ADD over two siblings", regions=REGIONS,
        latency={REGIONS: Uniform(50, 60)}, initial={"k": {"n": 0}},
        workload=(ClientWrite(0, "eu-west-1", "w1", "c1", "k", {}, add={"n": 1}),
                  ClientWrite(5, "us-east-1", "w3", "c3", "k", w3.get("attributes", {}), add=w3.get("add", {})),
                  ClientWrite(300, "eu-west-1", "w4", "c4", "k", {}, add={"n": 1})))
    result = scenario.run("causal", 0)
    story = build(result)
    w4 = next(s for s in story.steps if s.write == "w4" and s.kind == "write")
    assert [x["write"] for x in w4.losses] == shown
    wrote = w4.event("Wrote")
    assert wrote is not None
    assert sorted(x["write"] for x in wrote.get("losses") if x["write"] != "initial") == ["w1", "w3"]
    assert result.ledger.verdicts() == {"w1": "superseded", "w3": verdict, "w4": "kept"}


@pytest.mark.parametrize("merge", ["item-lww", "causal"])
def test_a_global_table_list_append_after_an_add_shows_no_drop(merge: str) -> None:
    """Through DynamoDB requests: eu-west-1 ``ADD n 1`` twice and ``list_append`` twice; each
    second request builds on the first one's value (an increment, an append), so neither
    first request is shown dropped, and both are kept."""
    key = {"pk": {"S": "quota"}}
    table = GlobalTable("quotas", merge=merge, items=[{**key, "n": {"N": "5"}, "l": {"L": []}}])
    eu = table.client("eu-west-1", "eu")
    table.at(100)
    for _ in range(2):
        eu.update_item(TableName="quotas", Key=key, UpdateExpression="ADD n :one",
                       ExpressionAttributeValues={":one": {"N": "1"}})
    for value in ("a", "b"):
        eu.update_item(TableName="quotas", Key=key, UpdateExpression="SET l = list_append(l, :v)",
                       ExpressionAttributeValues={":v": {"L": [{"S": value}]}})
    result = table.settle()
    assert set(result.ledger.verdicts().values()) == {"kept"}
    story = build(result)
    assert [(s.index, s.losses) for s in story.steps if s.losses] == []
    assert " drops " not in text.timeline(result)


def test_the_rule_reads_only_the_trace() -> None:
    """A bare trace (no ledger, no result) gets the same drops as its result."""
    result = _two_adds(ClientWrite(500, "us-east-1", "w3", "c3", "k", {"n": 0})).run("item-lww", 0)
    assert [s.losses for s in build(result.trace).steps] == [s.losses for s in build(result).steps]
    rule = DropRule(result.trace.of_kind("Wrote"))
    assert rule.carried({"write": "w1", "attribute": "n", "by": "w2", "rule": ""})
    assert not rule.carried({"write": "w1", "attribute": "n", "by": "w3", "rule": ""})


#: Two eu-west-1 UpdateItems on one item, the second built on the first's value (same region,
#: 10 ms apart): (initial attributes, first, second). Each second one leaves the first one's
#: part as it was.
LEFT_ALONE = {
    "other map key": ({"m": {"M": {}}}, ("SET m.a = :v", {":v": {"N": "1"}}), ("SET m.b = :v", {":v": {"N": "2"}})),
    "set add, add": ({}, ("ADD s :v", {":v": {"SS": ["x"]}}), ("ADD s :v", {":v": {"SS": ["y"]}})),
    "set add, delete": ({}, ("ADD s :v", {":v": {"SS": ["x"]}}), ("DELETE s :v", {":v": {"SS": ["z"]}})),
    "if_not_exists after": ({"m": {"M": {}}}, ("SET m.a = :v", {":v": {"N": "1"}}),
                            ("SET m.a = if_not_exists(m.a, :v)", {":v": {"N": "5"}})),
    "if_not_exists first": ({"a": {"N": "3"}}, ("SET a = if_not_exists(a, :v)", {":v": {"N": "5"}}),
                            ("SET a = :v", {":v": {"N": "2"}})),
}
#: The same, where the second one does not leave the first one's part.
REPLACED = {
    "the map whole": ({"m": {"M": {}}}, ("SET m.a = :v", {":v": {"N": "1"}}), ("SET m = :v", {":v": {"M": {}}})),
    "the same map key": ({"m": {"M": {}}}, ("SET m.a = :v", {":v": {"N": "1"}}), ("SET m.a = :v", {":v": {"N": "2"}})),
    "the added member deleted": ({}, ("ADD s :v", {":v": {"SS": ["x"]}}), ("DELETE s :v", {":v": {"SS": ["x"]}})),
}


def _two_updates(merge: str, initial: dict[str, Any], *updates: tuple[str, dict[str, Any]]) -> Any:
    key = {"pk": {"S": "k"}}
    table = GlobalTable("parts", merge=merge, items=[{**key, **initial}])
    eu = table.client("eu-west-1", "eu")
    table.at(100)
    for expression, values in updates:
        eu.update_item(TableName="parts", Key=key, UpdateExpression=expression, ExpressionAttributeValues=values)
    return table.settle()


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("case", sorted(LEFT_ALONE))
def test_a_partial_write_that_leaves_the_earlier_ones_part_is_no_drop_in_any_view(case: str, merge: str) -> None:
    """What was wrong: ``SET m.a = 1`` (w1) then ``SET m.b = 2`` built on its value; set ``ADD s
    {x}`` then ``ADD s {y}`` or ``DELETE s {z}`` (crdt aside, where sets are element cells);
    ``SET m.a = if_not_exists(m.a, :v)`` after w1's ``m.a``; and w1 an ``if_not_exists`` that
    wrote back the value already there — every view showed "drops w1's ..." at each region
    beside the ledger's "w1 kept" (the views' rule only let increments and appends carry an
    earlier write's part). What is true: both writes are kept, and the views follow the
    ledger's rule (:func:`~replicalab.replica.parts.leaves`; a write whose parts there are all
    ``keep`` has nothing of its own to lose), so none shows a drop."""
    initial, *updates = LEFT_ALONE[case]
    result = _two_updates(merge, initial, *updates)
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    story = build(result)
    assert [(s.index, s.losses) for s in story.steps if s.losses] == []
    assert " drops " not in text.timeline(result)
    assert "drops" not in mermaid.to_mermaid(result)
    assert "drops" not in svg.to_svg(result)
    assert "silently lost here" not in shiviz.to_shiviz(result)


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("case", sorted(REPLACED))
def test_a_partial_write_that_replaces_the_earlier_ones_part_still_drops_it(case: str, merge: str) -> None:
    """The rule hides no real drop: where w2 replaced w1's part (the map whole, the same map
    key, the member w1 added deleted), w1 is superseded and every region shows it dropped."""
    initial, *updates = REPLACED[case]
    result = _two_updates(merge, initial, *updates)
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    shown = [(s.replica, x["write"]) for s in build(result).steps for x in s.losses]
    assert shown == [("eu-west-1", "w1"), ("us-east-1", "w1"), ("ap-southeast-2", "w1")]
    assert _timeline_drops(result) == Counter({("w1", updates[0][0].split()[1].split(".")[0]): 2})


def test_the_ledger_and_the_views_read_parts_as_tuples_or_lists_alike() -> None:
    """The ledger's parts are tuples, the trace's JSON lists: :func:`leaves` answers the same."""
    cases = [([["set", ["m", "b"]]], [["set", ["m", "a"]]], True),
             ([["set", ["m"]]], [["set", ["m", "a"]]], False),
             ([["set", ["l", 3]]], [["set", ["l", 0]]], False),  # list indexes may name one place
             ([["append", ["l"]]], [["prepend", ["l"]]], True),
             ([["elements", ["s"], ["S:y"], []]], [["elements", ["s"], ["S:x"], []]], True),
             ([["elements", ["s"], ["S:x"], []]], [["elements", ["s"], [], ["S:x"]]], False),
             ([["keep", ["a"]]], [["set", ["a", "b"]]], True)]
    def tuples(parts: list[list[Any]]) -> list[tuple[Any, ...]]:
        return [tuple(tuple(x) if isinstance(x, list) else x for x in p) for p in parts]
    for later, mine, expected in cases:
        for a in (later, tuples(later)):
            for b in (mine, tuples(mine)):
                assert leaves(a, b) is expected, (a, b)


# -- the matrix ---------------------------------------------------------------------------------

MATRIX = [(name, merge, seed) for name in scenarios.names() for merge in POLICIES for seed in range(5)]


def _mermaid_drops(result: Any) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for line in mermaid.to_mermaid(result).splitlines():
        for found in re.findall(r"drops ([^<—]+)", line):
            for part in found.strip().split(", "):
                write, attribute = part.split(".", 1)
                out[(write, attribute)] += 1
    return out


#: The patterns and region protocols each scenario accepts, beside the plain runs above.
OPTIONS = ({"writes": "versioned"}, {"routing": "key-home"}, {"mode": "mrsc"},
           {"replicas_per_region": 3, "region_protocol": "leader"},
           {"replicas_per_region": 3, "region_protocol": "leaderless"})


def _runs_with_options() -> list[Any]:
    out = []
    for name in scenarios.names():
        for merge in POLICIES:
            for options in OPTIONS:
                try:
                    scenarios.run(name, merge=merge, seed=0, **options)
                except ConfigError:
                    continue  # a combination the scenario refuses (say, mrsc under crdt)
                out.append(pytest.param(name, merge, options, id=f"{name}-{merge}-{'-'.join(map(str, options.values()))}"))
    return out


@pytest.mark.parametrize(("name", "merge", "options"), _runs_with_options())
def test_every_pattern_and_region_protocol_keeps_the_views_agreeing(
        name: str, merge: str, options: dict[str, Any]) -> None:
    """The two invariants below (drops, copies lost on arrival) also hold for the versioned
    writes, key-home routing, MRSC and regions of three AZ nodes, seeds 0 and 1."""
    for seed in (0, 1):
        result = scenarios.run(name, merge=merge, seed=seed, **options)
        _check_drops(result)
        _check_arrivals(result)


@pytest.mark.parametrize(("name", "merge", "seed"), MATRIX)
def test_every_view_names_the_drops_the_story_names(name: str, merge: str, seed: int) -> None:
    """The invariant, for every built-in scenario × policy × seed 0..4:

    * the step-through's drops (``Step.losses``) are exactly the records of the step's
      ``Wrote``/``Merged`` events that :class:`DropRule` calls drops — none of the initial
      data, none carried on;
    * the text timeline prints, over the run, exactly the (write, attribute) drops the merge
      steps hold (it words writes without their drops, like the pictures);
    * Mermaid prints each merge step's drops once, as the story holds them;
    * the page's data lists every step's drops as the story holds them;
    * a write the ledger calls kept or superseded is never "silently lost here", and every
      write a view says was silently lost at a step is one the story shows dropped there.
    """
    _check_drops(scenarios.run(name, merge=merge, seed=seed))


def _check_drops(result: Any) -> None:
    story = build(result)
    rule = DropRule(result.trace.of_kind("Wrote"))
    for step in story.steps:
        expected = [dict(sorted(x.items())) for e in step.events if e.kind in ("Wrote", "Merged")
                    for x in rule.drops(e)]
        assert list(step.losses) == expected, step.index
    merges = _merge_drops(story)
    assert _timeline_drops(result) == merges
    assert _mermaid_drops(result) == Counter(
        k for s in story.steps if s.kind == "merge" for k in {(x["write"], x["attribute"]) for x in s.losses})
    page = page_data(story)
    assert [[(x["write"], x["attribute"]) for x in st["losses"]] for st in page["steps"]] == [
        [(x["write"], x["attribute"]) for x in s.losses] for s in story.steps]
    verdicts = result.ledger.verdicts()
    for step in story.steps:
        for write in story.lost_here(step):
            assert verdicts[write] == "silently-lost"
            assert write in {x["write"] for x in step.losses}
    # The converse: a write the ledger calls kept is shown dropped at no step of a replica whose
    # final item holds its part — a live cell of the attribute that it wrote, or that a write
    # wrote on a value built on its own, back through writes that left its part as it was.
    # (Not true of every run: a part a write replaced at a replica can come back there with a
    # concurrent value built on it, which wins the merge; a drop shown there was true at its
    # step. No built-in scenario does that.)
    keys = {e.get("write"): e.get("key") for e in result.trace.of_kind("Wrote")}
    for step in story.steps:
        for x in step.losses:
            write, name = x["write"], x["attribute"]
            item = result.items.get(step.replica, {}).get(keys.get(write))
            if verdicts.get(write) != "kept" or item is None:
                continue
            cells = [c for v in item.versions for c in v.cells_of(name) if not c.removed]
            assert not any(c.write == write or rule.carried({"write": write, "attribute": name, "by": c.write})
                           for c in cells), (step.index, x)


# -- messages lost on arrival -----------------------------------------------------------------


def test_the_timeline_says_where_a_write_was_lost_on_arrival() -> None:
    """What was wrong: in ``crash`` (eu-west-1 down from t=120, back empty at t=1000), us-east-1's
    copy of w2 reaches eu-west-1 at t=428 while it is down and is lost there; the picture draws
    an X on eu-west-1's lane, Mermaid a ``-x`` arrow, but the text timeline (what ``replicalab
    run`` prints) went from w2's write straight to ap-southeast-2's merge, and the learner could
    not see why eu-west-1 got sub_43 only from anti-entropy. What is true: one line per copy of
    a client write lost on arrival, in the shared words of :mod:`replicalab.viz.faults`."""
    result = scenarios.run("crash", seed=0)
    lines = text.timeline(result).splitlines()
    assert lines[3] == ("4. t=428   network: us-east-1's w2 to eu-west-1 (sent t=350) lost on arrival: "
                        "eu-west-1 is down")
    assert "w2 sent t=350, lost on arrival at t=428: eu-west-1 is down" in mermaid.to_mermaid(result)
    assert text.timeline(result) in text.report(result)


def test_a_run_without_drops_on_arrival_prints_what_it_printed() -> None:
    """No lost copy, no new line (the golden hashes pin every such report byte for byte)."""
    result = scenarios.run("london", seed=0)
    assert "lost on arrival" not in text.report(result)


@pytest.mark.parametrize(("name", "merge", "seed"), MATRIX)
def test_the_timeline_and_the_pictures_lose_the_same_write_copies(name: str, merge: str, seed: int) -> None:
    """The invariant, for every built-in scenario × policy × seed 0..4: the copies the timeline
    says were lost on arrival are exactly the copies of a client write that
    :func:`~replicalab.viz.faults.lost_on_arrival` finds (the rule the SVG draws its X by, and
    Mermaid its ``-x`` arrow), each once, at the time it was lost; a protocol message (an
    anti-entropy round) is left to the pictures, as its arrival is."""
    _check_arrivals(scenarios.run(name, merge=merge, seed=seed))


def _check_arrivals(result: Any) -> None:
    from replicalab.viz import faults

    story = build(result)
    expected = sorted(
        (story.step(index).time, f"network: {m.src}'s {faults.drop_text(m)}")
        for index, copies in faults.arrival_drops(story).items() for m in copies
        if isinstance(m.payload, dict) and m.payload.get("write") not in (None, "", "anti-entropy"))
    said = sorted((int(line.split("t=", 1)[1].split()[0]), line.split("  ", 1)[1].strip())
                  for line in text.timeline(result).splitlines() if "lost on arrival" in line)
    assert said == expected
    arrows = mermaid.to_mermaid(result)
    for _, line in said:
        label = line.split("'s ", 1)[1].split(" to ", 1)[0]
        sent = line.split("(sent ", 1)[1].split(")", 1)[0]
        assert f"{label} sent {sent}, lost on arrival" in arrows, line


# -- the rule's reachability, against the walk it replaced ------------------------------------


def _walk(rule: DropRule, holder: str, write: str, name: str, mine: Any) -> bool:
    """The chain walk ``DropRule._reaches`` answered by before it was indexed (quadratic on a
    hot counter): follow base links from ``holder``, each write's parts leaving ``mine``."""
    seen: set[str] = set()
    node: str | None = holder
    while node is not None and node not in seen:
        seen.add(node)
        later = rule._parts.get((node, name))
        if later is None or not leaves(later, mine):
            return False
        node = rule._base.get((node, name))
        if node == write:
            return True
    return False


_PART_KINDS = st.sampled_from([["add", ["n"]], ["set", ["n", "a"]], ["set", ["n", "b"]], ["append", ["n"]],
                               ["keep", ["n"]], ["elements", ["n"], ["x"], []], ["elements", ["n"], [], ["x"]]])


@given(st.lists(st.tuples(st.lists(_PART_KINDS, min_size=0, max_size=2), st.integers(-1, 30)),
                min_size=1, max_size=30))
@example([([["set", ["n", "a"]]], -1), ([["set", ["n", "b"]]], 0)])  # the write breaks its own parts
@example([([["add", ["n"]]], -1), ([["add", ["n"]]], 0), ([["set", ["n", "a"]]], 1), ([["add", ["n"]]], 2)])
def test_the_indexed_rule_answers_as_the_chain_walk(writes: list[tuple[list[Any], int]]) -> None:
    """Random histories of partial writes, each built on an earlier one (or none, or a write
    without parts): ``_reaches`` answers as the walk for every pair of writes and every parts."""
    events = []
    for i, (parts, base) in enumerate(writes):
        data: dict[str, Any] = {"write": f"w{i}", "parts": {"n": parts} if parts else {}}
        if 0 <= base < i:
            data["base"] = {"n": f"w{base}"}
        events.append(Event(i, i, "Wrote", "eu", data))
    rule = DropRule(events)
    ids = [f"w{i}" for i in range(len(writes))]
    for write in ids:
        mine = rule._parts.get((write, "n"))
        if mine is None:
            continue
        for holder in ids:
            if holder != write:
                assert rule._reaches(holder, write, "n", mine) == _walk(rule, holder, write, "n", mine), (holder, write)


def test_a_cycle_of_base_links_in_a_hand_made_trace_ends() -> None:
    add = {"n": [["add", ["n"]]]}
    rule = DropRule([Event(0, 0, "Wrote", "eu", {"write": "w1", "parts": add, "base": {"n": "w2"}}),
                     Event(1, 1, "Wrote", "eu", {"write": "w2", "parts": add, "base": {"n": "w1"}})])
    assert rule.is_drop({"write": "w1", "attribute": "n", "by": "w2", "rule": "..."})
