"""The explorer: exhaustive schedules, counted by hand on tiny scopes, checked against a naive oracle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from typing import ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import find as hypothesis_find
from hypothesis import strategies as st

from replicalab import explore, scenarios
from replicalab.errors import ConfigError
from replicalab.explore.driver import Faults, start
from replicalab.explore.naive import every_schedule
from replicalab.items import Item
from replicalab.policies import MergePolicy, Outcome
from replicalab.policies.base import _item, _losses, _single
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Constant

#: Two regions, two writes to different attributes of one item: the smallest London.
TINY = TableScenario(
    name="tiny",
    description="two regions, two concurrent-or-not writes",
    regions=("a", "b"),
    latency={("a", "b"): Constant(50)},
    initial={"k": {"x": 0, "y": 0}},
    workload=(ClientWrite(at=10, region="a", op="w1", client="c1", key="k", attributes={"x": 1}),
              ClientWrite(at=20, region="b", op="w2", client="c2", key="k", attributes={"y": 2})),
)


def test_two_replicas_two_writes_have_three_schedules_and_two_classes():
    """Events: W1 (a writes, sends m1 to b), W2 (b writes, sends m2 to a), m1, m2.

    W1 < W2 (client times), W1 < m1 and W2 < m2 (a message after its send). W1 is first;
    the other three are ordered with W2 before m2: 3! / 2 = 3 schedules —
    W1 m1 W2 m2, W1 W2 m1 m2, W1 W2 m2 m1. The last two differ only in the order of
    deliveries to different replicas (m1 to b, m2 to a): one class, so the reduction keeps 2.
    States: the empty prefix, W1, W1 m1, W1 W2, W1 m1 W2, W1 W2 m1, W1 W2 m2, and two
    final states (W1 m1 W2 m2; W1 W2 m1 m2 = W1 W2 m2 m1): 9.
    Under item-lww only W1 m1 W2 m2 lets w2 see w1 (kept); otherwise w2's later stamp
    drops w1's item at a: silently lost.
    """
    full = explore.scenario(TINY, "item-lww", reduce=False)
    assert (full.schedules, full.states, full.depth) == (3, 9, 4)
    assert full.verdicts() == {"w1": {"kept": 1, "silently-lost": 2}, "w2": {"kept": 3}}
    reduced = explore.scenario(TINY, "item-lww")
    assert (reduced.schedules, reduced.states) == (2, 9)
    assert reduced.verdicts() == {"w1": {"kept": 1, "silently-lost": 1}, "w2": {"kept": 2}}


def test_london_has_180_schedules_and_48_classes():
    """London: W1 (eu, sends to ap and us), W2 (us, sends to ap and eu), R1 (eu), in that
    order; W1 is first. The other six: W2 before R1 and both of its messages, the two
    messages of W1 free: 6! / 4 = 180 interleavings. Classes: each delivery falls after W1,
    after W2 or after R1 (w2's only after W2): 3 * 3 places for w1's two, 2 * 2 for w2's,
    and the two messages to ap-southeast-2, if in the same gap, in 2 orders:
    3 (us) * 2 (eu) * (6 + 2) (ap) = 48."""
    full = explore.scenario("london", "item-lww", reduce=False)
    reduced = explore.scenario("london", "item-lww")
    assert (full.schedules, reduced.schedules) == (180, 48)
    assert full.states == reduced.states


@pytest.mark.parametrize("merge", ["item-lww", "causal", "crdt"])
def test_the_explorer_agrees_with_the_naive_enumeration_of_every_schedule(merge):
    """The oracle remembers nothing and reduces nothing: same schedules, same verdict counts."""
    naive: dict[str, Counter[str]] = {}
    for _, result in every_schedule(scenarios.get("london"), merge):
        for write, verdict in result.ledger.verdicts().items():
            naive.setdefault(write, Counter())[verdict] += 1
    full = explore.scenario("london", merge, reduce=False)
    assert full.verdicts() == {w: dict(sorted(c.items())) for w, c in sorted(naive.items())}
    reduced = explore.scenario("london", merge)
    assert {o.state for o in reduced.outcomes} == {o.state for o in full.outcomes}
    assert ({w: set(v) for w, v in reduced.verdicts().items()}
            == {w: set(v) for w, v in full.verdicts().items()})


def test_the_explorer_finds_the_london_loss_under_item_lww():
    space = explore.scenario("london", merge="item-lww", faults="none")
    cx = space.find(lambda result: result.summary["silently_lost"] > 0)
    assert cx is not None and len(cx.steps) == 7
    assert cx.result.ledger["w1"].verdict == "silently-lost"
    again = cx.replay()
    assert again.to_json() == cx.result.to_json()  # the same run: trace, ledger, final items
    assert "<svg" in cx.result.to_svg()
    assert "deliver Replicate(w1)" in cx.timeline()
    check = explore.check("london", merge="item-lww", invariant="no-silent-loss")
    assert not check and check.counterexample is not None
    assert check.counterexample.steps == cx.steps


@pytest.mark.parametrize("merge", ["causal", "crdt"])
def test_no_schedule_of_london_loses_a_write_under(merge):
    check = explore.check("london", merge=merge, invariant="no-silent-loss")
    assert check.holds and check.counterexample is None
    assert check.space.schedules == 48
    assert explore.check("london", merge=merge, invariant="converges").holds


def test_the_strong_read_is_stale_in_some_schedules_and_not_in_others():
    """The agent's regional strong read at eu-west-1 misses w2 unless w2's message got there
    first: a property of the schedule, not of the merge policy."""
    space = explore.scenario("london", "causal")
    stale = [o for o in space.outcomes if o.result.stale_reads]
    assert 0 < len(stale) < len(space.outcomes)
    assert not explore.check("london", "causal", invariant="no-stale-strong-read").holds
    # The retention job in the agent's own region: every schedule's read sees both writes.
    assert explore.check("london-batch-at-home", "causal", invariant="no-stale-strong-read").holds


def test_linearizable_by_name_uses_the_checker():
    check = explore.check("london", "item-lww", invariant="linearizable")
    assert not check.holds  # the regional strong read misses w2 in some schedule
    assert "linearizable" in check.report()


def test_an_invariant_may_be_a_function_of_a_result():
    def w2_kept(result):
        return result.ledger["w2"].verdict == "kept"

    check = explore.check("london", "item-lww", invariant=w2_kept)
    assert check.holds and check.invariant == "w2_kept"


@attrs.frozen(repr=False)
class IncomingWins(MergePolicy):
    """A planted bug: the incoming item always wins. Not commutative (a.merge(b) is b)."""

    name: ClassVar[str] = "incoming-wins"
    summary: ClassVar[str] = "the last item to arrive wins (a planted bug)"

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        if local is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        mine = _single(_item(local, "local"), self.name)
        if mine.write == theirs.write:
            return Outcome(local, (), f"already had {mine.write}")
        rule = f"incoming-wins took {theirs.write} over {mine.write}"
        return Outcome(incoming, _losses([mine], incoming, {mine.write: theirs}, lambda *_: rule), rule)


def _hypothesis_counterexample(scenario, merge, faults):
    """Hypothesis's shrinker on the same scope: a list of choices (indices into the steps
    offered, the first when the list runs out) whose run does not converge, minimised."""
    budget = Faults.parse(faults)

    def run(choices):
        prepared = start(scenario, merge, 0, {})
        used = Counter()
        taken = []
        position = 0
        while True:
            left = Faults(budget.loss - used["drop"], budget.duplicate - used["duplicate"])
            offered = prepared.sim.steps(left)
            if not offered:
                return taken, prepared.result()
            pick = choices[position] % len(offered) if position < len(choices) else 0
            position += 1
            step = offered[pick]
            used[step.kind] += 1
            taken.append(step)
            prepared.sim.take(step)

    found = hypothesis_find(
        st.lists(st.integers(0, 15), max_size=12), lambda choices: not run(choices)[1].converged,
        settings=settings(max_examples=2000, database=None, derandomize=True,
                          phases=[Phase.generate, Phase.shrink],
                          suppress_health_check=list(HealthCheck)))
    return run(found)[0]


@pytest.mark.parametrize("faults", ["none", "duplicate"])
def test_a_planted_non_commutative_merge_is_found_no_longer_than_hypothesis_shrinks_it(faults):
    check = explore.check(TINY, IncomingWins(), invariant="converges", faults=faults)
    assert not check.holds
    cx = check.counterexample
    assert not cx.replay().converged
    shrunk = _hypothesis_counterexample(TINY, IncomingWins(), faults)
    assert len(cx.steps) <= len(shrunk)
    assert [s.kind for s in cx.steps] == ["next", "next", "deliver", "deliver"]


def test_bounded_loss_breaks_convergence_even_for_crdts():
    """A lost replication message with nothing to repair it: the replicas never converge."""
    check = explore.check(TINY, "crdt", invariant="converges", faults="loss")
    assert not check.holds
    assert [s.kind for s in check.counterexample.steps].count("drop") == 1
    assert check.space.schedules > 2
    assert explore.check(TINY, "crdt", invariant="converges").holds


def test_a_crash_is_a_choice_too_and_what_reaches_a_crashed_replica_is_lost():
    """One durable crash per schedule, anywhere, then a restart: a replication message that
    arrives while the replica is down is gone, and a write sent to it is refused."""
    check = explore.check(TINY, "crdt", invariant="converges", faults="crash")
    assert not check.holds
    kinds = [s.kind for s in check.counterexample.steps]
    assert kinds.count("crash") == 1 and kinds[-1] == "restart"
    assert not check.counterexample.replay().converged
    verdicts = check.space.verdicts()
    assert "rejected" in verdicts["w2"] and verdicts["w1"]["kept"] > 0
    assert explore.Faults.parse("loss+crash") == explore.Faults(loss=1, crash=1)


@pytest.mark.parametrize("faults", ["loss", "duplicate", "crash", "amnesia"])
def test_with_faults_the_explorer_still_agrees_with_the_naive_enumeration(faults):
    naive: dict[str, Counter[str]] = {}
    for _, result in every_schedule(TINY, "item-lww", faults=faults):
        for write, verdict in result.ledger.verdicts().items():
            naive.setdefault(write, Counter())[verdict] += 1
    full = explore.scenario(TINY, "item-lww", faults=faults, reduce=False)
    assert full.verdicts() == {w: dict(sorted(c.items())) for w, c in sorted(naive.items())}
    reduced = explore.scenario(TINY, "item-lww", faults=faults)
    assert {o.state for o in reduced.outcomes} == {o.state for o in full.outcomes}
    assert reduced.states == full.states


def _summary_in_a_process(hash_seed: str) -> str:
    code = ("import json; from replicalab import explore;"
            "s = explore.scenario('london', 'item-lww');"
            "cx = s.find(lambda r: r.summary['silently_lost'] > 0);"
            "print(json.dumps([s.summary(), [o.state for o in s.outcomes], cx.to_plain()], sort_keys=True))")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout


def test_the_same_exploration_in_two_processes_with_different_hash_seeds():
    first, second = _summary_in_a_process("1"), _summary_in_a_process("4242")
    assert first == second
    summary = json.loads(first)[0]
    assert summary["verdicts"]["w1"] == {"kept": 16, "silently-lost": 32}


@pytest.mark.parametrize("bad, message", [
    ({"faults": "chaos"}, "faults must be"),
    ({"faults": "crash+crash"}, "faults must be"),
    ({"faults": {"loss": 9}}, "from 0 to 3"),
    ({"max_states": 0}, "max_states must be"),
    ({"reduce": "yes"}, "reduce must be True or False"),
    ({"merge": "newest"}, "merge"),
    ({"writes": "sometimes"}, "writes"),
])
def test_bad_arguments_raise_config_errors(bad, message):
    args = {"merge": "item-lww", **bad}
    with pytest.raises(ConfigError, match=message):
        explore.scenario("london", **args)


def test_caps_on_states_and_depth_name_the_numbers():
    with pytest.raises(ConfigError, match=r"reached 51 states, more than max_states=50"):
        explore.scenario("london", max_states=50)
    with pytest.raises(ConfigError, match=r"max_depth=3 steps"):
        explore.scenario("london", max_depth=3)


def test_scenarios_that_never_become_quiet_are_refused():
    with pytest.raises(ConfigError, match="periodic anti-entropy: its timers never stop"):
        explore.scenario("partition")


def test_unknown_names_are_refused():
    with pytest.raises(ConfigError, match="unknown scenario"):
        explore.scenario("paris")
    with pytest.raises(ConfigError, match="no-silent-loss, converges"):
        explore.check("london", invariant="never-wrong")
    with pytest.raises(ConfigError, match="a scenario name, a TableScenario, a GlobalTable"):
        explore.scenario(42)  # type: ignore[arg-type]


# -- the command line ----------------------------------------------------------------------


def test_cli_explore_prints_counts_verdicts_and_the_shortest_counterexample(capsys):
    from replicalab.cli import main

    assert main(["explore", "london", "--merge", "item-lww"]) == 0
    out = capsys.readouterr().out
    assert "48 classes of schedules, 215 states" in out
    assert "w1     16    32" in out
    assert "no-silent-loss: broken" in out and "deliver Replicate(w2)" in out
    assert "drops w1's delivery_address" in out  # the counterexample's timeline


def test_cli_explore_checks_an_invariant_with_its_exit_status(capsys):
    from replicalab.cli import main

    assert main(["explore", "london", "--merge", "causal", "--invariant", "no-silent-loss",
                 "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["holds"] and document["schedules"] == 48 and document["counterexample"] is None
    assert main(["explore", "london", "--invariant", "no-silent-loss", "--no-reduce"]) == 1
    assert "180 schedules (every interleaving)" in capsys.readouterr().out
    assert main(["explore", "london", "--merge", "newest"]) == 2
    assert "unknown" in capsys.readouterr().err


def test_cli_explore_writes_a_forking_stepper(tmp_path, capsys):
    from replicalab.cli import main

    page = tmp_path / "explore.html"
    assert main(["explore", "london", "--html", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and " src=" not in text and "<link" not in text
    data = json.loads(text.split('id="replicalab-graph">')[1].split("</script>")[0])
    assert data["schedules"] == 180 and data["count"] == 215  # every order, for the reader to pick
    start = data["states"][0]
    assert start["schedules"] == 180
    assert start["future"] == {"w1:kept": 36, "w1:silently-lost": 144, "w2:kept": 180}
    assert [e["kind"] for e in start["out"]] == ["next"]
    # Follow the first choice everywhere: the states along the way are the ones replayed.
    here, seen = start, 0
    while here["out"]:
        here = data["states"][here["out"][0]["to"]]
        seen += 1
    assert seen == 7 and here["schedules"] == 1
    assert {e["write"] for e in here["ledger"]} == {"w1", "w2"}


# -- the exercise kind: the learner's invariant is data ------------------------------------


@pytest.mark.parametrize("given, message", [
    (None, "must be a dict with the keys 'write' and 'verdicts'"),
    ({"write": "w1"}, "must be a dict with the keys 'write' and 'verdicts'"),
    ({"write": "w9", "verdicts": ["kept"]}, r"must name a write of the scenario \(w1, w2\)"),
    ({"write": "w1", "verdicts": []}, "non-empty list of ledger verdicts"),
    ({"write": "w1", "verdicts": ["lost"]}, "non-empty list of ledger verdicts"),
    ({"write": "w1", "verdicts": "kept"}, "non-empty list of ledger verdicts"),
])
def test_an_invariant_given_as_data_is_checked_before_anything_runs(given, message):
    from replicalab.exercises.kinds.common import CheckFailed
    from replicalab.exercises.kinds.explore import statement

    with pytest.raises(CheckFailed, match=message):
        statement(given, ["w1", "w2"], "INVARIANT")
    assert statement({"write": "every", "verdicts": ["kept"]}, ["w1", "w2"], "I") == (
        ["w1", "w2"], {"kept"})


# -- the forking page in a real browser ------------------------------------------------------

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)

PRESS = """<script>
(function () {
  var log = [];
  function pick(text) {
    var buttons = Array.from(document.querySelectorAll('#choices button'));
    var button = buttons.find(function (b) { return b.textContent.indexOf(text) >= 0; });
    button.click();
    log.push(document.getElementById('future').textContent);
  }
  pick('t=140'); pick('-> ap-southeast-2'); pick('t=189'); pick('w2) us-east-1 -> ap-southeast-2');
  log.push(document.getElementById('ledger').textContent);
  document.getElementById('back').click();
  log.push(document.getElementById('future').textContent);
  var out = document.createElement('pre'); out.id = 'log'; out.textContent = JSON.stringify(log);
  document.body.appendChild(out);
})();
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")
def test_the_forking_page_lets_the_reader_choose_and_shows_the_loss(tmp_path):
    """In headless Chromium: deliver w1 to ap-southeast-2, write w2, deliver w2 there too: the
    ledger as of that moment says w1 is silently lost; Back undoes the last choice."""
    import html as html_module
    import re

    from replicalab.explore.html import stepper_html

    page = stepper_html(explore.scenario("london", reduce=False))
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", PRESS + "</body>"))
    profile = tmp_path / "profile"
    profile.mkdir()
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--dump-dom",
         path.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(html_module.unescape(re.search(r'<pre id="log">(.*?)</pre>', done.stdout,
                                                    re.S).group(1)))
    assert log[0].startswith("180 schedules from here")
    assert "w1 silently-lost" in log[3] and "w1 kept" not in log[3]  # every future loses it now
    assert "w1silently-lost" in log[4].replace(" ", "")
    assert log[5] == log[2]  # Back: the state before the last delivery, and its future


def test_the_reduction_turns_itself_off_where_deliveries_answer_clients():
    """Under MRSC a region acknowledges the client when the other region's acceptance
    arrives: a delivery with an effect outside its replica. Deliveries to different replicas
    then need not commute, so the reduction would cut schedules; the explorer notices, turns
    it off, and agrees with the naive enumeration (an early version cut 42 final states to 3)."""
    import attrs as attrs_module

    from replicalab.scenarios import london

    one = attrs_module.evolve(london.SCENARIO, name="london-one", workload=(london.PORTAL,), reads=())
    space = explore.scenario(one, mode="mrsc")
    assert not space.reduce and "reduction is off" in space.note
    naive = Counter(v for _, r in every_schedule(one, options={"mode": "mrsc"})
                    for v in r.ledger.verdicts().values())
    assert (space.schedules, len(space.outcomes), space.states) == (336, 42, 259)
    assert space.verdicts() == {"w1": dict(naive)}


def test_an_amnesia_crash_loses_an_acknowledged_write_that_a_durable_crash_keeps():
    """Hand-checked on TINY under the crdt merge (no merge ever loses anything there) with one
    lost message: W1 (a applies w1, acknowledges it, sends m1), m1 lost, a crashes without
    its state and restarts empty as a~2. w1 is then nowhere: the ledger calls it silently lost
    and says why. The shortest such schedule has 6 steps: W1, W2, the drop, the crash, the
    restart, and m2 (delivered, or lost arriving while a is down). With a durable crash
    instead, a keeps w1 in every schedule: it can be unreplicated (m1 lost), never lost."""
    amnesia = explore.scenario(TINY, "crdt", faults={"loss": 1, "amnesia": 1})
    durable = explore.scenario(TINY, "crdt", faults={"loss": 1, "crash": 1})
    assert "silently-lost" not in durable.verdicts()["w1"]
    assert amnesia.verdicts()["w1"]["silently-lost"] > 0
    cx = amnesia.find(lambda r: r.ledger.verdicts()["w1"] == "silently-lost")
    assert sorted(s.kind for s in cx.steps) == ["amnesia", "deliver", "drop", "next", "next", "restart"]
    assert cx.steps[-1].kind == "restart"
    replayed = cx.replay()
    assert replayed.ledger.verdicts() == cx.result.ledger.verdicts()
    entry = next(e for e in replayed.ledger if e.write == "w1")
    assert "durable=False" in entry.why
    restarted = [e for e in replayed.trace.of_kind("Restarted")]
    assert [(e.replica, e.get("durable"), e.get("identity")) for e in restarted] == [("a", False, "a~2")]
    # The same final states as the naive enumeration, with and without the reduction.
    naive = Counter(r.ledger.verdicts()["w1"] for _, r in every_schedule(
        TINY, "crdt", faults={"loss": 1, "amnesia": 1}))
    full = explore.scenario(TINY, "crdt", faults={"loss": 1, "amnesia": 1}, reduce=False)
    assert full.verdicts()["w1"] == dict(sorted(naive.items()))
    assert {o.state for o in amnesia.outcomes} == {o.state for o in full.outcomes}
    assert explore.Faults.parse("crash+amnesia") == explore.Faults(crash=1, amnesia=1)


def _london_one_mrsc(**changes):
    import attrs as attrs_module

    from replicalab.scenarios import london
    return attrs_module.evolve(london.SCENARIO, **{"name": "london-one", "workload": (london.PORTAL,),
                                                   "reads": (), **changes})


def test_an_early_timer_firing_is_a_choice_only_when_asked_and_only_for_pending_timers():
    """MRSC: the write reaches eu-west-1 at t=140 and sets its prepare timeout (due t=1140);
    the read at t=194 comes first in time order. Under timers='choice' the timeout may fire
    now, at t=140 (the clock does not move), and then it is no longer offered."""
    from replicalab.explore.driver import Faults, start
    from replicalab.scenarios import london

    scope = _london_one_mrsc(reads=london.SCENARIO.reads)
    prepared = start(scope, "item-lww", 0, {"mode": "mrsc"})
    sim = prepared.sim
    choice, order = Faults().with_timers("choice"), Faults()
    assert [s.kind for s in sim.steps(choice)] == ["next"]  # no timer set yet
    sim.take(sim.steps(order)[0])
    assert [s.kind for s in sim.steps(order)] == ["deliver", "deliver", "next"]
    offered = sim.steps(choice)
    assert [s.kind for s in offered] == ["deliver", "deliver", "next", "fire"]
    assert "prepare-timeout" in offered[-1].label and "due t=1140" in offered[-1].label
    sim.take(offered[-1])
    assert sim.now == 140
    fired = sim.trace.of_kind("TimerFired")
    assert [(e.time, e.replica) for e in fired] == [(140, "eu-west-1")]
    assert "fire" not in [s.kind for s in sim.steps(choice)]
    with pytest.raises(ConfigError, match="timers must be 'order'"):
        explore.scenario("london", timers="sometimes")


def test_with_timer_choices_the_explorer_agrees_with_the_naive_enumeration():
    """One MRSC write and a scheduled no-op (a clock skew of 0 at t=500): in time order the
    prepare timeout (due t=1140) fires after it; with timers='choice' it may also fire before
    it, so there are more schedules (2088 against 1344) and more final states (292 against 250):
    exactly the schedules with an early firing are new.
    The explorer's counts and verdicts equal the naive enumeration's in both modes."""
    from replicalab.sim.faults import ClockSkew

    scope = _london_one_mrsc(faults=(ClockSkew(at=500, replica="us-east-1", skew=0),))
    order = explore.scenario(scope, mode="mrsc", reduce=False)
    choice = explore.scenario(scope, mode="mrsc", timers="choice", reduce=False)
    assert (order.schedules, choice.schedules) == (1344, 2088)
    assert (len(order.outcomes), len(choice.outcomes)) == (250, 292)
    naive = list(every_schedule(scope, options={"mode": "mrsc"}, timers="choice"))
    assert len(naive) == choice.schedules
    assert Counter(r.ledger.verdicts()["w1"] for _, r in naive) == Counter(choice.verdicts()["w1"])
    early = [steps for steps, _ in naive if any(s.kind == "fire" for s in steps)]
    assert len(early) == choice.schedules - order.schedules


def test_cli_explore_passes_timers_and_the_amnesia_fault_through(capsys):
    """London's default mode sets no timers: timers='choice' changes no count (48 classes)."""
    from replicalab.cli import main

    assert main(["explore", "london", "--timers", "choice", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["faults"]["timers"] == "choice" and summary["schedules"] == 48
    assert main(["explore", "london", "--faults", "amnesia+amnesia"]) == 2
    assert "amnesia" in capsys.readouterr().err
