"""B14 — set-up linear in replicas: a 1,000-replica full mesh builds in under 200 MB.

Workload (issue #20, item 3): ``Simulation`` of R ∈ {125, 250, 500, 1000} trivial replicas
with one uniform 1–10 ms link for every pair, built two ways:

* *implied mesh*: no ``topology`` (the default full mesh, which stores nothing per pair);
* *graph*: ``topology=full_mesh(ids)``, a networkx graph with R(R−1)/2 edges, built before
  the clock and the memory count start (it is the caller's, and costs ~70 MB at R = 1000).

Each build runs in a fresh process, which reports the set-up CPU time, the tracemalloc peak of
the build and the process's peak RSS (``ru_maxrss``, which includes the interpreter and, for
the graph, networkx and the graph). Then every replica sends three messages to seeded random
peers and the run goes to quiescence, so the links that are used do get their streams.

The report: both measures at every R, and the exponents of the least-squares fit
``t = c · R^k`` of set-up time and build memory. Targets: the build of a 1,000-replica full
mesh under 200 MB (both ways), set-up time and memory growing at most linearly in the
links actually stored (k ≤ 1.15 for the implied mesh, whose set-up stores nothing per pair).

Checks: at R = 60, on both topologies, the run with streams made lazily (on first use) and
the run with every link's stream forced at set-up (the eager slow path) give byte-identical
traces, and the lazy run makes a stream only for links that carried a message.

Run ``python benchmarks/b14_setup.py`` (about 30 s; ``--quick``: R up to 500).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

SIZES = (125, 250, 500, 1000)
QUICK = (125, 250, 500)
SMOKE = (20, 40)  # two sizes for the fit; each build is still a fresh process
LIMIT_MB = 200
TARGET = 1.15

CHILD = r"""
import json, resource, sys, time, tracemalloc
from replicalab.replica.base import Replica
from replicalab.sim import Link, Simulation, Uniform
from replicalab.sim.topology import full_mesh

class Chatty(Replica):
    def on_start(self, ctx):
        for _ in range(3):
            ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], "hi")

    def on_message(self, ctx, src, msg):
        pass

n, shape = int(sys.argv[1]), sys.argv[2]
ids = [f"r{i:04d}" for i in range(n)]
graph = full_mesh(ids) if shape == "graph" else None
replicas = [Chatty(i) for i in ids]
tracemalloc.start()
started = time.process_time()
sim = Simulation(replicas, seed=0, topology=graph, link=Link(Uniform(1, 10)), trace=False)
setup = time.process_time() - started
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
sim.run()
print(json.dumps({"setup": setup, "peak": peak, "delivered": sim.statistics().delivered,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def child(n: int, shape: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(H.REPO), PYTHONHASHSEED="0")
    # cwd outside any checkout, so sys.path[0] does not pick another replicalab
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), shape], env=env, check=True,
                         capture_output=True, text=True, cwd="/").stdout
    return json.loads(out)


def fit(xs: list[int], ys: list[float]) -> float:
    """The least-squares slope of log(y) on log(x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def same_trace_lazy_and_eager(shape: str) -> list[str]:
    """The lazy run and the eager slow path (every stream made at set-up) give the same trace."""
    from replicalab.replica.base import Replica
    from replicalab.sim import Link, Simulation, Uniform
    from replicalab.sim.topology import full_mesh

    class Chatty(Replica):
        def on_start(self, ctx):  # type: ignore[no-untyped-def]
            for _ in range(3):
                ctx.send(ctx.peers[int(ctx.random() * len(ctx.peers))], "hi")

        def on_message(self, ctx, src, msg):  # type: ignore[no-untyped-def]
            if msg == "hi":
                ctx.send(src, "ack")

    ids = [f"r{i:02d}" for i in range(60)]
    traces, made = [], 0
    for eager in (False, True):
        sim = Simulation([Chatty(i) for i in ids], seed=3,
                         topology=full_mesh(ids) if shape == "graph" else None,
                         link=Link(Uniform(1, 10), loss=0.1), trace=True)
        if eager:
            for ctx in sim._contexts.values():
                for peer in ctx.peers:
                    ctx._links[peer].rng  # noqa: B018  (forces the stream, as set-up once did)
        sim.run()
        traces.append(sim.trace.to_json())
        if not eager:
            # A link's state, and with it its stream, is made on first use (sim/links.py).
            made = sum(len(dict.values(ctx._links)) for ctx in sim._contexts.values())
            used = {(e.replica, e.get("dst")) for e in sim.trace.of_kind("Sent")}
    failures = []
    if traces[0] != traces[1]:
        failures.append(f"{shape}: lazy and eager link streams gave different traces")
    if made > len(used):
        failures.append(f"{shape}: {made} streams made for {len(used)} links used")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="R up to 500")
    parser.add_argument("--repeats", type=int, default=None, help="builds per R (best is kept; default 3)")
    parser.add_argument("--smoke", action="store_true", help=f"R = {', '.join(map(str, SMOKE))}: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    args.repeats = args.repeats or (1 if args.smoke else 3)
    sizes = list(SMOKE if args.smoke else QUICK if args.quick else SIZES)
    print(f"{H.environment_line()}; best of {args.repeats} builds per R, each in a fresh process")
    H.banner("B14 set-up: R replicas, every pair linked (uniform 1-10 ms)")
    failures = same_trace_lazy_and_eager("mesh") + same_trace_lazy_and_eager("graph")
    rows, fits = [], {}
    for shape in ("mesh", "graph"):
        setups, peaks = [], []
        for n in sizes:
            runs = [child(n, shape) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r["setup"])
            setups.append(best["setup"])
            peaks.append(min(r["peak"] for r in runs))
            if any(r["delivered"] != 3 * n for r in runs):
                failures.append(f"{shape} R={n}: expected {3 * n} deliveries")
            rows.append([f"{shape} R={n}", f"{best['setup'] * 1000:.0f} ms",
                         f"{peaks[-1] / 1e6:.1f} MB", f"{max(r['rss'] for r in runs) / 1e6:.0f} MB"])
            if n == 1000:
                print(f"  {shape}, 1,000 replicas: build {peaks[-1] / 1e6:.1f} MB "
                      f"(target < {LIMIT_MB} MB): {H.verdict(peaks[-1] / 1e6, LIMIT_MB, at_most=True)}")
        fits[shape] = (fit(sizes, setups), fit(sizes, peaks))
    print(H.table(["build", "set-up", "build peak (tracemalloc)", "process peak RSS"], rows))
    for shape, (k_time, k_mem) in fits.items():
        print(f"  {shape}: set-up time ∝ R^{k_time:.2f}, build memory ∝ R^{k_mem:.2f}"
              + (f" (target ≤ {TARGET}: {H.verdict(max(k_time, k_mem), TARGET, at_most=True)})"
                 if shape == "mesh" else " (the graph itself has R(R-1)/2 edges)"))
    for failure in failures:
        print(f"  WRONG ANSWER: {failure}")
    return H.checks(failures, "R = 60, mesh and graph: lazy link streams = eager ones (byte-identical traces), "
                    f"streams only for links used; every build delivered 3 messages a replica at R = "
                    f"{', '.join(map(str, sizes))}")


if __name__ == "__main__":
    sys.exit(main())
