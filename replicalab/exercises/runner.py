"""Grading a learner's module as a judge: the checks run here, the learner's code runs elsewhere.

The process that decides a score never imports or runs the learner's code.
The module runs in an untrusted, resource-limited process
(:mod:`replicalab.exercises.sandbox`, :mod:`replicalab.exercises._worker`)
that only answers typed requests (:mod:`replicalab.exercises.protocol`);
the check kinds run here, with Hypothesis, the oracles and the simulator, on
stand-ins for the learner's classes (:mod:`replicalab.exercises.remote`).
Whatever the learner's process prints, patches, forges or closes can at
worst fail its own checks.

Each check has its own deadline. A worker that misses it is asked for its
stack (the report names the learner's file and line where it was stuck) and
killed with everything it started; a fresh worker carries on with the
remaining checks.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from replicalab.errors import ConfigError
from replicalab.exercises import protocol
from replicalab.exercises.kinds import kind_module
from replicalab.exercises.kinds.common import CheckContext, CheckFailed, RunAgain
from replicalab.exercises.remote import (
    LearnerError,
    MutationFound,
    RemoteModule,
    Session,
    WorkerFailed,
    describe,
    is_remote,
)
from replicalab.exercises.report import CheckResult, Report
from replicalab.exercises.sandbox import Sandbox, clean_text
from replicalab.exercises.spec import CheckSpec, ExerciseSpec

__all__ = ["IMPORT_TIMEOUT", "check", "describe_learner_error"]

#: Seconds a learner's module may take to import (its top level runs then).
IMPORT_TIMEOUT = 10.0
#: Extra seconds for a fresh worker to start Python and import what it needs.
STARTUP_SLACK = 20.0
#: Bases a learner's class may inherit from replicalab (the exercise gives them).
ALLOWED_BASES = ("replicalab.policies.MergePolicy", "replicalab.replica.base.Replica")
#: Check parameters that name a class or function of the learner's module.
_TARGET_KEYS = ("class", "policy", "replica", "target")


def describe_learner_error(error: LearnerError) -> str:
    """The learner's exception as a sentence with their file and line — never a traceback."""
    where = f"\n  at {error.where}" if error.where else ""
    function = re.search(r", in (\w+)", error.where)
    if error.is_a("NotImplementedError"):
        name = function.group(1) if function else "a function"
        return f"not implemented yet: {name} raises NotImplementedError{where}"
    text = clean_text(error.message)
    if error.is_a("RecursionError"):
        text = "maximum recursion depth exceeded (a method that calls itself without end?)"
    if error.is_a("TypeError") and not error.where:
        text += " — the checks call your code as the starter declares it; keep those signatures"
    return f"your code raised {error.type_name}: {text}{where}"


def _result(spec: CheckSpec, passed: bool, message: str, output: str = "", *,
            hint: bool = True) -> CheckResult:
    """A check's result; ``hint=False`` when the failure has nothing to do with the check."""
    message = clean_text(message)
    output = clean_text(output)
    if output and not passed:
        message += "\n\nYour code printed:\n" + "\n".join(f"  {line}" for line in output.splitlines())
    return CheckResult(name=spec.name, kind=spec.kind, points=spec.points if passed else 0,
                       max_points=spec.points, passed=passed, message=message,
                       hint=spec.hint if hint and not passed else "")


def _module_name(path: Path) -> str:
    """The learner's module is imported under its file's name unless that would shadow another."""
    stem = path.stem
    if not stem.isidentifier() or stem in sys.modules or stem in sys.stdlib_module_names:
        return "learner_solution"
    try:
        return "learner_solution" if importlib.util.find_spec(stem) is not None else stem
    except (ImportError, ValueError):
        return "learner_solution"


def check(exercise: ExerciseSpec, module: str | Path, *, seed: int = 0,
          time_limit: float | None = None) -> Report:
    """Run every check of ``exercise`` against the learner's file ``module``.

    ``time_limit`` (seconds) overrides every check's own limit. Returns a
    :class:`~replicalab.exercises.report.Report`; raises :class:`ConfigError`
    only for a missing file or a bad argument — anything wrong *in* the file
    is part of the report.
    """
    path = Path(module)
    if not path.is_file():
        raise ConfigError(f"no file {str(path)!r} to check; start the exercise with "
                          f"'replicalab exercise start {exercise.id}', or give the path to your "
                          f"{exercise.module}")
    if type(seed) is not int:
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    if time_limit is not None and (isinstance(time_limit, bool) or not time_limit > 0):
        raise ConfigError(f"time limit must be a number of seconds > 0, got {time_limit!r}")
    path = path.resolve()
    results: dict[str, CheckResult] = {}
    pending = [c.name for c in exercise.checks]
    isolation: tuple[str, ...] = ()
    again: dict[str, list[str]] = {}
    with _hypothesis_home():
        while pending:
            isolation = _run_worker(exercise, path, seed, pending, time_limit, results, again)
            pending = [name for name in pending if name not in results]
    for spec in exercise.checks:
        results[spec.name] = _required(spec, results)
    return Report(exercise=exercise.id, title=exercise.title, module=path.name, seed=seed,
                  results=tuple(results[c.name] for c in exercise.checks), isolation=isolation)


def _required(spec: CheckSpec, results: dict[str, CheckResult]) -> CheckResult:
    """``spec``'s result, its points withheld if a check it ``requires`` did not pass."""
    result = results[spec.name]
    failed = [name for name in spec.requires if not results[name].passed]
    if not result.passed or not failed:
        return result
    why = (" Laws hold vacuously for a type whose ops change nothing (or whose == is always "
           "True), so they count only once the values are right." if spec.kind == "laws" else "")
    listed = ", ".join(repr(name) for name in failed)
    return _result(spec, False, f"withheld: this check passed, but it counts only when "
                   f"{listed} passes too.{why} Make {listed} pass first.")


def cache_directory() -> Path:
    """Where grading keeps Hypothesis's files: ``$XDG_CACHE_HOME/replicalab/hypothesis``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "replicalab" / "hypothesis"


@contextlib.contextmanager
def _hypothesis_home() -> Iterator[None]:
    """Point Hypothesis at the grading cache while checks run (not at ``./.hypothesis`` in the
    learner's folder), and back to where it was afterwards."""
    try:
        from hypothesis import configuration
    except ImportError:  # law checks will say hypothesis is missing
        yield
        return
    previous = configuration.storage_directory(intent_to_write=False).home_directory
    home = cache_directory()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        home = Path(tempfile.mkdtemp(prefix="replicalab-hypothesis-"))
    configuration.set_hypothesis_home_dir(home)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)


def _limit(spec: CheckSpec, time_limit: float | None) -> float:
    return time_limit if time_limit is not None else spec.timeout


def _run_worker(exercise: ExerciseSpec, path: Path, seed: int, pending: list[str],
                time_limit: float | None, results: dict[str, CheckResult],
                again: dict[str, list[str]] | None = None) -> tuple[str, ...]:
    """Run checks ``pending`` with one worker until they are done or it fails; fill ``results``.

    ``again`` maps a check whose fast first pass was not clean (:class:`RunAgain`) to the
    checks its worker had run before it: a fresh worker runs those again, unscored, so the
    learner's code has seen the same calls when the check runs the ordinary way.
    """
    again = {} if again is None else again
    runs = dict.fromkeys([n for name in pending for n in again.get(name, ())] + pending)
    cpu = int(IMPORT_TIMEOUT + sum(_limit(exercise.check_named(n), time_limit) for n in runs)) + 5
    sandbox = Sandbox(cpu_seconds=cpu)
    session = Session(sandbox.requests, sandbox.replies)
    try:
        name = _module_name(path)
        why = _import(session, sandbox, path, name)
        if why is None:
            try:
                why = _delegation(exercise, RemoteModule(session, name, str(path)))
            except WorkerFailed as failure:
                why = failure.message + (_tail(sandbox) if failure.reason == "gone" else "")
        if why is not None:
            for check_name in pending:
                results[check_name] = _result(exercise.check_named(check_name), False, why, hint=False)
            return sandbox.isolation
        module = RemoteModule(session, name, str(path))
        ran: list[str] = []  # the checks this worker ran, in order (replayed ones too)
        for check_name in pending:
            for earlier in again.get(check_name, ()):
                if session.failed is None:
                    _run_one(exercise, earlier, module, session, sandbox, seed, time_limit, path,
                             again)  # unscored: the fresh worker hears what the first one heard
                    ran.append(earlier)
            try:
                results[check_name] = _run_one(exercise, check_name, module, session, sandbox,
                                               seed, time_limit, path, again, scored=True)
            except RunAgain:
                again[check_name] = ran
                return sandbox.isolation
            ran.append(check_name)
            if session.failed is not None:
                return sandbox.isolation
        return sandbox.isolation
    finally:
        sandbox.close()


def _run_one(exercise: ExerciseSpec, check_name: str, module: RemoteModule, session: Session,
             sandbox: Sandbox, seed: int, time_limit: float | None, path: Path,
             again: dict[str, list[str]], scored: bool = False) -> CheckResult:
    """Run one check in this worker; an unscored run (a replay) never raises RunAgain."""
    spec = exercise.check_named(check_name)
    limit = _limit(spec, time_limit)
    session.deadline = protocol.deadline(limit)
    session.pure = frozenset()
    session.watched = {}
    session.guard = False
    try:
        return _one_check(spec, module, session, sandbox, seed, limit, path, exercise.starter,
                          first_pass=check_name not in again)
    except RunAgain:
        if scored:
            raise
        return _result(spec, False, "")


def _import(session: Session, sandbox: Sandbox, path: Path, name: str) -> str | None:
    """Import the learner's module in the worker; None when it worked, else why not."""
    session.deadline = protocol.deadline(IMPORT_TIMEOUT + STARTUP_SLACK)
    try:
        reply = session.ask({"op": "import", "path": str(path), "name": name})
    except LearnerError as error:
        return "importing your module failed: " + describe_learner_error(error)
    except WorkerFailed as failure:
        if failure.reason == "timeout":
            return (f"importing your module did not finish within {IMPORT_TIMEOUT:g} s "
                    "(an infinite loop or a blocking call at the top level?)"
                    + _stuck_at(sandbox, path))
        return "importing your module stopped the grader: " + failure.message + _tail(sandbox)
    syntax = reply.get("syntax")
    if isinstance(syntax, dict):
        line = str(syntax.get("text", ""))
        offset = syntax.get("offset") if isinstance(syntax.get("offset"), int) else 0
        pointer = ""
        if line and offset:
            pointer = "\n      " + " " * max(0, offset - 1 - (len(line) - len(line.lstrip()))) + "^"
        code = f"\n      {line.strip()}{pointer}" if line else ""
        return f"{path.name} does not compile: {syntax.get('message')} (line {syntax.get('line')}){code}"
    return None


def _delegation(exercise: ExerciseSpec, module: RemoteModule) -> str | None:
    """Why the submission scores 0 for handing the work to code outside its file, or None.

    Every class or function the checks name must be defined in the learner's file: a
    re-export (``from replicalab.crdts import GCounter``), a subclass of replicalab's own
    implementation, or source ``exec``'d from another file is not the learner's work. The
    bases the exercise hands out (:data:`ALLOWED_BASES`) are fine.
    """
    names: list[str] = []
    for spec in exercise.checks:
        names += [spec.params[k] for k in _TARGET_KEYS if isinstance(spec.params.get(k), str)]
        names += [step[verb] for step in spec.params.get("steps", ()) if isinstance(step, dict)
                  for verb in ("new", "call") if verb in step and "on" not in step
                  and isinstance(step[verb], str)]
    for name in dict.fromkeys(names):
        try:
            value = getattr(module, name)
        except (AttributeError, LearnerError):
            continue
        if not is_remote(value):
            continue
        try:
            facts = describe(value, ALLOWED_BASES)
        except LearnerError:
            continue
        outside = facts.get("outside")
        if isinstance(outside, list) and outside:
            outside = sorted(outside, key=lambda o: (str(o).rsplit(".", 1)[-1].startswith("__"), str(o)))
            shown = ", ".join(clean_text(str(o))[:80] for o in outside[:3])
            return (f"{name} is not your own code: {shown} "
                    f"{'is' if len(outside) == 1 else 'are'} defined outside "
                    f"{Path(module.__file__).name} (imported, inherited, re-exported or exec'd from "
                    "replicalab or another file). The exercise is to write it yourself, so this "
                    "submission scores 0.")
    return None


def _one_check(spec: CheckSpec, module: RemoteModule, session: Session, sandbox: Sandbox,
               seed: int, limit: float, path: Path, starter: Path | None = None,
               first_pass: bool = True) -> CheckResult:
    ctx = CheckContext(module=module, params=spec.params, seed=seed, name=spec.name,  # type: ignore[arg-type]
                       starter=starter, first_pass=first_pass)
    try:
        kind_module(spec.kind).run(ctx)
        session.raise_pending()  # a pipelined verb that failed with nothing looking at its result
    except CheckFailed as failure:
        return _result(spec, False, str(failure), _output(session))
    except MutationFound as found:
        return _result(spec, False, str(found), _output(session))
    except LearnerError as error:
        if error.type_name == "HandlerDidIO":
            return _result(spec, False, f"a handler {error.attempt or error.message}"
                           + (f" at {error.where}" if error.where else "")
                           + "\n\nHandlers do no I/O: no print, files, sockets or sleeping. "
                           "Everything a replica does goes through ctx.", _output(session))
        return _result(spec, False, describe_learner_error(error), _output(session))
    except WorkerFailed as failure:
        if failure.reason == "timeout":
            return _result(spec, False, f"did not finish within {limit:g} s (an infinite loop, or "
                           "much too slow)" + _stuck_at(sandbox, path))
        if failure.reason == "gone":
            return _result(spec, False, "the check crashed: the Python process running your module "
                           "ended" + _tail(sandbox))
        return _result(spec, False, failure.message, hint=False)
    except RecursionError:
        return _result(spec, False, "your objects nest too deeply to compare (a structure that "
                       "contains itself?)")
    except Exception as error:  # the check could not use a value the learner's code returned
        return _result(spec, False, "the check could not use what your code returned: "
                       f"{type(error).__name__}: {str(error)[:300]}", _output(session))
    return _result(spec, True, "", _output(session))


def _output(session: Session) -> str:
    if session.failed is not None:
        return ""
    session.deadline = protocol.deadline(5)
    try:
        text = session.value({"op": "output"})
    except (WorkerFailed, LearnerError):
        return ""
    return text if isinstance(text, str) else ""


def _tail(sandbox: Sandbox) -> str:
    """`` (exit code 7): the last line it wrote`` once the process has ended."""
    code = sandbox.wait(2)
    lines = [line for line in sandbox.captured().splitlines() if line.strip()]
    return (f" (exit code {code})" if code is not None else "") + (
        f": {lines[-1][:200]}" if lines else "")


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def _stuck_at(sandbox: Sandbox, path: Path) -> str:
    """``\\n  stuck at gcounter.py:12, in merge: while True:`` from the worker's stack dump."""
    dump = sandbox.dump_stack()
    for match in _FRAME.finditer(dump):
        if match["file"] == str(path):
            number = int(match["line"])
            try:
                source = path.read_text(encoding="utf-8", errors="replace").splitlines()
                code = source[number - 1].strip() if 0 < number <= len(source) else ""
            except OSError:
                code = ""
            return (f"\n  stuck at {path.name}:{number}, in {match['func']}"
                    + (f": {clean_text(code)[:120]}" if code else ""))
    return ""


