"""The oracle check's streamed pass: the same cases and the same verdict, with no round trips.

An oracle that ``streams`` (hlc-run, lamport-run) first runs every case with each
call pipelined and each attribute read fetched later, in one request; only a pass
that is not clean runs again, the ordinary way, in a fresh process. So for any
submission the oracle check must say exactly what it says with the streamed pass
switched off: the same verdict, the same failing case, the same counterexample.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from replicalab import exercises
from replicalab.exercises import oracles
from replicalab.exercises.kinds import oracle as oracle_kind

ANSWERS = Path(__file__).resolve().parent / "solutions"
HLC = exercises.get("hlc")
REFERENCE = (ANSWERS / "hlc" / "reference.py").read_text()


def _oracle_check(monkeypatch: pytest.MonkeyPatch, spec: exercises.ExerciseSpec, path: Path,
                  streams: bool) -> tuple[tuple[bool, str], list[bool]]:
    """The oracle check's (passed, message), and what each streamed pass returned."""
    original = oracles.oracle
    passes: list[bool] = []
    streamed = oracle_kind.streamed

    def spy(*args: object) -> bool:
        passes.append(streamed(*args))  # type: ignore[arg-type]
        return passes[-1]

    with monkeypatch.context() as patch:
        patch.setattr(oracles, "oracle", lambda name: attrs.evolve(original(name), streams=streams))
        patch.setattr(oracle_kind, "streamed", spy)
        report = exercises.check(spec, path, time_limit=60)
    result = next(r for r in report.results if r.kind == "oracle")
    return (result.passed, result.message), passes


def _same_both_ways(monkeypatch: pytest.MonkeyPatch, spec: exercises.ExerciseSpec,
                    path: Path) -> tuple[tuple[bool, str], list[bool]]:
    fast, passes = _oracle_check(monkeypatch, spec, path, streams=True)
    slow, none = _oracle_check(monkeypatch, spec, path, streams=False)
    assert none == [] and len(passes) == 1
    assert fast == slow
    return fast, passes


PLANTED = [("hlc", p.name) for p in sorted((ANSWERS / "hlc").glob("wrong_*.py"))] + [
    ("lamport", "wrong_no_plus_one.py")]


@pytest.mark.parametrize("exercise_id", ["hlc", "lamport"])
def test_a_reference_passes_in_the_streamed_pass_alone(monkeypatch, exercise_id):
    (passed, _), passes = _same_both_ways(monkeypatch, exercises.get(exercise_id),
                                          ANSWERS / exercise_id / "reference.py")
    assert passed and passes == [True]


@pytest.mark.parametrize("exercise_id, wrong", PLANTED)
def test_a_planted_bug_fails_with_the_same_counterexample_either_way(monkeypatch, exercise_id,
                                                                     wrong):
    (passed, message), passes = _same_both_ways(monkeypatch, exercises.get(exercise_id),
                                                ANSWERS / exercise_id / wrong)
    assert not passed and passes == [False]
    assert "differs from replicalab's answer" in message and "# yours:" in message


#: Learner's clocks whose answers depend on more than the calls' arguments, or that fail.
ODD = {
    # correct for its first 300 ticks in the process, then a tick forgets to count
    "hidden_counter": REFERENCE.replace(
        "        top = max(self.wall, wall)\n",
        "        global TICKS\n        TICKS += 1\n        top = max(self.wall, wall)\n"
        "        if TICKS > 300 and top == self.wall:\n"
        "            return HybridLogicalClock(self.replica, top, self.logical)\n",
    ).replace("class HybridLogicalClock:", "TICKS = 0\n\n\nclass HybridLogicalClock:"),
    # reading .wall counts reads; from the 2000th read on, it reads one too many
    "reads_change_answers": REFERENCE.replace(
        "        self.wall = wall\n", "        self._wall = wall\n",
    ).replace("    @property\n    def stamp", "    @property\n    def wall(self) -> int:\n"
              "        READS.append(1)\n        return self._wall + (len(READS) > 2000)\n\n"
              "    @property\n    def stamp").replace(
        "class HybridLogicalClock:", "READS: list[int] = []\n\n\nclass HybridLogicalClock:"),
    # raises on one particular receive
    "raises": REFERENCE.replace(
        "        top = max(self.wall, remote.wall, wall)\n",
        "        top = max(self.wall, remote.wall, wall)\n"
        "        if remote.logical == 4 and wall > 150:\n"
        "            raise RuntimeError('not this one')\n"),
    # returns nothing from a tick once the physical clock stepped back
    "returns_none": REFERENCE.replace(
        "        top = max(self.wall, wall)\n",
        "        if wall < self.wall - 15:\n            return None  # type: ignore[return-value]\n"
        "        top = max(self.wall, wall)\n"),
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_hidden_state_and_failures_get_the_ordinary_verdict(monkeypatch, tmp_path, name):
    path = tmp_path / "hlc.py"
    path.write_text(ODD[name])
    (passed, message), passes = _same_both_ways(monkeypatch, HLC, path)
    assert not passed and passes == [False], message


def test_an_answer_that_is_an_object_equal_to_anything_never_matches(monkeypatch, tmp_path):
    """``wall`` and ``logical`` as int subclasses whose == says True to anything: compared as
    data, they are not replicalab's numbers, and the message says the answer is not data."""
    path = tmp_path / "hlc.py"
    path.write_text(ANYTHING_CLOCK)
    (passed, message), passes = _same_both_ways(monkeypatch, HLC, path)
    assert not passed and passes == [False]
    assert "an object of your class Anything" in message and "not plain data" in message


ANYTHING_CLOCK = '''
class Anything(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class HybridLogicalClock:
    def __init__(self, replica, wall=0, logical=0):
        self.replica, self._wall, self._logical = replica, wall, logical

    @property
    def wall(self):
        return Anything(self._wall)

    @property
    def logical(self):
        return Anything(self._logical)

    def tick(self, wall):
        return HybridLogicalClock(self.replica)

    def receive(self, remote, wall):
        return HybridLogicalClock(self.replica)

    @property
    def stamp(self):
        return (self.wall, self.logical, self.replica)
'''


def test_an_infinite_loop_mid_stream_names_the_file_and_line(tmp_path):
    """A tick that loops forever from its 400th call: the streamed pass waits no longer than the
    check's limit, and the report names the learner's file and line, as the ordinary run does."""
    path = tmp_path / "hlc.py"
    path.write_text(ODD["hidden_counter"].replace(
        "        if TICKS > 300 and top == self.wall:\n",
        "        while TICKS > 400:\n            pass\n        if False:\n"))
    report = exercises.check(HLC, path, time_limit=3)
    result = next(r for r in report.results if r.kind == "oracle")
    assert not result.passed
    assert "did not finish within 3 s" in result.message
    stuck = result.message.split("stuck at hlc.py:", 1)[1].splitlines()[0]
    assert stuck.endswith((": while TICKS > 400:", ": pass")), stuck
