"""The linearizability checker: agreement with brute force, witnesses, cores, the JSON form."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replicalab.checkers import History, Operation, history_of, linearizable, timeline
from replicalab.errors import ConfigError, SerializationError

# -- a trivially correct oracle ------------------------------------------------------------


def step(state: object, op: Operation) -> tuple[bool, object]:
    """The register's sequential rule, written out again independently of the checker."""
    if op.kind == "write":
        return True, op.input
    if op.kind == "read":
        return op.ret is None or (type(state) is type(op.output) and state == op.output), state
    expected, new = op.input
    swaps = type(state) is type(expected) and state == expected
    if op.ret is not None and op.output is not swaps:
        return False, state
    return True, new if swaps else state


def legal(order: Sequence[Operation], initial: object = None) -> bool:
    state: object = initial
    for op in order:
        ok, state = step(state, op)
        if not ok:
            return False
    return True


def respects_real_time(order: Sequence[Operation]) -> bool:
    """No operation comes after one that was called strictly after it returned."""
    return all(not (b.ret is not None and b.ret < a.call)
               for n, a in enumerate(order) for b in order[n + 1:])


def brute_force(ops: Sequence[Operation], initial: object = None) -> bool:
    """Linearizable iff some choice of never-returned operations, in some order, is legal."""
    done = [op for op in ops if op.ret is not None]
    open_ = [op for op in ops if op.ret is None]
    for size in range(len(open_) + 1):
        for chosen in itertools.combinations(open_, size):
            for order in itertools.permutations(done + list(chosen)):
                if respects_real_time(order) and legal(order, initial):
                    return True
    return False


VALUES = st.sampled_from([None, 1, 2])


@st.composite
def histories(draw: st.DrawFn, max_ops: int = 7) -> list[Operation]:
    """Small register histories over values {None, 1, 2}: read, write and cas, some never returning."""
    n = draw(st.integers(1, max_ops))
    ops = []
    for i in range(n):
        call = draw(st.integers(0, 12))
        ret = draw(st.one_of(st.none(), st.integers(call, 14))) if draw(st.integers(0, 4)) == 0 \
            else draw(st.integers(call, 14))
        kind = draw(st.sampled_from(["read", "write", "cas"]))
        if kind == "write":
            op = Operation(f"p{i}", call, ret, "write", draw(st.sampled_from([1, 2])))
        elif kind == "read":
            op = Operation(f"p{i}", call, ret, "read", output=None if ret is None else draw(VALUES))
        else:
            output = None if ret is None else draw(st.booleans())
            op = Operation(f"p{i}", call, ret, "cas", (draw(VALUES), draw(st.sampled_from([1, 2]))),
                           output)
        ops.append(op)
    return ops


@settings(max_examples=1500, deadline=None, database=None)
@given(histories())
def test_the_checker_agrees_with_brute_force_on_every_small_history(ops: list[Operation]) -> None:
    verdict = linearizable(ops)
    assert verdict.ok == brute_force(ops)
    if verdict.ok:
        order = [ops[i] for i in verdict.order]
        assert set(i for i in range(len(ops)) if ops[i].ret is not None) <= set(verdict.order)
        assert respects_real_time(order) and legal(order), "the witness is not a legal order"
    else:
        core = [ops[i] for i in verdict.core]
        assert core and not brute_force(core), "the core is linearizable"


@settings(max_examples=300, deadline=None, database=None)
@given(histories(max_ops=6), VALUES)
def test_a_register_that_starts_elsewhere_agrees_with_brute_force(ops: list[Operation],
                                                                 initial: object) -> None:
    verdict = linearizable(ops, initial=initial)
    assert verdict.ok == brute_force(ops, initial)
    if not verdict.ok:
        assert not brute_force([ops[i] for i in verdict.core], initial)


@settings(max_examples=300, deadline=None, database=None)
@given(histories(max_ops=6))
def test_a_core_loses_linearizability_when_any_one_operation_is_dropped_or_a_read_is_orphaned(
        ops: list[Operation]) -> None:
    verdict = linearizable(ops)
    if verdict.ok:
        return
    core = [ops[i] for i in verdict.core]
    for n in range(len(core)):
        rest = core[:n] + core[n + 1:]

        def sourced(value: object, until: int, reader: Operation, ops: list[Operation]) -> bool:
            return value is None or any(
                o is not reader and o.kind in ("write", "cas") and o.call <= until
                and (o.input if o.kind == "write" else o.input[1]) == value for o in ops)

        def orphans(ops: list[Operation]) -> list[Operation]:
            return [o for o in ops if o.ret is not None and (
                (o.kind == "read" and not sourced(o.output, o.ret, o, ops))
                or (o.kind == "cas" and o.output is True and not sourced(o.input[0], o.ret, o, ops)))]

        orphaned = any(o not in orphans(core) for o in orphans(rest))
        assert orphaned or brute_force(rest) or len(core) == 1


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "y"]), histories(max_ops=3)), min_size=1, max_size=2))
def test_a_kv_history_is_linearizable_exactly_when_each_key_is(parts: list) -> None:
    """Linearizability is local (Herlihy & Wing): the map is checked one register at a time."""
    ops, by_key = [], {}
    for key, part in parts:
        keyed = [Operation(o.process, o.call, o.ret, o.kind, o.input, o.output, key=key) for o in part]
        ops += keyed
        by_key.setdefault(key, []).extend(keyed)
    assert linearizable(ops, "kv").ok == all(brute_force(p) for p in by_key.values())


# -- small named anomalies ---------------------------------------------------------------------


def test_a_stale_read_after_a_completed_write_is_not_linearizable() -> None:
    """The lesson: once a write has returned, every read that starts later must see it (or newer)."""
    ops = [Operation("a", 0, 2, "write", 1), Operation("b", 3, 4, "read", output=None)]
    verdict = linearizable(ops)
    assert not verdict.ok and verdict.core == (0, 1)
    assert "read() -> None" in verdict.explain()


def test_a_read_overlapping_a_write_may_see_either_value() -> None:
    for seen in (None, 1):
        assert linearizable([Operation("a", 0, 4, "write", 1),
                             Operation("b", 1, 3, "read", output=seen)]).ok


def test_a_write_that_never_returned_may_take_effect_late_or_never() -> None:
    """A timed-out write is not a failed write: it may still land, any time after its call."""
    pending = Operation("a", 0, None, "write", 1)
    assert linearizable([pending, Operation("b", 5, 6, "read", output=None),
                         Operation("b", 7, 8, "read", output=1)]).ok
    assert not linearizable([pending, Operation("b", 5, 6, "read", output=1),
                             Operation("b", 7, 8, "read", output=None)]).ok


def test_equal_times_count_as_concurrent() -> None:
    assert linearizable([Operation("a", 0, 5, "write", 1), Operation("b", 5, 6, "read", output=None)]).ok


def test_a_failed_cas_observes_a_different_value_and_changes_nothing() -> None:
    assert linearizable([Operation("a", 0, 1, "write", 1), Operation("b", 2, 3, "cas", (2, 3), False),
                         Operation("c", 4, 5, "read", output=1)]).ok
    assert not linearizable([Operation("a", 0, 1, "write", 1),
                             Operation("b", 2, 3, "cas", (1, 3), False)]).ok


def test_the_core_is_the_stale_read_and_the_writes_that_make_it_stale() -> None:
    """w(1) then w(2), then a read of 1: all three are needed to see why the read is wrong."""
    ops = [Operation("a", 0, 1, "write", 1), Operation("a", 2, 3, "write", 2),
           Operation("b", 4, 5, "read", output=1), Operation("c", 6, 7, "read", output=2),
           Operation("c", 8, 9, "write", 3)]
    verdict = linearizable(ops)
    assert not verdict.ok and verdict.core == (0, 1, 2)


def test_the_witness_order_of_a_linearizable_history_is_returned() -> None:
    ops = [Operation("a", 0, 10, "write", 1), Operation("b", 1, 2, "read", output=None),
           Operation("c", 3, 4, "read", output=1)]
    verdict = linearizable(ops)
    assert verdict.ok and verdict.order == (1, 0, 2)
    assert verdict.explain().splitlines()[1].endswith("b: read() -> None")


def test_the_search_refuses_to_run_past_its_step_cap() -> None:
    ops = [Operation(f"p{i}", 0, 100, "write", i) for i in range(12)]
    ops.append(Operation("r", 101, 102, "read", output=99))
    with pytest.raises(ConfigError, match="max_steps=50"):
        linearizable(ops, max_steps=50)


def test_timeline_draws_a_row_per_process_and_marks_operations_that_never_returned() -> None:
    text = timeline([Operation("a", 0, 2, "write", 1), Operation("b", 1, None, "write", 2)])
    rows = text.splitlines()
    assert rows[0].startswith("a |1") and rows[0].endswith("|")
    assert rows[1].startswith("b") and rows[1].endswith(">")
    assert "write(2) -> ?" in text


# -- the boundary ------------------------------------------------------------------------------

BAD_OPERATIONS = [
    (("", 0, 1, "read"), "process"),
    (("p", -1, 1, "read"), "call time"),
    (("p", 5, 1, "read"), "returns at or after"),
    (("p", 0, 1, "delete"), "kind is one of"),
    (("p", 0, 1, "write", True), "not bool"),
    (("p", 0, 1, "write", 1.5), "not bool or float"),
    (("p", 0, 1, "cas", [1, 2], True), "tuple"),
    (("p", 0, 1, "cas", (1, 2), None), "True .it swapped."),
    (("p", 0, None, "read", None, 3), "never returned has no output"),
    (("p", 0, 1, "write", 1, 2), "write's output is None"),
]


@pytest.mark.parametrize(("args", "message"), BAD_OPERATIONS)
def test_a_malformed_operation_says_what_is_valid(args: tuple, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Operation(*args)


def test_model_and_keys_must_fit() -> None:
    with pytest.raises(ConfigError, match="one of"):
        linearizable([], model="queue")
    with pytest.raises(ConfigError, match="model='kv'"):
        linearizable([Operation("p", 0, 1, "write", 1, key="k")])
    with pytest.raises(ConfigError, match="model='register'"):
        linearizable([Operation("p", 0, 1, "write", 1)], model="kv")


@settings(max_examples=200, deadline=None, database=None)
@given(histories())
def test_every_history_survives_its_json_form_with_the_same_verdict(ops: list[Operation]) -> None:
    again = History.from_json(History(ops).to_json())
    assert again == History(ops)
    assert linearizable(again) == linearizable(ops)


def test_the_json_form_round_trips_and_names_its_format() -> None:
    ops = [Operation("p1", 0, 5, "write", 1, label="w1"), Operation("p2", 1, None, "cas", (1, 2)),
           Operation("p3", 6, 7, "read", output="x", key=None)]
    text = History(ops).to_json()
    assert text.startswith('{"format":"replicalab/history","operations":[')
    assert '"schema_version":1' in text
    assert History.from_json(text) == History(ops)


@pytest.mark.parametrize("text", [
    '{"format":"replicalab/history","schema_version":2,"operations":[]}',
    '{"format":"replicalab/history","schema_version":1}',
    '{"format":"replicalab/history","schema_version":1,"operations":[{"process":"p"}]}',
    '{"format":"replicalab/history","schema_version":1,"operations":[{"process":"p","call":true,'
    '"return":1,"kind":"read","key":null,"input":null,"output":null,"label":""}]}',
    '{"format":"replicalab/history","schema_version":1,"operations":[{"process":"p","call":0,'
    '"return":1,"kind":"write","key":null,"input":[1],"output":null,"label":""}]}',
])
def test_a_malformed_history_document_is_refused(text: str) -> None:
    with pytest.raises(SerializationError):
        History.from_json(text)


def test_history_of_takes_a_result_or_a_trace_only() -> None:
    with pytest.raises(ConfigError, match="Result or a Trace"):
        history_of({"trace": []})
