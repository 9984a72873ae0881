"""The grader: learners' broken modules become clear reports, teachers' directories load as data.

Every learner mistake here — a syntax error, a wrong signature, an exception,
an infinite loop, ``sys.exit``, print spam — must come back as a line in the
report, never as a traceback from replicalab, and never hang.
"""

import json
import re
import textwrap
from pathlib import Path

import pytest

from replicalab import exercises
from replicalab.cli import main
from replicalab.errors import ConfigError
from replicalab.exercises import ExerciseSpecError, load_exercise

SPEC = """
id = "double"
title = "Double it"
concepts = ["warm-up"]
minutes = 1
module = "double.py"
hints = ["multiply by two", "return x * 2"]

[[checks]]
name = "doubles"
kind = "golden"
points = 2
hint = "double(3) is 6"
timeout = 2
steps = [
  { call = "double", args = [3], returns = 6 },
  { call = "double", args = [-1], returns = -2 },
]

[[checks]]
name = "refuses text"
kind = "golden"
points = 1
hint = "raise TypeError for a str"
timeout = 2
steps = [{ call = "double", args = ["x"], raises = "TypeError" }]
"""

STARTER = '''
def double(x):
    """Return 2 * x; a string raises TypeError."""
    raise NotImplementedError
'''

README = "Double it. Check with `replicalab exercise check double`. Predict: double(0)?\n"


def make_exercise(root, spec=SPEC, name="double"):
    directory = root / name
    directory.mkdir()
    (directory / "exercise.toml").write_text(spec)
    (directory / "starter.py").write_text(STARTER)
    (directory / "README.md").write_text(README)
    return directory


@pytest.fixture
def exercise(tmp_path):
    return load_exercise(make_exercise(tmp_path))


def grade(exercise, tmp_path, source, **kwargs):
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(source))
    return exercises.check(exercise, path, **kwargs)


def assert_no_replicalab_traceback(report):
    for result in report.results:
        assert "Traceback" not in result.message and "replicalab/" not in result.message


def test_a_correct_module_scores_every_point(exercise, tmp_path):
    report = grade(exercise, tmp_path, """
        def double(x):
            if isinstance(x, str):
                raise TypeError("numbers only")
            return 2 * x
    """)
    assert report.passed and report.score == report.max_score == 3


def test_a_check_that_requires_another_scores_only_when_that_one_passes(tmp_path):
    spec = SPEC.replace('timeout = 2\nsteps = [{', 'requires = ["doubles"]\ntimeout = 2\nsteps = [{')
    exercise = load_exercise(make_exercise(tmp_path, spec))
    report = grade(exercise, tmp_path, """
        def double(x):
            if isinstance(x, str):
                raise TypeError("numbers only")
            return 3 * x
    """)
    refuses = report.results[1]
    assert not refuses.passed and refuses.points == 0
    assert "withheld" in refuses.message and "'doubles'" in refuses.message


def test_a_syntax_error_is_reported_with_its_line(exercise, tmp_path):
    report = grade(exercise, tmp_path, "def double(x)\n    return 2 * x\n")
    assert report.score == 0
    message = report.results[0].message
    assert "does not compile" in message and "line 1" in message and "def double(x)" in message
    assert report.results[0].hint == ""  # the check's hint is not about syntax
    assert_no_replicalab_traceback(report)


def test_an_exception_names_the_learners_file_and_line(exercise, tmp_path):
    report = grade(exercise, tmp_path, """
        def double(x):
            return x * two
    """)
    message = report.results[0].message
    assert "NameError" in message and "solution.py:3, in double: return x * two" in message
    assert_no_replicalab_traceback(report)


def test_a_wrong_signature_says_to_keep_the_starters(exercise, tmp_path):
    report = grade(exercise, tmp_path, """
        def double():
            return 0
    """)
    assert "keep those signatures" in report.results[0].message


def test_an_infinite_loop_fails_its_check_and_the_rest_still_run(exercise, tmp_path):
    report = grade(exercise, tmp_path, """
        def double(x):
            if isinstance(x, str):
                raise TypeError("numbers only")
            while True:
                pass
    """, time_limit=1)
    loop, text = report.results
    assert not loop.passed and "did not finish within 1 s" in loop.message
    assert re.search(r"stuck at solution\.py:[56], in double", loop.message)  # the learner's file, line
    assert text.passed  # a fresh worker ran the remaining check


def test_a_loop_at_import_time_is_stopped(exercise, tmp_path, monkeypatch):
    monkeypatch.setattr("replicalab.exercises.runner.IMPORT_TIMEOUT", 0.5)
    monkeypatch.setattr("replicalab.exercises.runner.STARTUP_SLACK", 3.0)
    report = grade(exercise, tmp_path, "while True:\n    pass\n")
    assert all("importing your module did not finish" in r.message for r in report.results)
    assert re.search(r"stuck at solution\.py:[12], in <module>", report.results[0].message)


def test_sys_exit_in_the_module_cannot_end_the_grader(exercise, tmp_path):
    report = grade(exercise, tmp_path, "import sys\nsys.exit(3)\n")
    assert "SystemExit" in report.results[0].message and report.score == 0


def test_a_crash_of_the_process_is_reported(exercise, tmp_path):
    report = grade(exercise, tmp_path, """
        import os

        def double(x):
            os._exit(7)
    """)
    assert "exit code 7" in report.results[0].message
    assert len(report.results) == 2


def test_prints_do_not_corrupt_the_report_and_show_under_a_failure(exercise, tmp_path):
    report = grade(exercise, tmp_path, """
        def double(x):
            print("debug", x)
            return x
    """)
    message = report.results[0].message
    assert "expected 6, got 3" in message and "Your code printed:\n  debug 3" in message


def test_the_report_is_deterministic_and_names_no_times(exercise, tmp_path):
    source = "def double(x):\n    return x + x\n"
    first = grade(exercise, tmp_path, source, seed=4).to_json()
    assert first == grade(exercise, tmp_path, source, seed=4).to_json()
    document = json.loads(first)
    assert document["format"] == "replicalab/exercise-report" and document["seed"] == 4
    assert [c["passed"] for c in document["checks"]] == [True, False]
    assert document["score"] == 2 and document["max_score"] == 3


def test_a_missing_module_is_a_usage_error(exercise, tmp_path):
    with pytest.raises(ConfigError, match="replicalab exercise start double"):
        exercises.check(exercise, tmp_path / "nope.py")


# -- teachers' directories ----------------------------------------------------------------

def test_a_teachers_directory_is_read_as_data_and_its_code_never_runs(tmp_path):
    directory = make_exercise(tmp_path)
    (directory / "starter.py").write_text("raise SystemExit('imported!')\n")
    (directory / "reference.py").write_text("raise SystemExit('imported!')\n")
    catalog = exercises.catalog([tmp_path])
    assert catalog["double"].points == 3 and not catalog["double"].builtin
    assert "lamport" in catalog  # built-ins stay


def test_a_teacher_can_replace_a_builtin_exercise_to_set_its_points(tmp_path):
    spec = SPEC.replace('id = "double"', 'id = "lamport"').replace("points = 2", "points = 7")
    make_exercise(tmp_path, spec)
    assert exercises.get("lamport", [tmp_path]).points == 8


@pytest.mark.parametrize("change, says", [
    (('minutes = 1', 'minutes = 1\nauthor = "x"'), "unknown key"),
    (('kind = "golden"', 'kind = "shell"'), "unknown kind 'shell'"),
    (('points = 2', 'points = -1'), "'points' must be an integer >= 0"),
    (('timeout = 2\nsteps = [\n', 'timeout = 2\nrun = "rm -rf /"\nsteps = [\n'), "unknown key"),
    (('id = "double"', 'id = "Double It"'), "lower-case"),
    (('module = "double.py"', 'module = "../evil.py"'), "plain file name"),
    (('{ call = "double", args = [3], returns = 6 }', '{ call = "__import__", args = ["os"] }'),
     None),  # allowed as data: it only ever looks the name up in the learner's module
    (('title = "Double it"', 'title = 3'), "'title' must be a non-empty string"),
    (('name = "refuses text"', 'name = "doubles"'), "unique"),
    (('timeout = 2\nsteps = [{', 'requires = ["doubles"]\ntimeout = 2\nsteps = [{'), None),
    (('timeout = 2\nsteps = [{', 'requires = ["no such check"]\ntimeout = 2\nsteps = [{'),
     "requires"),
    (('timeout = 2\nsteps = [{', 'requires = "doubles"\ntimeout = 2\nsteps = [{'),
     "'requires' must be a list"),
])
def test_a_malformed_exercise_file_is_rejected_with_a_clear_error(tmp_path, change, says):
    spec = SPEC.replace(*change)
    assert spec != SPEC
    directory = make_exercise(tmp_path, spec)
    if says is None:
        load_exercise(directory)
        return
    with pytest.raises(ExerciseSpecError, match=says):
        load_exercise(directory)


def test_invalid_toml_and_missing_files_are_rejected(tmp_path):
    directory = make_exercise(tmp_path, SPEC + "\n[[checks]\n")
    with pytest.raises(ExerciseSpecError, match="not valid TOML"):
        load_exercise(directory)
    (directory / "exercise.toml").write_text(SPEC)
    (directory / "README.md").unlink()
    with pytest.raises(ExerciseSpecError, match="missing README.md"):
        load_exercise(directory)


def test_a_learner_module_named_after_a_builtin_check_is_only_looked_up_never_imported(tmp_path):
    """Data names an attribute of the learner's module, never a module to import."""
    spec = SPEC.replace('{ call = "double", args = [3], returns = 6 }',
                        '{ call = "__import__", args = ["os"] }')
    exercise = load_exercise(make_exercise(tmp_path, spec))
    report = grade(exercise, tmp_path, "def double(x):\n    return 2 * x\n")
    assert "your module has no function '__import__'" in report.results[0].message


# -- the command line -----------------------------------------------------------------------

def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_list_start_check_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(capsys, "exercise", "list")
    assert status == 0 and out.splitlines()[0].split()[:3] == ["id", "title", "concepts"]
    assert len(out.splitlines()) - 1 == len(exercises.catalog()) >= 12

    status, out, _ = run_cli(capsys, "exercise", "start", "gcounter")
    assert status == 0 and (tmp_path / "gcounter" / "gcounter.py").is_file()
    status, _, err = run_cli(capsys, "exercise", "start", "gcounter")
    assert status == 2 and "--force" in err

    status, out, _ = run_cli(capsys, "exercise", "check", "gcounter")  # finds ./gcounter/gcounter.py
    assert status == 1 and "Score: 0/" in out and "hint:" in out
    status, out, _ = run_cli(capsys, "exercise", "check", "gcounter", "--json")
    assert status == 1 and json.loads(out)["score"] == 0

    status, out, _ = run_cli(capsys, "exercise", "hint", "gcounter", "2")
    assert status == 0 and out.startswith("1. ") and "\n2. " in out and "hint gcounter 3" in out
    status, _, err = run_cli(capsys, "exercise", "hint", "nope")
    assert status == 2 and "unknown exercise 'nope'" in err


def test_cli_takes_a_teachers_directory(tmp_path, capsys):
    make_exercise(tmp_path)
    status, out, _ = run_cli(capsys, "exercise", "list", "--dir", str(tmp_path))
    assert status == 0 and "double" in out and str(tmp_path) in out
    status, _, err = run_cli(capsys, "exercise", "list", "--dir", str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err


def test_a_law_counterexample_imports_the_learners_class_not_replicalabs(tmp_path):
    """A learner's GCounter shares its name with replicalab's; the pasted counterexample must
    run the learner's class, imported under the learner's own module name."""
    path = tmp_path / "gcounter.py"
    path.write_text(textwrap.dedent("""
        class GCounter:
            def __init__(self, counts=None):
                self.counts = dict(counts or {})
            def increment(self, replica, n=1):
                return GCounter({**self.counts, replica: self.counts.get(replica, 0) + n})
            @property
            def value(self):
                return sum(self.counts.values())
            def merge(self, other):
                return GCounter({**self.counts, **other.counts})
            def __eq__(self, other):
                return self.counts == other.counts
            def __repr__(self):
                return f"GCounter({self.counts!r})"
    """))
    report = exercises.check(exercises.get("gcounter"), path)
    laws = next(r for r in report.results if r.kind == "laws")
    assert "from gcounter import GCounter" in laws.message
    assert "replicalab.crdts import" not in laws.message


def test_an_exercise_loaded_from_a_relative_path_is_graded_from_anywhere(tmp_path, monkeypatch):
    make_exercise(tmp_path)
    monkeypatch.chdir(tmp_path)
    exercise = load_exercise("double")
    (tmp_path / "work").mkdir()
    report = grade(exercise, tmp_path / "work", "def double(x):\n    return 2 * x\n")
    assert report.results[0].passed


def test_grading_leaves_nothing_beside_the_learners_module(tmp_path):
    """Hypothesis keeps a cache in the working directory; the grader points it elsewhere."""
    spec = exercises.get("gcounter")
    path = tmp_path / "gcounter.py"
    path.write_text((Path(__file__).resolve().parent / "exercises" / "solutions" / "gcounter"
                    / "reference.py").read_text())
    assert exercises.check(spec, path).passed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gcounter.py"]
