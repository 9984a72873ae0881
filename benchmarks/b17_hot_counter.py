"""B17 — a hot crdt counter costs what the same ADDs on separate keys cost: linear in N.

Workload (issue #20, the path scenario → simulation → ledger → Result): three regions
(ap-southeast-2, eu-west-1, us-east-1; one-way latency uniform 20–120 ms), N ``ADD n 1``
client writes round-robin over the regions every 5 ms, merge policy ``crdt``, seed 0, run
through ``TableScenario.run`` (what ``scenarios.run`` calls). N ∈ {200, 800, 3200}.

* **hot**: all N ADDs on one key — the counter under test. Its state is one running-total
  cell per region, so every write and merge costs the same whatever N (before: a cell per
  ADD, so N=800 took 5.6 s and the cost grew quadratically).
* **spread** (the floor): the same N ADDs on N different keys — the same writes, messages,
  merges and ledger entries, with nothing accumulating on any item.

Check: every region reads N on the hot key, and the spread keys sum to N; every write kept.
Targets: hot ÷ spread time ≤ 1.5 at every N, and hot time per ADD at the largest N within
1.5× of the smallest N's (linear). CPU time (``process_time``) of the run, median of rounds.

Run ``python benchmarks/b17_hot_counter.py`` (about a minute; ``--quick``: N up to 800).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

REGIONS = ("ap-southeast-2", "eu-west-1", "us-east-1")
SIZES = (200, 800, 3200)
QUICK = (200, 800)
SMOKE = (20, 40)
TARGET_FLOOR = 1.5
TARGET_GROWTH = 1.5


def scenario(n: int, *, hot: bool) -> TableScenario:
    keys = ["k"] if hot else [f"k{i:05d}" for i in range(n)]
    workload = tuple(
        ClientWrite(i * 5, REGIONS[i % 3], f"w{i + 1}", f"c{i % 3}", keys[0] if hot else keys[i], {},
                    add={"n": 1})
        for i in range(n))
    return TableScenario(
        name="hot-counter" if hot else "spread-counters", description="N ADDs", regions=REGIONS,
        latency={(a, b): Uniform(20, 120) for i, a in enumerate(REGIONS) for b in REGIONS[i + 1:]},
        initial={k: {"n": 0} for k in keys}, workload=workload)


def contender(n: int, *, hot: bool) -> Any:
    prepared = scenario(n, hot=hot)

    def run() -> tuple[float, Any]:
        # Timed: the run and what a user reads of it (final states, the ledger), which
        # the Result computes on first use.
        started = time.process_time()
        result = prepared.run("crdt", 0)
        totals = {sum(item["n"] for item in state.values()) for state in result.final.values()}
        answer = (totals, set(result.ledger.verdicts().values()), result.converged)
        return time.process_time() - started, answer
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N up to 800, 3 rounds")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 3)")
    parser.add_argument("--smoke", action="store_true", help=f"N = {', '.join(map(str, SMOKE))}: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    sizes = SMOKE if args.smoke else QUICK if args.quick else SIZES
    repeats = args.repeats or (1 if args.smoke else 3)
    print(H.environment_line())
    H.banner("B17 hot crdt counter: N ADDs on one key vs on N keys, 3 regions")
    rows, per_add, failures = [], [], []
    for n in sizes:
        results = H.measure({"hot": contender(n, hot=True), "spread": contender(n, hot=False)},
                            repeats=repeats, warmup=0)
        hot, spread = results["hot"], results["spread"]
        expected = ({n}, {"kept"}, True)
        for name, res in results.items():
            if res.answer != expected:
                failures.append(f"N={n} {name}: {res.answer}, expected {expected}")
        over = hot.median / spread.median
        per_add.append(hot.median / n)
        rows.append([f"N={n}", f"{hot.median:.2f} s", f"{spread.median:.2f} s",
                     f"{hot.median / n * 1e3:.2f} ms", f"{over:.2f}x {H.verdict(over, TARGET_FLOOR, at_most=True)}"])
    print(H.table(["ADDs", "hot (one key)", "spread (N keys)", "hot per ADD", f"hot ÷ spread (≤ {TARGET_FLOOR})"],
                  rows))
    growth = per_add[-1] / per_add[0]
    print(f"\n  hot time per ADD at N={sizes[-1]} ÷ at N={sizes[0]}: {growth:.2f}x "
          f"(linear: ≤ {TARGET_GROWTH}x): {H.verdict(growth, TARGET_GROWTH, at_most=True)}")
    for failure in failures:
        print(f"  WRONG ANSWER: {failure}")
    return H.checks(failures, f"hot and spread: every region reads N, every write kept, converged; "
                    f"N = {', '.join(map(str, sizes))}")


if __name__ == "__main__":
    sys.exit(main())
