"""No answers in the box: an exercise file must not give its right answer away.

A digest of the right answer next to a short list of choices falls out by hashing
each choice; the find-the-bug answer is instead found when grading, by running the
law checker on the starter's own ``Bag``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from replicalab import exercises
from replicalab.errors import ConfigError
from replicalab.exercises.kinds import validate_params
from replicalab.exercises.kinds.answer import digest, violated_law

SOLUTIONS = Path(__file__).resolve().parent / "solutions" / "find-the-bug"
SPEC = exercises.get("find-the-bug")


def _answer_check(spec: exercises.ExerciseSpec) -> exercises.CheckSpec:
    return next(c for c in spec.checks if c.kind == "answer")


def test_no_choice_of_any_exercise_hashes_to_a_value_in_its_file():
    for exercise_id, spec in exercises.catalog().items():
        text = (spec.directory / "exercise.toml").read_text()
        for check in spec.checks:
            for choice in check.params.get("choices", ()):
                assert digest(choice) not in text, (exercise_id, choice)


def test_the_merkle_prediction_is_counted_when_grading():
    from replicalab.exercises.kinds.answer import COMPUTED

    assert COMPUTED["merkle-one-key-descent-reads"]() == "132"  # 1 root + 4 levels of 16 + 1 bucket, twice
    text = (exercises.get("merkle-diff").directory / "exercise.toml").read_text()
    assert digest("132") not in text


def test_the_violated_law_is_found_by_running_the_checker_on_the_starter():
    check = _answer_check(SPEC)
    law = violated_law(SPEC.starter, "Bag", json.dumps(check.params["ops"], sort_keys=True))
    assert law == "idempotent"


def test_the_right_law_scores_and_another_does_not(tmp_path):
    source = (SOLUTIONS / "reference.py").read_text()
    for answer, passed in (("idempotent", True), ("Idempotent ", True), ("commutative", False)):
        path = tmp_path / "page_views.py"
        path.write_text(source.replace('VIOLATED_LAW = "idempotent"', f'VIOLATED_LAW = {answer!r}'))
        result = next(r for r in exercises.check(SPEC, path).results if r.kind == "answer")
        assert result.passed is passed, (answer, result.message)


def test_the_answer_follows_the_starter_not_the_exercise_file(tmp_path):
    """A teacher who plants another bug in Bag gets that law as the answer, with no digest to update."""
    directory = tmp_path / "find-the-bug"
    shutil.copytree(SPEC.directory, directory)
    starter = directory / "starter.py"
    starter.write_text(starter.read_text().replace(
        "return Bag({p: self.counts.get(p, 0) + other.counts.get(p, 0) for p in pages})",
        "return Bag({p: max(self.counts.get(p, 0), other.counts.get(p, 0)) + (p in self.counts)"
        " for p in pages})"))
    spec = exercises.load_exercise(directory)
    path = tmp_path / "page_views.py"
    path.write_text((SOLUTIONS / "reference.py").read_text())
    result = next(r for r in exercises.check(spec, path).results if r.kind == "answer")
    assert not result.passed  # this Bag is not commutative before it is anything else
    path.write_text(path.read_text().replace('VIOLATED_LAW = "idempotent"',
                                             'VIOLATED_LAW = "commutative"'))
    result = next(r for r in exercises.check(spec, path).results if r.kind == "answer")
    assert result.passed, result.message


@pytest.mark.parametrize("params, says", [
    ({"attribute": "A", "choices": ["x", "y"], "sha256": digest("x")}, "gives the answer away"),
    ({"attribute": "A", "sha256": digest("132")}, "gives the answer away"),
    ({"attribute": "A", "computed": "no-such-thing"}, "must be one of"),
    ({"attribute": "A"}, "exactly one of"),
    ({"attribute": "A", "sha256": digest("x"), "law_of": "Bag"}, "exactly one of"),
    ({"attribute": "A", "law_of": "Bag"}, "needs ops"),
])
def test_an_answer_that_the_file_would_give_away_is_refused(params, says):
    with pytest.raises(ConfigError, match=says):
        validate_params("answer", params)
