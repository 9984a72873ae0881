"""Grading speed: a full check of a correct reference, judge model and sandbox included.

For every primitive exercise this times ``replicalab.exercises.check`` on the
reference solution kept in ``tests/exercises/solutions/ID/reference.py``
(rounds interleaved across exercises, one warm-up round, median and best
reported), and breaks a check down into

* **start**: starting a sandboxed worker and importing the learner's module in it;
* each **check** on its own (its worker start included).

The target (issue #21) is a median of 0.5 s per exercise on a 2-core machine;
a miss prints ``MISSED`` but is not an error. Numbers are wall-clock seconds
and vary with load: compare medians from one run, not across machines.

    python benchmarks/grading.py                    # the primitive exercises, 5 rounds
    python benchmarks/grading.py --rounds 9 gcounter lamport
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import attrs  # noqa: E402

from replicalab import exercises  # noqa: E402
from replicalab.exercises.remote import Session  # noqa: E402
from replicalab.exercises.sandbox import Sandbox  # noqa: E402

PRIMITIVES = ["gcounter", "pncounter", "lamport", "vector-clock", "hlc", "lww-register",
              "mv-register", "orset"]
SOLUTIONS = ROOT / "tests" / "exercises" / "solutions"
TARGET = 0.5


def _start_and_import(path: Path) -> float:
    started = time.perf_counter()
    sandbox = Sandbox(cpu_seconds=60)
    try:
        session = Session(sandbox.requests, sandbox.replies)
        session.deadline = time.monotonic() + 30
        session.ask({"op": "import", "path": str(path), "name": path.stem})
        return time.perf_counter() - started
    finally:
        sandbox.close()


def _timed(spec: exercises.ExerciseSpec, path: Path) -> float:
    started = time.perf_counter()
    report = exercises.check(spec, path)
    took = time.perf_counter() - started
    if not report.passed:
        raise SystemExit(f"the reference of {spec.id} does not pass:\n{report.text()}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", default=PRIMITIVES)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    args = parser.parse_args(argv)
    specs = {name: exercises.get(name) for name in args.exercises}
    paths = {name: SOLUTIONS / name / "reference.py" for name in specs}
    full: dict[str, list[float]] = {name: [] for name in specs}
    start: list[float] = []
    parts: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds + 1):  # round 0 warms up
        for name, spec in specs.items():
            took = _timed(spec, paths[name])
            begun = _start_and_import(paths[name])
            each = {}
            for check in spec.checks:
                alone = attrs.evolve(spec, checks=(check,))
                each[check.name] = _timed(alone, paths[name])
            if round_:
                full[name].append(took)
                start.append(begun)
                for check_name, seconds in each.items():
                    parts.setdefault((name, check_name), []).append(seconds)
    print(f"grading a correct reference, {args.rounds} rounds (median / best, seconds)\n")
    print(f"  start a sandboxed worker and import the module: {statistics.median(start):.3f} / "
          f"{min(start):.3f}\n")
    for name in specs:
        median, best = statistics.median(full[name]), min(full[name])
        verdict = "ok" if median <= TARGET else "MISSED"
        print(f"  {name:<14} full check {median:6.3f} / {best:6.3f}   target {TARGET} s: {verdict}")
        for check in specs[name].checks:
            times = parts[(name, check.name)]
            print(f"      {check.kind:<7} {statistics.median(times):6.3f}  {check.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
