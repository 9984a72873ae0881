"""B13 — no quadratic on the path scenario → simulation → ledger → Result → JSON/SVG.

Workload (issue #20, item 2): a contested table on the London regions (us-east-1, eu-west-1,
ap-southeast-2 and their latencies): 50 hot items, and W ``UpdateItem`` calls spread evenly
over the three regions, each region writing one every 300 ms (a seeded offset inside the
slot) to a seeded random item, so writes race across regions all the time. W runs over
5,000, 10,000, 20,000, 40,000 and 80,000. Each W is built with
:class:`~replicalab.scenarios.TableScenario` and run under ``item-lww`` through the public
path: ``scenario.run`` (simulation, ledger, Result), then ``Result.to_json()`` and
``Result.to_svg()``.

Two more workloads take the same schedule with every write to *one* item (``hot``): the
ledger judges each write against every other write on its item, so a rule that scans the
item's writes per write is quadratic here and nowhere near it with 50 items. ``hot`` runs the
same W as the contested table; ``hot-leader`` runs it with leader regions (three AZ nodes per
region, ``region_protocol="leader"``: nine replicas, a log per region), which costs about
seven times as much per write, at W from 1,250 to 10,000 (``--quick``: to 5,000).
``hot-counter`` runs the ``hot`` schedule with every write an increment (``ADD used 1``), which the
ledger judges by its part: through the chain of increments built on it (a walk per write would
be quadratic). ``hot-set`` runs the ``hot`` schedule with every write a set action on the item's
``cart``, ``ADD`` or ``DELETE`` of one product from a fixed catalogue of 20, and ``hot-set-crdt``
the same under ``crdt``: an add found missing is judged by the first writes that took its member
out, and scanning a member's later removals per missing add would be quadratic.

The report: CPU seconds (``time.process_time``) per stage at every W, and the exponent ``k`` of the least-squares fit
``t = c · W^k`` on log-log axes for each stage and for the whole path, per workload. Target:
``k ≤ 1.15`` for the whole path of every workload (and, as printed, for each stage).

Checks: the SVG at the smallest W is drawn a second time with the label-placement index
replaced by the brute-force scan it replaced (test every label box placed so far), and the
two documents must be byte-identical. The verdict counts must add up to the acknowledged
writes at every W. For the set workloads, the run at the smallest W is judged a second time
with a set member's first removers found by the scan the per-replica index replaced, and the
two ``to_json()`` documents must be byte-identical.

Run ``python benchmarks/b13_scaling.py`` (about 7 minutes on 2 cores; ``--quick``: W up to 20,000;
``--workload hot`` for one workload; hot-set and hot-set-crdt add about 3 minutes each).
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from collections.abc import Callable

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)
import attrs

from replicalab.ledger import rules
from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.rng import RandomStreams, choice
from replicalab.viz import svg as svg_module

SIZES = (5_000, 10_000, 20_000, 40_000, 80_000)
QUICK = (2_500, 5_000, 10_000, 20_000)
#: Leader regions: nine replicas and a replicated log per region cost ~7x per write.
LEADER_SIZES = (1_250, 2_500, 5_000, 10_000)
LEADER_QUICK = (1_250, 2_500, 5_000)
LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}
#: ``--smoke``: two sizes (the fit needs two), every workload, the SVG check at the first.
SMOKE = (60, 120)
HOT_KEY = "quota-00"
#: hot-set: the catalogue a cart's products come from (fixed: see hot_set).
PRODUCTS = 20
ITEMS = 50
SLOT = 300  # ms between one region's writes
TARGET = 1.15
STAGES = ("run", "to_json", "to_svg")


def scenario(writes: int, seed: int = 0) -> TableScenario:
    """``writes`` racing updates of 50 hot items from the three London regions."""
    rng = RandomStreams(seed).stream("workload:b9")
    keys = [f"quota-{k:02d}" for k in range(ITEMS)]
    initial = {key: {"used": 0, "version": 1} for key in keys}
    ops: list[ClientWrite] = []
    regions = LONDON.regions
    for n in range(writes):
        region = regions[n % len(regions)]
        at = (n // len(regions)) * SLOT + int(rng.random() * SLOT)
        ops.append(ClientWrite(at, region, f"w{n}", "metering", choice(rng, keys), {"used": n}))
    ops.sort(key=lambda w: (w.at, w.op))
    return TableScenario(name=f"contested-{writes}", description=f"{writes} racing writes",
                         regions=regions, latency=LONDON.latency, initial=initial,
                         workload=tuple(ops), epoch=EPOCH)


def hot(writes: int, seed: int = 0) -> TableScenario:
    """The contested schedule with every write to one item: one key written ``writes`` times."""
    story = scenario(writes, seed)
    return attrs.evolve(story, name=f"hot-{writes}", description=f"{writes} racing writes to one item",
                        initial={HOT_KEY: story.initial[HOT_KEY]},
                        workload=tuple(attrs.evolve(w, key=HOT_KEY) for w in story.workload))


def hot_counter(writes: int, seed: int = 0) -> TableScenario:
    """The hot schedule with every write an increment (``ADD used 1``): under item-lww each one
    is judged by its part, following the chain of increments built on it back from the final
    cell — a chain walk per write would be quadratic in W."""
    story = hot(writes, seed)
    return attrs.evolve(story, name=f"hot-counter-{writes}",
                        description=f"{writes} racing increments of one item",
                        workload=tuple(attrs.evolve(w, attributes={}, add={"used": 1})
                                       for w in story.workload))


def hot_set(writes: int, seed: int = 0) -> TableScenario:
    """The hot schedule with every write a set action on one item's ``cart``: ``ADD cart
    :members`` or ``DELETE cart :members`` (even odds, seeded) of one product from a fixed
    catalogue of :data:`PRODUCTS`. A fixed catalogue is what a learner writes (a shopping cart,
    a tag set) and the hard case: each product is added and deleted ~W/PRODUCTS times, so the
    adds whose product is missing at the end grow with W *and* so do the deletes of each
    product that could have taken it out — a scan of those per missing add is W²."""
    story = hot(writes, seed)
    rng = RandomStreams(seed).stream("workload:b13-set")
    products = [f"p{k:02d}" for k in range(PRODUCTS)]
    ops = []
    for w in story.workload:
        action = {"cart": {choice(rng, products)}}
        adding = rng.random() < 0.5
        ops.append(attrs.evolve(w, attributes={}, add=action if adding else {},
                                delete={} if adding else action))
    return attrs.evolve(story, name=f"hot-set-{writes}",
                        description=f"{writes} racing set ADD/DELETE on one item",
                        initial={HOT_KEY: {"cart": set(products[:PRODUCTS // 2])}},
                        workload=tuple(ops))


#: workload -> (title, story builder, run options, sizes, quick sizes)
WORKLOADS: dict[str, tuple[str, Callable[[int], TableScenario], dict[str, object],
                           tuple[int, ...], tuple[int, ...]]] = {
    "contested": (f"contested table, {ITEMS} items, 3 regions", scenario, {}, SIZES, QUICK),
    "hot": ("one hot item, 3 regions", hot, {}, SIZES, QUICK),
    "hot-leader": ("one hot item, leader regions (3 AZ nodes each)", hot, LEADER, LEADER_SIZES,
                   LEADER_QUICK),
    "hot-counter": ("one hot counter, 3 regions, every write ADD used 1", hot_counter, {}, SIZES,
                    QUICK),
    "hot-set": (f"one hot set, 3 regions, ADD/DELETE of {PRODUCTS} products", hot_set, {},
                SIZES, QUICK),
    "hot-set-crdt": (f"one hot set, 3 regions, ADD/DELETE of {PRODUCTS} products", hot_set, {},
                     SIZES, QUICK),
}
#: The merge policy each workload runs under (default item-lww): a set's removers are judged
#: by both policies' rules (LWW: the winning value; crdt: an OR-Set's element cells).
MODES = {"hot-set-crdt": "crdt"}
#: Their ledger at the smallest W is judged a second time by the removers' scan (see measure).
SET_WORKLOADS = ("hot-set", "hot-set-crdt")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    # CPU seconds of this process: on a shared machine, waiting for a core is not our cost.
    started = time.process_time()
    value = fn()
    return time.process_time() - started, value


def fit(sizes: list[int], seconds: list[float]) -> float:
    """The least-squares slope of log(seconds) on log(W)."""
    xs = [math.log(w) for w in sizes]
    ys = [math.log(max(t, 1e-9)) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


class _BruteTaken(list):
    """The label placement before the index: test a new box against every box so far."""

    def overlaps(self, box: tuple[float, float, float, float]) -> bool:
        x, y, w, h = box
        return any(x < bx + bw and bx < x + w and y < by + bh and by < y + h
                   for bx, by, bw, bh in self)


def brute_svg(result: object) -> str:
    """``result.to_svg()`` drawn with the brute-force label placement (the slow path)."""
    indexed = svg_module._Taken
    svg_module._Taken = _BruteTaken  # type: ignore[misc]
    try:
        return result.to_svg()  # type: ignore[attr-defined]
    finally:
        svg_module._Taken = indexed  # type: ignore[misc]


def scanned_json(story: TableScenario, mode: str, options: dict[str, object]) -> str:
    """The run's ``to_json()`` with a set member's first removers found by the scan the
    per-replica index replaced (every later removal of the member: the slow path)."""
    chained = rules._Removals.chained
    rules._Removals.chained = lambda self, w: False  # type: ignore[method-assign]
    try:
        return story.run(mode, 0, **options).to_json()  # type: ignore[arg-type]
    finally:
        rules._Removals.chained = chained  # type: ignore[method-assign]


def measure(name: str, quick: bool, repeats: int, failures: list[str]) -> float:
    """Run one workload at its sizes, print its table, return the whole path's exponent."""
    title, build, options, full, fast = WORKLOADS[name]
    sizes = list(SMOKE if H.SMOKE else fast if quick else full)
    mode = MODES.get(name, "item-lww")
    H.banner(f"B13 scaling ({name}): {title}, W writes, {mode}")
    best: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for writes in sizes:
        story = build(writes)
        rounds: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for _ in range(repeats):
            seconds, result = timed(lambda: story.run(mode, 0, **options))  # noqa: B023
            rounds["run"].append(seconds)
            seconds, _ = timed(result.to_json)  # type: ignore[attr-defined]
            rounds["to_json"].append(seconds)
            seconds, drawing = timed(result.to_svg)  # type: ignore[attr-defined]
            rounds["to_svg"].append(seconds)
        summary = result.summary  # type: ignore[attr-defined]
        if summary["acknowledged"] != sum(v for k, v in summary.items() if k != "acknowledged"):
            failures.append(f"{name} W={writes}: verdicts do not add up: {summary}")
        if name == "contested" and writes == sizes[0] and brute_svg(result) != drawing:
            failures.append(f"W={writes}: the indexed label placement drew a different SVG")
        if (name in SET_WORKLOADS and writes == sizes[0]
                and scanned_json(story, mode, options) != result.to_json()):  # type: ignore[attr-defined]
            failures.append(f"{name} W={writes}: the removers' index judged otherwise than the scan")
        for stage in STAGES:
            best[stage].append(min(rounds[stage]))
        del result, drawing
        print(f"  W={writes:>6,}: " + ", ".join(f"{s} {best[s][-1]:.2f} s" for s in STAGES),
              flush=True)
    totals = [sum(best[s][i] for s in STAGES) for i in range(len(sizes))]
    rows = [[f"{w:,}"] + [f"{best[s][i]:.2f}" for s in STAGES] + [f"{totals[i]:.2f}"]
            for i, w in enumerate(sizes)]
    exponents = [fit(sizes, best[s]) for s in STAGES]
    whole = fit(sizes, totals)
    rows.append(["exponent k"] + [f"{k:.2f}" for k in exponents] + [f"{whole:.2f}"])
    print(H.table(["W", "run (s)", "to_json (s)", "to_svg (s)", "total (s)"], rows))
    print(f"\n  whole path: t ∝ W^{whole:.2f} (target ≤ {TARGET}): {H.verdict(whole, TARGET, at_most=True)}")
    for stage, k in zip(STAGES, exponents, strict=True):
        print(f"  {stage}: W^{k:.2f} {H.verdict(k, TARGET, at_most=True)}")
    return whole


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="W from 2,500 to 20,000")
    parser.add_argument("--repeats", type=int, default=1, help="rounds per W (best is kept)")
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all",
                        help="which workload to scale (default: all of them)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"W = {', '.join(map(str, SMOKE))}: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    print(f"{H.environment_line()}; best of {args.repeats} round(s) per W")
    failures: list[str] = []
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    exponents = {name: measure(name, args.quick, args.repeats, failures) for name in names}
    if len(exponents) > 1:
        print("\n  whole path per workload: " + ", ".join(
            f"{name} W^{k:.2f} {H.verdict(k, TARGET, at_most=True)}" for name, k in exponents.items()))
    for failure in failures:
        print(f"  WRONG ANSWER: {failure}")
    what = "verdicts add up to the acknowledged writes at every W"
    if "contested" in names:
        what += "; indexed SVG = brute-force SVG"
    if set(SET_WORKLOADS) & set(names):
        what += "; removers' index = scan (JSON) at the smallest W"
    return H.checks(failures, f"{what} ({', '.join(names)})")


if __name__ == "__main__":
    sys.exit(main())
