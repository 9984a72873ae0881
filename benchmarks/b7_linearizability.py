"""B7 — linearizability checking: Wing & Gong with Lowe's cache against Wing & Gong without it.

Workload (issue #17's target: a 1,000-operation history of 5 processes on a register, < 5 s):

* 5 processes, each calling one operation after another (a gap of 0–3 ticks, a
  duration of 1–12 ticks), 1,000 operations in all: 50 % reads, 35 % writes, 15 %
  cas, values from {0, 1, 2} (a small domain, so many search paths meet in the
  same state);
* every operation takes effect at a seeded random instant inside its interval on
  one true register, which gives the outputs: the history is linearizable;
* the *timeouts* variant makes 3 % of the writes and cas never return (they may
  or may not have taken effect), still linearizable;
* the *stale* variant changes one read near the end to an older value (0, 1 or
  2, the first that makes the history non-linearizable), so the checker must
  exhaust the search and then find the core.

Contenders: ``replicalab.checkers.linearizable`` (Lowe's cache of (linearized
set, state) pairs, as Knossos and Porcupine), and the same search with the cache
turned off (Wing & Gong 1993), which is given at most ``--cap`` search steps. No
peer in another language runs here (Porcupine is Go, Knossos Clojure; neither
is installed on the benchmark machine).

Run ``python benchmarks/b7_linearizability.py`` (``--quick``: 300 operations).
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.checkers import Operation, linearizable
from replicalab.checkers.linearizability import _search
from replicalab.errors import ConfigError

SEED = 7
PROCESSES = 5
TARGET_SECONDS = 5.0
# Smoke: the fewest operations whose "3% timeouts" history has a pending write (200: one), and
# a smaller cap, at which the search without the cache finishes the first two histories and
# gives up on the stale read in ~0.05 s (at the default cap: ~1 s).
SMOKE_OPS, SMOKE_CAP = 200, 100_000


def history(n: int, seed: int = SEED) -> list[Operation]:
    """``n`` operations of 5 sequential processes on one register, linearizable by construction."""
    rng = random.Random(seed)
    clock = [0] * PROCESSES
    planned = []
    for k in range(n):
        p = k % PROCESSES
        call = clock[p] + int(rng.random() * 4)
        ret = call + 1 + int(rng.random() * 12)
        clock[p] = ret + 1
        effect = call + rng.random() * (ret - call)
        roll = rng.random()
        kind = "read" if roll < 0.5 else "write" if roll < 0.85 else "cas"
        planned.append((effect, p, call, ret, kind, int(rng.random() * 3), int(rng.random() * 3)))
    state: Any = None
    ops = []
    for _effect, p, call, ret, kind, a, b in sorted(planned):
        if kind == "read":
            ops.append(Operation(f"p{p}", call, ret, "read", output=state))
        elif kind == "write":
            ops.append(Operation(f"p{p}", call, ret, "write", a))
            state = a
        else:
            swapped = state == a
            ops.append(Operation(f"p{p}", call, ret, "cas", (a, b), swapped))
            state = b if swapped else state
    return sorted(ops, key=lambda op: (op.call, op.process))


def timeouts(ops: list[Operation], share: float = 0.03, seed: int = SEED) -> list[Operation]:
    """The same history with ``share`` of the writes and cas never returning (Jepsen's ``:info``):
    each may or may not have taken effect, which multiplies the orders to consider."""
    rng = random.Random(seed)
    return [Operation(op.process, op.call, None, op.kind, op.input)
            if op.kind != "read" and rng.random() < share else op for op in ops]


def stale(ops: list[Operation]) -> list[Operation]:
    """The same history with one of the last reads answering an older value: a stale read."""
    for last in reversed([i for i, op in enumerate(ops) if op.kind == "read"]):
        op = ops[last]
        for value in (0, 1, 2):
            if value != op.output:
                out = list(ops)
                out[last] = Operation(op.process, op.call, op.ret, "read", output=value)
                if not linearizable(out).ok:
                    return out
    raise AssertionError("no read could be made stale")


def witness_holds(ops: list[Operation], order: tuple[int, ...]) -> bool:
    """The witness is a legal register sequence that respects real time and holds every operation
    that returned (checked independently of the checker)."""
    state: Any = None
    latest_call = -1
    for i in order:
        op = ops[i]
        if op.ret is not None and op.ret < latest_call:
            return False  # an operation placed after one that started after it returned
        latest_call = max(latest_call, op.call)
        if op.kind == "read" and op.output != state:
            return False
        if op.kind == "write":
            state = op.input
        if op.kind == "cas":
            swaps = state == op.input[0]
            if op.ret is not None and op.output != swaps:
                return False
            state = op.input[1] if swaps else state
    done = {i for i, op in enumerate(ops) if op.ret is not None}
    return done <= set(order) and len(set(order)) == len(order)


def bench(label: str, ops: list[Operation], repeats: int, cap: int, failures: list[str],
          expect: bool) -> None:
    """``expect``: the verdict the history has by construction (a search that answers
    differently is wrong even when the other search gave up)."""
    H.banner(f"B7 {label}: {len(ops)} operations, {PROCESSES} processes, one register")

    def ours() -> tuple[float, Any]:
        start = H.perf_counter()
        verdict = linearizable(ops)
        seconds = H.perf_counter() - start
        if verdict.ok and not witness_holds(ops, verdict.order):
            failures.append(f"{label}: the witness order is not a legal linearization")
        return seconds, (verdict.ok, len(verdict.core))

    def without_cache() -> tuple[float, Any]:
        start = H.perf_counter()
        try:
            found = _search(ops, cap, memo=False)
        except ConfigError:
            return H.perf_counter() - start, "gave up"
        return H.perf_counter() - start, (found is not None, None)

    results = H.measure({"replicalab (Lowe's cache)": ours, "Wing & Gong, no cache": without_cache},
                        repeats=repeats)
    mine = results["replicalab (Lowe's cache)"]
    peer = results["Wing & Gong, no cache"]
    rows = [[name, f"{r.median:.3f}", f"{r.best:.3f}", f"{r.spread:.0%}", str(r.answer)]
            for name, r in results.items()]
    print(H.table(["contender", "median s", "best s", "spread", "answer (ok, core size)"], rows))
    if mine.answer[0] != expect:
        failures.append(f"{label}: replicalab says linearizable={mine.answer[0]}, by construction {expect}")
    if peer.answer != "gave up":
        if peer.answer[0] != mine.answer[0]:
            failures.append(f"{label}: the two searches disagree ({mine.answer} vs {peer.answer})")
        median, best = H.ratio(peer, mine)
        print(f"  cache speed-up: {median:.1f}x (median), {best:.1f}x (best)")
    else:
        print(f"  without the cache the search gave up after {cap:,} steps "
              f"({peer.median:.2f} s); with it: {mine.median:.3f} s")
    print(f"  target < {TARGET_SECONDS:.0f} s: {H.verdict(mine.median, TARGET_SECONDS, at_most=True)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 operations, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    parser.add_argument("--cap", type=int, default=None,
                        help=f"search steps allowed without the cache (default 2,000,000; smoke {SMOKE_CAP:,})")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_OPS} operations: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    args.cap = args.cap or (SMOKE_CAP if args.smoke else 2_000_000)
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else 5)
    n = SMOKE_OPS if args.smoke else 300 if args.quick else 1_000
    print(f"{H.environment_line()}; median of {repeats} after {H.WARMUP} warm-up")
    failures: list[str] = []
    ops = history(n)
    bench("linearizable", ops, repeats, args.cap, failures, expect=True)
    # A pending write may or may not have taken effect: a linearizable history stays so.
    bench("3% timeouts", timeouts(ops), repeats, args.cap, failures, expect=True)
    bench("stale read", stale(ops), repeats, args.cap, failures, expect=False)
    if failures:
        print()
        for failure in failures:
            print(f"  CHECK FAILED: {failure}")
    return H.checks(failures, f"{n:,} operations: verdicts as constructed (linearizable, with 3% timeouts, "
                    "not with a stale read), witness orders legal, the searches with and without the "
                    "cache agree where the second finished")


if __name__ == "__main__":
    sys.exit(main())
