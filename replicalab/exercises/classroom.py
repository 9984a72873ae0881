"""Grading a class: one row per student, graded in parallel, each in its own sandbox.

``SUBMISSIONS_DIR`` holds one entry per student: a file ``NAME.py`` (the
student is ``NAME``) or a folder ``NAME/`` holding the exercise's module
(``gcounter.py``) or a single ``.py`` file; a student with both (``alice.py`` and
``alice/``) gets one row that grades neither and names the clash. Every submission is graded by
:func:`replicalab.exercises.check` in a grader process of its own (so no
Hypothesis state or import is shared), which starts its own sandboxed
worker, so one submission can never affect another. Rows come back sorted
by student, whatever order the graders finished in; there are no timings,
so the same submissions and seed give the same table.

    replicalab exercise grade gcounter submissions/ [--json | --csv] [--jobs N]
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from replicalab.errors import ConfigError
from replicalab.exercises.report import Report
from replicalab.exercises.spec import ExerciseSpec
from replicalab.trace import canonical_json

__all__ = ["Row", "grade", "submissions", "to_csv", "to_json", "to_text"]

GRADES_FORMAT = "replicalab/exercise-grades"


@attrs.frozen
class Row:
    """One student's result: the report, or why there was nothing to grade."""

    student: str
    path: str
    report: Report | None
    problem: str = ""

    @property
    def score(self) -> int:
        return self.report.score if self.report is not None else 0


def submissions(exercise: ExerciseSpec, directory: str | Path) -> list[tuple[str, Path | None, str]]:
    """``(student, module path or None, problem)`` for every entry of ``directory``, sorted."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"submissions directory {str(root)!r} does not exist (one file or "
                          "folder per student)")
    found: list[tuple[str, Path | None, str]] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file() and entry.suffix == ".py":
            found.append((entry.stem, entry, ""))
        elif entry.is_dir():
            named = entry / exercise.module
            modules = sorted(p for p in entry.glob("*.py"))
            if named.is_file():
                found.append((entry.name, named, ""))
            elif len(modules) == 1:
                found.append((entry.name, modules[0], ""))
            else:
                found.append((entry.name, None, f"no {exercise.module} in the folder" + (
                    f" and {len(modules)} other .py files: which one?" if modules else "")))
    if not found:
        raise ConfigError(f"{str(root)!r} holds no submissions (NAME.py files or NAME/ folders)")
    return _one_per_student(found)


def _one_per_student(found: list[tuple[str, Path | None, str]]) -> list[tuple[str, Path | None, str]]:
    """One entry per student, sorted by student: ``NAME.py`` beside a folder ``NAME/`` names one
    student twice.
    Neither is graded (which one counts is the teacher's call); the entry says which clash.
    Without this, a row could show the grade of the other entry."""
    entries: dict[str, list[tuple[Path | None, str]]] = {}
    for student, path, problem in found:
        entries.setdefault(student, []).append((path, problem))
    out: list[tuple[str, Path | None, str]] = []
    for student, given in sorted(entries.items()):  # by student, not by entry name ("bob-x" < "bob.py")
        if len(given) == 1:
            out.append((student, *given[0]))
        else:
            out.append((student, None, f"both {student}.py and {student}/ are submissions of "
                                       f"{student}: keep one"))
    return out


def _grade_one(exercise: ExerciseSpec, path: str, seed: int,
               time_limit: float | None) -> Report:
    from replicalab.exercises.runner import check

    return check(exercise, path, seed=seed, time_limit=time_limit)


def grade(exercise: ExerciseSpec, directory: str | Path, *, seed: int = 0,
          time_limit: float | None = None, jobs: int | None = None) -> list[Row]:
    """Grade every submission in ``directory``; ``jobs`` graders at once (default: the cores)."""
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"jobs must be an integer >= 1, got {jobs!r}")
    found = submissions(exercise, directory)
    workers = jobs or os.cpu_count() or 1
    rows: dict[str, Row] = {}
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing shared
    with ProcessPoolExecutor(max_workers=min(workers, len(found)), mp_context=context) as pool:
        futures = {student: pool.submit(_grade_one, exercise, str(path), seed, time_limit)
                   for student, path, _ in found if path is not None}
        for student, path, problem in found:
            if path is None:
                rows[student] = Row(student, "", None, problem)
                continue
            try:
                report = futures[student].result()
            except ConfigError as error:
                rows[student] = Row(student, str(path), None, str(error))
                continue
            rows[student] = Row(student, str(path), report)
    return [rows[student] for student, _, _ in found]


def to_plain(exercise: ExerciseSpec, rows: list[Row]) -> dict[str, Any]:
    """The grades as plain data (what ``--json`` prints)."""
    return {
        "format": GRADES_FORMAT,
        "schema_version": 1,
        "exercise": exercise.id,
        "max_score": exercise.points,
        "students": [{"student": r.student, "module": Path(r.path).name if r.path else None,
                      "score": r.score, "passed": r.report.passed if r.report else False,
                      "problem": r.problem,
                      "checks": {c.name: c.points for c in r.report.results} if r.report else {}}
                     for r in rows],
    }


def to_json(exercise: ExerciseSpec, rows: list[Row]) -> str:
    """Canonical JSON of the grades."""
    return canonical_json(to_plain(exercise, rows))


def to_csv(exercise: ExerciseSpec, rows: list[Row]) -> str:
    """One line per student: student, score, max score, passed, then the points of every check.

    The student's name (a file name) and the problem text come from submissions, so a text
    cell a spreadsheet would read as a formula (starting ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return) is written with a leading ``'``, as OWASP advises against CSV
    injection: the gradebook opens as text, never runs what a student named a file. So is
    such a character after a ``;`` or a tab inside a cell: a spreadsheet set to split on those
    (``;`` is the separator where ``,`` is the decimal mark) starts a cell there, and the
    writer quotes only cells holding a ``,``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "passed", *(c.name for c in exercise.checks),
                     "problem"])
    for r in rows:
        points = {c.name: c.points for c in r.report.results} if r.report else {}
        writer.writerow([_inert(r.student), r.score, exercise.points,
                         "yes" if r.report and r.report.passed else "no",
                         *(points.get(c.name, 0) for c in exercise.checks), _inert(r.problem)])
    return out.getvalue()


#: Where a spreadsheet may start a cell inside one of ours (the text's start, or after a ``;``
#: or a tab, the separators of other locales and imports) followed by a formula's first character.
_CELL_START = re.compile(r"(?<![^;\t])(?=[=+\-@\t\r])")


def _inert(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: a ``'`` before a formula's first character
    wherever a spreadsheet may start a cell (see :func:`to_csv`)."""
    return _CELL_START.sub("'", text)


def to_text(exercise: ExerciseSpec, rows: list[Row]) -> str:
    """A table for people: a line per student with the first failing check."""
    from replicalab.exercises.sandbox import clean_text

    names = {r.student: _one_line(r.student) for r in rows}
    width = max(len(name) for name in names.values())
    lines = [f"{exercise.id} — {exercise.title}: {len(rows)} submissions", ""]
    for r in rows:
        if r.report is None:
            note = _one_line(r.problem)
        else:
            failing = [c for c in r.report.results if not c.passed]
            note = ("all checks pass" if not failing
                    else f"first failure: {failing[0].name}: "
                    f"{clean_text(failing[0].message).splitlines()[0][:80] if failing[0].message else ''}")
        lines.append(f"  {names[r.student]:<{width}}  {r.score:>3}/{exercise.points:<3}  {note}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """``text`` with every unprintable character escaped (``\\x1b``, ``\\r``, ``\\n``): a
    student's name is a file name, which may hold ANSI escapes and line breaks, and printed
    raw it could draw a row of its own (a full score, another student) on the teacher's
    terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
