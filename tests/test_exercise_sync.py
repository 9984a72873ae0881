"""The ``sync`` check kind and the ``merkle-diff`` oracle: byte and read accounting, budgets, messages.

The contract tests (tests/test_exercises.py) run whole exercises in worker
processes; these run the kind and the oracle in process, on the built-in
reference and planted solutions, so a budget that stops being enforced or a
message that stops naming the problem fails here, with the reason.
"""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import pytest

from replicalab.antientropy import (
    HASH_BYTES,
    HEADER_BYTES,
    full_state_bytes,
    item_bytes,
    node_id_bytes,
)
from replicalab.errors import ConfigError
from replicalab.exercises import get
from replicalab.exercises.kinds import oracle as oracle_kind
from replicalab.exercises.kinds import sync as sync_kind
from replicalab.exercises.kinds import validate_params
from replicalab.exercises.kinds.common import CheckContext, CheckFailed
from replicalab.exercises.kinds.sync import KINDS_OF_DIFFERENCE, Peer, descent_bytes, make_stores
from replicalab.exercises.oracles import merkle_diff
from replicalab.exercises.oracles.merkle_diff import TreeView, descent_reads, read_budget
from replicalab.merkle import MerkleTree
from replicalab.sim.rng import RandomStreams


def solution(exercise: str, name: str) -> types.ModuleType:
    """A built-in exercise's reference or planted solution, imported from its file."""
    path = Path(__file__).resolve().parent / "exercises" / "solutions" / exercise / name
    spec = importlib.util.spec_from_file_location(f"solution_{exercise}_{path.stem}".replace("-", "_"),
                                                  path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_sync(module: types.ModuleType, **params) -> None:
    sync_kind.run(CheckContext(module=module, params=params, seed=0, name="test"))


def stores(d: int, kinds=KINDS_OF_DIFFERENCE, keys: int = 2000):
    local, remote, _ = make_stores(0, f"test/{d}", keys, d, kinds)
    return local, remote


# -- the peer's byte account ------------------------------------------------------------

def test_every_peer_call_is_charged_under_the_antientropy_byte_model():
    store = {f"k{i}": b"v" * i for i in range(50)}
    peer = Peer(store, fanout=4, depth=3)
    ids = node_id_bytes(4, 3)
    peer.root()
    assert peer.bytes_used == HEADER_BYTES + HEADER_BYTES + HASH_BYTES
    before = peer.bytes_used
    answer = peer.children(1, [0, 3])
    assert set(answer) == {0, 3} and all(len(h) == 4 for h in answer.values())
    assert peer.bytes_used - before == 2 * HEADER_BYTES + 2 * ids + 2 * 4 * HASH_BYTES
    before = peer.bytes_used
    items = peer.items(range(64))
    assert items == store
    assert peer.bytes_used - before == (2 * HEADER_BYTES + 64 * ids
                                        + sum(item_bytes(k, v) for k, v in store.items()))
    assert "1 root (64 bytes)" in peer.calls() and "for 64 buckets" in peer.calls()


def test_a_bad_question_is_refused_and_costs_nothing():
    peer = Peer({"a": b"1"}, fanout=4, depth=2)
    with pytest.raises(ConfigError, match="level must be an integer from 0"):
        peer.children(2, [0])
    with pytest.raises(ConfigError, match="not a node of level 1"):
        peer.children(1, [4])
    with pytest.raises(ConfigError, match="node index or a list"):
        peer.items("0")
    assert peer.bytes_used == 0 and peer.calls() == "no calls"


def test_the_reference_is_charged_exactly_the_level_by_level_descent():
    reference = solution("anti-entropy", "reference.py")
    for fanout, depth in [(16, 3), (4, 6), (2, 4), (4, 0)]:
        for d in (0, 1, 10, 100):
            local, remote = stores(d)
            peer = Peer(remote, fanout=fanout, depth=depth)
            changes = reference.sync(dict(local), peer)
            after = {**local, **{k: v for k, v in changes.items() if v is not None}}
            assert {k: v for k, v in after.items() if changes.get(k, b"") is not None} == remote
            need = descent_bytes(MerkleTree.build(local, fanout=fanout, depth=depth),
                                 MerkleTree.build(remote, fanout=fanout, depth=depth), remote)
            assert peer.bytes_used == need, (fanout, depth, d)


def test_make_stores_is_seeded_and_mixes_the_kinds_of_difference():
    a = make_stores(3, "x", 500, 9, KINDS_OF_DIFFERENCE)
    assert a == make_stores(3, "x", 500, 9, KINDS_OF_DIFFERENCE)
    assert a != make_stores(4, "x", 500, 9, KINDS_OF_DIFFERENCE)
    local, remote, counts = a
    assert counts == {"changed": 3, "missing": 3, "deleted": 3}
    assert len(remote.keys() - local.keys()) == 3 and len(local.keys() - remote.keys()) == 3
    assert sum(local[k] != remote[k] for k in local.keys() & remote.keys()) == 3
    assert make_stores(0, "x", 100, 1, KINDS_OF_DIFFERENCE, turn=2)[2]["deleted"] == 1


# -- the check --------------------------------------------------------------------------

def test_the_built_in_budgets_are_far_below_a_full_transfer():
    for check in get("anti-entropy").checks:
        factor = check.params.get("budget")
        if factor is None:
            continue
        fanout = check.params["fanout"]
        depth = {16: 3, 8: 4, 4: 6}[fanout]
        for d in check.params["differences"]:
            local, remote = stores(d)
            need = descent_bytes(MerkleTree.build(local, fanout=fanout, depth=depth),
                                 MerkleTree.build(remote, fanout=fanout, depth=depth), remote)
            share = {0: 0.001, 1: 0.02, 10: 0.1, 100: 0.4}[d]  # of shipping the peer's store
            assert factor * need < full_state_bytes(remote) * share, (d, fanout)


def test_the_reference_passes_and_fetching_everything_is_over_budget():
    reference = solution("anti-entropy", "reference.py")
    greedy = solution("anti-entropy", "wrong_fetch_everything.py")
    run_sync(reference, differences=[0, 1, 10, 100], fanout=4, budget=2)
    run_sync(greedy, differences=[1, 10], fanout=16)  # no budget: converging is enough
    with pytest.raises(CheckFailed) as failure:
        run_sync(greedy, differences=[1], fanout=16, budget=2)
    message = str(failure.value)
    assert message.startswith("converged, but charged ")
    assert "over the budget of" in message and "level-by-level descent" in message
    assert "sending the peer's whole store costs" in message
    assert "1 items call for 4,096 buckets" in message


def test_a_missed_key_and_a_missed_deletion_are_named():
    lazy = types.ModuleType("lazy")
    lazy.sync = lambda local, peer: {}
    # the check's stores depend on a secret of the grader's: the message names the keys
    with pytest.raises(CheckFailed, match=r"'(user:\d+)': missed — the peer has[^\n]*\n"
                       r"The keys that differed: \1\."):
        run_sync(lazy, differences=[1], kinds=["changed"])
    with pytest.raises(CheckFailed, match=r"return \{'user:\d+': None\} to delete it here"):
        run_sync(solution("anti-entropy", "wrong_no_deletes.py"), differences=[3],
                 kinds=["deleted"], budget=2)
    with pytest.raises(CheckFailed, match="1 key\\(s\\) still differ"):
        run_sync(lazy, differences=[1])


def test_the_checks_stores_cannot_be_rebuilt_from_the_seed():
    """The seed is printed and the check's name is public; the stores also depend on a secret
    made in the grader's process, so two runs of a check see different stores."""
    assert make_stores(0, "x/0", 200, 5, KINDS_OF_DIFFERENCE, secret=b"a") != make_stores(
        0, "x/0", 200, 5, KINDS_OF_DIFFERENCE)
    assert make_stores(0, "x/0", 200, 5, KINDS_OF_DIFFERENCE, secret=b"a") == make_stores(
        0, "x/0", 200, 5, KINDS_OF_DIFFERENCE, secret=b"a")
    seen = []
    spy = types.ModuleType("spy")
    spy.sync = lambda local, peer: seen.append(peer.root()) or {}
    for _ in range(2):
        with pytest.raises(CheckFailed):
            run_sync(spy, differences=[1])
    assert seen[0] != seen[1]


def test_stopping_at_the_first_differing_bucket_misses_keys():
    first_only = solution("anti-entropy", "wrong_first_bucket_only.py")
    run_sync(first_only, differences=[1], budget=2)  # one difference: it is right, and cheap
    with pytest.raises(CheckFailed, match="still differ from the peer's store"):
        run_sync(first_only, differences=[10], fanout=4, budget=2)


def test_a_result_that_is_not_a_dict_of_changes_is_refused():
    for bad, match in [(lambda local, peer: list(local), "must return a dict of the changes"),
                       (lambda local, peer: {1: b"x"}, "not a string"),
                       (lambda local, peer: {"k": "text"}, "returned str for 'k'")]:
        module = types.ModuleType("bad")
        module.sync = bad
        with pytest.raises(CheckFailed, match=match):
            run_sync(module, differences=[1], keys=50)
    with pytest.raises(CheckFailed, match="no function 'sync'"):
        run_sync(types.ModuleType("empty"), differences=[1])


def test_sync_parameters_are_validated():
    validate_params("sync", {"differences": [0, 10], "kinds": ["deleted"], "fanout": 4,
                             "depth": 6, "budget": 1.5, "keys": 100, "target": "repair"})
    for bad in [{"fanout": 3}, {"budget": 0}, {"budget": True}, {"kinds": ["moved"]},
                {"differences": []}, {"depth": 9}, {"keys": 0}, {"target": "not a name"},
                {"bytes": 5}]:
        with pytest.raises(ConfigError):
            validate_params("sync", bad)


# -- the merkle-diff oracle -------------------------------------------------------------

def test_a_tree_view_counts_node_reads_and_refuses_bad_nodes_for_free():
    view = TreeView(MerkleTree.build({"a": b"1", "b": b"2"}, fanout=8, depth=2))
    view.root()
    view.children(1, 5)
    view.bucket(3)
    assert view.reads == 1 + 8 + 1
    for bad in (lambda: view.children(2, 0), lambda: view.children(0, 1), lambda: view.bucket(64)):
        with pytest.raises(ConfigError):
            bad()
    assert view.reads == 10
    with pytest.raises(TypeError):
        TreeView({"a": b"1"})


def test_the_read_budget_always_fails_a_full_bucket_scan():
    rng = RandomStreams(0).stream("test")
    for _ in range(400):
        ta, tb = merkle_diff._trees(merkle_diff._generate(rng))
        assert descent_reads(ta, tb) < read_budget(ta, tb) < 2 * ta.buckets


def test_the_reference_diff_reads_exactly_the_descent_and_finds_the_keys():
    reference = solution("merkle-diff", "reference.py")
    rng = RandomStreams(1).stream("test")
    for _ in range(100):
        ta, tb = merkle_diff._trees(merkle_diff._generate(rng))
        mine, theirs = TreeView(ta), TreeView(tb)
        assert reference.diff(mine, theirs) == ta.diff(tb)
        assert mine.reads + theirs.reads == descent_reads(ta, tb)


def oracle_check(module: types.ModuleType) -> None:
    oracle_kind.run(CheckContext(module=module, seed=0, name="test",
                                 params={"oracle": "merkle-diff", "target": "diff", "cases": 200}))


def test_the_oracle_names_an_over_budget_scan_and_wrong_keys():
    oracle_check(solution("merkle-diff", "reference.py"))
    with pytest.raises(CheckFailed, match=r"reads: over the budget of \d+ \(a top-down descent"):
        oracle_check(solution("merkle-diff", "wrong_reads_every_bucket.py"))
    with pytest.raises(CheckFailed) as failure:
        oracle_check(solution("merkle-diff", "wrong_keys_only.py"))
    assert "# yours:        {'keys': [" in str(failure.value)
    assert "'reads': 'within the budget of" in str(failure.value)


def test_a_failing_case_prints_as_python_that_replays_it():
    rng = RandomStreams(2).stream("test")
    reference = solution("merkle-diff", "reference.py")
    for _ in range(20):
        case = merkle_diff._generate(rng)
        code = merkle_diff._code("diff", case).replace("\n    ", "\n")
        *setup, last = code.splitlines()
        namespace = {"diff": reference.diff}
        exec("\n".join(setup), namespace)
        keys, reads = eval(last, namespace)
        ta, tb = merkle_diff._trees(case)
        assert keys == ta.diff(tb) and reads == descent_reads(ta, tb)
