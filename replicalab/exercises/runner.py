"""Grading a learner's module: a worker process per run, time limits enforced from outside.

The learner's code runs in a separate Python process (:mod:`replicalab.exercises._worker`)
so that nothing it does — an infinite loop, ``sys.exit()``, a crash, a
million prints — can hang or break the grader. The parent reads the worker's
events and gives each check its time limit; a worker that overruns is killed,
the check fails with "did not finish within N s", and a fresh worker carries
on with the remaining checks.

    >>> from replicalab.exercises import get
    >>> report = check(get("lamport"), get("lamport").directory / "reference.py")
    >>> report.passed, report.score == report.max_score
    (True, True)
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import replicalab
from replicalab.errors import ConfigError
from replicalab.exercises.report import CheckResult, Report
from replicalab.exercises.spec import CheckSpec, ExerciseSpec

__all__ = ["IMPORT_TIMEOUT", "check"]

#: Seconds a learner's module may take to import (its top level runs then).
IMPORT_TIMEOUT = 10.0
#: Extra seconds for a fresh worker to start Python and import replicalab and hypothesis.
STARTUP_SLACK = 20.0


class _Worker:
    """One worker process and a thread turning its output lines into events."""

    def __init__(self, exercise: ExerciseSpec, path: Path, seed: int, checks: list[str],
                 scratch: str) -> None:
        env = dict(os.environ)
        package_root = str(Path(replicalab.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        env["PYTHONHASHSEED"] = "0"  # the learner's set and dict orders replay exactly
        env["PYTHONIOENCODING"] = "utf-8"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "replicalab.exercises._worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", env=env, cwd=str(path.parent),
        )
        request = {"exercise": str(exercise.directory), "builtin": exercise.builtin,
                   "module": str(path), "seed": seed, "checks": checks, "scratch": scratch}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request))
        self.process.stdin.close()
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                continue  # not ours (a C extension writing to the real stdout)
        self.events.put(None)  # end of output: the worker exited

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if len(self.stderr) < 200:
                self.stderr.append(line)

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event; ``{"event": "timeout"}`` after ``timeout`` s; None if the worker exited."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return {"event": "timeout"}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def exit_note(self) -> str:
        self.process.wait()
        code = self.process.returncode
        tail = "".join(self.stderr[-5:]).strip()
        return f"the Python process running it ended (exit code {code})" + (
            f": {tail.splitlines()[-1]}" if tail else "")


def _result(spec: CheckSpec, passed: bool, message: str, output: str = "", *,
            hint: bool = True) -> CheckResult:
    """A check's result; ``hint=False`` when the failure has nothing to do with the check."""
    if output and not passed:
        message += "\n\nYour code printed:\n" + "\n".join(f"  {line}" for line in output.splitlines())
    return CheckResult(name=spec.name, kind=spec.kind, points=spec.points if passed else 0,
                       max_points=spec.points, passed=passed, message=message,
                       hint=spec.hint if hint and not passed else "")


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
    with tempfile.TemporaryDirectory(prefix="replicalab-grade-") as scratch:
        while pending:
            _run_worker(exercise, path, seed, pending, time_limit, results, scratch)
            pending = [name for name in pending if name not in results]
    return Report(exercise=exercise.id, title=exercise.title, module=path.name, seed=seed,
                  results=tuple(results[c.name] for c in exercise.checks))


def _run_worker(exercise: ExerciseSpec, path: Path, seed: int, pending: list[str],
                time_limit: float | None, results: dict[str, CheckResult], scratch: str) -> None:
    """Run checks ``pending`` in one worker until it finishes, hangs or dies; fill ``results``.

    ``scratch`` is a temporary directory for the worker's caches (Hypothesis writes one)."""
    worker = _Worker(exercise, path, seed, pending, scratch)
    try:
        event = worker.next(IMPORT_TIMEOUT + STARTUP_SLACK)
        if event is None or event["event"] != "imported":
            if event is None:
                why = "importing your module stopped the grader: " + worker.exit_note()
            elif event["event"] == "timeout":
                why = (f"importing your module did not finish within {IMPORT_TIMEOUT:g} s "
                       "(an infinite loop or a blocking call at the top level?)")
            else:
                why = event["message"]
            for name in pending:
                results[name] = _result(exercise.check_named(name), False, why, hint=False)
            return
        for name in pending:
            spec = exercise.check_named(name)
            limit = time_limit if time_limit is not None else spec.timeout
            start = worker.next(STARTUP_SLACK)
            if start is None or start["event"] != "start":
                results[name] = _result(spec, False, "the check could not start: " + worker.exit_note())
                return
            event = worker.next(limit)
            if event is None:
                results[name] = _result(spec, False, "the check crashed: " + worker.exit_note())
                return
            if event["event"] == "timeout":
                results[name] = _result(spec, False, f"did not finish within {limit:g} s "
                                        "(an infinite loop, or much too slow)")
                return
            results[name] = _result(spec, event["passed"], event["message"], event.get("output", ""))
    finally:
        worker.stop()
