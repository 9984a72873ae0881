"""Exercise definitions: a directory of data, read without running any of it.

An exercise is a directory holding ``exercise.toml`` (what the exercise is and
which checks grade it), ``starter.py`` (the module a learner starts from:
contracts in docstrings, bodies raising ``NotImplementedError``) and
``README.md`` (the task, for people). The built-in exercises' reference
solutions and planted wrong solutions are not shipped with the package (a
learner could copy them): they live in the source tree, under
``tests/exercises/solutions/ID/``. Teachers' directories may hold their own.

Loading is pure data: TOML is parsed, keys are allow-listed, types checked.
Nothing named in the file is imported or executed; a check's ``kind`` picks
one of replicalab's own check implementations (:mod:`replicalab.exercises.kinds`)
and the rest of the check's table is that kind's parameters.

``exercise.toml``::

    id = "lamport"                      # lower-case letters, digits and '-'
    title = "Lamport clock"
    concepts = ["logical time", "happens-before"]
    minutes = 20                        # estimated time
    module = "lamport.py"               # the file `start` writes and `check` grades
    hints = ["first hint", "second"]    # progressive: `replicalab exercise hint ID N`

    [[checks]]
    name = "the paper's example"        # unique within the exercise
    kind = "golden"                     # see replicalab.exercises.kinds
    points = 3                          # >= 0
    hint = "shown when this is the first failing check"
    timeout = 10                        # seconds (optional, default 10)
    requires = ["another check"]        # scores only if these checks pass too (optional)
    # ... the kind's own keys ...
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import attrs

from replicalab.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CheckSpec", "ExerciseSpec", "ExerciseSpecError", "load_exercise"]

SPEC_FILE = "exercise.toml"
STARTER_FILE = "starter.py"
README_FILE = "README.md"
REFERENCE_FILE = "reference.py"
DEFAULT_TIMEOUT = 10.0
MAX_SPEC_BYTES = 256_000
_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_MODULE = re.compile(r"^[a-z_][a-z0-9_]{0,39}\.py$")


class ExerciseSpecError(ConfigError):
    """An exercise directory or its ``exercise.toml`` is not well formed."""


@attrs.frozen
class CheckSpec:
    """One graded check: a kind, its points, and the kind's parameters (plain data)."""

    name: str
    kind: str
    points: int
    hint: str = ""
    timeout: float = DEFAULT_TIMEOUT
    params: dict[str, Any] = attrs.field(factory=dict)
    #: Checks of the same exercise that must pass for this one to score (a law check holds
    #: vacuously for a type whose ops change nothing: it requires a check of the values).
    requires: tuple[str, ...] = ()


@attrs.frozen
class ExerciseSpec:
    """An exercise as data: what it teaches, what the learner writes, how it is graded."""

    id: str
    title: str
    concepts: tuple[str, ...]
    minutes: int
    module: str
    hints: tuple[str, ...]
    checks: tuple[CheckSpec, ...]
    directory: Path = attrs.field(eq=False)
    builtin: bool = False

    @property
    def points(self) -> int:
        """The most a solution can score."""
        return sum(c.points for c in self.checks)

    @property
    def starter(self) -> Path:
        """The starter module's path."""
        return self.directory / STARTER_FILE

    @property
    def readme(self) -> Path:
        """The task description's path."""
        return self.directory / README_FILE

    def check_named(self, name: str) -> CheckSpec:
        """The check called ``name``."""
        for check in self.checks:
            if check.name == name:
                return check
        raise ExerciseSpecError(f"exercise {self.id} has no check {name!r}; checks are "
                                f"{[c.name for c in self.checks]}")


def _fail(where: Path, message: str) -> ExerciseSpecError:
    return ExerciseSpecError(f"{where}: {message}")


def _string(table: dict[str, Any], key: str, where: Path, *, required: bool = True,
            default: str = "") -> str:
    value = table.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(where, f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _number(value: Any, key: str, where: Path, *, minimum: float, integer: bool) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        what = "an integer" if integer else "a number"
        raise _fail(where, f"{key!r} must be {what} >= {minimum}, got {value!r}")
    return value


def _strings(table: dict[str, Any], key: str, where: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, f"{key!r} must be a list of non-empty strings, got {value!r}")
    return tuple(value)


_TOP = {"id", "title", "concepts", "minutes", "module", "hints", "checks"}
_CHECK = {"name", "kind", "points", "hint", "timeout", "requires"}


def _check(table: Any, where: Path, index: int) -> CheckSpec:
    from replicalab.exercises.kinds import KINDS, validate_params

    if not isinstance(table, dict):
        raise _fail(where, f"checks[{index}] must be a table, got {table!r}")
    name = _string(table, "name", where)
    kind = _string(table, "kind", where)
    if kind not in KINDS:
        raise _fail(where, f"check {name!r} has unknown kind {kind!r}; kinds are: "
                           f"{', '.join(sorted(KINDS))}")
    points = _number(table.get("points"), "points", where, minimum=0, integer=True)
    timeout = float(_number(table.get("timeout", DEFAULT_TIMEOUT), "timeout", where,
                            minimum=0.1, integer=False))
    params = {k: v for k, v in table.items() if k not in _CHECK}
    try:
        validate_params(kind, params)
    except ConfigError as error:
        raise _fail(where, f"check {name!r}: {error}") from None
    return CheckSpec(name=name, kind=kind, points=points,
                     hint=_string(table, "hint", where, required=False), timeout=timeout,
                     params=params, requires=_strings(table, "requires", where))


def load_exercise(directory: str | Path, *, builtin: bool = False) -> ExerciseSpec:
    """Read and validate the exercise in ``directory``; raise :class:`ExerciseSpecError` if bad.

    Nothing is executed: the TOML is parsed and every key checked.
    """
    directory = Path(directory).resolve()  # graded from another working directory
    where = directory / SPEC_FILE
    if not where.is_file():
        raise _fail(directory, f"no {SPEC_FILE} here; an exercise directory holds {SPEC_FILE}, "
                               f"{STARTER_FILE} and {README_FILE}")
    raw = where.read_bytes()
    if len(raw) > MAX_SPEC_BYTES:
        raise _fail(where, f"is {len(raw)} bytes; the limit is {MAX_SPEC_BYTES}")
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise _fail(where, f"is not valid TOML: {error}") from None
    unknown = sorted(set(table) - _TOP)
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown}; allowed: {sorted(_TOP)}")
    exercise_id = _string(table, "id", where)
    if not _ID.match(exercise_id):
        raise _fail(where, f"id {exercise_id!r} must be lower-case letters, digits and '-' "
                           "(starting with a letter, at most 40)")
    module = _string(table, "module", where)
    if not _MODULE.match(module):
        raise _fail(where, f"module {module!r} must be a plain file name like 'lamport.py'")
    checks_raw = table.get("checks")
    if not isinstance(checks_raw, list) or not checks_raw:
        raise _fail(where, "needs at least one [[checks]] table")
    checks = tuple(_check(c, where, i) for i, c in enumerate(checks_raw))
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise _fail(where, f"check names must be unique, got {names}")
    for c in checks:
        unknown = [r for r in c.requires if r not in names or r == c.name]
        if unknown:
            raise _fail(where, f"check {c.name!r} requires {unknown}, which are not other checks "
                               f"of this exercise: {names}")
    for required in (STARTER_FILE, README_FILE):
        if not (directory / required).is_file():
            raise _fail(directory, f"is missing {required}")
    return ExerciseSpec(
        id=exercise_id,
        title=_string(table, "title", where),
        concepts=_strings(table, "concepts", where),
        minutes=_number(table.get("minutes"), "minutes", where, minimum=1, integer=True),
        module=module,
        hints=_strings(table, "hints", where),
        checks=checks,
        directory=directory,
        builtin=builtin,
    )
