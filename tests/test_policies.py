"""Merge policies: joins on reachable items, and each one's keep/lose rule checked against a model."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.errors import ConfigError
from replicalab.items import INITIAL_WRITE, Cell, Item, Stamp, Version
from replicalab.policies import get_policy, policy_names

POLICY_NAMES = ["item-lww", "attribute-lww", "causal", "crdt"]
INITIAL = Item((Version.of({"x": Cell(0, INITIAL_WRITE, Stamp(-1, "", 0))},
                           write=INITIAL_WRITE, stamp=Stamp(-1, "", 0)),))

# An op: (replica, action, attribute, wall) — action "write" sets the attribute at that
# replica's wall time (ties happen), "sync" merges the next replica's item into this one,
# "add" increments counter n; "insert"/"delete" add or delete one element of set s (the element
# is "p" when the attribute drawn is x, "q" when it is y).
ops = st.lists(
    st.tuples(st.sampled_from("abc"),
              st.sampled_from(["write", "write", "sync", "add", "insert", "delete"]),
              st.sampled_from(["x", "y"]), st.integers(0, 3)),
    max_size=10,
)
ELEMENT = {"x": "p", "y": "q"}


def play(policy, steps):
    """Run ops over three replicas; return final items and every item a write shipped."""
    items = {r: INITIAL for r in "abc"}
    seqs = {r: 0 for r in "abc"}
    shipped = []
    for n, (r, action, attribute, wall) in enumerate(steps):
        if action == "sync":
            other = "abc"["abc".index(r) - 1]
            items[r] = policy.merge(items[r], items[other]).item
            continue
        seqs[r] += 1
        if action == "add":  # an atomic counter increment (crdt: a per-replica contribution)
            outcome = policy.write(items[r], {}, write=f"w{n}", stamp=Stamp(wall, r, seqs[r]),
                                   replica=r, adds={"n": 1})
        elif action in ("insert", "delete"):  # a set ADD/DELETE (crdt: an OR-Set)
            e = frozenset({ELEMENT[attribute]})
            change = (e, frozenset()) if action == "insert" else (frozenset(), e)
            outcome = policy.write(items[r], {}, write=f"w{n}", stamp=Stamp(wall, r, seqs[r]),
                                   replica=r, elements={"s": change})
        else:
            outcome = policy.write(items[r], {attribute: f"w{n}"}, write=f"w{n}",
                                   stamp=Stamp(wall, r, seqs[r]), replica=r)
        items[r] = outcome.item
        shipped.append(outcome.item)
    return items, shipped


@pytest.mark.parametrize("name", POLICY_NAMES)
@given(steps=ops)
def test_merge_is_commutative_associative_idempotent(name, steps):
    policy = get_policy(name)
    items, _ = play(policy, steps)
    a, b, c = items.values()
    merge = lambda x, y: policy.merge(x, y).item  # noqa: E731
    assert merge(a, b) == merge(b, a)
    assert merge(merge(a, b), c) == merge(a, merge(b, c))
    assert merge(a, a) == a


@pytest.mark.parametrize("name", POLICY_NAMES)
@given(steps=ops, data=st.data())
def test_replicas_converge_under_any_delivery_order_with_duplicates(name, steps, data):
    policy = get_policy(name)
    _, shipped = play(policy, steps)
    order = data.draw(st.permutations(shipped))
    extra = data.draw(st.lists(st.sampled_from(shipped), max_size=3)) if shipped else []
    forward = INITIAL
    for item in shipped:
        forward = policy.merge(forward, item).item
    shuffled = INITIAL
    for item in [*order, *extra]:
        shuffled = policy.merge(shuffled, item).item
    assert forward == shuffled


@given(steps=ops)
def test_item_lww_keeps_the_whole_item_with_the_greatest_stamp(steps):
    policy = get_policy("item-lww")
    _, shipped = play(policy, steps)
    merged = INITIAL
    for item in shipped:
        merged = policy.merge(merged, item).item
    candidates = [INITIAL.versions[0]] + [i.versions[0] for i in shipped]
    assert merged.versions == (max(candidates, key=lambda v: v.stamp),)


@given(steps=ops)
def test_attribute_lww_keeps_each_attributes_greatest_stamp(steps):
    policy = get_policy("attribute-lww")
    _, shipped = play(policy, steps)
    merged = INITIAL
    for item in shipped:
        merged = policy.merge(merged, item).item
    for attribute in ("x", "y"):
        cells = [c for i in [INITIAL, *shipped] if (c := i.versions[0].cell(attribute))]
        if cells:
            assert merged.versions[0].cell(attribute) == max(cells, key=lambda c: c.stamp)


@given(steps=ops)
def test_causal_keeps_every_version_no_other_version_saw(steps):
    """The keep-concurrent rule, checked against a model: drop only what is dominated."""
    policy = get_policy("causal")
    _, shipped = play(policy, steps)
    merged = INITIAL
    for item in shipped:
        merged = policy.merge(merged, item).item
    versions = {v for i in [INITIAL, *shipped] for v in i.versions}
    expected = {v for v in versions if not any(v.clock < w.clock for w in versions)}
    assert set(merged.versions) == expected


def test_item_lww_drops_a_concurrent_write_to_a_different_attribute():
    """The London lesson in four lines: per-item LWW loses a write nobody overwrote."""
    policy = get_policy("item-lww")
    london = policy.write(INITIAL, {"address": "London"}, write="w1", stamp=Stamp(140, "eu", 1), replica="eu")
    batch = policy.write(INITIAL, {"contacted": "today"}, write="w2", stamp=Stamp(189, "us", 1), replica="us")
    outcome = policy.merge(london.item, batch.item)
    assert "address" not in outcome.item.versions[0].attributes()
    assert [(x.write, x.attribute, x.by) for x in outcome.losses] == [("w1", "address", "w2")]


def test_attribute_lww_keeps_both_attributes_but_loses_a_same_attribute_race():
    policy = get_policy("attribute-lww")
    a = policy.write(INITIAL, {"x": "A"}, write="w1", stamp=Stamp(5, "a", 1), replica="a").item
    b = policy.write(INITIAL, {"y": "B"}, write="w2", stamp=Stamp(6, "b", 1), replica="b").item
    assert policy.merge(a, b).item.versions[0].attributes() == {"x": "A", "y": "B"}
    c = policy.write(INITIAL, {"x": "C"}, write="w3", stamp=Stamp(7, "c", 1), replica="c").item
    outcome = policy.merge(a, c)
    assert outcome.item.versions[0].attributes()["x"] == "C"
    assert [(x.write, x.by) for x in outcome.losses] == [("w1", "w3")]


def test_causal_write_on_siblings_supersedes_them_all():
    policy = get_policy("causal")
    a = policy.write(INITIAL, {"x": "A"}, write="w1", stamp=Stamp(5, "a", 1), replica="a").item
    b = policy.write(INITIAL, {"x": "B"}, write="w2", stamp=Stamp(6, "b", 1), replica="b").item
    both = policy.merge(a, b).item
    assert both.has_siblings
    resolved = policy.write(both, {"x": "AB"}, write="w3", stamp=Stamp(9, "a", 2), replica="a").item
    assert not resolved.has_siblings
    assert policy.merge(resolved, a).item == resolved == policy.merge(b, resolved).item


def test_put_item_replaces_attributes_with_tombstones():
    policy = get_policy("attribute-lww")
    put = policy.write(INITIAL, {"y": 1}, write="w1", stamp=Stamp(5, "a", 1), replica="a", replace=True)
    assert put.item.versions[0].attributes() == {"y": 1}
    assert put.item.versions[0].cell("x").removed
    # a concurrent older write of x loses to the removal
    old = policy.write(INITIAL, {"x": 7}, write="w0", stamp=Stamp(3, "b", 1), replica="b").item
    assert policy.merge(put.item, old).item.versions[0].attributes() == {"y": 1}


def test_unknown_policy_lists_the_valid_names():
    with pytest.raises(ConfigError, match="attribute-lww, causal, crdt, item-lww"):
        get_policy("lww")
    assert policy_names() == ["attribute-lww", "causal", "crdt", "item-lww"]


@given(steps=ops)
def test_crdt_keeps_every_value_no_write_that_saw_it_replaced(steps):
    """Model check of the multi-value attributes: a value survives unless a write that had
    seen it (its dot is in that write's context) set the same attribute."""
    policy = get_policy("crdt")
    steps = [s for s in steps if s[1] not in ("add", "insert", "delete")]  # checked below
    _, shipped = play(policy, steps)
    merged = INITIAL
    for item in shipped:
        merged = policy.merge(merged, item).item
    cells = {(n, c) for i in [INITIAL, *shipped] for n, c in i.versions[0].cells}
    # the item a write shipped carries that write's context; the write is the one whose dot
    # is the newest of its replica in that item
    contexts = {}
    for item in shipped:
        version = item.versions[0]
        for _, c in version.cells:
            if c.stamp.replica and c.stamp.seq == version.clock.get(c.stamp.replica):
                contexts.setdefault(c.write, version.clock)

    def replaced(name, cell):
        return any(n == name and other.write != cell.write and other.write in contexts
                   and cell.stamp.seq <= contexts[other.write].get(cell.stamp.replica)
                   for n, other in cells)

    assert set(merged.versions[0].cells) == {(n, c) for n, c in cells if not replaced(n, c)}


def test_crdt_keeps_a_same_attribute_race_as_concurrent_values():
    policy = get_policy("crdt")
    a = policy.write(INITIAL, {"x": "A"}, write="w1", stamp=Stamp(5, "a", 1), replica="a").item
    b = policy.write(INITIAL, {"x": "B"}, write="w2", stamp=Stamp(6, "b", 1), replica="b").item
    both = policy.merge(a, b).item
    assert both.versions[0].attributes() == {"x": ["A", "B"]}
    resolved = policy.write(both, {"x": "AB"}, write="w3", stamp=Stamp(9, "a", 2), replica="a").item
    assert policy.merge(resolved, b).item.versions[0].attributes() == {"x": "AB"}


@given(steps=ops)
def test_crdt_counters_count_every_increment_once_whatever_the_delivery(steps):
    """A PN-counter attribute: after every item meets, it reads the number of increments."""
    policy = get_policy("crdt")
    _, shipped = play(policy, steps)
    merged = INITIAL
    for item in [*shipped, *reversed(shipped)]:
        merged = policy.merge(merged, item).item
    increments = sum(1 for _, action, _, _ in steps if action == "add")
    assert merged.versions[0].attributes().get("n", 0) == increments


@given(steps=ops)
def test_crdt_sets_are_add_wins_or_sets(steps):
    """Model check of set attributes: after every item meets, element e is in the set iff some
    add of e was observed by no later add or delete of e (the OR-Set rule). Observation is
    modelled independently: each replica knows the ops it ran or received by a sync."""
    policy = get_policy("crdt")
    _, shipped = play(policy, steps)
    merged = INITIAL
    for item in [*shipped, *reversed(shipped)]:
        merged = policy.merge(merged, item).item
    known = {r: set() for r in "abc"}
    adds, observed = [], set()
    for n, (r, action, attribute, _) in enumerate(steps):
        if action == "sync":
            known[r] |= known["abc"["abc".index(r) - 1]]
            continue
        if action in ("insert", "delete"):
            e = ELEMENT[attribute]
            observed |= {a for a, element in adds if element == e and a in known[r]}
            if action == "insert":
                adds.append((n, e))
        known[r].add(n)
    expected = sorted({e for a, e in adds if a not in observed})
    assert merged.versions[0].attributes().get("s", []) == expected


def test_lww_policies_store_a_set_as_a_sorted_list_and_an_empty_set_as_no_attribute():
    for name in ("item-lww", "attribute-lww", "causal"):
        policy = get_policy(name)
        start = policy.initial({"s": {"q", "p"}})
        assert start.to_plain() == {"s": ["p", "q"]}
        emptied = policy.write(start, {}, write="w1", stamp=Stamp(5, "a", 1), replica="a",
                               elements={"s": (frozenset(), frozenset({"p", "q"}))}).item
        assert emptied.to_plain() == {}, name


def test_crdt_set_delete_is_not_undone_by_a_replica_that_still_held_the_element():
    """The Dynamo cart's resurrection, prevented: the delete observed the initial element's dot,
    so the other replica's copy of it is recognised as seen-and-deleted, not as a new add."""
    policy = get_policy("crdt")
    start = policy.initial({"s": {"book"}})
    added = policy.write(start, {}, write="w1", stamp=Stamp(5, "us", 1), replica="us",
                         elements={"s": (frozenset({"pen"}), frozenset())}).item
    deleted = policy.write(start, {}, write="w2", stamp=Stamp(6, "eu", 1), replica="eu",
                           elements={"s": (frozenset(), frozenset({"book"}))}).item
    assert policy.merge(added, deleted).item.to_plain() == {"s": ["pen"]}
    assert policy.merge(deleted, added).item == policy.merge(added, deleted).item


def test_crdt_set_cells_of_one_write_give_equal_items_in_any_delivery_order():
    """Elements added by one write share a stamp; the item's cell order must not depend on
    which replica's copy of them a merge met first."""
    policy = get_policy("crdt")
    start = policy.initial({"s": {"p", "q", "r"}})
    add = policy.write(start, {}, write="w1", stamp=Stamp(5, "a", 1), replica="a",
                       elements={"s": (frozenset({"x", "y"}), frozenset())}).item
    drop = policy.write(start, {}, write="w2", stamp=Stamp(6, "b", 1), replica="b",
                        elements={"s": (frozenset(), frozenset({"q"}))}).item
    one = policy.merge(policy.merge(start, add).item, drop).item
    other = policy.merge(drop, policy.merge(add, start).item).item
    assert one == other and one.to_plain() == {"s": ["p", "r", "x", "y"]}


def _crdt_story(a_op, b_op, c_op):
    """Replica a writes; b and c each see a's write, then write concurrently; all meet."""
    policy = get_policy("crdt")
    first = policy.write(policy.initial({}), {}, write="w1", stamp=Stamp(5, "a", 1), replica="a",
                         **a_op).item
    at_b = policy.write(first, {}, write="w2", stamp=Stamp(6, "b", 1), replica="b", **b_op).item
    at_c = policy.write(first, {}, write="w3", stamp=Stamp(7, "c", 1), replica="c", **c_op).item
    one, other = policy.merge(at_b, at_c).item, policy.merge(at_c, at_b).item
    assert one == other
    return one.to_plain()


def _ormap_story(kind, key, a_op, b_op, c_op):
    """The same story on an ORMap of ``kind``: b_op/c_op None means 'remove the key'."""
    from replicalab.crdts import ORMap

    first = ORMap(kind).update(key, a_op)
    at_b = first.remove(key) if b_op is None else first.update(key, b_op)
    at_c = first.remove(key) if c_op is None else first.update(key, c_op)
    assert at_b.merge(at_c) == at_c.merge(at_b)
    return at_b.merge(at_c).get(key)


def test_crdt_policy_counter_resets_like_an_ormap_of_pn_counters():
    """The crdt policy's counter rule is PNCounter's, as an ORMap nests it: a put that replaces
    the item erases the contributions its replica had seen (reset-remove), while a concurrent
    increment elsewhere survives with that replica's own running total."""
    from replicalab.crdts import PNCounter

    got = _crdt_story({"adds": {"q": 5}}, {"replace": True}, {"adds": {"q": 2}})
    assert got == {"q": 2}
    assert _ormap_story(PNCounter, "q", PNCounter.Increment("a", 5), None,
                        PNCounter.Increment("c", 2)) == got["q"]


def test_crdt_policy_set_is_add_wins_like_an_ormap_of_or_sets():
    """A delete of x removes the adds of x it saw; a concurrent re-add of x survives (ORSet)."""
    from replicalab.crdts import ORSet

    x = frozenset({"x"})
    got = _crdt_story({"elements": {"s": (x, frozenset())}}, {"elements": {"s": (frozenset(), x)}},
                      {"elements": {"s": (x, frozenset())}})
    assert got == {"s": ["x"]}
    assert _ormap_story(ORSet, "s", ORSet.Add("x", replica="a"), ORSet.Remove("x"),
                        ORSet.Add("x", replica="c")) == frozenset({"x"})


def test_crdt_policy_keeps_concurrent_values_like_an_ormap_of_mv_registers():
    """Two writes that saw the same value and set it concurrently are both kept (MVRegister)."""
    from replicalab.crdts import MVRegister

    policy = get_policy("crdt")
    first = policy.write(policy.initial({}), {"v": "A"}, write="w1", stamp=Stamp(5, "a", 1), replica="a").item
    at_b = policy.write(first, {"v": "B"}, write="w2", stamp=Stamp(6, "b", 1), replica="b").item
    at_c = policy.write(first, {"v": "C"}, write="w3", stamp=Stamp(7, "c", 1), replica="c").item
    assert policy.merge(at_b, at_c).item.to_plain() == {"v": ["B", "C"]}
    assert _ormap_story(MVRegister, "v", MVRegister.Assign("A", replica="a"),
                        MVRegister.Assign("B", replica="b"),
                        MVRegister.Assign("C", replica="c")) == frozenset({"B", "C"})
