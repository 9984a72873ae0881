"""B9 — the explorer: states per second, and what the reduction saves, against a naive enumeration.

Workloads (issue #17: "the London scope finishes in under a second"):

* ``london`` under item-lww, causal and crdt: three regions, two writes, one strong
  read; 7 events per schedule;
* ``three-writers`` under item-lww: three regions, one write each to a different
  attribute of one item; 9 events per schedule;
* ``london`` under item-lww with one duplicated message allowed per schedule;
* the shipped request files ``london.json`` (the same scope as ``london``, as DynamoDB
  requests: the cost of building and carrying out real requests) and
  ``london-versioned.json`` (conditional writes: a condition fails in some schedules).

Contenders, on the same scope in one process:

* ``explore (reduced)`` — the default: breadth-first, a state set keyed by SHA-256 over
  canonical JSON, one schedule per class of schedules that differ only in the order of
  deliveries to different replicas;
* ``explore (full)`` — the same search without the reduction: every interleaving counted;
* ``naive`` — :func:`replicalab.explore.naive.every_schedule`: every interleaving, one by
  one, depth-first, no state set, no reduction (capped with ``--naive-cap`` schedules).

Checks (exit status 1 if one fails): the full search's verdict counts equal the naive
enumeration's exactly; the reduced search reaches the same final states and the same set
of verdicts per write. Printed: schedules, states, steps executed, seconds (median), states
per second, and the ratios.

Run ``python benchmarks/b9_explorer.py`` (``--quick``: the London scopes only, 3 rounds).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab import explore, scenarios
from replicalab.dynamodb.requestfile import example
from replicalab.explore.naive import every_schedule
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Constant

THREE_WRITERS = TableScenario(
    name="three-writers",
    description="three regions, one write each to a different attribute of one item",
    regions=("a", "b", "c"),
    latency={("a", "b"): Constant(50), ("a", "c"): Constant(50), ("b", "c"): Constant(50)},
    initial={"k": {"x": 0, "y": 0, "z": 0}},
    workload=tuple(ClientWrite(at=10 * (i + 1), region=r, op=f"w{i + 1}", client=f"c{i + 1}",
                               key="k", attributes={attribute: i + 1})
                   for i, (r, attribute) in enumerate(zip("abc", "xyz", strict=True))),
)

TARGET_LONDON_SECONDS = 1.0


def _verdicts(results: Any) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for result in results:
        for write, verdict in result.ledger.verdicts().items():
            out.setdefault(write, Counter())[verdict] += 1
    return {w: dict(sorted(c.items())) for w, c in sorted(out.items())}


def bench(label: str, scenario: Any, merge: str, faults: str, repeats: int, naive_cap: int,
          failures: list[str]) -> None:
    H.banner(f"B9 {label}: {merge}, faults={faults}")
    scope = scenarios.get(scenario) if isinstance(scenario, str) else scenario

    def reduced() -> tuple[float, Any]:
        start = H.perf_counter()
        space = explore.scenario(scope, merge, faults=faults)
        return H.perf_counter() - start, space

    def full() -> tuple[float, Any]:
        start = H.perf_counter()
        space = explore.scenario(scope, merge, faults=faults, reduce=False)
        return H.perf_counter() - start, space

    def naive() -> tuple[float, Any]:
        start = H.perf_counter()
        try:
            results = [r for _, r in every_schedule(scope, merge, faults=faults,
                                                    max_schedules=naive_cap)]
        except Exception as error:  # the cap: too many schedules to enumerate one by one
            return H.perf_counter() - start, str(error)
        return H.perf_counter() - start, results

    results = H.measure({"explore (reduced)": reduced, "explore (full)": full, "naive": naive},
                        repeats=repeats)
    mine, every, oracle = (results[k] for k in ("explore (reduced)", "explore (full)", "naive"))
    rows = []
    for name, r in results.items():
        if name == "naive":
            count = len(r.answer) if isinstance(r.answer, list) else "gave up"
            rows.append([name, count, "-", "-", f"{r.median:.3f}", "-"])
            continue
        space = r.answer
        rows.append([name, space.schedules, space.states, space.transitions, f"{r.median:.3f}",
                     f"{space.states / r.median:,.0f}"])
    print(H.table(["contender", "schedules", "states", "steps run", "median s", "states/s"], rows))
    if isinstance(oracle.answer, list):
        if every.answer.verdicts() != _verdicts(oracle.answer):
            failures.append(f"{label}: the full search's verdict counts differ from the naive enumeration's")
        median, best = H.ratio(oracle, mine)
        print(f"  reduced explore vs naive: {median:.1f}x (median), {best:.1f}x (best)")
    else:
        print(f"  naive: {oracle.answer}")
    if {o.state for o in mine.answer.outcomes} != {o.state for o in every.answer.outcomes}:
        failures.append(f"{label}: the reduced and full searches reach different final states")
    if ({w: set(v) for w, v in mine.answer.verdicts().items()}
            != {w: set(v) for w, v in every.answer.verdicts().items()}):
        failures.append(f"{label}: the reduced and full searches find different verdict sets")
    median, best = H.ratio(every, mine)
    print(f"  reduction: {every.answer.transitions} -> {mine.answer.transitions} steps run, "
          f"{every.answer.schedules} -> {mine.answer.schedules} schedules, states equal "
          f"({mine.answer.states}); {median:.2f}x faster (median), {best:.2f}x (best)")
    if scope.name == "london" and faults == "none":
        # CPU seconds of one more run beside the wall-clock medians: on the shared 2-core
        # machine other helpers' load inflates wall time several-fold, CPU time hardly.
        cpu = H.process_time()
        explore.scenario(scope, merge, faults=faults)
        cpu = H.process_time() - cpu
        print(f"  target London < {TARGET_LONDON_SECONDS:.0f} s: wall median {mine.median:.2f} s "
              f"{H.verdict(mine.median, TARGET_LONDON_SECONDS, at_most=True)}; CPU {cpu:.2f} s "
              f"{H.verdict(cpu, TARGET_LONDON_SECONDS, at_most=True)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the London scopes only, 3 rounds")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    parser.add_argument("--naive-cap", type=int, default=20_000,
                        help="schedules the naive enumeration may run (default 20,000)")
    parser.add_argument("--smoke", action="store_true",
                        help="London item-lww and london-versioned.json only: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else 5)
    print(f"{H.environment_line()}; median of {repeats} after {H.WARMUP} warm-up")
    failures: list[str] = []
    # Smoke: one merge of the named scenario and the request-file source, both small enough for
    # the naive enumeration to finish (so every check runs); three-writers takes ~16 s.
    for merge in ("item-lww",) if args.smoke else ("item-lww", "causal", "crdt"):
        bench("london", "london", merge, "none", repeats, args.naive_cap, failures)
    bench("london-versioned.json", explore.calls.requests(example("london-versioned")), "item-lww",
          "none", repeats, args.naive_cap, failures)
    if not args.quick and not args.smoke:
        bench("london.json", explore.calls.requests(example("london")), "item-lww", "none", repeats,
              args.naive_cap, failures)
        bench("three-writers", THREE_WRITERS, "item-lww", "none", repeats, args.naive_cap, failures)
        bench("london + one duplicate", "london", "item-lww", "duplicate", max(1, repeats // 2),
              args.naive_cap, failures)
    if failures:
        print()
        for failure in failures:
            print(f"  CHECK FAILED: {failure}")
    return H.checks(failures, "per scope: reduced and full searches reach the same final states and "
                    "verdict sets; the full search's verdict counts = the naive enumeration's where it finished")


if __name__ == "__main__":
    sys.exit(main())
