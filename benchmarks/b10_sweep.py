"""B10 — seed sweeps: 2 worker processes against 1, and the Dask path against the process pool.

Workload (issue #19): ``sweep("london", range(250))`` — every pattern of ``replicalab compare``
(8) on 250 seeds, 2,000 runs — and the same on the ``crash`` scenario, whose runs are about
five times longer (so pool start-up weighs less).

Contenders, all through the public :func:`replicalab.sweep`:

* ``workers=1``: every run in this process (the floor: no processes, no pickling);
* ``workers=2``: a fresh local process pool per sweep (pool start-up included; the fork server,
  started once per process, is started by the warm-up round and reported apart);
* ``dask=client``: a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` started once
  (its start-up is reported apart), the same chunks submitted as futures.

Checks: all three give byte-identical JSON. Because other load on a shared machine takes cores
from the workers, it also prints the load-independent part: CPU per chunk in a pool worker
against this process, and the share of a core each worker got. Targets: 2 workers at least 1.7x faster than 1 on
the 2,000 London runs; the Dask path's overhead per run over the process pool is reported. The
load average is printed: on a shared machine other processes take cores from the two workers.
Run ``python benchmarks/b10_sweep.py`` (``--quick``: 500 runs, one round; ``--scenario london``:
only the target's workload).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

import replicalab
from replicalab.sweeps import SweepResult


def timed(fn) -> tuple[float, str]:
    t0 = H.perf_counter()
    result: SweepResult = fn()
    return H.perf_counter() - t0, result.to_json()


def timed_chunk(chunk) -> tuple[int, float, float]:
    """(pid, CPU seconds, wall seconds) of running one chunk, measured where it ran."""
    from replicalab.sweeps.measure import run_chunk

    cpu, wall = time.process_time(), H.perf_counter()
    run_chunk(chunk)
    return os.getpid(), time.process_time() - cpu, H.perf_counter() - wall


def share_of_a_core(seeds: range) -> None:
    """The load-independent part: CPU per chunk in a pool worker vs here, and how much of a core
    each worker actually got (CPU / wall). On an idle 2-core machine each worker gets ~100%."""
    from concurrent.futures import ProcessPoolExecutor

    from replicalab.scenarios.compare import patterns
    from replicalab.sweeps.backends import start_method
    from replicalab.sweeps.cells import Chunk, Group, Source

    groups = tuple(Group.of(p) for p in patterns())
    chunks = [Chunk(Source.scenario("london"), seeds[i:i + 16], groups)
              for i in range(0, len(seeds), 16)]
    here = [timed_chunk(c) for c in chunks]
    context = multiprocessing.get_context(start_method())
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(timed_chunk, chunks[:2]))  # warm-up
        there = list(pool.map(timed_chunk, chunks))
    cpu_here = sum(r[1] for r in here) / len(here)
    cpu_there = sum(r[1] for r in there) / len(there)
    got = sum(r[1] for r in there) / sum(r[2] for r in there)
    print(f"  CPU per chunk of 128 runs: {cpu_here * 1000:.0f} ms here, {cpu_there * 1000:.0f} ms in a "
          f"pool worker ({cpu_there / cpu_here:.2f}x); each worker got {got:.0%} of a core")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 runs per scenario, one round")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 3)")
    parser.add_argument("--scenario", choices=["london", "crash"], action="append",
                        help="only this workload (repeatable; default both)")
    parser.add_argument("--smoke", action="store_true",
                        help="3 seeds per scenario (a Dask cluster is still started): " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    seeds = range(3 if args.smoke else 63 if args.quick else 250)
    repeats = args.repeats or (1 if args.quick or args.smoke else 3)
    print(f"{H.environment_line()}, dask {H.version('distributed')}; "
          f"best and median of {repeats} interleaved rounds after a warm-up")
    print(f"  before: {load()}")

    t0 = H.perf_counter()
    replicalab.sweep("london", 1, patterns=["item-lww"], workers=2)  # starts the fork server
    server = H.perf_counter() - t0
    client = cluster = None
    cluster_start = 0.0
    try:
        import distributed

        t0 = H.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None,
                                           silence_logs=40)
        client = distributed.Client(cluster)
        cluster_start = H.perf_counter() - t0
    except ImportError:
        print("  dask not installed (pip install -e '.[dask]'): the Dask column is skipped")

    failures: list[str] = []
    try:
        for scenario in args.scenario or ("london", "crash"):
            runs = len(seeds) * 8
            H.banner(f"{scenario}: {len(seeds)} seeds x 8 patterns = {runs:,} runs")
            contenders = {
                "workers=1": lambda s=scenario: timed(lambda: replicalab.sweep(s, seeds, workers=1)),
                "workers=2": lambda s=scenario: timed(lambda: replicalab.sweep(s, seeds, workers=2)),
            }
            if client is not None:
                contenders["dask (2 workers)"] = lambda s=scenario: timed(
                    lambda: replicalab.sweep(s, seeds, dask=client))
            results = H.measure(contenders, repeats=repeats)
            answers = {r.answer for r in results.values()}
            if len(answers) != 1:
                failures.append(f"{scenario}: the backends' JSON differs")
            one = results["workers=1"]
            rows = [[name, f"{r.median:.2f} s", f"{r.best:.2f} s",
                     f"{1e6 * r.median / runs:.0f} µs", f"{r.spread:.0%}"]
                    for name, r in results.items()]
            print(H.table(["backend", "median", "best", "per run", "spread"], rows))
            two = results["workers=2"]
            med, best = H.ratio(one, two)
            line = f"  speed-up of 2 workers over 1: {med:.2f}x (medians), {best:.2f}x (best rounds)"
            if scenario == "london":
                line += f"  >= 1.7x {H.verdict(med, 1.7)}"
            print(line)
            if client is not None:
                dask = results["dask (2 workers)"]
                over_med = 1e6 * (dask.median - two.median) / runs
                over_best = 1e6 * (dask.best - two.best) / runs
                print(f"  Dask overhead over the process pool: {over_med:+.0f} µs per run (medians), "
                      f"{over_best:+.0f} µs (best rounds)")
            print(f"  outputs identical across backends: {len(answers) == 1}")
            if scenario == "london":
                share_of_a_core(seeds)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    print()
    print(f"  one-off start-ups: fork server (with replicalab preloaded) and first pool "
          f"{server:.2f} s; Dask LocalCluster + client {cluster_start:.2f} s")
    print(f"  after: {load()}")
    for failure in failures:
        print(f"  CHECK FAILED: {failure}")
    backends = "workers=1, workers=2" + (", dask" if cluster is not None else " (dask skipped: not installed)")
    return H.checks(failures, f"{backends} give byte-identical JSON on {len(seeds)} seeds x 8 patterns, "
                    f"{', '.join(args.scenario or ('london', 'crash'))}")


if __name__ == "__main__":
    sys.exit(main())
