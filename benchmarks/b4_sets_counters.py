"""B4 — sets and counters: replicalab's ORSet and GCounter against pycrdt, `crdts` and a plain dict.

Workload (BENCHMARKS.md, row B4):

* **OR-set**: replica A adds 0..19,999, replica B adds 10,000..29,999 (a 50%
  overlap), independently; then A.merge(B) and B.merge(A). In the *10% removes*
  variant each replica then removes a seeded random 10% of its own elements
  (2,000 each, some inside the overlap) before the merges. The expected set is
  add-wins: an element is in it if some replica added it and did not remove it
  (a remove deletes only the adds it has seen).
* **G-Counter**: 64 prepared pairs of counters over 16 replicas (half
  concurrent, half ordered, every slot non-zero, a pair differing in a few
  slots, as B2's clocks), merged both ways.
* **Concurrent +1/+1**: two replicas each increment once, then merge both
  ways; a counter must read 2.

Contenders for the OR-set (each merges the other side's full state, both ways):

* replicalab ``ORSet``: timed ``a.merge(b)`` and ``b.merge(a)`` on prepared states.
* pycrdt ``Map`` used as a set (``m[str(x)] = True`` to add, ``del m[str(x)]`` to
  remove; Yrs map keys are strings) in two docs with client ids 1 (A) and 2 (B),
  one transaction per add or remove: timed ``get_update()`` of both docs and
  ``apply_update`` of each into the other. The docs are rebuilt, untimed, before
  every round.
* ``crdts.ORSet``: ``observe`` / ``remove``, one shared clock uuid; timed
  ``history()`` of both and ``update()`` of each update into the other, on
  deep copies made (untimed) before every round.

Neither peer is add-wins for a remove concurrent with an add: in a Yrs map the
doc with the larger client id decides a key both docs wrote (so B's remove beats
A's concurrent add, and A's remove loses to B's add), and ``crdts.ORSet`` orders
an add and a remove by their scalar timestamps, so a remove made after more local
operations beats a concurrent add. In the removes variant their answers are
therefore checked against their own documented rule (computed from the
construction), not against the add-wins set; the elements where they differ
from add-wins are counted and printed, and their speed ratios are shown but not
judged against a target (they did not compute the same answer). A peer that
differs from its own rule, or from the add-wins set where the rules agree (no
removes), fails the check.

Run ``python benchmarks/b4_sets_counters.py`` (``--quick`` for a tenth of the elements and 3 rounds).
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
from collections.abc import Callable
from typing import Any

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.crdts import GCounter, ORSet

try:
    import pycrdt
except ImportError:  # pragma: no cover - peers are optional
    pycrdt = None
try:
    import crdts
except ImportError:  # pragma: no cover - peers are optional
    crdts = None

A_RANGE, B_RANGE = (0, 20_000), (10_000, 30_000)
REMOVE_SHARE = 0.10
VS_PYCRDT, VS_CRDTS = 1.0, 20.0
REPLICAS, PAIRS = 16, 64
REPEATS = 7
ROUND_SECONDS = 0.04  # counter rounds: aim for this long, so timer and loop overhead stay negligible
CLOCK_UUID = b"replicalab-b4-01"  # crdts: replicas of one CRDT share a clock uuid

ORS = "replicalab ORSet"
YRS = "pycrdt Map as a set (Yrs)"
CRDTS = "crdts.ORSet"


# ---------------------------------------------------------------------------
# OR-set: prepared inputs and peer rules


class SetWorkload:
    def __init__(self, scale: int, removes: bool) -> None:
        self.a_adds = list(range(A_RANGE[0] // scale, A_RANGE[1] // scale))
        self.b_adds = list(range(B_RANGE[0] // scale, B_RANGE[1] // scale))
        rng = random.Random(f"replicalab-bench/b4/{scale}")  # str seeds are stable
        k = int(len(self.a_adds) * REMOVE_SHARE) if removes else 0
        self.a_removes = sorted(rng.sample(self.a_adds, k))
        self.b_removes = sorted(rng.sample(self.b_adds, k))
        a_final = set(self.a_adds) - set(self.a_removes)
        b_final = set(self.b_adds) - set(self.b_removes)
        self.add_wins = frozenset(a_final | b_final)
        # Yrs: the larger client id (B) decides every key B wrote; A decides the others.
        touched_b = set(self.b_adds)
        self.yrs_rule = frozenset(b_final | {x for x in a_final if x not in touched_b})


def build_orset(adds: list[int], removes: list[int], replica: str) -> ORSet:
    return ORSet().apply_all(
        [ORSet.Add(x, replica=replica) for x in adds] + [ORSet.Remove(x) for x in removes]
    )


def build_yrs_set(adds: list[int], removes: list[int], client_id: int) -> tuple[Any, Any]:
    doc = pycrdt.Doc(client_id=client_id)
    m = doc.get("set", type=pycrdt.Map)
    for x in adds:
        m[str(x)] = True
    for x in removes:
        del m[str(x)]
    return doc, m


def build_crdts_set(adds: list[int], removes: list[int]) -> tuple[Any, dict[int, tuple[int, bool]]]:
    """The replica, and per element the (timestamp, is_add) of its last op (for the rule check)."""
    s = crdts.ORSet(clock=crdts.ScalarClock(uuid=CLOCK_UUID))
    last: dict[int, tuple[int, bool]] = {}
    for x in adds:
        last[x] = (s.observe(x).ts, True)
    for x in removes:
        last[x] = (s.remove(x).ts, False)
    return s, last


def crdts_rule(last_a: dict[int, tuple[int, bool]], last_b: dict[int, tuple[int, bool]]) -> frozenset[int]:
    """crdts.ORSet: the op with the greater timestamp decides; an add wins a tie."""
    out = set()
    for x in last_a.keys() | last_b.keys():
        ops = [op for op in (last_a.get(x), last_b.get(x)) if op is not None]
        ts = max(t for t, _ in ops)
        if any(add for t, add in ops if t == ts):
            out.add(x)
    return frozenset(out)


# ---------------------------------------------------------------------------
# OR-set: timed parts


def run_orset(a: ORSet, b: ORSet) -> tuple[float, tuple[ORSet, ORSet]]:
    t0 = H.perf_counter()
    ab = a.merge(b)
    ba = b.merge(a)
    return H.perf_counter() - t0, (ab, ba)


def run_yrs(w: SetWorkload) -> tuple[float, tuple[frozenset, frozenset]]:
    doc_a, set_a = build_yrs_set(w.a_adds, w.a_removes, 1)  # untimed: applying changes the docs
    doc_b, set_b = build_yrs_set(w.b_adds, w.b_removes, 2)
    t0 = H.perf_counter()
    update_a = doc_a.get_update()
    update_b = doc_b.get_update()
    doc_a.apply_update(update_b)
    doc_b.apply_update(update_a)
    seconds = H.perf_counter() - t0
    return seconds, (frozenset(int(k) for k in set_a), frozenset(int(k) for k in set_b))


def run_crdts(a: Any, b: Any) -> tuple[float, tuple[frozenset, frozenset]]:
    a, b = copy.deepcopy(a), copy.deepcopy(b)  # untimed: update() changes the replicas
    t0 = H.perf_counter()
    history_a = a.history()
    history_b = b.history()
    for update in history_b:
        a.update(update)
    for update in history_a:
        b.update(update)
    seconds = H.perf_counter() - t0
    return seconds, (frozenset(a.read()), frozenset(b.read()))


def bench_orset(scale: int, removes: bool, repeats: int, failures: list[str]) -> None:
    w = SetWorkload(scale, removes)
    label = f"10% removes ({len(w.a_removes):,} + {len(w.b_removes):,})" if removes else "adds only"
    ors_a = build_orset(w.a_adds, w.a_removes, "a")
    ors_b = build_orset(w.b_adds, w.b_removes, "b")
    contenders: dict[str, Callable[[], tuple[float, Any]]] = {ORS: lambda: run_orset(ors_a, ors_b)}
    rules = {ORS: ("add-wins", w.add_wins)}
    if pycrdt is not None:
        contenders[YRS] = lambda: run_yrs(w)
        rules[YRS] = ("Yrs: client 2 (B) decides keys it wrote", w.yrs_rule)
    if crdts is not None:
        crdts_a, last_a = build_crdts_set(w.a_adds, w.a_removes)
        crdts_b, last_b = build_crdts_set(w.b_adds, w.b_removes)
        contenders[CRDTS] = lambda: run_crdts(crdts_a, crdts_b)
        rules[CRDTS] = ("crdts: greater timestamp decides", crdts_rule(last_a, last_b))
    results = H.measure(contenders, repeats=repeats)

    ours = results[ORS]
    ab, ba = ours.answer
    if ab != ba:
        failures.append(f"OR-set {label}: replicalab A.merge(B) != B.merge(A) as states")
    rows = []
    for name, res in results.items():
        rule, predicted = rules[name]
        got_ab, got_ba = (ab.value, ba.value) if name == ORS else res.answer
        same = got_ab == w.add_wins and got_ba == w.add_wins
        if got_ab != predicted or got_ba != predicted:
            failures.append(f"OR-set {label}: {name} does not follow its rule ({rule})")
            answer = "CHECK FAILED"
        elif same:
            answer = "= add-wins"
        else:
            missing = len(w.add_wins - got_ab)
            extra = len(got_ab - w.add_wins)
            answer = f"differs: {missing:,} missing, {extra:,} extra ({rule})"
        cells = [name, f"{res.median * 1e3:,.1f} ms", f"{res.best * 1e3:,.1f} ms", f"{res.spread:.0%}"]
        if name == ORS:
            cells += ["", "", "", ""]
        else:
            median, best = H.ratio(res, ours)
            target = VS_PYCRDT if name == YRS else VS_CRDTS
            verdict = H.verdict(median, target) if same else "not judged"
            cells += [f"{median:.2f}x", f"{best:.2f}x", f">= {target:g}x", verdict]
        rows.append(cells + [answer])
    for missing, name in ((pycrdt, YRS), (crdts, CRDTS)):
        if missing is None:
            rows.append([name, "skipped", "", "", "", "", "", "", f"pip install {name.split()[0].split('.')[0]}"])
    print()
    print(f"  OR-set, {label}: {len(w.a_adds):,} + {len(w.b_adds):,} adds, "
          f"{len(w.add_wins):,} elements after an add-wins merge")
    print(H.table(["contender", "both merges", "best round", "spread", "replicalab vs it",
                   "(best rounds)", "target", "", "answer (both sides alike)"], rows))


# ---------------------------------------------------------------------------
# G-Counter


def prepare_counters() -> list[tuple[dict[str, int], dict[str, int]]]:
    """64 pairs of count dicts over 16 replicas, half concurrent, half ordered (as B2's clocks)."""
    rng = random.Random(f"replicalab-bench/b4/gcounter/{REPLICAS}")
    ids = [f"r{i:02d}" for i in range(REPLICAS)]
    most = max(1, REPLICAS // 8)
    pairs = []
    for k in range(PAIRS):
        base = {i: 1 + int(rng.random() * 1000) for i in ids}
        moved = rng.sample(ids, 2 * most)
        left, right = dict(base), dict(base)
        for replica in moved[:most]:
            left[replica] += 1 + int(rng.random() * 5)
        if k % 2 == 0:  # concurrent: each side has increments the other has not seen
            for replica in moved[most:]:
                right[replica] += 1 + int(rng.random() * 5)
        pairs.append((left, right) if rng.random() < 0.5 else (right, left))
    return pairs


def dict_merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    get = out.get
    for replica, count in b.items():
        if count > get(replica, 0):
            out[replica] = count
    return out


def loop_gcounter(pairs, loops):
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            a.merge(b)
            b.merge(a)
    return H.perf_counter() - t0


def loop_dict(pairs, loops):
    merge = dict_merge
    t0 = H.perf_counter()
    for _ in range(loops):
        for a, b in pairs:
            merge(a, b)
            merge(b, a)
    return H.perf_counter() - t0


def bench_gcounter(repeats: int, failures: list[str]) -> None:
    raw = prepare_counters()
    ours = [(GCounter(a), GCounter(b)) for a, b in raw]
    for (a, b), (x, y) in zip(raw, ours, strict=True):
        want = dict_merge(a, b)
        if x.merge(y).counts != dict(sorted(want.items())) or y.merge(x).counts != x.merge(y).counts:
            failures.append("G-Counter: a merge differs from the plain-dict merge")
            break
        if x.merge(y).value != sum(want.values()):
            failures.append("G-Counter: a merged value differs from the plain-dict sum")
            break
    once = max(loop_gcounter(ours, 3) / 3, 1e-7)
    loops = 1 if H.SMOKE else max(1, int(ROUND_SECONDS / once))
    res = H.measure({
        "replicalab GCounter": lambda: (loop_gcounter(ours, loops), None),
        "plain-dict G-Counter (floor)": lambda: (loop_dict(raw, loops), None),
    }, repeats=repeats)
    merges = loops * PAIRS * 2
    mine, floor = res["replicalab GCounter"], res["plain-dict G-Counter (floor)"]
    median, best = H.ratio(floor, mine)
    print()
    print(f"  G-Counter merge at {REPLICAS} replicas: {PAIRS} prepared pairs (half concurrent), "
          "merged both ways; ns per merge:")
    print(H.table(["contender", "median", "best round", "spread", "replicalab vs it", "(best rounds)"], [
        ["replicalab GCounter", f"{mine.median / merges * 1e9:,.0f}", f"{mine.best / merges * 1e9:,.0f}",
         f"{mine.spread:.0%}", "", ""],
        ["plain-dict G-Counter (floor)", f"{floor.median / merges * 1e9:,.0f}",
         f"{floor.best / merges * 1e9:,.0f}", f"{floor.spread:.0%}", f"{median:.2f}x", f"{best:.2f}x"],
    ]))
    print("  (no peer timed: pycrdt has no counter type, and crdts.Counter / PNCounter lose an increment")
    print("  in the +1/+1 check below)")


def plus_one_plus_one(failures: list[str]) -> None:
    """Two replicas each add 1 concurrently, then merge both ways: what does each counter read?"""
    rows = []
    a, b = GCounter().increment("a"), GCounter().increment("b")
    got = (a.merge(b).value, b.merge(a).value)
    if got != (2, 2):
        failures.append(f"GCounter: concurrent +1/+1 reads {got}, not 2")
    rows.append(["replicalab GCounter", f"{got[0]} / {got[1]}", "ok" if got == (2, 2) else "WRONG"])
    da, db = {"a": 1}, {"b": 1}
    got = (sum(dict_merge(da, db).values()), sum(dict_merge(db, da).values()))
    rows.append(["plain-dict G-Counter", f"{got[0]} / {got[1]}", "ok" if got == (2, 2) else "WRONG"])
    if crdts is not None:
        def exchange(x: Any, y: Any) -> tuple[int, int]:
            hx, hy = x.history(), y.history()
            for update in hy:
                x.update(update)
            for update in hx:
                y.update(update)
            return x.read(), y.read()

        for name, make, bump in (
            ("crdts.Counter", lambda: crdts.Counter(clock=crdts.ScalarClock(uuid=CLOCK_UUID)),
             lambda c, _r: c.increase(1)),
            ("crdts.PNCounter", lambda: crdts.PNCounter(clock=crdts.ScalarClock(uuid=CLOCK_UUID)),
             lambda c, _r: c.increase(1)),
            ("crdts.CounterSet (one counter id per replica)", lambda: crdts.CounterSet(CLOCK_UUID),
             lambda c, r: c.increase(r, 1)),
        ):
            x, y = make(), make()
            bump(x, "a")
            bump(y, "b")
            got = exchange(x, y)
            rows.append([name, f"{got[0]} / {got[1]}", "ok" if got == (2, 2) else "WRONG (an increment is lost)"])
    else:
        rows.append(["crdts", "skipped", "pip install crdts"])
    rows.append(["pycrdt", "-", "no counter type"])
    print()
    print("  Concurrent +1 on two replicas, then merge both ways (must read 2):")
    print(H.table(["counter", "reads (A / B)", ""], rows))


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the OR-set elements, 3 rounds: a rough look, not for the record")
    parser.add_argument("--repeats", type=int, default=None, help=f"measured rounds (default {REPEATS})")
    parser.add_argument("--smoke", action="store_true",
                        help="a hundredth of the OR-set elements, one counter loop: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else REPEATS)
    scale = 100 if args.smoke else 10 if args.quick else 1

    H.banner("B4 sets and counters")
    print("  Timed: both merges (A.merge(B) and B.merge(A)) on prepared states; building them is not")
    print("  timed. pycrdt: get_update() of both docs + apply_update() into the other; crdts:")
    print("  history() of both + update() into the other. 'replicalab vs it' is replicalab's merge")
    print("  rate / the contender's (higher is better).")
    print(f"  Median of {repeats} interleaved rounds after {H.WARMUP} warm-up."
          f"{'  (--quick)' if args.quick else ''}{'  (--smoke)' if args.smoke else ''}")
    for missing, name in ((pycrdt, "pycrdt"), (crdts, "crdts")):
        if missing is None:
            print(f"  {name} is not installed (pip install {name}, extra 'bench'): its rows are skipped.")

    failures: list[str] = []
    for removes in (False, True):
        bench_orset(scale, removes, repeats, failures)
    print("  Targets are judged only where a peer computed the add-wins answer too.")
    bench_gcounter(repeats, failures)
    plus_one_plus_one(failures)

    print()
    print(
        "  Checks: replicalab's OR-set merges read the add-wins set and are equal states; each peer "
        "follows its own rule (= add-wins without removes); G-Counter merges equal the plain-dict "
        f"merge; replicalab's +1/+1 reads 2: {'yes' if not failures else 'NO'}"
    )
    for failure in failures:
        print(f"  CHECK FAILED: {failure}")
    what = ", ".join(["replicalab ORSet (add-wins)"] + [n for n, m in (("pycrdt", pycrdt), ("crdts", crdts)) if m])
    what += " follow their rules; GCounter = plain dict; +1/+1 reads 2"
    skipped = [n for n, m in (("pycrdt", pycrdt), ("crdts", crdts)) if m is None]
    if skipped:
        what += f"; skipped, not installed: {', '.join(skipped)}"
    return H.checks(failures, what)


if __name__ == "__main__":
    sys.exit(main())
