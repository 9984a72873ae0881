"""B15 — ``import replicalab`` in at most 100 ms, and networkx only where a graph is built.

Workload (issue #20, item 4): a fresh interpreter runs ``python -X importtime -c "import
replicalab"``; the time is the cumulative microseconds importtime reports for ``replicalab``
(interpreter start-up excluded). Byte-compiled files are used, as an installed package has
them: ``PYTHONDONTWRITEBYTECODE`` is removed from the child's environment and one warm-up
import writes the ``.pyc`` files.

Contenders: this checkout, and (``--baseline DIR``) another checkout of replicalab, e.g. a
``git worktree`` or ``git archive`` export of an older commit. Rounds are interleaved (this,
baseline, this, baseline, ...). With ``--instructions`` each is also counted once under
``valgrind --tool=callgrind`` (instructions are robust to load on a shared machine; the
count includes the interpreter's own start-up, about 39 M instructions).

Checks: ``import replicalab`` must not import networkx, hypothesis, xml.sax or urllib.

Reported beside the target, no target of their own: what a first use costs, timed in a fresh
interpreter with ``time.perf_counter`` around the statement (the package's names are bound on
first use, so these are where the modules' import time went): ``from replicalab import`` the
``Simulation`` and ``Replica`` (a learner's own replica, chapters 1–5), the twelve names
``import replicalab`` imported eagerly before it went lazy, and ``from replicalab import
scenarios`` (what ``replicalab run`` needs).

Run ``python benchmarks/b15_import.py [--baseline DIR] [--instructions]`` (about 20 s).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

TARGET_MS = 100.0
FORBIDDEN = ("networkx", "hypothesis", "xml.sax", "urllib")
PROBE = ("import sys, replicalab; print(','.join(sorted(m for m in sys.modules "
         "if m.split('.')[0] in ('networkx', 'hypothesis', 'xml', 'urllib'))))")


def _env(checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(checkout)
    return env


def _run(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # cwd outside any checkout, so sys.path[0] does not pick the wrong replicalab
    return subprocess.run([sys.executable, *args], env=_env(checkout), cwd="/",
                          capture_output=True, text=True, check=True)


def import_ms(checkout: Path) -> float:
    """Cumulative import time of ``replicalab`` in ms, from ``-X importtime``."""
    err = _run(checkout, "-X", "importtime", "-c", "import replicalab").stderr
    match = re.search(r"^import time:\s+\d+ \|\s+(\d+) \| replicalab$", err, re.M)
    if match is None:
        raise RuntimeError(f"no importtime line for replicalab from {checkout}")
    return int(match.group(1)) / 1000


#: The names ``import replicalab`` imported eagerly until 2026-12 (all of ``__all__`` but
#: ``scenarios`` and ``sweep``, which were already bound on first use).
EAGER_NAMES = ("Causality, HybridLogicalClock, LamportClock, VectorClock, LWWRegister, MVRegister, "
               "ReplicaLabError, get_policy, policy_names, Replica, TableReplica, Simulation")
FIRST_USES = {
    "Simulation, Replica (your own replica)": "from replicalab import Simulation, Replica",
    "the 12 names once imported eagerly": f"from replicalab import {EAGER_NAMES}",
    "from replicalab import scenarios": "from replicalab import scenarios",
}


def first_use_ms(checkout: Path, statement: str) -> float:
    """Wall ms of ``statement`` in a fresh interpreter (after its own start-up)."""
    code = (f"import time; t = time.perf_counter(); {statement}; "
            "print((time.perf_counter() - t) * 1000)")
    return float(_run(checkout, "-c", code).stdout)


def instructions(checkout: Path, statement: str = "import replicalab") -> int | None:
    if shutil.which("valgrind") is None:
        return None
    err = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", statement], env=_env(checkout),
                         cwd="/", capture_output=True, text=True, check=True).stderr
    match = re.search(r"Collected : (\d+)", err)
    return int(match.group(1)) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 21)")
    parser.add_argument("--baseline", type=Path, default=None, help="another replicalab checkout")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--smoke", action="store_true", help="1 round: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    repeats = args.repeats or (1 if args.smoke else 5 if args.quick else 21)
    checkouts = {"this checkout": H.REPO}
    if args.baseline is not None:
        checkouts["baseline"] = args.baseline.resolve()
    print(f"{H.environment_line()}; {repeats} interleaved rounds, fresh interpreter each")
    H.banner("B15 import replicalab (-X importtime, cumulative, with .pyc files)")
    failures = []
    for name, checkout in checkouts.items():
        loaded = _run(checkout, "-c", PROBE).stdout.strip()  # also the warm-up that writes .pyc
        if loaded and name == "this checkout":
            failures.append(f"import replicalab imported {loaded}")
    times: dict[str, list[float]] = {name: [] for name in checkouts}
    for _ in range(repeats):
        for name, checkout in checkouts.items():
            times[name].append(import_ms(checkout))
    rows = []
    for name, checkout in checkouts.items():
        count = instructions(checkout) if args.instructions else None
        rows.append([name, f"{statistics.median(times[name]):.1f} ms", f"{min(times[name]):.1f} ms",
                     f"{count / 1e6:.0f} M" if count else "-"])
    print(H.table(["replicalab", "median", "best", "instructions"], rows))
    best = min(times["this checkout"])
    print(f"\n  best round {best:.1f} ms (target ≤ {TARGET_MS:.0f} ms): "
          f"{H.verdict(best, TARGET_MS, at_most=True)}")
    uses = {(name, use): [] for name in checkouts for use in FIRST_USES}
    for _ in range(1 if args.smoke else max(3, repeats // 3)):
        for name, checkout in checkouts.items():
            for use, statement in FIRST_USES.items():
                uses[name, use].append(first_use_ms(checkout, statement))
    print("\n  first use (no target; perf_counter in a fresh interpreter, median / best"
          f"{'; instructions, interpreter start-up included' if args.instructions else ''}):")
    for (name, use), ms in uses.items():
        count = instructions(checkouts[name],
                             FIRST_USES[use]) if args.instructions else None
        print(f"    {name:<14} {use:<40} {statistics.median(ms):6.1f} / {min(ms):6.1f} ms"
              + (f"  {count / 1e6:5.0f} M" if count else ""))
    if "baseline" in times:
        print(f"  baseline ÷ this checkout: {statistics.median(times['baseline']) / statistics.median(times['this checkout']):.2f}x"
              f" (medians), {min(times['baseline']) / best:.2f}x (best rounds)")
    for failure in failures:
        print(f"  WRONG ANSWER: {failure}")
    return H.checks(failures, f"import replicalab imports none of {', '.join(FORBIDDEN)}; "
                    "each first use runs")


if __name__ == "__main__":
    sys.exit(main())
