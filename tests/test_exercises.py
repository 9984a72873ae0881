"""Course exercises: every exercise grades its reference, its starter and its planted bugs right.

The contract of an exercise (issue #8): the checks pass against a reference
solution (``reference.py``), fail against the untouched starter, and fail
against every planted wrong solution (``wrong_*.py``) — so no check is
vacuous. Those solutions live here, under ``tests/exercises/solutions/ID/``,
not in the package learners install (issue #21).
"""

import re
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


#: What each planted wrong solution gets wrong: the function(s) its first failing check's hint
#: must name, so the hint points the learner at the code to change (issue #21, criterion 4).
WRONG_FUNCTIONS = {
    ("anti-entropy", "wrong_fetch_everything.py"): {"sync"},
    ("anti-entropy", "wrong_first_bucket_only.py"): {"sync"},
    ("anti-entropy", "wrong_no_deletes.py"): {"sync"},
    ("explore-invariant", "wrong_accepts_the_loss.py"): {"INVARIANT"},
    ("explore-invariant", "wrong_invariant_about_w2.py"): {"INVARIANT"},
    ("explore-invariant", "wrong_merge_item_lww.py"): {"MERGE"},
    ("choose-quorum", "wrong_smallest_r.py"): {"QUORUM_5"},
    ("choose-quorum", "wrong_strict_quorum.py"): {"QUORUM_5"},
    ("find-the-bug", "wrong_answer_commutative.py"): {"VIOLATED_LAW"},
    ("read-repair", "wrong_larger_counter_wins.py"): {"read_repair"},
    ("read-repair", "wrong_repairs_only_the_empty.py"): {"read_repair"},
    ("find-the-bug", "wrong_fix_by_max_per_page.py"): {"merge"},
    ("gcounter", "wrong_one_number.py"): {"increment", "merge"},
    ("gcounter", "wrong_sum_merge.py"): {"merge"},
    ("gossip", "wrong_fixed_peer.py"): {"on_start", "on_timer"},
    ("gossip", "wrong_flood_every_timer.py"): {"on_timer"},
    ("gossip", "wrong_send_once.py"): {"on_start", "on_timer"},
    ("hlc", "wrong_ignores_remote_counter.py"): {"receive"},
    ("hlc", "wrong_ignores_remote_wall.py"): {"receive"},
    ("hlc", "wrong_resets_on_new_wall.py"): {"receive"},
    ("lamport", "wrong_no_plus_one.py"): {"receive"},
    ("london-fix", "wrong_incoming_header.py"): {"merge"},
    ("london-fix", "wrong_item_lww.py"): {"merge"},
    ("lww-register", "wrong_assign_overwrites.py"): {"assign"},
    ("lww-register", "wrong_self_wins_ties.py"): {"merge"},
    ("merkle-diff", "wrong_keys_only.py"): {"diff"},
    ("merkle-diff", "wrong_reads_every_bucket.py"): {"diff"},
    ("mv-register", "wrong_keeps_latest.py"): {"merge"},
    ("mv-register", "wrong_union_merge.py"): {"merge"},
    ("orset", "wrong_drops_common_dots.py"): {"merge"},
    ("own-requests", "wrong_moves_the_job.py"): {"REQUESTS"},
    ("own-requests", "wrong_portal_only.py"): {"REQUESTS"},
    ("own-requests", "wrong_stale_expectation.py"): {"REQUESTS"},
    ("orset", "wrong_no_context.py"): {"remove"},
    ("orset", "wrong_tombstones.py"): {"remove", "merge"},
    ("pncounter", "wrong_one_slot_with_negative_deltas.py"): {"decrement"},
    ("vector-clock", "wrong_merge_overwrites.py"): {"merge"},
    ("vector-clock", "wrong_smaller_somewhere.py"): {"compare"},
    ("vector-clock", "wrong_zeros_count.py"): {"compare"},
    ("version-forks", "wrong_per_key.py"): {"find_forks"},
    ("version-forks", "wrong_unsorted.py"): {"find_forks"},
    ("version-forks", "wrong_unversioned_as_zero.py"): {"find_forks"},
}


def test_every_planted_wrong_solution_says_which_function_is_wrong():
    assert sorted(WRONG_FUNCTIONS) == sorted(SOLUTIONS)


@pytest.mark.parametrize("exercise_id, wrong", SOLUTIONS)
def test_a_planted_wrong_solution_fails_some_check(exercise_id, wrong):
    """...and the hint shown, the one of the check that failed first, names the function to fix."""
    spec = CATALOG[exercise_id]
    report = exercises.check(spec, ANSWERS / exercise_id / wrong)
    assert not report.passed, f"{wrong} passes every check of {exercise_id}: a check is vacuous"
    assert 0 <= report.score < spec.points
    first = next(r for r in report.results if not r.passed)
    assert first.hint == spec.check_named(first.name).hint
    assert f"hint: {first.hint}" in report.text()
    named = {name for name in WRONG_FUNCTIONS[(exercise_id, wrong)]
             if re.search(rf"(?<!\w){re.escape(name)}\b", first.hint)}
    assert named, f"the hint of {first.name!r} names none of {WRONG_FUNCTIONS[(exercise_id, wrong)]}"


@pytest.mark.parametrize("exercise_id", sorted(CATALOG))
def test_every_exercise_has_hints_and_a_readme_with_a_prediction(exercise_id):
    spec = CATALOG[exercise_id]
    assert len(spec.hints) >= 2 and all(c.hint for c in spec.checks)
    readme = spec.readme.read_text()
    assert "replicalab exercise check" in readme and "predict" in readme.lower()


def test_the_tutorials_page_lists_every_exercise_from_the_registry():
    import importlib.util

    tutorials = Path(__file__).resolve().parent.parent / "tutorials"
    spec = importlib.util.spec_from_file_location("tutorial_hooks", tutorials / "_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (tutorials / "exercises.md").read_text()
    assert hooks.EXERCISE_TABLE in page
    built = hooks.on_page_markdown(page, page=None)
    for exercise_id, exercise in CATALOG.items():
        assert f"| `{exercise_id}` | {exercise.title} |" in built
