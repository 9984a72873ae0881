"""Law-check examples remembered on disk: the same examples Hypothesis draws, and no way in for a learner.

The streamed first pass of a law check replays the examples Hypothesis drew the first
time the check ran on this install (``replicalab.exercises.kinds.law_examples``). That
is only sound if the replayed list is exactly what Hypothesis would draw, and only safe
if no submission can write the file: a planted list of easy examples would pass a wrong
merge on the streamed pass.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from replicalab import exercises
from replicalab.exercises.kinds import law_examples, laws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_attacks import CORRECT, SPEC, attack  # noqa: E402

WRONG = CORRECT.replace("counts[r] = max(counts.get(r, 0), n)", "counts[r] = counts.get(r, 0) + n")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test its own cache directory and an empty memory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    saved = dict(law_examples.MEMORY)
    law_examples.MEMORY.clear()
    yield
    law_examples.MEMORY.clear()
    law_examples.MEMORY.update(saved)


def _laws(report: exercises.Report) -> exercises.CheckResult:
    return next(r for r in report.results if r.kind == "laws")


def _stored() -> list[Path]:
    return sorted(law_examples.directory().glob("*.json"))


def test_examples_read_back_from_disk_are_the_ones_hypothesis_drew(tmp_path):
    """Graded once, the check's examples are on disk; decoded, they equal the examples that ran,
    and a fresh process's first check (memory empty) replays them and passes the same way."""
    correct = tmp_path / "gcounter.py"
    correct.write_text(textwrap.dedent(CORRECT))
    assert exercises.check(SPEC, correct).passed
    (drawn,) = law_examples.MEMORY.values()
    (path,) = _stored()
    (key,) = law_examples.MEMORY
    law_examples.MEMORY.clear()
    assert law_examples.recall(key, disk=True) == drawn
    assert json.loads(path.read_text())["generated_by"]["replicalab"]
    law_examples.MEMORY.clear()
    assert exercises.check(SPEC, correct).passed
    assert not _laws(exercises.check(SPEC, _write(tmp_path, WRONG))).passed


def _write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "wrong" / "gcounter.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def test_a_changed_or_stale_file_is_ignored_and_replaced(tmp_path, monkeypatch):
    correct = tmp_path / "gcounter.py"
    correct.write_text(textwrap.dedent(CORRECT))
    exercises.check(SPEC, correct)
    (key,) = law_examples.MEMORY
    drawn = law_examples.MEMORY[key]
    (path,) = _stored()
    original = path.read_text()
    document = json.loads(original)
    easy = dict(document, examples=document["examples"][:1])  # the digest left as it was
    changes = {"examples": json.dumps(easy), "digest": json.dumps(dict(document, digest="0" * 64)),
               "truncated": original[:1000], "not json": "{", "a list": "[]",
               "no examples, digest valid": json.dumps(
                   dict(document, examples=[], digest=law_examples._digest(key, [])))}
    for change, text in changes.items():
        path.write_text(text)
        law_examples.MEMORY.clear()
        assert law_examples.recall(key, disk=True) is None, change
    path.write_text(original)
    with monkeypatch.context() as patch:  # drawn by another version (or edited code)
        patch.setattr(law_examples, "_generated_by", lambda: {"replicalab": "0.0.0"})
        law_examples.MEMORY.clear()
        assert law_examples.recall(key, disk=True) is None
    law_examples.MEMORY.clear()
    assert law_examples.recall(key, disk=True) == drawn
    path.write_text(changes["examples"])
    law_examples.MEMORY.clear()
    assert exercises.check(SPEC, correct).passed
    law_examples.MEMORY.clear()
    assert law_examples.recall(key, disk=True) == drawn  # generated again, stored again


def test_without_read_only_workers_the_disk_is_neither_read_nor_written(tmp_path, monkeypatch):
    from replicalab.exercises import sandbox

    monkeypatch.setattr(sandbox, "workers_read_only", lambda: False)
    correct = tmp_path / "gcounter.py"
    correct.write_text(textwrap.dedent(CORRECT))
    assert exercises.check(SPEC, correct).passed
    assert _stored() == [] and laws._EXAMPLES  # remembered in memory only


#: A submission with a wrong merge that first plants, where the grader keeps law-check
#: examples, a file with one easy example and a valid digest (replicalab's own code computes
#: it): if the file got there, the check that runs next would replay it and pass the laws.
PLANTER = WRONG + '''
def _plant():
    import json, os
    from replicalab import exercises
    from replicalab.exercises.kinds import law_examples, laws
    from replicalab.exercises.kinds.common import CheckContext
    from replicalab.testing import Call
    from replicalab.testing.schedules import Apply, Schedule

    os.environ["XDG_CACHE_HOME"] = CACHE
    check = next(c for c in exercises.get("gcounter").checks if c.kind == "laws")
    key = laws._key(CheckContext(module=None, params=check.params, seed=0))
    easy = [(Schedule(2, (Apply(0, Call("increment", "a", 1, at="a")),)), (0, 0, 0))]
    encoded = law_examples._encode(easy)
    document = {"format": law_examples.FORMAT, "schema_version": law_examples.SCHEMA_VERSION,
                "key": key, "examples": encoded, "digest": law_examples._digest(key, encoded)}
    try:
        law_examples.directory().mkdir(parents=True, exist_ok=True)
        law_examples._path(key).write_text(json.dumps(document))
    except OSError:
        pass

_plant()
'''


def test_a_submission_cannot_plant_examples_for_its_own_check_or_the_next(tmp_path):
    from replicalab.exercises.sandbox import workers_read_only

    cache = tmp_path / "cache"
    report = attack(tmp_path, PLANTER.replace("= CACHE", f"= {str(cache)!r}"))
    assert not _laws(report).passed
    law_examples.MEMORY.clear()  # as in a fresh grader process
    assert not _laws(exercises.check(SPEC, _write(tmp_path, WRONG))).passed
    if workers_read_only():  # then the only file there is the grader's, with every example
        (path,) = _stored()
        (key,) = law_examples.MEMORY
        law_examples.MEMORY.clear()
        assert len(law_examples.recall(key, disk=True) or []) > 1
