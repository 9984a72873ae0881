"""B8 — anti-entropy at scale: 10 regions × 100,000 keys × 10,000 writes, with and without it.

Workload (issue #20, item 1): ten ``TableReplica`` regions (item-lww) on a full mesh with
uniform 5–50 ms links start from the same 100,000 items. Clients write 10,000
``UpdateItem``\\ s, one per simulated millisecond, each to a seeded random key at a seeded
random region; every write replicates to the nine other regions. The run stops at a fixed
horizon (the writes' 10 s plus 2 s), because anti-entropy timers never stop.

Contenders: the same run with ``AntiEntropy(period=500, fanout=16)`` on every region (the
defaults: the depth follows the key count, 5 at 100,000 keys, and short 8-byte child hashes
as in B6; ``--child-hash-bytes 32`` for full hashes), and without anti-entropy. Both are built and run through the public API
(``Simulation`` with tracing off). Checks: every region ends with the same items in both
runs (no loss, so replication alone converges; anti-entropy must change nothing), and the
anti-entropy run reports its sessions and bytes.

Targets: the run with anti-entropy in at most 10 s on this machine, and at most 3× the run
without. Times are CPU seconds of the process (``time.process_time``), so waiting for a
shared core is not counted; rounds are interleaved. Run ``python benchmarks/b8_antientropy_scale.py`` (``--quick``: 10,000 keys, 2,000 writes).
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.antientropy import SHORT_HASH_BYTES
from replicalab.merkle import suggested_depth
from replicalab.policies import get_policy
from replicalab.replica.table import AntiEntropy, TableReplica, UpdateItem
from replicalab.sim import Link, Simulation, Uniform, full_mesh

REGIONS = tuple(f"region-{i}" for i in range(10))
FANOUT = 16
PERIOD = 500


def build(keys: int, writes: int, anti_entropy: bool, width: int = SHORT_HASH_BYTES) -> Simulation:
    policy = get_policy("item-lww")
    initial = {f"key{i:07d}": policy.initial({"n": i}) for i in range(keys)}
    config = AntiEntropy(period=PERIOD, fanout=FANOUT, child_hash_bytes=width) if anti_entropy else None
    regions = [TableReplica(r, policy, initial, anti_entropy=config) for r in REGIONS]
    sim = Simulation(regions, topology=full_mesh(REGIONS), link=Link(Uniform(5, 50)), seed=1,
                     trace=False)
    rng = random.Random(20)
    for n in range(writes):
        region = REGIONS[int(rng.random() * len(REGIONS))]
        key = f"key{int(rng.random() * keys):07d}"
        sim.client_request(n, region, UpdateItem(f"w{n}", key, {"n": n, "by": region}))
    return sim


def run(keys: int, writes: int, anti_entropy: bool, width: int) -> tuple[float, float, Simulation]:
    """(set-up CPU seconds, run CPU seconds, the finished simulation)."""
    t0 = time.process_time()
    sim = build(keys, writes, anti_entropy, width)
    t1 = time.process_time()
    sim.run(until=writes + 2000)
    return t1 - t0, time.process_time() - t1, sim


def states(sim: Simulation) -> list[dict]:
    return [dict(sorted(r.items.items())) for r in sim.replicas.values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 keys and 2,000 writes, 1 round")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 3)")
    parser.add_argument("--child-hash-bytes", type=int, default=SHORT_HASH_BYTES,
                        help=f"bytes per child hash below the root (default {SHORT_HASH_BYTES}; 32 = full SHA-256)")
    parser.add_argument("--smoke", action="store_true", help="1,000 keys and 300 writes: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    keys, writes = (1_000, 300) if args.smoke else (10_000, 2_000) if args.quick else (100_000, 10_000)
    repeats = args.repeats or (1 if args.quick or args.smoke else 3)
    print(f"{H.environment_line()}; CPU seconds, best and median of {repeats} interleaved rounds")
    H.banner(f"{len(REGIONS)} regions x {keys:,} keys x {writes:,} writes, anti-entropy every "
             f"{PERIOD} ms (fanout {FANOUT}, depth {suggested_depth(keys, FANOUT)}, "
             f"{args.child_hash_bytes}-byte child hashes)")
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    failures: list[str] = []
    last: dict[bool, Simulation] = {}
    for _ in range(repeats):
        for ae in (False, True):
            setup, ran, sim = run(keys, writes, ae, args.child_hash_bytes)
            times[ae].append((setup, ran))
            last[ae] = sim
    with_ae, without = states(last[True]), states(last[False])
    if any(s != with_ae[0] for s in with_ae):
        failures.append("regions differ at the end of the run with anti-entropy")
    if with_ae != without:
        failures.append("the runs with and without anti-entropy end in different states")
    regions = list(last[True].replicas.values())
    syncs = sum(r.syncs_started for r in regions)

    def total(ae: bool, pick) -> float:
        return pick([s + r for s, r in times[ae]])

    def med(xs):
        return sorted(xs)[len(xs) // 2]

    rows = []
    for ae, name in ((False, "without anti-entropy"), (True, "with anti-entropy")):
        setups = [s for s, _ in times[ae]]
        runs = [r for _, r in times[ae]]
        rows.append([name, f"{med(setups):.2f} s", f"{med(runs):.2f} s", f"{total(ae, med):.2f} s",
                     f"{total(ae, min):.2f} s"])
    print(H.table(["run", "set-up", "sim.run", "total (median)", "total (best)"], rows))
    ratio_med = total(True, med) / total(False, med)
    ratio_best = total(True, min) / total(False, min)
    print(f"  with / without anti-entropy: {ratio_med:.2f}x (medians), {ratio_best:.2f}x (best rounds)"
          f"  <= 3x {H.verdict(ratio_med, 3.0, at_most=True)}")
    if not args.quick and not args.smoke:
        print(f"  with anti-entropy in <= 10 s: {total(True, med):.2f} s "
              f"{H.verdict(total(True, med), 10.0, at_most=True)}")
    print(f"  {syncs} sessions started; final states equal with and without anti-entropy, "
          f"and across all {len(REGIONS)} regions")
    if failures:
        print()
        for failure in failures:
            print(f"  CHECK FAILED: {failure}")
    if not syncs:
        # Without sessions the equality above would hold vacuously: nothing was synced.
        failures.append("the run with anti-entropy started no session")
        print(f"  CHECK FAILED: {failures[-1]}")
    return H.checks(failures, f"{keys:,} keys, {writes:,} writes: the {len(REGIONS)} regions equal, and equal "
                    f"with and without anti-entropy ({syncs} sessions)")


if __name__ == "__main__":
    sys.exit(main())
