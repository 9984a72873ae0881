"""The ``replica`` check kind and the ``version-forks`` oracle, and the exercises built on them.

The kind runs a learner's gossip replica in the simulator and must fail it for
the right reason, with a message that names the replicas, what they lacked
and how to replay the run: too slow or partitioned, over the message budget,
doing I/O in a handler, not deterministic. The oracle must generate the logs
it promises and agree with replicalab's own reconciliation scan.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import textwrap
from pathlib import Path

import pytest

from replicalab import exercises, scenarios
from replicalab.errors import ConfigError
from replicalab.exercises.kinds import replica as kind
from replicalab.exercises.kinds import validate_params
from replicalab.exercises.kinds.common import CheckContext, CheckFailed
from replicalab.exercises.oracles import oracle
from replicalab.exercises.oracles.version_forks import as_events, from_trace
from replicalab.reconcile import find_version_forks
from replicalab.sim.rng import RandomStreams

#: Reference and planted solutions: in the source tree, not in the installed package.
ANSWERS = Path(__file__).resolve().parent / "exercises" / "solutions"

GOSSIP = exercises.get("gossip")
FORKS = exercises.get("version-forks")
MESH = {"graph": "full-mesh", "n": 16}
CHAIN = {"graph": "line", "n": 12}

HEADER = """\
from __future__ import annotations
from replicalab.exercises.kinds.replica import Rumour
from replicalab.replica.base import Replica


class Gossip(Replica):
    def __init__(self, replica_id, period=100):
        super().__init__(replica_id)
        self.period = period
        self.known = set()
"""


def load(path: Path, name: str | None = None):
    """Import a learner's file the way the worker does (a fresh module with a __file__)."""
    spec = importlib.util.spec_from_file_location(name or f"learner_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(tmp_path: Path, name: str, body: str):
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(body), "    "))
    return load(path, name)


def check(module, seed: int = 0, **params):
    params = {"replica": "Gossip", "topologies": [MESH], "rounds": 16, "messages": 3, **params}
    validate_params("replica", params)
    kind.run(CheckContext(module=module, params=params, seed=seed, name="test"))


def failure(module, **params) -> str:
    with pytest.raises(CheckFailed) as caught:
        check(module, **params)
    return str(caught.value)


@pytest.fixture(scope="module")
def reference():
    return load(ANSWERS / "gossip" / "reference.py", "gossip_reference")


@pytest.fixture(scope="module")
def planted():
    return {p.stem: load(p, f"gossip_{p.stem}") for p in (ANSWERS / "gossip").glob("wrong_*.py")}


# -- parameters and topologies ---------------------------------------------------------

@pytest.mark.parametrize("params, problem", [
    ({"topologies": [{"graph": "torus", "n": 9}]}, "graph must be one of"),
    ({"topologies": [{"graph": "full-mesh"}]}, "missing ['n']"),
    ({"topologies": [{"graph": "ring", "n": 8, "k": 2}]}, "unknown ['k']"),
    ({"topologies": [{"graph": "random-regular", "n": 9, "d": 3}]}, "n * d even"),
    ({"topologies": [{"graph": "watts-strogatz", "n": 8, "k": 4, "p": 2}]}, "probability"),
    ({"topologies": []}, "non-empty list"),
    ({"loss": 1.0}, "probability in [0, 1)"),
    ({"latency": [20, 5]}, "low <= high"),
    ({"replay": "yes"}, "true or false"),
])
def test_bad_parameters_are_refused_when_the_exercise_is_loaded(params, problem):
    full = {"replica": "Gossip", "topologies": [MESH], "rounds": 16, "messages": 3, **params}
    with pytest.raises(ConfigError) as caught:
        validate_params("replica", full)
    assert problem in str(caught.value)


def test_a_budget_and_a_deadline_are_required():
    with pytest.raises(ConfigError, match="rounds"):
        validate_params("replica", {"replica": "Gossip", "topologies": [MESH], "messages": 3})


@pytest.mark.parametrize("spec, edges", [
    ({"graph": "full-mesh", "n": 16}, 120),
    ({"graph": "ring", "n": 12}, 12),
    ({"graph": "line", "n": 12}, 11),
    ({"graph": "watts-strogatz", "n": 32, "k": 4, "p": 0.2}, 64),
    ({"graph": "random-regular", "n": 32, "d": 3}, 48),
])
def test_graphs_are_connected_named_and_the_same_for_the_same_seed(spec, edges):
    import networkx as nx

    graph = kind.build_graph(spec, seed=5)
    assert nx.is_connected(graph) and graph.number_of_edges() == edges
    assert sorted(graph.nodes)[0] == ("n00" if spec["n"] > 10 else "n0")
    assert sorted(graph.edges) == sorted(kind.build_graph(spec, seed=5).edges)


def test_rumours_go_to_distinct_replicas_within_two_periods(reference):
    sim, told = kind.setup(reference.Gossip, MESH, seed=3, rumours=5, period=100)
    assert len({t.replica for t in told}) == 5
    assert all(0 <= t.at < 200 for t in told)
    assert [t.at for t in told] == sorted(t.at for t in told)
    assert told == kind.setup(reference.Gossip, MESH, seed=3, rumours=5, period=100)[1]


# -- the reference and the planted mistakes --------------------------------------------

def test_the_reference_converges_in_a_few_rounds_at_about_one_message_per_period(reference):
    for spec, most in ((MESH, 8), ({"graph": "random-regular", "n": 32, "d": 3}, 16)):
        for seed in range(5):
            outcome = kind.trial(reference.Gossip, spec, seed=seed, rounds=30)
            assert not outcome.missing and outcome.rounds <= most
            assert outcome.per_replica_per_period < 1.2


def test_the_message_budget_is_enforced(planted):
    flood = planted["wrong_flood_every_timer"]
    message = failure(flood)
    assert "full mesh of 16, seed 0: too many messages" in message
    assert "15.0 per replica per 100 ms period" in message
    assert "The budget is 3 per replica per period" in message
    check(flood, messages=16)  # the same flood, when the budget allows it


def test_a_replica_that_never_gossips_is_named_with_what_it_lacked(tmp_path):
    silent = write(tmp_path, "silent", """
        def on_message(self, ctx, src, msg):
            self.known.add(msg.rumour)
    """)
    message = failure(silent)
    outcome = kind.trial(silent.Gossip, MESH, seed=0, rounds=16)
    told = {t.replica: t.rumour for t in outcome.told}
    assert "16 periods (1600 ms) after the last rumour was told, 16 of 16 replicas" in message
    assert f"t={outcome.deadline} ms" in message
    for replica, lacks in sorted(outcome.missing.items())[:8]:
        assert f"    {replica} lacked {', '.join(lacks)}" in message
    assert "... and 8 more replicas" in message
    assert all(f"{rumour} to {replica}" in message for replica, rumour in told.items())
    assert "rumour-1 reached 1 of 16" in message
    assert "0 messages sent" in message


def test_the_replay_in_the_message_reproduces_the_run(tmp_path, monkeypatch, capsys):
    lazy = write(tmp_path, "lazy", """
        def on_start(self, ctx):
            ctx.set_timer(self.period, "gossip")

        def on_timer(self, ctx, timer):
            ctx.send(ctx.peers[0], tuple(sorted(self.known)))   # always the same peer
            ctx.set_timer(self.period, "gossip")

        def on_message(self, ctx, src, msg):
            self.known.update([msg.rumour] if hasattr(msg, "rumour") else msg)
    """)
    message = failure(lazy, topologies=[{"graph": "ring", "n": 12}])
    replay = textwrap.dedent(message.split("Replay it:\n\n", 1)[1])
    assert "from lazy import Gossip" in replay and "{'graph': 'ring', 'n': 12}" in replay
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy", raising=False)
    exec(compile(replay, "<replay>", "exec"), {})
    printed = capsys.readouterr().out.splitlines()[0]
    known = eval(printed)
    outcome = kind.trial(lazy.Gossip, {"graph": "ring", "n": 12}, seed=0, rounds=16)
    assert {r for r, k in known.items() if len(k) < 3} == set(outcome.missing)


def test_each_planted_mistake_fails_for_its_own_reason(planted):
    # Sending once is a fine broadcast on a perfect network, and loses rumours on a lossy chain.
    send_once = planted["wrong_send_once"]
    check(send_once, seeds=5)
    check(send_once, topologies=[CHAIN], rounds=48, seeds=5)
    assert "chain of 12, seed" in failure(send_once, topologies=[CHAIN], rounds=48, seeds=5,
                                          loss=0.05)
    # A peer chosen once does not connect a sparse graph.
    fixed = planted["wrong_fixed_peer"]
    message = failure(fixed, topologies=[{"graph": "random-regular", "n": 32, "d": 3}], rounds=30)
    assert "did not know every rumour" in message


def test_the_exercise_grades_the_planted_mistakes_on_the_intended_checks():
    expected = {
        "wrong_send_once.py": {"5% message loss, on a full mesh and on a chain"},
        "wrong_flood_every_timer.py": {c.name for c in GOSSIP.checks},
        "wrong_fixed_peer.py": {c.name for c in GOSSIP.checks},
    }
    for wrong, failing in expected.items():
        report = exercises.check(GOSSIP, ANSWERS / "gossip" / wrong)
        assert {r.name for r in report.results if not r.passed} == failing, report.text()


# -- handlers use only ctx --------------------------------------------------------------

def test_a_handler_that_prints_fails_and_stdout_is_given_back(tmp_path):
    chatty = write(tmp_path, "chatty", """
        def on_message(self, ctx, src, msg):
            print("got", msg)
            self.known.add(msg.rumour)
    """)
    before = sys.stdout
    message = failure(chatty)
    assert sys.stdout is before
    assert "a handler printed 'got' at chatty.py:" in message and "in on_message" in message
    assert "ctx.log" in message


def test_a_handler_that_swallows_the_refusal_still_fails(tmp_path):
    sly = write(tmp_path, "sly", """
        def on_message(self, ctx, src, msg):
            try:
                with open("notes.txt", "a") as notes:
                    notes.write(msg.rumour)
            except Exception:   # the refusal is no Exception: this does not catch it
                pass
            self.known.add(msg.rumour)
    """)
    assert "a handler opened 'notes.txt' at sly.py:" in failure(sly)
    slier = write(tmp_path, "slier", """
        def on_message(self, ctx, src, msg):
            try:
                print(msg)
            except BaseException:
                pass
            self.known.add(msg.rumour)
    """)
    message = failure(slier)
    assert message.startswith('a handler printed "Rumour(op=') and "(and caught the error)" in message
    assert not (tmp_path / "notes.txt").exists()


def test_io_outside_the_run_is_not_refused(reference, tmp_path):
    check(reference)
    (tmp_path / "after.txt").write_text("fine")  # the guard is off again
    print("fine", file=io.StringIO())


def test_global_randomness_fails_the_replay(tmp_path):
    gambler = write(tmp_path, "gambler", """
        def on_start(self, ctx):
            ctx.set_timer(self.period, "gossip")

        def on_timer(self, ctx, timer):
            import random
            ctx.send(random.choice(ctx.peers), tuple(sorted(self.known)))
            ctx.set_timer(self.period, "gossip")

        def on_message(self, ctx, src, msg):
            self.known.update([msg.rumour] if hasattr(msg, "rumour") else msg)
    """)
    check(gambler, rounds=30)  # it converges...
    message = failure(gambler, rounds=30, replay=True)  # ... but not the same way twice
    assert "the same seed gave two different runs" in message
    assert "first run:  t=" in message and "ctx.random()" in message


def test_a_timer_storm_is_stopped_and_explained(tmp_path):
    storm = write(tmp_path, "storm", """
        def on_start(self, ctx):
            ctx.set_timer(0, "again")

        def on_timer(self, ctx, timer):
            ctx.set_timer(0, "again")

        def on_message(self, ctx, src, msg):
            self.known.add(msg.rumour)
    """)
    assert "A timer that re-arms with no delay" in failure(storm)


def test_what_the_check_needs_from_the_class(tmp_path):
    module = write(tmp_path, "shapes", """
        def on_message(self, ctx, src, msg):
            self.known = msg.rumour           # a string, not a set
    """)
    assert "known must be a set of rumours" in failure(module)
    module.NotAReplica = object
    with pytest.raises(CheckFailed, match="derived from"):
        check(module, replica="NotAReplica")


def test_the_learners_own_errors_propagate(tmp_path):
    unfinished = write(tmp_path, "unfinished", """
        def on_start(self, ctx):
            raise NotImplementedError
    """)
    with pytest.raises(NotImplementedError):
        check(unfinished)


# -- the version-forks oracle ------------------------------------------------------------

def cases(n: int = 300, seed: int = 0):
    rng = RandomStreams(seed).stream("oracle:version-forks")
    entry = oracle("version-forks")
    return [entry.generate(rng) for _ in range(n)]


def test_the_oracle_generates_the_logs_it_promises():
    logs = cases()
    assert logs == cases()  # same seed, same cases
    forks = [find_version_forks(as_events(log)) for log in logs]
    widths = {len(f.writes) for fs in forks for f in fs}
    assert widths == {2, 3}
    assert sum(not fs for fs in forks) >= 20  # logs with no fork at all
    assert any("version" not in r for log in logs for r in log)
    assert any("version" in r and r["version"] is None for log in logs for r in log)
    assert any(len({r["key"] for r in log}) >= 3 for log in logs)
    real = [log for log in logs if log and log[0]["write"].startswith(("c0", "q0"))]
    assert 15 <= len(real) <= 75  # about one in eight from a real run
    for log in logs:
        ids = [r["write"] for r in log]
        assert len(ids) == len(set(ids))
    skipped = 0
    for log in logs:
        by_key = {}
        for r in log:
            if r.get("version") is not None:
                by_key.setdefault(r["key"], set()).add(r["version"])
        skipped += any(max(v) - min(v) + 1 > len(v) for v in by_key.values())
    assert skipped >= 20  # a version nobody claimed


def test_the_oracle_agrees_with_the_scan_on_the_london_run():
    run = scenarios.run("london", writes="versioned")
    log = from_trace(run.trace.events)
    assert [(r["write"], r["region"], r["version"]) for r in log] == [
        ("w1", "eu-west-1", 18), ("w2", "us-east-1", 18)]
    entry = oracle("version-forks")
    assert entry.expected(log) == [("sub_42", 18, ("w1", "w2"))]
    assert entry.expected(log) == [(f.key, f.version, f.writes) for f in run.forks]


def test_the_oracle_hands_the_learner_a_copy_and_shows_a_pasteable_call():
    entry = oracle("version-forks")
    log = next(log for log in cases() if entry.expected(log))

    def vandal(writes):
        for record in writes:
            record["version"] = 0
        return []

    before = entry.expected(log)
    assert entry.actual(vandal, log) == [] and entry.expected(log) == before
    reference = load(ANSWERS / "version-forks" / "reference.py", "forks_reference")
    call = entry.code("find_forks", log)
    assert eval(call, {"find_forks": reference.find_forks}) == [
        (key, version, list(ids)) for key, version, ids in before]


def test_the_reference_scan_matches_the_library_on_every_case():
    reference = load(ANSWERS / "version-forks" / "reference.py", "forks_reference")
    entry = oracle("version-forks")
    for log in cases(200, seed=9):
        got = reference.find_forks(log)
        assert [(k, v, tuple(ids)) for k, v, ids in got] == entry.expected(log)


def test_each_planted_scan_fails_the_checks_it_should():
    expected = {
        "wrong_per_key.py": {"the London incident, with versioned writes", "what is not a fork",
                             "generated write logs and real versioned runs"},
        "wrong_unsorted.py": {"the London incident, with versioned writes",
                              "generated write logs and real versioned runs"},
        "wrong_unversioned_as_zero.py": {"what is not a fork",
                                         "generated write logs and real versioned runs"},
    }
    for wrong, failing in expected.items():
        report = exercises.check(FORKS, ANSWERS / "version-forks" / wrong)
        assert {r.name for r in report.results if not r.passed} == failing, report.text()
