"""B3 — map merge: replicalab's LWWMap and ORMap against pycrdt (Yrs), a plain dict and `crdts`.

Workload (BENCHMARKS.md, row B3): replicas A and B each make 100,000
``set(key, int)`` writes over 50,000 keys (``"k00000"``..; keys and values from a
seeded rng), independently of each other. Then both merges are made,
A.merge(B) and B.merge(A), and every contender must read the same map.

Yrs settles concurrent writes to one map key by client id, not by time. So that
all contenders can be held to one answer, B's writes carry later timestamps than
A's (A writes at t = 1..100,000 and B at t = 100,001..200,000 on a shared clock:
B's session follows A's) and B's Yrs client id is the larger. So B wins every key
that both wrote, in every contender, and the expected map is
``dict(a_writes) | dict(b_writes)``.

Contenders (each merges the other side's *full* state, both ways):

* replicalab ``LWWMap`` (``set(key, v, timestamp=t, replica=r)``) and
  ``ORMap(LWWRegister)`` (``update(key, LWWRegister.Assign(v, timestamp=t, replica=r))``):
  timed ``a.merge(b)`` and ``b.merge(a)``, on prepared states.
* plain-dict LWW map (the floor): ``{key: (t, replica, v)}`` and a merge function
  that copies the larger dict and takes the greater ``(t, replica)`` per key of
  the smaller.
* pycrdt ``Map`` in two ``Doc`` s (client ids 1 and 2), one transaction per
  write: timed ``doc.get_update()`` of both docs (their full state, encoded) and
  ``apply_update`` of each into the other. The docs are rebuilt, untimed,
  before every round, since applying an update changes them.
* ``crdts.LWWMap`` (PyPI ``crdts``), at 10,000 writes over 5,000 keys only: its
  every write recomputes the live key set, so building and merging are quadratic.
  Both replicas share one clock uuid (the package requires it); B's ScalarClock
  starts after A's last write, as above. Its merge is its resync: timed
  ``history()`` of both replicas and ``update()`` of each update into the other.
  The states are deep-copied, untimed, before every round. replicalab and the
  other contenders run the same 10,000-write workload beside it.

Bytes: replicalab's ``to_json()`` (UTF-8) against pycrdt's encoded full-state
update, for A's state and the merged state; and a delta of 1,000 further writes
by A: pycrdt's ``get_update(state_vector_before)``, replicalab's ``set_delta`` /
``update_delta`` of each write merged into one map and serialized with ``to_json``.

Run ``python benchmarks/b3_map_merge.py`` (``--quick`` for 20,000 writes and 3 rounds).
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
from collections.abc import Callable
from typing import Any

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.crdts import LWWMap, LWWRegister, ORMap

try:
    import pycrdt
except ImportError:  # pragma: no cover - peers are optional
    pycrdt = None
try:
    import crdts
except ImportError:  # pragma: no cover - peers are optional
    crdts = None

UPDATES, KEYS = 100_000, 50_000
CRDTS_UPDATES, CRDTS_KEYS = 10_000, 5_000  # crdts.LWWMap is quadratic
DELTA = 1_000
LWW_VS_PYCRDT, ORMAP_VS_PYCRDT, VS_CRDTS = 3.0, 1.0, 20.0
REPEATS = 5
CLOCK_UUID = b"replicalab-b3-01"  # crdts: replicas of one LWWMap share a clock uuid

Writes = list[tuple[str, int]]

LWW = "replicalab LWWMap"
ORM = "replicalab ORMap(LWWRegister)"
FLOOR = "plain-dict LWW map (floor)"
YRS = "pycrdt Map (Yrs)"
CRDTS = "crdts.LWWMap"


# ---------------------------------------------------------------------------
# Prepared inputs


def prepare(updates: int, keys: int) -> tuple[Writes, Writes, Writes]:
    """A's writes, B's writes and A's 1,000 further writes (for the delta)."""
    rng = random.Random(f"replicalab-bench/b3/{updates}/{keys}")  # str seeds are stable

    def writes(n: int) -> Writes:
        return [(f"k{int(rng.random() * keys):05d}", int(rng.random() * 1_000_000_000)) for _ in range(n)]

    return writes(updates), writes(updates), writes(DELTA)


def build_lww(writes: Writes, replica: str, t0: int) -> LWWMap:
    return LWWMap().apply_all(
        LWWMap.Set(k, v, timestamp=t0 + i, replica=replica) for i, (k, v) in enumerate(writes)
    )


def build_ormap(writes: Writes, replica: str, t0: int) -> ORMap:
    return ORMap(LWWRegister).apply_all(
        ORMap.Update(k, LWWRegister.Assign(v, timestamp=t0 + i, replica=replica))
        for i, (k, v) in enumerate(writes)
    )


def build_dict(writes: Writes, replica: str, t0: int) -> dict[str, tuple[int, str, int]]:
    out: dict[str, tuple[int, str, int]] = {}
    for i, (k, v) in enumerate(writes):  # one replica's timestamps only grow: the last write wins
        out[k] = (t0 + i, replica, v)
    return out


def dict_merge(a: dict[str, tuple], b: dict[str, tuple]) -> dict[str, tuple]:
    """The floor: copy the larger map, take the greater (timestamp, replica) per key of the other."""
    if len(a) < len(b):
        a, b = b, a
    out = dict(a)
    get = out.get
    for key, theirs in b.items():
        ours = get(key)
        if ours is None or theirs[0] > ours[0] or (theirs[0] == ours[0] and theirs[1] > ours[1]):
            out[key] = theirs
    return out


def build_yrs(writes: Writes, client_id: int) -> tuple[Any, Any]:
    doc = pycrdt.Doc(client_id=client_id)
    m = doc.get("map", type=pycrdt.Map)
    for k, v in writes:  # one transaction per write, as separate set() calls make
        m[k] = v
    return doc, m


def build_crdts(writes: Writes, writer: int, first_tick: int) -> Any:
    m = crdts.LWWMap(clock=crdts.ScalarClock(counter=first_tick, uuid=CLOCK_UUID))
    for k, v in writes:
        m.set(k, v, writer)
    return m


# ---------------------------------------------------------------------------
# Timed parts: the two merges, on prepared states


def run_merge(a: Any, b: Any) -> tuple[float, tuple[Any, Any]]:
    t0 = H.perf_counter()
    ab = a.merge(b)
    ba = b.merge(a)
    return H.perf_counter() - t0, (ab, ba)


def run_dict(a: dict, b: dict) -> tuple[float, tuple[dict, dict]]:
    merge = dict_merge
    t0 = H.perf_counter()
    ab = merge(a, b)
    ba = merge(b, a)
    return H.perf_counter() - t0, (ab, ba)


def run_yrs(a_writes: Writes, b_writes: Writes, split: list[float]) -> tuple[float, tuple[dict, dict]]:
    doc_a, map_a = build_yrs(a_writes, 1)  # untimed: applying an update changes the docs
    doc_b, map_b = build_yrs(b_writes, 2)
    t0 = H.perf_counter()
    update_a = doc_a.get_update()
    update_b = doc_b.get_update()
    t1 = H.perf_counter()
    doc_a.apply_update(update_b)
    doc_b.apply_update(update_a)
    t2 = H.perf_counter()
    split.append(t1 - t0)  # the encoding's share, for the report
    return t2 - t0, (map_a.to_py(), map_b.to_py())


def run_crdts(a: Any, b: Any) -> tuple[float, tuple[dict, dict]]:
    a, b = copy.deepcopy(a), copy.deepcopy(b)  # untimed: update() changes the replicas
    t0 = H.perf_counter()
    history_a = a.history()
    history_b = b.history()
    for update in history_b:
        a.update(update)
    for update in history_a:
        b.update(update)
    seconds = H.perf_counter() - t0
    return seconds, (a.read(), b.read())


# ---------------------------------------------------------------------------


def reads(name: str, answer: Any) -> tuple[dict, dict]:
    """The plain {key: value} each side reads after its merge."""
    ab, ba = answer
    if name == FLOOR:
        return {k: e[2] for k, e in ab.items()}, {k: e[2] for k, e in ba.items()}
    if name in (LWW, ORM):
        return ab.value, ba.value
    return ab, ba  # pycrdt and crdts answers are read already


def check(label: str, results: dict[str, H.Result], expected: dict[str, int]) -> list[str]:
    failures = []
    for name, res in results.items():
        ab, ba = reads(name, res.answer)
        if ab != expected or ba != expected:
            bad = len(set(ab.items()) ^ set(expected.items())) + len(set(ba.items()) ^ set(expected.items()))
            failures.append(f"{label}: {name} reads a different map after merging ({bad} key/value differences)")
    for name in (LWW, ORM):
        if name in results:
            ab, ba = results[name].answer
            if ab != ba:
                failures.append(f"{label}: {name} A.merge(B) != B.merge(A) as states")
    return failures


def ratio_cells(results: dict[str, H.Result], peer: str, ours: str, target: float | None) -> list[str]:
    if peer not in results:
        return ["-", "-", "", "skipped"]
    median, best = H.ratio(results[peer], results[ours])
    if target is None:
        return [f"{median:.2f}x", f"{best:.2f}x", "", ""]
    return [f"{median:.2f}x", f"{best:.2f}x", f">= {target:g}x", H.verdict(median, target)]


def bench_main(updates: int, keys: int, repeats: int, failures: list[str]) -> None:
    a_writes, b_writes, extra = prepare(updates, keys)
    expected = dict(a_writes) | dict(b_writes)
    both = len(dict(a_writes).keys() & dict(b_writes).keys())
    lww_a, lww_b = build_lww(a_writes, "a", 1), build_lww(b_writes, "b", updates + 1)
    orm_a, orm_b = build_ormap(a_writes, "a", 1), build_ormap(b_writes, "b", updates + 1)
    dict_a, dict_b = build_dict(a_writes, "a", 1), build_dict(b_writes, "b", updates + 1)
    split: list[float] = []

    contenders: dict[str, Callable[[], tuple[float, Any]]] = {
        LWW: lambda: run_merge(lww_a, lww_b),
        ORM: lambda: run_merge(orm_a, orm_b),
        FLOOR: lambda: run_dict(dict_a, dict_b),
    }
    if pycrdt is not None:
        contenders[YRS] = lambda: run_yrs(a_writes, b_writes, split)
    print()
    print(
        f"  {updates:,} writes per replica over {keys:,} keys: A wrote {len(dict(a_writes)):,} keys, "
        f"B {len(dict(b_writes)):,}, both {both:,}; {len(expected):,} keys after the merge."
    )
    results = H.measure(contenders, repeats=repeats)
    failures += check(f"{updates:,} writes", results, expected)

    rows = []
    for name, res in results.items():
        cells = [name, f"{res.median * 1e3:,.1f} ms", f"{res.best * 1e3:,.1f} ms", f"{res.spread:.0%}"]
        if name == LWW:
            cells += ratio_cells(results, YRS, LWW, LWW_VS_PYCRDT)
        elif name == ORM:
            cells += ratio_cells(results, YRS, ORM, ORMAP_VS_PYCRDT)
        else:
            cells += ["", "", "", ""]
        cells.append(f"{H.ratio(results[FLOOR], results[name])[0]:.2f}x")
        rows.append(cells)
    if pycrdt is None:
        rows.append([YRS, "skipped", "", "", "", "", "", "pip install pycrdt (extra 'bench')"])
    print(
        H.table(
            ["contender", "both merges", "best round", "spread", "vs pycrdt", "(best rounds)",
             "target", "", "vs floor"],
            rows,
        )
    )
    if split:
        encode = statistics.median(split[H.WARMUP:])  # the first WARMUP rounds are warm-ups
        print(
            f"  pycrdt's time includes encoding both full states (get_update): median "
            f"{encode * 1e3:.1f} ms of its {results[YRS].median * 1e3:.0f} ms; the rest is apply_update."
        )
    print("  vs pycrdt / vs floor: replicalab's merge rate / the other's (higher is better).")
    bytes_report(a_writes, b_writes, extra, updates, lww_a, orm_a, results, failures)


def bytes_report(a_writes, b_writes, extra, updates, lww_a, orm_a, results, failures) -> None:
    """State bytes and the bytes of a 1,000-write delta, replicalab against pycrdt."""
    lww_ab, _ = results[LWW].answer
    orm_ab, _ = results[ORM].answer
    t0 = 2 * updates + 1  # A writes again after B's session

    lww_state, lww_delta = lww_a, LWWMap()
    for i, (k, v) in enumerate(extra):
        d = lww_state.set_delta(k, v, timestamp=t0 + i, replica="a")
        lww_delta = lww_delta.merge(d)
        lww_state = lww_state.set(k, v, timestamp=t0 + i, replica="a")
    orm_state, orm_delta = orm_a, ORMap(LWWRegister)
    for i, (k, v) in enumerate(extra):
        op = LWWRegister.Assign(v, timestamp=t0 + i, replica="a")
        orm_delta = orm_delta.merge(orm_state.update_delta(k, op))
        orm_state = orm_state.update(k, op)
    if lww_a.merge(lww_delta) != lww_state:
        failures.append("LWWMap: A.merge(merged set_deltas) != A after the 1,000 writes")
    if orm_a.merge(orm_delta) != orm_state:
        failures.append("ORMap: A.merge(merged update_deltas) != A after the 1,000 writes")

    def size(x: Any) -> int:
        return len(x.to_json().encode())

    rows = [
        [f"state of A ({updates:,} writes)", f"{size(lww_a):,}", f"{size(orm_a):,}"],
        ["merged state (A.merge(B))", f"{size(lww_ab):,}", f"{size(orm_ab):,}"],
        [f"delta of {DELTA:,} more writes by A", f"{size(lww_delta):,}", f"{size(orm_delta):,}"],
    ]
    if pycrdt is not None:
        doc_a, map_a = build_yrs(a_writes, 1)
        doc_b, _ = build_yrs(b_writes, 2)
        state_a = doc_a.get_update()
        doc_ab = pycrdt.Doc(client_id=3)
        doc_ab.apply_update(state_a)
        doc_ab.apply_update(doc_b.get_update())
        vector = doc_a.get_state()
        for k, v in extra:
            map_a[k] = v
        delta = doc_a.get_update(vector)
        replay = pycrdt.Doc(client_id=4)
        replay.apply_update(state_a)
        replay.apply_update(delta)
        if replay.get("map", type=pycrdt.Map).to_py() != map_a.to_py():
            failures.append("pycrdt: A's old state + the delta update does not read as A")
        for row, n in zip(rows, (len(state_a), len(doc_ab.get_update()), len(delta)), strict=True):
            row.append(f"{n:,}")
            row.append(f"{int(row[1].replace(',', '')) / n:.2f}x")
    else:
        for row in rows:
            row += ["skipped", ""]
    print()
    print(f"  Bytes (replicalab: to_json, UTF-8; pycrdt: encoded update; {len(dict(extra)):,} keys in the delta):")
    print(H.table(["", "LWWMap", "ORMap", "pycrdt", "LWWMap / pycrdt"], rows))


def bench_crdts(updates: int, keys: int, repeats: int, failures: list[str]) -> None:
    a_writes, b_writes, _ = prepare(updates, keys)
    expected = dict(a_writes) | dict(b_writes)
    lww_a, lww_b = build_lww(a_writes, "a", 1), build_lww(b_writes, "b", updates + 1)
    orm_a, orm_b = build_ormap(a_writes, "a", 1), build_ormap(b_writes, "b", updates + 1)
    dict_a, dict_b = build_dict(a_writes, "a", 1), build_dict(b_writes, "b", updates + 1)
    contenders: dict[str, Callable[[], tuple[float, Any]]] = {
        LWW: lambda: run_merge(lww_a, lww_b),
        ORM: lambda: run_merge(orm_a, orm_b),
        FLOOR: lambda: run_dict(dict_a, dict_b),
    }
    if pycrdt is not None:
        contenders[YRS] = lambda: run_yrs(a_writes, b_writes, [])
    print()
    print(f"  {updates:,} writes per replica over {keys:,} keys, beside crdts.LWWMap "
          f"({len(expected):,} keys after the merge):")
    if crdts is None:
        print("  crdts is not installed (pip install crdts, extra 'bench'): its column is skipped.")
    else:
        started = H.perf_counter()
        crdts_a = build_crdts(a_writes, 1, 1)
        crdts_b = build_crdts(b_writes, 2, updates + 1)
        built = H.perf_counter() - started
        contenders[CRDTS] = lambda: run_crdts(crdts_a, crdts_b)
    results = H.measure(contenders, repeats=repeats)
    failures += check(f"{updates:,} writes", results, expected)
    rows = []
    for name, res in results.items():
        cells = [name, f"{res.median * 1e3:,.1f} ms", f"{res.best * 1e3:,.1f} ms", f"{res.spread:.0%}"]
        if name in (LWW, ORM):
            cells += ratio_cells(results, CRDTS, name, VS_CRDTS)
        else:
            cells += ["", "", "", ""]
        rows.append(cells)
    print(H.table(["contender", "both merges", "best round", "spread", "vs crdts", "(best rounds)",
                   "target", ""], rows))
    if crdts is not None:
        print(f"  crdts.LWWMap: building both replicas (untimed) took {built:.1f} s; "
              f"state A.pack() = {len(crdts_a.pack()):,} bytes "
              f"(replicalab LWWMap to_json: {len(lww_a.to_json().encode()):,}).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="20,000 writes (crdts: 2,000), 3 rounds: a rough look, not for the record")
    parser.add_argument("--repeats", type=int, default=None, help=f"measured rounds (default {REPEATS})")
    parser.add_argument("--smoke", action="store_true",
                        help="2,000 writes (crdts: 200): " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else REPEATS)
    scale = 50 if args.smoke else 5 if args.quick else 1

    H.banner("B3 map merge")
    print("  Replicas A and B write set(key, int) independently; then A.merge(B) and B.merge(A).")
    print("  Timed: both merges, on prepared states (building them is not timed). pycrdt: get_update()")
    print("  of both docs + apply_update() into the other; crdts: history() of both + update() into")
    print("  the other. B's writes are later than A's and B has the larger Yrs client id, so B wins")
    print("  every key both wrote, in every contender; reads are checked equal to that map.")
    print(f"  Median of {repeats} interleaved rounds after {H.WARMUP} warm-up."
          f"{'  (--quick)' if args.quick else ''}{'  (--smoke)' if args.smoke else ''}")
    if pycrdt is None:
        print("  pycrdt is not installed (pip install pycrdt, extra 'bench'): its columns are skipped.")

    failures: list[str] = []
    bench_main(UPDATES // scale, KEYS // scale, repeats, failures)
    bench_crdts(CRDTS_UPDATES // scale, CRDTS_KEYS // scale, repeats, failures)

    print()
    print(
        "  Checks: every contender reads the expected map after both merges; replicalab's two "
        "merges are equal states; A merged with its 1,000-write delta equals A after those writes "
        f"(pycrdt: old state + delta update reads as A): {'yes' if not failures else 'NO'}"
    )
    for failure in failures:
        print(f"  CHECK FAILED: {failure}")
    what = ", ".join(["LWWMap", "ORMap", "plain dict"] + [n for n, m in (("pycrdt", pycrdt), ("crdts", crdts)) if m])
    what += " read the expected map; LWWMap/ORMap deltas"
    skipped = [n for n, m in (("pycrdt", pycrdt), ("crdts", crdts)) if m is None]
    if skipped:
        what += f"; skipped, not installed: {', '.join(skipped)}"
    return H.checks(failures, what)


if __name__ == "__main__":
    sys.exit(main())
