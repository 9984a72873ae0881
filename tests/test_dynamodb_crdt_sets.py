"""DynamoDB set ``ADD``/``DELETE`` in a GlobalTable under ``crdt``: an add-wins OR-Set (issue hor).

Lesson: the crdt policy promises an add-wins OR-Set for sets, and a GlobalTable request is
held to it. What was wrong: ``UpdateExpression="ADD tags :e"`` was evaluated into the whole set
its region read and stored as one value (a multi-value register), so two regions' concurrent
ADDs ended as two sibling sets, a GetItem showed one of them, and the ledger called both kept.
Now a set ``ADD``/``DELETE`` goes to the policy as elements — one cell per member, named by
its type and canonical text (``S:a``, ``N:1``, ``B:<hex>``, so ``1.0`` and ``1`` are one
member, as in DynamoDB) under the dot of the write that added it:

* concurrent ADDs union; a ``DELETE`` removes the members its region had seen, so a
  concurrent ADD of the same member survives it (add wins) — and the ledger, judging set
  actions by value as everywhere (chapter 7's cart), calls that delete silently lost to the
  add that had not seen it: the rule working as designed, and a loss nobody was told about;
* a ``SET``/``REMOVE`` of the whole attribute resets exactly what its region had seen;
* an emptied set vanishes (DynamoDB stores no empty set); a type mismatch is refused as before;
* every reader (GetItem, Query, sizes) sees the union as the right typed set.

The convergence properties compare every region with an oracle computed from causality alone
(which write had seen which), never from cells; the ledger property with a brute-force oracle of
its verdicts; the single-region cross-check with moto, where the semantics coincide.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replicalab.dynamodb import GlobalTable
from replicalab.dynamodb.cells import from_cell, to_cell, to_members
from replicalab.dynamodb.exceptions import ValidationException
from replicalab.dynamodb.values import item_size, number
from replicalab.items import Item, Stamp, member_form, members_of
from replicalab.policies import get_policy
from replicalab.replica.dynamo import resolved
from replicalab.sim.faults import LinkChange
from replicalab.sim.network import Uniform

PROTOCOLS = {"one replica": {}, "leader": {"replicas_per_region": 3, "region_protocol": "leader"},
             "leaderless": {"replicas_per_region": 3, "region_protocol": "leaderless"}}
CART = {"pk": {"S": "cart"}}
REGIONS = ("ap-southeast-2", "eu-west-1", "us-east-1")


def _table(tags: Any = None, merge: str = "crdt", **options: Any) -> GlobalTable:
    item = {**CART, "tags": tags} if tags is not None else dict(CART)
    return GlobalTable("carts", merge=merge, items=[item], **options)


def _update(table: GlobalTable, region: str, expression: str, value: Any = None) -> dict[str, Any]:
    values = {"ExpressionAttributeValues": {":e": value}} if value is not None else {}
    return table.client(region, region).update_item(TableName="carts", Key=CART, UpdateExpression=expression,
                                                    ReturnValues="ALL_NEW", **values)


def _read(table: GlobalTable, region: str = "ap-southeast-2") -> Any:
    return table.client(region, "reader").get_item(TableName="carts", Key=CART).get("Item", {}).get("tags")


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_two_concurrent_number_set_adds_union_with_dynamodb_number_normalisation(protocol) -> None:
    """``ADD :e`` of NS ``{1.0}`` and of ``{1, 2.50}`` at once: one member 1 (DynamoDB's number
    normalisation), 2.5 and the initial 10, sorted by value, in every region; both kept."""
    table = _table({"NS": ["10"]}, **PROTOCOLS[protocol])
    table.at(100)
    _update(table, "eu-west-1", "ADD tags :e", {"NS": ["1.0"]})
    _update(table, "us-east-1", "ADD tags :e", {"NS": ["1", "2.50"]})
    result = table.settle()
    assert _read(table) == {"NS": ["1", "2.5", "10"]}
    assert result.converged and result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    assert {str(s["cart"]["tags"]) for s in result.final.values()} == {"{'NS': ['1', '2.5', '10']}"}


def test_a_delete_concurrent_with_an_add_of_the_same_member_loses_to_it_add_wins() -> None:
    """eu-west-1 deletes x while us-east-1 adds x: the delete removed the x it had seen (the
    initial one); the add's x is another dot, so x stays. The ledger judges the delete by value:
    x is back, brought by a write that had not seen it — silently lost, naming the add."""
    table = _table({"SS": ["x", "y"]})
    table.at(100)
    _update(table, "eu-west-1", "DELETE tags :e", {"SS": ["x"]})
    _update(table, "us-east-1", "ADD tags :e", {"SS": ["x"]})
    result = table.settle()
    assert _read(table) == {"SS": ["x", "y"]}
    assert result.ledger["w2"].verdict == "kept"
    w1 = result.ledger["w1"]
    assert (w1.verdict, w1.by) == ("silently-lost", ("w2",))
    assert "'S:x' is in tags again, added by w2 (w2 had not seen w1)" in w1.why


def test_a_delete_that_saw_the_add_supersedes_it_and_the_emptied_set_vanishes() -> None:
    """us-east-1 adds a; 500 ms later eu-west-1, having received it, deletes a and the initial x:
    the set is empty, so the attribute is gone (DynamoDB stores no empty set) in every region,
    the item's size counts no tags, and the add is superseded by the delete."""
    table = _table({"SS": ["x"]})
    table.at(100)
    _update(table, "us-east-1", "ADD tags :e", {"SS": ["a"]})
    table.at(600)
    answer = _update(table, "eu-west-1", "DELETE tags :e", {"SS": ["a", "x"]})
    assert answer["Attributes"] == CART  # the region's own answer: tags gone
    result = table.settle()
    assert _read(table) is None and all("tags" not in s["cart"] for s in result.final.values())
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    assert result.ledger["w1"].by == ("w2",)
    assert item_size(resolved(table._held("eu-west-1").items["cart"]) or {}) == item_size({"pk": "cart"})


def test_a_set_of_the_whole_attribute_resets_what_it_saw_and_keeps_a_concurrent_add() -> None:
    """``SET tags = :s`` in eu-west-1 while us-east-1 adds b: the SET replaced the x it had
    seen (observed-reset), the concurrent b survives: {b, q}; both kept."""
    table = _table({"SS": ["x"]})
    table.at(100)
    _update(table, "eu-west-1", "SET tags = :e", {"SS": ["q"]})
    _update(table, "us-east-1", "ADD tags :e", {"SS": ["b"]})
    result = table.settle()
    assert _read(table) == {"SS": ["b", "q"]}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_a_remove_resets_what_it_saw_and_a_concurrent_add_survives_alone() -> None:
    """``REMOVE tags`` concurrent with ``ADD b``: x (seen) is gone, b stays — and the REMOVE is
    judged as removals are under crdt (undone by a concurrent add: silently lost to it)."""
    table = _table({"SS": ["x"]})
    table.at(100)
    _update(table, "eu-west-1", "REMOVE tags")
    _update(table, "us-east-1", "ADD tags :e", {"SS": ["b"]})
    result = table.settle()
    assert _read(table) == {"SS": ["b"]}
    assert result.ledger["w2"].verdict == "kept"
    assert (result.ledger["w1"].verdict, result.ledger["w1"].by) == ("silently-lost", ("w2",))


def test_binary_sets_round_trip_and_a_query_returns_the_union() -> None:
    table = _table({"BS": ["AAE="]})
    table.at(100)
    _update(table, "eu-west-1", "ADD tags :e", {"BS": [b"hi"]})
    _update(table, "us-east-1", "ADD tags :e", {"BS": [b"\x00\x01", b"\xff"]})
    table.settle()
    assert _read(table) == {"BS": [b"\x00\x01", b"hi", b"\xff"]}
    found = table.client("eu-west-1", "q").query(
        TableName="carts", KeyConditionExpression="pk = :k", ExpressionAttributeValues={":k": {"S": "cart"}})
    assert found["Items"] == [{**CART, "tags": {"BS": [b"\x00\x01", b"hi", b"\xff"]}}]


@pytest.mark.parametrize(("held", "added"), [({"N": "3"}, {"SS": ["a"]}), ({"SS": ["x"]}, {"NS": ["1"]}),
                                              ({"S": "x"}, {"SS": ["a"]})])
def test_a_set_add_on_an_attribute_of_another_type_is_still_refused(held, added) -> None:
    table = _table(held)
    with pytest.raises(ValidationException):
        _update(table, "eu-west-1", "ADD tags :e", added)
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "rejected"}
    assert {str(s["cart"]["tags"]) for s in result.final.values()} == {str(next(iter(
        get_policy("crdt").initial({"tags": _cell_form(held)}).to_plain().values())))}


def _cell_form(value: dict[str, Any]) -> Any:
    (kind, payload), = value.items()
    return int(payload) if kind == "N" else payload if kind == "S" else {kind: payload}


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww"])
def test_other_policies_still_store_the_whole_set_and_lose_one_concurrent_add(merge) -> None:
    """Unchanged outside crdt: each region sets the whole set it read; LWW keeps one."""
    table = _table({"SS": ["x"]}, merge=merge)
    table.at(100)
    _update(table, "eu-west-1", "ADD tags :e", {"SS": ["a"]})
    _update(table, "us-east-1", "ADD tags :e", {"SS": ["b"]})
    result = table.settle()
    assert _read(table) == {"SS": ["b", "x"]}
    assert sorted(result.ledger.verdicts().values()) == ["kept", "silently-lost"]


# ---------------------------------------------------------------------------
# The policy as a model: any delivery order, duplication and loss, against causality.

CRDT = get_policy("crdt")
REPLICAS = ("a", "b", "c")
MEMBERS = ("a", "b", "x")


class Model:
    """Three replicas applying the writes a GlobalTable region sends the crdt policy for set
    actions (typed elements; a SET as the set's cell form; a REMOVE as an empty value), and
    merging snapshots; ``known[r]`` is ground truth: the writes replica r's state has seen."""

    def __init__(self) -> None:
        self.state: dict[str, Item] = dict.fromkeys(REPLICAS, CRDT.initial({"tags": {"SS": ["x"]}}))
        self.known: dict[str, frozenset[str]] = dict.fromkeys(REPLICAS, frozenset())
        self.sent: list[tuple[Item, frozenset[str]]] = []
        self.ops: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {}
        self.seq = dict.fromkeys(REPLICAS, 0)

    def write(self, replica: str, kind: str, members: frozenset[str]) -> None:
        self.seq[replica] += 1
        op = f"w{len(self.ops) + 1}"
        stamp = Stamp(len(self.ops) + 1, replica, self.seq[replica])
        typed = frozenset("S:" + m for m in members)
        common: dict[str, Any] = {"write": op, "stamp": stamp, "replica": replica}
        if kind == "add":
            outcome = CRDT.write(self.state[replica], {}, elements={"tags": (typed, frozenset())},
                                 typed=True, **common)
        elif kind == "delete":
            outcome = CRDT.write(self.state[replica], {}, elements={"tags": (frozenset(), typed)},
                                 typed=True, **common)
        elif kind == "set":
            outcome = CRDT.write(self.state[replica], {"tags": {"SS": sorted(members)}}, **common)
        else:
            outcome = CRDT.write(self.state[replica], {"tags": frozenset()}, **common)
        self.ops[op] = (kind, members, self.known[replica])
        self.state[replica] = outcome.item
        self.known[replica] = self.known[replica] | {op}
        self.sent.append((self.state[replica], self.known[replica]))

    def deliver(self, snapshot: tuple[Item, frozenset[str]], to: str) -> None:
        self.state[to] = CRDT.merge(self.state[to], snapshot[0]).item
        self.known[to] = self.known[to] | snapshot[1]

    def oracle(self, known: frozenset[str]) -> Any:
        """The set a replica that has seen exactly ``known`` must read: a member is in it iff
        some write that put it there (the initial item, an ADD, a SET holding it) was seen by
        no other write that touched it (an ADD or DELETE naming it, any SET, a REMOVE)."""
        def puts(op: str, m: str) -> bool:
            kind, members, _ = self.ops[op]
            return kind in ("add", "set") and m in members

        def touches(op: str, m: str) -> bool:
            kind, members, _ = self.ops[op]
            return kind in ("set", "remove") or m in members

        out = []
        for m in MEMBERS:
            adders = [o for o in known if puts(o, m)] + (["initial"] if m == "x" else [])
            if any(not any(r != a and touches(r, m) and (a == "initial" or a in self.ops[r][2])
                           for r in known) for a in adders):
                out.append(m)
        return {"SS": out} if out else None


def _tags(item: Item) -> Any:
    return item.versions[0].attributes().get("tags")


KINDS = st.sampled_from(["add", "add", "delete", "delete", "set", "remove"])
STEPS = st.lists(st.one_of(
    st.tuples(st.just("write"), st.sampled_from(REPLICAS), KINDS, st.frozensets(st.sampled_from(MEMBERS), min_size=1)),
    # deliver the k-th most recent snapshot ever sent (k > 0: a delayed or duplicated message)
    st.tuples(st.just("deliver"), st.sampled_from(REPLICAS), st.just(""), st.integers(0, 6)),
), min_size=1, max_size=30)


@given(steps=STEPS, order=st.permutations(list(range(3))))
def test_any_delivery_order_duplication_and_loss_converges_to_the_or_set_oracle(steps, order) -> None:
    """At every step each replica reads the oracle's set for what it has seen; lost messages
    are snapshots never delivered, duplicates ones delivered twice. At the end every replica
    merges every other's state (in a drawn order): equal states, the oracle's set, and the
    state survives the item codec."""
    model = Model()
    for action, replica, kind, arg in steps:
        if action == "write":
            model.write(replica, kind, arg)
        elif model.sent:
            model.deliver(model.sent[max(0, len(model.sent) - 1 - arg)], replica)
        for r in REPLICAS:
            assert _tags(model.state[r]) == model.oracle(model.known[r]), r
    finals = []
    for r in REPLICAS:
        for i in order:
            other = REPLICAS[i]
            if other != r:
                model.deliver((model.state[other], model.known[other]), r)
        finals.append(model.state[r])
    assert finals[0] == finals[1] == finals[2]
    assert _tags(finals[0]) == model.oracle(frozenset(model.ops))
    assert Item.from_bytes(finals[0].to_bytes()) == finals[0]


def test_a_hot_set_keeps_one_cell_per_member() -> None:
    """100 ADDs of the same two members from three replicas that merge as they go: each ADD
    supersedes the dots of its members it has seen, so the set holds a few cells, not 200."""
    model = Model()
    for i in range(100):
        model.write(REPLICAS[i % 3], "add", frozenset({"a", "b"}))
        model.deliver(model.sent[-1], REPLICAS[(i + 1) % 3])
    for r, other in itertools.product(REPLICAS, REPLICAS):
        model.deliver((model.state[other], model.known[other]), r)
    assert len(model.state["a"].versions[0].cells_of("tags")) <= 2 * len(REPLICAS) + 1
    assert _tags(model.state["a"]) == {"SS": ["a", "b", "x"]}


NUMBERS = st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)
SETS = st.one_of(st.frozensets(st.text(max_size=4), min_size=1, max_size=5),
                 st.frozensets(NUMBERS, min_size=1, max_size=5).map(lambda ds: frozenset(number(d) for d in ds)),
                 st.frozensets(st.binary(max_size=4), min_size=1, max_size=5))


@given(value=SETS)
def test_members_read_back_as_the_set_sorted_as_the_cell_form_sorts_it(value) -> None:
    """What a crdt reader shows (member_form of the members) is exactly the cell form the
    other policies store for the same DynamoDB set, and decodes to the same set."""
    assert member_form(to_members(value)) == to_cell(value)
    assert from_cell(member_form(to_members(value))) == value


def test_members_name_dynamodb_members_canonically() -> None:
    """The member strings equal DynamoDB members once: numbers normalised, binaries as hex."""
    assert members_of({"NS": ["1.0", "1", "-0.50", "1E+2"]}) == {"N:1", "N:-0.5", "N:100"}
    assert members_of({"BS": ["aGk="]}) == {"B:6869"}
    assert members_of({"SS": ["1"]}) != members_of({"NS": ["1"]})


# ---------------------------------------------------------------------------
# Through the simulator: requests from three regions, any delivery order, duplicated and lost
# replication, against causality (values) and a brute-force oracle of the ledger's verdicts.

OPS = st.lists(st.tuples(st.sampled_from(REGIONS), st.integers(0, 1200),
                         st.sampled_from(["ADD", "ADD", "DELETE", "SET", "REMOVE"]),
                         st.frozensets(st.sampled_from(MEMBERS), min_size=1)), min_size=1, max_size=7)
FAULTY = st.tuples(st.sampled_from([0.0, 0.3]), st.sampled_from([0.0, 0.4]))


def _run(ops: list[tuple[str, int, str, frozenset[str]]], seed: int, loss: float, duplicate: float):
    """Run ``ops`` (sorted by time) on a crdt GlobalTable with lossy, duplicating links; at
    t=1300 the links heal and at t=1400 every region writes another attribute, which ships
    its whole item (state-based replication: everything it had), so the run converges."""
    pairs = [(a, b) for i, a in enumerate(REGIONS) for b in REGIONS[i + 1:]]
    faults = [LinkChange(0, a, b, loss=loss, duplicate=duplicate) for a, b in pairs]
    faults += [LinkChange(1300, a, b, loss=0.0, duplicate=0.0) for a, b in pairs]
    table = GlobalTable("carts", merge="crdt", seed=seed, items=[{**CART, "tags": {"SS": ["x"]}}],
                        latency={pair: Uniform(20, 120) for pair in pairs}, faults=faults)
    for region, at, kind, members in ops:
        table.at(at)
        value = {"SS": sorted(members)}
        expression = {"ADD": "ADD tags :e", "DELETE": "DELETE tags :e", "SET": "SET tags = :e",
                      "REMOVE": "REMOVE tags"}[kind]
        _update(table, region, expression, None if kind == "REMOVE" else value)
    table.at(1400)
    for region in REGIONS:
        table.client(region, region).update_item(TableName="carts", Key=CART, UpdateExpression="SET done = :t",
                                                 ExpressionAttributeValues={":t": {"BOOL": True}})
    return table, table.settle()


def _causal_oracle(ops, facts) -> set[str]:
    """The members the OR-Set must hold, from ground-truth causality (see Model.oracle)."""
    names = [f"w{i}" for i in range(1, len(ops) + 1)]

    def puts(i: int, m: str) -> bool:
        return ops[i][2] in ("ADD", "SET") and m in ops[i][3]

    def touches(i: int, m: str) -> bool:
        return ops[i][2] in ("SET", "REMOVE") or m in ops[i][3]

    out = set()
    for m in MEMBERS:
        adders = [i for i in range(len(ops)) if puts(i, m)] + ([None] if m == "x" else [])
        for a in adders:
            if not any(r != a and touches(r, m) and (a is None or facts[names[r]].saw(facts[names[a]]))
                       for r in range(len(ops))):
                out.add(m)
    return out


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=100)
@given(ops=OPS, seed=st.integers(0, 3), faulty=FAULTY)
def test_requests_from_three_regions_converge_to_the_or_set_oracle(ops, seed, faulty) -> None:
    """ADD, DELETE, SET and REMOVE from three regions at drawn times, over links that lose and
    duplicate: every region's GetItem returns the set causality says (no write refused)."""
    ordered = sorted(ops, key=lambda o: o[1])
    table, result = _run(ordered, seed, *faulty)
    expected = _causal_oracle(ordered, {f.op: f for f in result.facts})
    assert result.converged
    want = {"SS": sorted(expected)} if expected else None
    for region in REGIONS:
        assert _read(table, region) == want, region
        # the size DynamoDB would count: the item as read (the union), nothing else
        held = resolved(table._held(region).items["cart"]) or {}
        assert item_size(held) == item_size({"pk": "cart", "done": True, **(
            {"tags": frozenset(expected)} if expected else {})}), region
    assert not any(v == "rejected" for v in result.ledger.verdicts().values())


ADDS_AND_DELETES = st.lists(st.tuples(st.sampled_from(REGIONS), st.integers(0, 1200),
                                      st.sampled_from(["ADD", "DELETE"]),
                                      st.frozensets(st.sampled_from(MEMBERS), min_size=1)), min_size=1, max_size=7)


def _expected_verdict(i: int, ops, facts, final: set[str]) -> tuple[str, tuple[str, ...]]:
    """Brute force over ground truth: an ADD is kept iff its members are all in the final set,
    else superseded (an OR-Set removes only dots its remover saw); a DELETE is kept iff none of
    its members is, else judged against the live adders that brought them back — superseded
    if every one had seen it, else silently lost to the ones that had not (add wins)."""
    names = [f"w{k}" for k in range(1, len(ops) + 1)]
    _, _, kind, members = ops[i]
    if kind == "ADD":
        if members <= final:
            return "kept", ()
        # removed by the deletes of its missing members that had seen it (an OR-Set delete
        # removes only the adds it saw) — for each member the first ones: a delete that had
        # seen another delete of the member found it gone (a no-op there), and undid nothing
        undid = set()
        for m in members - final:
            deleters = [r for r in range(len(ops)) if ops[r][2] == "DELETE" and m in ops[r][3]
                        and facts[names[r]].saw(facts[names[i]])]
            undid.update(r for r in deleters
                         if not any(o != r and facts[names[r]].saw(facts[names[o]]) for o in deleters))
        return "superseded", tuple(sorted(names[r] for r in undid))
    back = members & final
    if not back:
        return "kept", ()
    live = set()
    for m in back:
        for a in range(len(ops)):
            if ops[a][2] == "ADD" and m in ops[a][3] and not any(
                    r != a and m in ops[r][3] and facts[names[r]].saw(facts[names[a]]) for r in range(len(ops))):
                live.add(a)
    unseen = tuple(sorted(names[a] for a in live if not facts[names[a]].saw(facts[names[i]])))
    seeing = tuple(sorted(names[a] for a in live if facts[names[a]].saw(facts[names[i]])))
    return ("silently-lost", unseen) if unseen else ("superseded", seeing)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=100)
@given(ops=ADDS_AND_DELETES, seed=st.integers(0, 3), faulty=FAULTY)
def test_the_ledger_judges_set_adds_and_deletes_as_the_brute_force_oracle(ops, seed, faulty) -> None:
    """Never silently lost but for a delete beaten by a concurrent add; ``by`` names the
    writes responsible, each verdict and ``by`` as the oracle says."""
    ordered = sorted(ops, key=lambda o: o[1])
    table, result = _run(ordered, seed, *faulty)
    facts = {f.op: f for f in result.facts}
    final = _causal_oracle(ordered, facts)
    for i in range(len(ordered)):
        entry = result.ledger[f"w{i + 1}"]
        verdict, by = _expected_verdict(i, ordered, facts, final)
        assert (entry.verdict, entry.by) == (verdict, by), (entry, ordered)
    assert all(result.ledger[f"w{len(ordered) + k}"].verdict == "kept" for k in (1, 2, 3))


def test_concurrent_adds_of_two_set_types_are_kept_side_by_side_and_a_reader_takes_the_newer() -> None:
    """An SS ``ADD`` in eu-west-1 and an NS ``ADD`` in us-east-1 on an absent attribute, at
    once: neither type error was visible locally, so both are kept (as concurrent values are)
    and the state shows both; GetItem, as for siblings, takes the newer stamp (same ms:
    us-east-1's). A later ``SET`` that saw both replaces both."""
    table = _table()
    table.at(100)
    _update(table, "eu-west-1", "ADD tags :e", {"SS": ["1"]})
    _update(table, "us-east-1", "ADD tags :e", {"NS": ["1"]})
    result = table.settle()
    assert {str(s["cart"]["tags"]) for s in result.final.values()} == {"[{'SS': ['1']}, {'NS': ['1']}]"}
    assert _read(table) == {"NS": ["1"]}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    _update(table, "eu-west-1", "SET tags = :e", {"SS": ["z"]})
    table.settle()
    assert _read(table) == {"SS": ["z"]}


@pytest.mark.parametrize("merge", ["crdt", "item-lww"])
def test_a_delete_of_one_member_that_saw_a_whole_set_supersedes_it_under_every_policy(merge) -> None:
    """``SET tags = {a, b}``, then (having seen it) ``DELETE a``: the set now reads {b}, not the
    value the SET wrote, and a write that had seen it removed the rest — superseded, as under
    LWW. Before: under crdt the SET's surviving b cell kept it "kept" (provenance alone)."""
    table = _table({"SS": ["x"]}, merge=merge)
    table.at(100)
    _update(table, "eu-west-1", "SET tags = :e", {"SS": ["a", "b"]})
    table.at(600)
    _update(table, "us-east-1", "DELETE tags :e", {"SS": ["a"]})
    result = table.settle()
    assert _read(table) == {"SS": ["b"]}
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    assert result.ledger["w1"].by == ("w2",)


def test_a_whole_set_whose_deleted_member_a_later_add_brought_back_is_kept() -> None:
    """By value, as set actions are judged: SET {a, b}; DELETE a; ADD a, each having seen the
    one before — the set holds what the SET wrote again, so it is kept (and so is the ADD)."""
    table = _table({"SS": ["x"]})
    for at, region, expression, members in ((100, "eu-west-1", "SET tags = :e", ["a", "b"]),
                                            (600, "us-east-1", "DELETE tags :e", ["a"]),
                                            (1100, "ap-southeast-2", "ADD tags :e", ["a"])):
        table.at(at)
        _update(table, region, expression, {"SS": members})
    result = table.settle()
    assert _read(table) == {"SS": ["a", "b"]}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "superseded", "w3": "kept"}
