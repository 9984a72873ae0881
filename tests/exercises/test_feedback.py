"""Feedback that teaches: what the grader says must hold when the learner pastes it.

A counterexample is called runnable only after it failed when run, as printed,
against the learner's own code; a verb that changes its inputs is named.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from replicalab import exercises

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_attacks import CORRECT, SPEC  # noqa: E402


def laws_message(tmp_path: Path, source: str) -> str:
    path = tmp_path / "gcounter.py"
    path.write_text(textwrap.dedent(source))
    report = exercises.check(SPEC, path, time_limit=60)
    return next(r.message for r in report.results if r.kind == "laws")


def test_a_counterexample_that_fails_as_printed_is_called_runnable(tmp_path):
    """Summing in merge breaks idempotence; the printed code fails when run: it is runnable."""
    message = laws_message(tmp_path, CORRECT.replace(
        "counts[r] = max(counts.get(r, 0), n)", "counts[r] = counts.get(r, 0) + n"))
    assert "Runnable counterexample (shrunk):" in message
    assert "from gcounter import GCounter" in message


def test_a_counterexample_that_passes_as_printed_is_not_called_runnable(tmp_path):
    """A merge whose answer depends on hidden state (a mutable default) cannot be replayed from the
    printed calls alone: the grader re-runs the code, sees it pass, and says so."""
    message = laws_message(tmp_path, CORRECT.replace(
        "    def merge(self, other):\n",
        "    def merge(self, other, _seen=[]):\n        _seen.append(1)\n"
        "        if len(_seen) > 50 and len(_seen) % 7 == 0:\n            return GCounter({})\n"))
    assert "Runnable counterexample" not in message
    assert "did not fail when re-run as printed" in message
    assert "different results for the same calls" in message


def test_a_merge_that_changes_its_argument_names_the_argument(tmp_path):
    message = laws_message(tmp_path, CORRECT.replace(
        "        counts = dict(self.counts)\n        for r, n in other.counts.items():",
        "        counts = dict(self.counts)\n        other.counts.update(counts)\n"
        "        for r, n in other.counts.items():"))
    assert "GCounter.merge changed its argument `other`" in message


def test_grading_writes_nothing_into_the_working_directory(tmp_path, monkeypatch):
    """Hypothesis runs in the grader now; its files go to the grading cache, not ./.hypothesis."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = work / "gcounter.py"
    path.write_text(textwrap.dedent(CORRECT))
    assert exercises.check(SPEC, path, time_limit=60).passed
    assert sorted(p.name for p in work.iterdir()) == ["gcounter.py"]
    assert (tmp_path / "cache" / "replicalab" / "hypothesis").is_dir()


def _first_failure(report: exercises.Report) -> str:
    return next(r.message for r in report.results if not r.passed)


def test_a_golden_failure_called_runnable_fails_when_pasted(tmp_path):
    """The printed program, pasted beside the learner's module and run, fails on the line it marks."""
    import subprocess

    path = tmp_path / "gcounter.py"
    path.write_text(textwrap.dedent(CORRECT).replace(
        "counts[r] = max(counts.get(r, 0), n)", "counts[r] = min(counts.get(r, 0), n)"))
    message = _first_failure(exercises.check(SPEC, path, time_limit=60))
    assert "Runnable (it fails as printed, against your module):" in message
    code = textwrap.dedent(message.partition("against your module):\n\n")[2])
    assert code.startswith("from gcounter import GCounter")
    (tmp_path / "pasted.py").write_text(code)
    run = subprocess.run([sys.executable, "pasted.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "AssertionError" in run.stderr


def test_a_golden_failure_that_does_not_fail_as_printed_is_not_called_runnable(tmp_path):
    """A negative increment that is accepted: the printed call runs through, so nothing is claimed."""
    path = tmp_path / "gcounter.py"
    path.write_text(textwrap.dedent(CORRECT).replace(
        '        if type(n) is not int or n < 0:\n            raise ValueError("n must be an int >= 0")\n',
        ""))
    report = exercises.check(SPEC, path, time_limit=60)
    message = next(r.message for r in report.results if r.name == "a negative increment is refused")
    assert "expected ValueError" in message
    assert "Runnable" not in message


def test_a_wrong_merge_gets_the_same_report_before_and_after_a_correct_one(tmp_path):
    """The grader remembers the examples of a law check and streams them to the next
    submission; a failure found that way is checked again the ordinary way, in a fresh
    process, so its report does not depend on what was graded before."""
    from replicalab.exercises.kinds import laws

    wrong = CORRECT.replace("counts[r] = max(counts.get(r, 0), n)", "counts[r] = counts.get(r, 0) + n")
    laws._EXAMPLES.clear()
    (tmp_path / "first").mkdir()
    before = laws_message(tmp_path / "first", wrong)
    (tmp_path / "correct").mkdir()
    assert laws_message(tmp_path / "correct", CORRECT) == ""
    assert laws._EXAMPLES  # the correct one's examples are remembered
    (tmp_path / "second").mkdir()
    assert laws_message(tmp_path / "second", wrong) == before
    assert "merge is not idempotent" in before
