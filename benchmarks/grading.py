"""Grading speed: a full check of a correct reference, judge model and sandbox included.

For every primitive exercise this times ``replicalab.exercises.check`` on the
reference solution kept in ``tests/exercises/solutions/ID/reference.py``
(rounds interleaved across exercises, one warm-up round), prints the median
and best of the measured rounds, and breaks each full check down into

* **spawn**: from asking for a sandboxed worker to its first answer (starting
  Python and importing replicalab, or forking the template of the fork server);
* **import**: importing the learner's module in the worker;
* **checks**: every check, one column each (median);
* **teardown**: killing the worker and waiting until it is gone;
* **rest**: everything else in the grader (reading the exercise, the report);
* **trips**: round trips to the worker (requests the grader waited on), and **sent**:
  requests sent in all (pipelined ones travel in batches and wait for nothing);
* **cpu**: CPU seconds (user + system) the grader process and the worker used for the
  check (the worker's read from ``/proc`` just before it is killed). On a busy machine
  wall-clock time drifts with the load; these barely do, and with two cores a check
  cannot take much less than the larger of the two, nor much more than their sum.

A law check remembers the examples Hypothesis generated and replays them for the next
submission of the same exercise: in the grader process's memory, and on disk once per
install where workers cannot write there (see ``replicalab.exercises.kinds.law_examples``);
the warm-up round fills both. ``--fresh`` forgets the memory before every check, as the
first check in a fresh grader process (the examples come from disk); ``--cold`` forgets
the disk copy too, so every check generates its examples, as the very first check on an
install does. The benchmark keeps its own cache directory (a temporary
``XDG_CACHE_HOME``), so neither the user's cache nor another grader changes what it measures.

``--process`` also times, per exercise, a whole ``python -m replicalab exercise check``
process (starting Python, imports, the fork server, the check) with the disk cache warm.

It also prints, once, how long a bare ``python -I -c pass`` takes and how long the fork
server takes to start (paid once per grader process, not per submission).

The target (issue #21) is a median of 0.5 s per exercise on a 2-core machine;
a miss prints ``MISSED`` but is not an error. Numbers are wall-clock seconds
and vary with load: compare medians from one run, not across machines.

    python benchmarks/grading.py                    # the primitive exercises, 5 rounds
    python benchmarks/grading.py --rounds 9 gcounter lamport
    python benchmarks/grading.py --fresh gcounter orset  # no examples in memory
    python benchmarks/grading.py --cold --process        # none on disk either; whole processes
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replicalab import exercises  # noqa: E402
from replicalab.exercises import protocol, remote, runner, sandbox  # noqa: E402
from replicalab.exercises.kinds import law_examples  # noqa: E402

PRIMITIVES = ["gcounter", "pncounter", "lamport", "vector-clock", "hlc", "lww-register",
              "mv-register", "orset"]
SOLUTIONS = ROOT / "tests" / "exercises" / "solutions"
TARGET = 0.5


class _Timings:
    """Seconds spent in each part of the check being run, by part name."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}

    def add(self, part: str, seconds: float) -> None:
        self.parts[part] = self.parts.get(part, 0.0) + seconds


CURRENT = _Timings()


def _timed(part: Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            CURRENT.add(part(*args), time.perf_counter() - started)
    return wrapper


def _instrument() -> None:
    """Wrap the runner's steps so that each full check records where its time went."""
    original_import = runner._import

    def import_(session: Any, box: Any, path: Path, name: str) -> Any:
        started = time.perf_counter()
        session.deadline = protocol.deadline(60)
        session.ask({"op": "output"})  # the worker's first answer: it is up
        CURRENT.add("spawn", time.perf_counter() - started)
        started = time.perf_counter()
        try:
            return original_import(session, box, path, name)
        finally:
            CURRENT.add("import", time.perf_counter() - started)

    timed_close = _timed(lambda *a: "teardown", sandbox.Sandbox.close)

    def close(self: Any) -> None:
        CURRENT.add("#cpu worker", _cpu_seconds(self.pid))
        timed_close(self)

    class TimedSandbox(sandbox.Sandbox):
        __init__ = _timed(lambda *a: "spawn", sandbox.Sandbox.__init__)

    TimedSandbox.close = close  # type: ignore[method-assign]

    original_ask, original_post = remote.Session.ask, remote.Session._post

    def ask(self: Any, request: dict[str, Any]) -> dict[str, Any]:
        CURRENT.add("#trips", 1)
        CURRENT.add("#sent", 1)
        return original_ask(self, request)

    def post(self: Any, request: Any) -> None:
        CURRENT.add("#sent", 1)
        original_post(self, request)

    remote.Session.ask = ask  # type: ignore[method-assign]
    remote.Session._post = post  # type: ignore[method-assign]
    runner._import = import_  # type: ignore[assignment]
    runner._one_check = _timed(lambda spec, *a: f"check:{spec.name}", runner._one_check)  # type: ignore[assignment]
    runner.Sandbox = TimedSandbox  # type: ignore[misc]


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far; 0 where /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _bare_python() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
    return time.perf_counter() - started


def _server_start() -> float | None:
    if not hasattr(sandbox, "fork_server"):
        return None  # before the fork server: every worker starts Python itself
    started = time.perf_counter()
    box = sandbox.Sandbox(cpu_seconds=10)
    try:
        session = runner.Session(box.requests, box.replies)
        session.deadline = protocol.deadline(60)
        session.ask({"op": "output"})
    finally:
        box.close()
    return time.perf_counter() - started


def _full(spec: exercises.ExerciseSpec, path: Path, fresh: bool = False,
          cold: bool = False) -> dict[str, float]:
    global CURRENT
    CURRENT = _Timings()
    if fresh or cold:
        law_examples.MEMORY.clear()
    if cold:
        shutil.rmtree(law_examples.directory(), ignore_errors=True)
    started, cpu = time.perf_counter(), time.process_time()
    report = exercises.check(spec, path)
    total = time.perf_counter() - started
    CURRENT.add("#cpu grader", time.process_time() - cpu)
    if not report.passed:
        raise SystemExit(f"the reference of {spec.id} does not pass:\n{report.text()}")
    parts = dict(CURRENT.parts)
    parts["rest"] = total - sum(v for k, v in parts.items() if not k.startswith("#"))
    parts["total"] = total
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", default=PRIMITIVES)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--fresh", action="store_true",
                        help="forget law-check examples kept in memory before every check")
    parser.add_argument("--cold", action="store_true",
                        help="forget them on disk too: every check generates its examples")
    parser.add_argument("--process", action="store_true",
                        help="also time a whole `python -m replicalab exercise check` per exercise")
    args = parser.parse_args(argv)
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="replicalab-bench-cache-")
    specs = {name: exercises.get(name) for name in args.exercises}
    paths = {name: SOLUTIONS / name / "reference.py" for name in specs}
    _instrument()
    if hasattr(sandbox, "fork_server"):
        sandbox.fork_server(restart=True).close()
        sandbox._SERVER = None
    server = _server_start()
    bare = [_bare_python() for _ in range(args.rounds)]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in specs}
    processes: dict[str, list[float]] = {name: [] for name in specs}
    for round_ in range(args.rounds + 1):  # round 0 warms up
        for name, spec in specs.items():
            parts = _full(spec, paths[name], args.fresh, args.cold)
            if round_:
                runs[name].append(parts)
            if args.process:
                seconds = _process(name, paths[name])
                if round_:
                    processes[name].append(seconds)
    print(f"grading a correct reference, {args.rounds} rounds (medians in seconds)"
          + (", law-check examples generated afresh every time (--cold)" if args.cold else
             ", law-check examples read from disk every time (--fresh)" if args.fresh else
             ", law-check examples remembered in memory") + "\n")
    print(f"  bare `python -I -c pass`: {statistics.median(bare):.3f}")
    print("  fork server start (once per grader process): "
          + (f"{server:.3f}" if server is not None else "none (no fork server)") + "\n")
    print(f"  {'exercise':<14}{'total':>7}{'best':>7}{'spawn':>7}{'import':>7}{'checks':>7}"
          f"{'teardown':>9}{'rest':>6}{'trips':>6}{'sent':>7}{'cpu:grader':>11}{'worker':>7}")
    for name in specs:
        totals = [r["total"] for r in runs[name]]

        def median(key: str, name: str = name) -> float:
            return statistics.median(r.get(key, 0.0) for r in runs[name])

        checks = statistics.median(sum(v for k, v in r.items() if k.startswith("check:"))
                                   for r in runs[name])
        verdict = "ok" if statistics.median(totals) <= TARGET else "MISSED"
        print(f"  {name:<14}{statistics.median(totals):7.3f}{min(totals):7.3f}{median('spawn'):7.3f}"
              f"{median('import'):7.3f}{checks:7.3f}{median('teardown'):9.3f}{median('rest'):6.3f}"
              f"{median('#trips'):6.0f}{median('#sent'):7.0f}{median('#cpu grader'):11.3f}"
              f"{median('#cpu worker'):7.3f}   target {TARGET} s: {verdict}")
        for check in specs[name].checks:
            print(f"      {check.kind:<7} {median('check:' + check.name):6.3f}  {check.name}")
    if args.process:
        print("\n  a whole `python -m replicalab exercise check` process (disk cache warm):")
        for name, seconds in processes.items():
            print(f"  {name:<14}{statistics.median(seconds):7.3f}{min(seconds):7.3f}")
    return 0


def _process(name: str, path: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "replicalab", "exercise", "check", name, str(path)],
                          capture_output=True, env=os.environ.copy(), cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`replicalab exercise check {name}` failed:\n{done.stdout.decode()}")
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
