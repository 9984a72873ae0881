"""Shared helpers for the benchmarks: import path, timing, tables.

Timing rule (BENCHMARKS.md): every contender runs in the same process on the
same prepared inputs; one warm-up round, then ``repeats`` rounds, and we keep
the median. Rounds are interleaved (A B C, A B C, ...) so that a burst of load
on a shared machine hits every contender alike, which keeps *ratios* stable
even when absolute numbers drift.
"""

from __future__ import annotations

import gc
import importlib.metadata
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # Benchmark the checkout these files live in, installed or not.
    sys.path.insert(0, str(REPO))

perf_counter = time.perf_counter
process_time = time.process_time

#: ``--smoke`` (every benchmark has it; tests/test_benchmarks_smoke.py runs each one so): the
#: smallest sizes that still reach every code path and every answer check, one round, no
#: warm-up. Timings are printed but no target is judged: a smoke run on a loaded CI machine
#: says nothing about speed, only whether the benchmark still runs and its answers agree.
SMOKE = False
#: Warm-up rounds ``measure`` runs before the measured ones (none in a smoke run).
WARMUP = 1
SMOKE_HELP = ("smallest sizes that still run every answer check, 1 round, no warm-up, "
              "targets not judged: for the test suite, not for the record")


def set_smoke(on: bool) -> None:
    """Enter (or leave) smoke mode; each benchmark's ``main`` calls this with its ``--smoke``,
    so benchmarks run one after another in one process (``run.py``) do not inherit it."""
    global SMOKE, WARMUP
    SMOKE, WARMUP = on, (0 if on else 1)


def checks(failures: Sequence[str], what: str) -> int:
    """The closing line of a benchmark and its exit status: ``checks: ok (what was compared)``
    only when every answer check passed, else ``checks: FAILED`` (the script has printed the
    failures). The smoke test looks for the first line, so print it only after the checks ran."""
    print()
    if failures:
        print(f"  checks: FAILED ({len(failures)} of them, listed above)")
        return 1
    print(f"  checks: ok ({what})")
    return 0


def version(dist: str) -> str:
    """Installed version of a distribution, or 'missing'."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def environment_line() -> str:
    import replicalab

    where = Path(replicalab.__file__).resolve().parent.parent
    return (
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"replicalab from {where}, simpy {version('simpy')}, "
        f"vectorclock {version('vectorclock')}, pycrdt {version('pycrdt')}, "
        f"crdts {version('crdts')}"
    )


class Result:
    """The timings of one contender (seconds per round) and what its last round returned."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[float] = []
        self.answer: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        """The fastest measured round: least disturbed by other load on the machine."""
        return min(self.times)

    @property
    def spread(self) -> float:
        """(max - min) / median over the measured rounds: how noisy the rounds were."""
        return (max(self.times) - min(self.times)) / self.median


def measure(
    contenders: dict[str, Callable[[], tuple[float, Any]]],
    *,
    repeats: int,
    warmup: int | None = None,
) -> dict[str, Result]:
    """Run every contender ``warmup + repeats`` times, interleaved; keep the last ``repeats``.

    ``warmup`` defaults to ``WARMUP``: one round, none in a smoke run.

    A contender is a zero-argument function that does its own untimed setup and
    returns ``(seconds, answer)`` for its timed part.
    """
    if warmup is None:
        warmup = WARMUP
    results = {name: Result(name) for name in contenders}
    for round_no in range(warmup + repeats):
        for name, fn in contenders.items():
            gc.collect()
            seconds, answer = fn()
            if round_no >= warmup:
                results[name].times.append(seconds)
            results[name].answer = answer
    return results


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, indent: str = "  ") -> str:
    """A plain aligned text table: first column left-aligned, the others right-aligned."""
    width = len(headers)
    cells = [[str(h) for h in headers]] + [
        [str(c) for c in row] + [""] * (width - len(row)) for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(width)]

    def line(r: Sequence[str]) -> str:
        parts = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        return indent + "  ".join(parts).rstrip()

    out = [line(cells[0]), indent + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def ratio(peer: Result, ours: Result) -> tuple[float, float]:
    """replicalab's rate / the peer's rate, from medians and from best rounds (same work done)."""
    return peer.median / ours.median, peer.best / ours.best


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    if SMOKE:
        return "not judged (smoke)"
    ok = value <= target if at_most else value >= target
    return "ok" if ok else "MISSED"


def banner(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))
