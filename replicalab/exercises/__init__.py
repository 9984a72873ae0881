"""Course exercises: learners implement the primitives, replicalab checks them.

Every exercise is a directory of data (see :mod:`replicalab.exercises.spec`):
what it teaches, the starter module a learner fills in, and the checks that
grade it — worked examples, CRDT laws with shrunk counterexamples, oracle
comparisons against replicalab's own implementation, scenario verdicts from
the write ledger. Grading runs the learner's code in a separate process with
a time limit per check (:mod:`replicalab.exercises.runner`).

From the command line::

    replicalab exercise list
    replicalab exercise start gcounter            # writes gcounter/gcounter.py and README.md
    replicalab exercise check gcounter gcounter/gcounter.py [--json] [--seed N]
    replicalab exercise hint gcounter 2           # the first two hints

Teachers add their own exercises with ``--dir DIR`` (or the
``REPLICALAB_EXERCISES`` environment variable, paths separated by
``os.pathsep``): ``DIR`` is an exercise directory or holds several. An
exercise there with the id of a built-in one replaces it (to change its
points, say). Loading reads data only; nothing in a teacher's directory runs
until a learner's module is checked.

    >>> from replicalab import exercises
    >>> spec = exercises.get("lamport")
    >>> spec.title, spec.module, [c.kind for c in spec.checks]
    ('Lamport clock', 'lamport.py', ['golden', 'golden', 'golden', 'oracle'])
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from replicalab.errors import ConfigError
from replicalab.exercises.report import CheckResult, Report
from replicalab.exercises.runner import check
from replicalab.exercises.spec import (
    SPEC_FILE,
    CheckSpec,
    ExerciseSpec,
    ExerciseSpecError,
    load_exercise,
)

__all__ = [
    "BUILTIN",
    "CheckResult",
    "CheckSpec",
    "ExerciseSpec",
    "ExerciseSpecError",
    "Report",
    "catalog",
    "check",
    "extra_dirs",
    "get",
    "hints",
    "load_exercise",
    "start",
]

#: Where the built-in exercises live.
BUILTIN = Path(__file__).resolve().parent / "builtin"
ENVIRONMENT = "REPLICALAB_EXERCISES"


def extra_dirs(given: Iterable[str | Path] = ()) -> list[Path]:
    """Teachers' exercise directories: ``given`` plus those in ``$REPLICALAB_EXERCISES``."""
    from_env = [p for p in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if p]
    return [Path(p) for p in [*given, *from_env]]


def _exercise_dirs(root: Path) -> list[Path]:
    if (root / SPEC_FILE).is_file():
        return [root]
    if not root.is_dir():
        raise ConfigError(f"exercise directory {str(root)!r} does not exist")
    found = sorted(p for p in root.iterdir() if (p / SPEC_FILE).is_file())
    if not found:
        raise ConfigError(f"{str(root)!r} holds no exercise (no {SPEC_FILE} in it or in its "
                          "subdirectories)")
    return found


def catalog(dirs: Iterable[str | Path] = ()) -> dict[str, ExerciseSpec]:
    """Every exercise by id, sorted: the built-in ones, then teachers' ``dirs`` (see module docs)."""
    exercises = {}
    for directory in sorted(p for p in BUILTIN.iterdir() if (p / SPEC_FILE).is_file()):
        spec = load_exercise(directory, builtin=True)
        exercises[spec.id] = spec
    teachers: dict[str, Path] = {}
    for root in extra_dirs(dirs):
        for directory in _exercise_dirs(root):
            spec = load_exercise(directory)
            if spec.id in teachers:
                raise ExerciseSpecError(f"two exercises have id {spec.id!r}: {teachers[spec.id]} "
                                        f"and {directory}")
            teachers[spec.id] = directory
            exercises[spec.id] = spec
    return dict(sorted(exercises.items()))


def get(exercise_id: str, dirs: Iterable[str | Path] = ()) -> ExerciseSpec:
    """The exercise called ``exercise_id``; an unknown id lists the known ones."""
    known = catalog(dirs)
    if exercise_id not in known:
        raise ConfigError(f"unknown exercise {exercise_id!r}; exercises are: {', '.join(known)}")
    return known[exercise_id]


def start(exercise: ExerciseSpec, directory: str | Path | None = None, *,
          force: bool = False) -> list[Path]:
    """Write the starter module and README of ``exercise`` into ``directory`` (default ``./ID``).

    Refuses to overwrite existing files unless ``force``. Returns the paths written.
    """
    target = Path(directory) if directory is not None else Path(exercise.id)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} exists and is not a directory; choose a directory to write "
                          f"{exercise.module} and README.md into")
    files = {target / exercise.module: exercise.starter, target / "README.md": exercise.readme}
    existing = [str(p) for p in files if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} already exist(s); pass --force to overwrite "
                          "(your work would be lost) or choose another directory")
    target.mkdir(parents=True, exist_ok=True)
    for path, source in files.items():
        path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8", newline="\n")
    return list(files)


def hints(exercise: ExerciseSpec, upto: int = 1) -> list[str]:
    """The first ``upto`` progressive hints (all of them if ``upto`` is larger)."""
    if isinstance(upto, bool) or not isinstance(upto, int) or upto < 1:
        raise ConfigError(f"hint number must be an integer >= 1, got {upto!r}")
    if not exercise.hints:
        raise ConfigError(f"exercise {exercise.id} has no hints")
    return list(exercise.hints[:upto])
