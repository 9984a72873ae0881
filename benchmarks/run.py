"""Run every benchmark: ``python benchmarks/run.py`` (``--quick`` for a rough look, ``--smoke``
to check that each still runs and its answers agree, as tests/test_benchmarks_smoke.py does).

Runs each ``b<N>_<name>.py`` beside this file in order (``python benchmarks/run.py b1 b2``
for a subset). Each prints its own tables; the exit status is non-zero if any
contender computed a different answer from the others (a missed speed target is
reported, not an error).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from pathlib import Path

import _harness as H  # first: it puts the checkout's replicalab on sys.path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    m.group(1): path.stem
    for path in sorted(
        HERE.glob("b*_*.py"), key=lambda p: int(re.match(r"b(\d+)", p.stem).group(1))
    )
    if (m := re.fullmatch(r"(b\d+)_\w+", path.stem))
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run replicalab's benchmarks against their peers.")
    parser.add_argument(
        "only",
        nargs="*",
        metavar="ID",
        help=f"benchmarks to run ({', '.join(BENCHMARKS)}; default: all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller, fewer rounds: not for the record"
    )
    parser.add_argument("--smoke", action="store_true", help=H.SMOKE_HELP)
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")

    print(H.environment_line())
    passthrough = ["--quick"] if args.quick else []
    if args.smoke:
        passthrough.append("--smoke")
    if args.repeats:
        passthrough += ["--repeats", str(args.repeats)]
    status = 0
    for name in args.only or BENCHMARKS:
        started = time.perf_counter()
        module = importlib.import_module(BENCHMARKS[name])
        status |= module.main(passthrough) or 0
        print(f"  ({name} took {time.perf_counter() - started:.0f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
