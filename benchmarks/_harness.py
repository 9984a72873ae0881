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
    contenders: dict[str, Callable[[], tuple[float, Any]]], *, repeats: int, warmup: int = 1
) -> dict[str, Result]:
    """Run every contender ``warmup + repeats`` times, interleaved; keep the last ``repeats``.

    A contender is a zero-argument function that does its own untimed setup and
    returns ``(seconds, answer)`` for its timed part.
    """
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
    ok = value <= target if at_most else value >= target
    return "ok" if ok else "MISSED"


def banner(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))
