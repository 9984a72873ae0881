"""Course exercises: every exercise grades its reference, its starter and its planted bugs right.

The contract of an exercise (issue #8): the checks pass against a reference
solution (``reference.py``), fail against the untouched starter, and fail
against every planted wrong solution (``wrong_*.py``) — so no check is
vacuous. Those solutions live here, under ``tests/exercises/solutions/ID/``,
not in the package learners install (issue #21).
"""

from pathlib import Path

import pytest

from replicalab import exercises

CATALOG = exercises.catalog()
ANSWERS = Path(__file__).resolve().parent / "exercises" / "solutions"
SOLUTIONS = [(e.id, p.name) for e in CATALOG.values()
             for p in sorted((ANSWERS / e.id).glob("wrong_*.py"))]


@pytest.mark.parametrize("exercise_id", sorted(CATALOG))
def test_the_reference_solution_passes_every_check(exercise_id):
    spec = CATALOG[exercise_id]
    report = exercises.check(spec, ANSWERS / exercise_id / "reference.py")
    assert report.passed, report.text()
    assert report.score == spec.points > 0


@pytest.mark.parametrize("exercise_id", sorted(CATALOG))
def test_the_untouched_starter_fails_every_check(exercise_id):
    spec = CATALOG[exercise_id]
    report = exercises.check(spec, spec.starter)
    assert report.score == 0, report.text()


@pytest.mark.parametrize("exercise_id", sorted(CATALOG))
def test_every_exercise_plants_at_least_one_wrong_solution(exercise_id):
    assert list((ANSWERS / exercise_id).glob("wrong_*.py"))


@pytest.mark.parametrize("exercise_id, wrong", SOLUTIONS)
def test_a_planted_wrong_solution_fails_some_check(exercise_id, wrong):
    spec = CATALOG[exercise_id]
    report = exercises.check(spec, ANSWERS / exercise_id / wrong)
    assert not report.passed, f"{wrong} passes every check of {exercise_id}: a check is vacuous"
    assert 0 <= report.score < spec.points


@pytest.mark.parametrize("exercise_id", sorted(CATALOG))
def test_every_exercise_has_hints_and_a_readme_with_a_prediction(exercise_id):
    spec = CATALOG[exercise_id]
    assert len(spec.hints) >= 2 and all(c.hint for c in spec.checks)
    readme = spec.readme.read_text()
    assert "replicalab exercise check" in readme and "predict" in readme.lower()


def test_the_tutorials_page_lists_every_exercise_from_the_registry():
    import importlib.util
    from pathlib import Path

    tutorials = Path(__file__).resolve().parent.parent / "tutorials"
    spec = importlib.util.spec_from_file_location("tutorial_hooks", tutorials / "_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (tutorials / "exercises.md").read_text()
    assert hooks.EXERCISE_TABLE in page
    built = hooks.on_page_markdown(page, page=None)
    for exercise_id, exercise in CATALOG.items():
        assert f"| `{exercise_id}` | {exercise.title} |" in built
