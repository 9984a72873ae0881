"""B2 — vector clocks: compare and merge, replicalab against `vectorclock` and a plain dict.

Workload (BENCHMARKS.md, row B2): 64 prepared clock pairs at 3, 16 and 128
replicas; half the pairs are concurrent, the other half ordered (before or
after, at random). Every replica has a non-zero entry (a system that has been
running for a while), and a pair differs in a few entries, as clocks do that
meet in anti-entropy. Each contender gets the same pairs, built once from the
same seeded rng, and must give the same answers:

* compare: replicalab's ``Causality``; ``vectorclock``'s ``compare(other, False)``
  (-1 / 1 / 0, where 0 means "equal or concurrent": it is told apart with
  ``compare(other, True) == 0`` when the answers are checked, not while timing);
  a plain-dict function.
* merge (entry-wise max, a new clock; inputs untouched): replicalab's ``merge``;
  for ``vectorclock``, which has no merge, a copy then ``get_clock``/``set_clock``
  per entry; a plain-dict function.

Run ``python benchmarks/b2_vector_clocks.py`` (``--quick`` for fewer rounds).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from typing import Any

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.clocks import Causality, VectorClock

try:
    from vectorclock.vectorclock import VectorClock as PeerClock  # the package's __init__ is empty
except ImportError:  # pragma: no cover - peers are optional
    PeerClock = None

SIZES = (3, 16, 128)
PAIRS = 64
TARGET = 1.5  # replicalab >= 1.5x vectorclock
REPEATS = 11  # rounds are short (~40 ms), so take many: the median then shrugs off bursts
ROUND_SECONDS = 0.04  # aim for rounds this long, so timer and loop overhead stay negligible


# ---------------------------------------------------------------------------
# Prepared inputs


def prepare(n: int) -> tuple[list[tuple[dict[str, int], dict[str, int]]], list[str]]:
    """64 pairs of plain count dicts over n replicas, and the answer each pair must get."""
    rng = random.Random(f"replicalab-bench/b2/{n}")  # str seeds are stable across Python versions
    ids = [f"r{i:03d}" for i in range(n)]

    def pick(k: int, exclude: set[str] = frozenset()) -> list[str]:
        pool = [i for i in ids if i not in exclude]
        out: list[str] = []
        while len(out) < k:
            candidate = pool[int(rng.random() * len(pool))]
            if candidate not in out:
                out.append(candidate)
        return out

    def bump(base: dict[str, int], which: list[str]) -> dict[str, int]:
        out = dict(base)
        for replica in which:
            out[replica] += 1 + int(rng.random() * 5)
        return out

    most = max(1, n // 8)  # how many entries a pair differs in, at most
    pairs, answers = [], []
    for k in range(PAIRS):
        base = {i: 1 + int(rng.random() * 1000) for i in ids}
        if k % 2 == 0:  # concurrent: each side has events the other has not seen
            left = pick(1 + int(rng.random() * most))
            right = pick(1 + int(rng.random() * min(most, n - len(left))), set(left))
            pairs.append((bump(base, left), bump(base, right)))
            answers.append("concurrent")
        else:  # ordered: the later clock saw everything the earlier one did, and more
            later = bump(base, pick(1 + int(rng.random() * most)))
            if rng.random() < 0.5:
                pairs.append((base, later))
                answers.append("before")
            else:
                pairs.append((later, base))
                answers.append("after")
    return pairs, answers


# ---------------------------------------------------------------------------
# Peers


def dict_compare(a: dict[str, int], b: dict[str, int]) -> str:
    """The causal order of two plain count dicts (missing entries are 0)."""
    if a == b:
        return "equal"
    b_get = b.get
    for replica, count in a.items():
        if count > b_get(replica, 0):
            break
    else:
        return "before"
    a_get = a.get
    for replica, count in b.items():
        if count > a_get(replica, 0):
            return "concurrent"
    return "after"


def dict_merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    get = out.get
    for replica, count in b.items():
        if count > get(replica, 0):
            out[replica] = count
    return out


def vc_merge(a: Any, b: Any) -> Any:
    """Entry-wise max as a new clock, on vectorclock's get_clock / set_clock API."""
    out = PeerClock(a.clocks)  # the constructor copies
    get = out.get_clock
    other = b.get_clock
    for replica in b.clocks:  # the package has no iteration API; .clocks is its public dict
        count = other(replica)
        if count > get(replica, 0):
            out.set_clock(replica, count)
    return out


_CAUSALITY = {
    Causality.BEFORE: "before",
    Causality.AFTER: "after",
    Causality.EQUAL: "equal",
    Causality.CONCURRENT: "concurrent",
}


def vc_answer(a: Any, b: Any) -> str:
    got = a.compare(b, False)
    if got:
        return "before" if got < 0 else "after"
    return "equal" if a.compare(b, True) == 0 else "concurrent"


# ---------------------------------------------------------------------------
# Timed loops: one per contender and operation, all the same shape


def loop_rl_compare(pairs, loops):
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            a.compare(b)
    return H.perf_counter() - t0


def loop_rl_merge(pairs, loops):
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            a.merge(b)
    return H.perf_counter() - t0


def loop_vc_compare(pairs, loops):
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            a.compare(b, False)
    return H.perf_counter() - t0


def loop_vc_merge(pairs, loops):
    merge = vc_merge
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            merge(a, b)
    return H.perf_counter() - t0


def loop_dict_compare(pairs, loops):
    compare = dict_compare
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            compare(a, b)
    return H.perf_counter() - t0


def loop_dict_merge(pairs, loops):
    merge = dict_merge
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            merge(a, b)
    return H.perf_counter() - t0


# ---------------------------------------------------------------------------


def timed(
    loop: Callable[[Any, int], float], pairs: Any, loops: int
) -> Callable[[], tuple[float, None]]:
    return lambda: (loop(pairs, loops), None)


def check(n: int, raw, answers, rl, vc) -> list[str]:
    """Every contender's compare and merge answers, against the construction and each other."""
    failures = []
    got = {
        "replicalab": [_CAUSALITY[a.compare(b)] for a, b in rl],
        "plain dict": [dict_compare(a, b) for a, b in raw],
    }
    merged = {
        "replicalab": [a.merge(b).to_dict() for a, b in rl],
        "plain dict": [dict_merge(a, b) for a, b in raw],
    }
    if vc is not None:
        got["vectorclock"] = [vc_answer(a, b) for a, b in vc]
        merged["vectorclock"] = [vc_merge(a, b).clocks for a, b in vc]
    for name, answer in got.items():
        if answer != answers:
            bad = sum(x != y for x, y in zip(answer, answers, strict=True))
            failures.append(f"n={n}: {name} compare disagrees with the construction on {bad} pairs")
    reference = merged["plain dict"]
    for name, result in merged.items():
        if result != reference:
            failures.append(f"n={n}: {name} merge differs from the plain-dict merge")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"3 rounds instead of {REPEATS}")
    parser.add_argument(
        "--repeats", type=int, default=None, help=f"measured rounds (default {REPEATS})"
    )
    parser.add_argument("--smoke", action="store_true", help="one loop per round: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else REPEATS)
    round_seconds = 0.0 if args.smoke else ROUND_SECONDS  # smoke: one pass over the pairs per round

    H.banner("B2 vector clocks")
    print(
        f"  {PAIRS} prepared pairs (half concurrent, half ordered) at {', '.join(map(str, SIZES))} "
        "replicas; compare and merge."
    )
    print(f"  Median of {repeats} interleaved rounds after {H.WARMUP} warm-up; ns per operation.")
    if PeerClock is None:
        print(
            "  vectorclock is not installed (pip install vectorclock, extra 'bench'): its columns are skipped."
        )

    failures: list[str] = []
    rows = []
    for n in SIZES:
        raw, answers = prepare(n)
        snapshot = [(dict(a), dict(b)) for a, b in raw]
        rl = [(VectorClock(a), VectorClock(b)) for a, b in raw]
        vc = [(PeerClock(a), PeerClock(b)) for a, b in raw] if PeerClock else None
        failures += check(n, raw, answers, rl, vc)
        for op, loops_for in (
            ("compare", (loop_rl_compare, loop_vc_compare, loop_dict_compare)),
            ("merge", (loop_rl_merge, loop_vc_merge, loop_dict_merge)),
        ):
            rl_loop, vc_loop, dict_loop = loops_for
            once = max(rl_loop(rl, 3) / 3, 1e-7)
            loops = max(1, int(round_seconds / once))
            contenders: dict[str, Callable[[], tuple[float, Any]]] = {
                "replicalab": timed(rl_loop, rl, loops),
                "plain dict": timed(dict_loop, raw, loops),
            }
            if vc is not None:
                contenders["vectorclock"] = timed(vc_loop, vc, loops)
            res = H.measure(contenders, repeats=repeats)
            ops = loops * PAIRS

            def ns(name: str, res: dict[str, H.Result] = res, ops: int = ops) -> str:
                return f"{res[name].median / ops * 1e9:,.0f}" if name in res else "-"

            ours = res["replicalab"]
            vs_dict = H.ratio(res["plain dict"], ours)
            if vc is not None:
                vs_vc = H.ratio(res["vectorclock"], ours)
                vc_cells = [f"{vs_vc[0]:.2f}x", f"{vs_vc[1]:.2f}x", H.verdict(vs_vc[0], TARGET)]
            else:
                vc_cells = ["-", "-", "skipped"]
            rows.append(
                [
                    f"{op} n={n}",
                    ns("replicalab"),
                    ns("vectorclock"),
                    ns("plain dict"),
                    f"{ours.spread:.0%}",
                    vc_cells[0],
                    vc_cells[1],
                    f"{vs_dict[0]:.2f}x",
                    vc_cells[2],
                ]
            )
        if [(dict(a), dict(b)) for a, b in raw] != snapshot:
            failures.append(f"n={n}: a merge or compare modified its inputs")

    print()
    print(
        H.table(
            [
                "operation",
                "replicalab",
                "vectorclock",
                "plain dict",
                "spread",
                "vs vectorclock",
                "(best rounds)",
                "vs dict",
                f">= {TARGET}x vc",
            ],
            rows,
        )
    )
    print(
        "  replicalab / vectorclock etc. are rate ratios (higher is better); spread is replicalab's"
    )
    print("  (slowest - fastest) / median round.")
    print()
    print(
        f"  Checks: compare answers equal the construction for every contender "
        f"({PAIRS // 2} concurrent, {PAIRS // 2} ordered pairs per size), merges identical: "
        f"{'yes' if not failures else 'NO'}"
    )
    for failure in failures:
        print(f"  CHECK FAILED: {failure}")
    peers = "replicalab = plain dict = vectorclock" if PeerClock else "replicalab = plain dict (vectorclock skipped: not installed)"
    return H.checks(failures, f"{peers}, compare and merge of {PAIRS} pairs at n = {', '.join(map(str, SIZES))}; inputs unchanged")


if __name__ == "__main__":
    sys.exit(main())
