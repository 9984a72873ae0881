"""B16 — ``compare`` aggregates as it goes: memory flat in the number of seeds.

Workload (issue #20, item 4): ``compare("london", seeds=range(S), chosen=[MREC item-lww])``
for S ∈ {100, 400, 1600} (the CLI's ``replicalab compare london --seeds S`` for one pattern),
under ``tracemalloc``. Each S is measured twice: with a full ``gc.collect()`` after every
10th run (through ``progress``), so the peak is what ``compare`` holds rather than cyclic
garbage waiting for the collector, and with the collector left alone (for information: its
timing, not ``compare``, decides how much garbage a long call carries). The report: the
peaks, and the growth of the held peak from the smallest S to the largest (target: flat,
within 1.5×, while the work grows 16×); CPU time per seed for information.

Check: at S = 100 the row equals the one computed the plain way, from every Result kept in
a list with the latencies pooled (the slow path the aggregation replaced), field by field.

Run ``python benchmarks/b16_compare.py`` (about 30 s; ``--quick``: S up to 400).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab import scenarios
from replicalab.scenarios.compare import PATTERNS, compare, conflicting_writes
from replicalab.scenarios.result import percentile

SIZES = (100, 400, 1600)
QUICK = (100, 400)
SMOKE = (10, 20)  # the pooled check runs at the first
TARGET = 1.5


def pooled(seeds: int) -> dict[str, object]:
    """The row the plain way: keep every Result, pool the latencies, then sum."""
    pattern = PATTERNS[0]
    results = [scenarios.run("london", seed=s, **pattern.options) for s in range(seeds)]
    latencies = [v for r in results for v in r.write_latencies]
    return {
        "seeds": len(results),
        **{k: sum(r.summary[k] for r in results)
           for k in ("acknowledged", "silently_lost", "detected", "rejected", "unreplicated")},
        "siblings": sum(r.siblings_visible for r in results),
        "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
        "stale_reads": sum(len(r.stale_reads) for r in results),
        "reads": sum(r.reads for r in results),
        "converged": sum(r.converged for r in results),
        "conflicts": sum(conflicting_writes(r) for r in results),
        "seconds": sum(max(r.statistics.now, 1) for r in results) / 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="S up to 400")
    parser.add_argument("--repeats", type=int, default=1, help="ignored: one traced call per S")
    parser.add_argument("--smoke", action="store_true", help=f"S = {', '.join(map(str, SMOKE))}: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    sizes = SMOKE if args.smoke else QUICK if args.quick else SIZES
    print(H.environment_line())
    H.banner("B16 compare london, one pattern, S seeds, under tracemalloc")
    failures = []
    rows, peaks = [], []
    for seeds in sizes:
        measured = []
        for collect in (True, False):
            gc.collect()
            tracemalloc.start()
            started = time.process_time()
            (row,) = compare("london", range(seeds), chosen=[PATTERNS[0]],
                             progress=(lambda done, _: done % 10 or gc.collect()) if collect else None)
            seconds = time.process_time() - started
            measured.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        peaks.append(measured[0])
        rows.append([f"S={seeds}", f"{measured[0] / 1e6:.2f} MB", f"{measured[1] / 1e6:.2f} MB",
                     f"{seconds / seeds * 1000:.1f} ms"])
        if seeds == sizes[0]:
            plain, expected = row.to_plain(), pooled(seeds)
            if {k: plain[k] for k in expected} != expected:
                failures.append(f"S={seeds}: the aggregated row differs from the pooled one")
    print(H.table(["seeds", "held peak (gc every 10 runs)", "peak (gc left alone)", "CPU per seed"], rows))
    growth = peaks[-1] / peaks[0]
    print(f"\n  held peak at S={sizes[-1]} ÷ at S={sizes[0]}: {growth:.2f}x for {sizes[-1] // sizes[0]}x "
          f"the seeds (target ≤ {TARGET}x): {H.verdict(growth, TARGET, at_most=True)}")
    for failure in failures:
        print(f"  WRONG ANSWER: {failure}")
    return H.checks(failures, f"S = {sizes[0]}: the aggregated row = the one pooled from every Result")


if __name__ == "__main__":
    sys.exit(main())
