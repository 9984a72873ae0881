"""``replicalab exercise grade``: a teacher grades a class, one row per student, none affecting another."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from replicalab import exercises
from replicalab.cli import main
from replicalab.errors import ConfigError
from replicalab.exercises import classroom

SPEC = exercises.get("lamport")
ANSWERS = Path(__file__).resolve().parent / "solutions" / "lamport"


@pytest.fixture
def submissions(tmp_path):
    """alice solved it (a file), bob handed in the starter (a folder), carol a planted bug under
    another name, dave an empty folder, and eve a module that tries to spoil the others' runs."""
    root = tmp_path / "class"
    root.mkdir()
    shutil.copy(ANSWERS / "reference.py", root / "alice.py")
    (root / "bob").mkdir()
    shutil.copy(SPEC.starter, root / "bob" / "lamport.py")
    (root / "carol").mkdir()
    shutil.copy(ANSWERS / "wrong_no_plus_one.py", root / "carol" / "mine.py")
    (root / "dave").mkdir()
    (root / "eve.py").write_text(
        "import os, sys\n"
        "for name in ('alice.py', '../alice.py', 'lamport.py'):\n"
        "    try:\n        open(name, 'w').write('raise SystemExit(1)')\n"
        "    except OSError:\n        pass\n"
        "sys.modules['replicalab'] = None\n"
        + (ANSWERS / "reference.py").read_text())
    return root


def test_every_student_gets_a_row_sorted_by_name(submissions):
    rows = classroom.grade(SPEC, submissions, jobs=2)
    assert [r.student for r in rows] == ["alice", "bob", "carol", "dave", "eve"]
    scores = {r.student: r.score for r in rows}
    assert scores["alice"] == SPEC.points  # eve sabotaged only her own worker
    assert scores["bob"] == 0 and 0 < scores["carol"] < SPEC.points and scores["dave"] == 0
    assert "no lamport.py" in rows[3].problem
    assert (submissions / "alice.py").read_text() == (ANSWERS / "reference.py").read_text()


def test_grades_are_the_same_bytes_graded_one_at_a_time_or_in_parallel(submissions):
    one = classroom.to_json(SPEC, classroom.grade(SPEC, submissions, jobs=1))
    two = classroom.to_json(SPEC, classroom.grade(SPEC, submissions, jobs=2))
    assert one == two
    assert json.loads(one)["students"][0]["checks"]


def test_the_command_prints_csv_and_json(submissions, capsys):
    assert main(["exercise", "grade", "lamport", str(submissions), "--csv", "--jobs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("student,score,max_score,passed,")
    assert lines[1].startswith(f"alice,{SPEC.points},{SPEC.points},yes,")
    assert len(lines) == 6
    assert main(["exercise", "grade", "lamport", str(submissions), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "replicalab/exercise-grades"


def test_a_missing_or_empty_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        classroom.grade(SPEC, tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="holds no submissions"):
        classroom.grade(SPEC, tmp_path)
    with pytest.raises(ConfigError, match="jobs"):
        classroom.grade(SPEC, tmp_path, jobs=0)
