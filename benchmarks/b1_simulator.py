"""B1 — simulator throughput: replicalab's event loop against a bare heapq loop and SimPy 4.

Workload (BENCHMARKS.md, row B1):

* 50 replicas on ``watts_strogatz(50, 4, 0.2, seed=1)`` (networkx's connected variant);
* every link's latency is uniform 1–10 ms plus exponential jitter of mean 1 ms,
  rounded to integer ms with replicalab's rule ``int(x + 0.5)``;
* 1,000 messages are put in flight at start, each from a replica chosen by a
  seeded rng;
* each delivery updates the receiver's Lamport clock (receive, then a send tick)
  and forwards the message to a random neighbour;
* stop after 200,000 deliveries.

Every contender draws from the same named random streams (replicalab's
``RandomStreams`` derivation: one stream per replica for the neighbour choice,
one per directed link for latency and loss) and breaks same-millisecond ties in
scheduling order, so the floor, SimPy-with-callbacks and replicalab must end in
*exactly* the same state; that is checked. SimPy's process style interleaves
same-millisecond deliveries differently (a Store hands messages over through
extra events), so its final state is only checked to be in the same range.

Run ``python benchmarks/b1_simulator.py`` (``--quick`` for a rough look in about 20 s).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Callable
from math import log
from typing import Any, NamedTuple

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.clocks import LamportClock
from replicalab.replica.base import Replica
from replicalab.sim import Link, RandomStreams, Simulation, Uniform, watts_strogatz

try:
    from replicalab.sim.faults import Partition
except ImportError:  # pragma: no cover - older replicalab: no fault injection yet
    Partition = None

try:
    import simpy
    from simpy.core import StopSimulation
    from simpy.events import URGENT
except ImportError:  # pragma: no cover - peers are optional
    simpy = None

SEED = 1
N_REPLICAS, K, P = 50, 4, 0.2
LOW, HIGH, JITTER = 1, 10, 1.0
IN_FLIGHT = 1_000
DELIVERIES = 200_000
SMOKE_DELIVERIES = 5_000  # 5 hops per message: enough for every variant to diverge if it were wrong
LOSS = 0.01
ISOLATED = "n00"  # the partition variant cuts this replica off from everyone, from t = 0
PARTITIONS = Partition is not None and hasattr(Simulation, "add_faults")
PART = f"replicalab, 1% loss + {ISOLATED} cut off"
FLOOR_PART = f"floor, 1% loss + {ISOLATED} cut off"
# With loss, each lost message would end its chain and the run would die out
# (~99 hops per chain at 1% loss). To keep ~1,000 messages in flight, a replica
# in the lossy variants forwards a second copy with probability lost / (1 - lost),
# where `lost` is the expected share of sends that never arrive.


# ---------------------------------------------------------------------------
# The prepared workload, shared by every contender


class Workload(NamedTuple):
    seed: int
    deliveries: int
    ids: list[str]
    peers: list[tuple[int, ...]]  # sorted neighbours, as indices into ids
    initial: list[int]  # messages each replica starts with
    graph: Any
    spawn_loss: float  # second-copy probability for the 1% loss variant
    spawn_partition: float  # ... for 1% loss with ISOLATED cut off


def stream(seed: int, name: str) -> random.Random:
    """replicalab's named-stream derivation (sim/rng.py), restated so the peers do not import it."""
    digest = hashlib.sha256(f"replicalab/{seed}/{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def prepare(deliveries: int, seed: int = SEED) -> Workload:
    graph = watts_strogatz(N_REPLICAS, K, P, seed=seed)
    ids = sorted(graph.nodes)
    index = {name: i for i, name in enumerate(ids)}
    peers = [tuple(index[p] for p in sorted(graph.neighbors(name))) for name in ids]
    chooser = stream(seed, "workload:b1")
    initial = [0] * len(ids)
    for _ in range(IN_FLIGHT):
        initial[int(chooser.random() * len(ids))] += 1
    assert (
        stream(seed, "link:n00->n01").random()
        == RandomStreams(seed).stream("link:n00->n01").random()
    )
    # Share of sends lost to the cut: a walk on the graph without ISOLATED visits u in
    # proportion to its remaining degree, and from a neighbour u of ISOLATED it picks the
    # cut link with probability 1 / deg(u).
    remaining = 2 * graph.number_of_edges() - 2 * graph.degree(ISOLATED)
    cut_share = (
        sum((graph.degree(u) - 1) / graph.degree(u) for u in graph.neighbors(ISOLATED)) / remaining
    )
    kept_partition = (1.0 - LOSS) * (1.0 - cut_share)
    return Workload(
        seed,
        deliveries,
        ids,
        peers,
        initial,
        graph,
        LOSS / (1.0 - LOSS),
        1.0 / kept_partition - 1.0,
    )


def streams_for(w: Workload) -> tuple[list[Callable[[], float]], list[list[Callable[[], float]]]]:
    """Fresh per-replica and per-link ``random`` methods, aligned with ``w.peers``."""
    replica = [stream(w.seed, f"replica:{name}").random for name in w.ids]
    links = [
        [stream(w.seed, f"link:{name}->{w.ids[p]}").random for p in w.peers[i]]
        for i, name in enumerate(w.ids)
    ]
    return replica, links


class Answer(NamedTuple):
    deliveries: int
    dropped: int
    now: int  # simulated time of the last delivery
    max_time: int  # largest Lamport time at the end
    sum_time: int  # sum of all replicas' Lamport times
    in_flight: int = -1  # messages still scheduled at the end (-1: not known)

    def key(self) -> tuple[int, ...]:
        """What must be identical across contenders (in_flight is not known for SimPy)."""
        return tuple(self)[:-1]


# ---------------------------------------------------------------------------
# replicalab


class Gossip(Replica):
    """Forward every message to a random neighbour, keeping a Lamport clock (an int)."""

    def __init__(self, replica_id: str, initial: int) -> None:
        super().__init__(replica_id)
        self.initial = initial
        self.time = 0

    def on_start(self, ctx):
        peers = ctx.peers
        for _ in range(self.initial):
            self.time += 1
            ctx.send(peers[int(ctx.random() * len(peers))], self.time)

    def on_message(self, ctx, src, msg):
        t = self.time
        t = (t if t > msg else msg) + 2  # receive: max + 1; then the send ticks: + 1
        self.time = t
        peers = ctx.peers
        ctx.send(peers[int(ctx.random() * len(peers))], t)


class LossyGossip(Gossip):
    """Gossip that forwards a second copy with probability ``spawn``, to offset lost messages."""

    def __init__(self, replica_id: str, initial: int, spawn: float) -> None:
        super().__init__(replica_id, initial)
        self.spawn = spawn

    def on_message(self, ctx, src, msg):
        t = self.time
        t = (t if t > msg else msg) + 2
        self.time = t
        peers = ctx.peers
        ctx.send(peers[int(ctx.random() * len(peers))], t)
        if ctx.random() < self.spawn:
            t += 1
            self.time = t
            ctx.send(peers[int(ctx.random() * len(peers))], t)


class ClockGossip(Replica):
    """Gossip with replicalab's immutable LamportClock objects as state and message."""

    def __init__(self, replica_id: str, initial: int) -> None:
        super().__init__(replica_id)
        self.initial = initial
        self.clock = LamportClock(replica_id)

    @property
    def time(self) -> int:
        return self.clock.time

    def on_start(self, ctx):
        peers = ctx.peers
        for _ in range(self.initial):
            self.clock = self.clock.tick()
            ctx.send(peers[int(ctx.random() * len(peers))], self.clock)

    def on_message(self, ctx, src, msg):
        clock = self.clock.receive(msg).tick()
        self.clock = clock
        peers = ctx.peers
        ctx.send(peers[int(ctx.random() * len(peers))], clock)


def run_replicalab(
    w: Workload,
    *,
    cls: type = Gossip,
    trace: bool = False,
    loss: float = 0.0,
    spawn: float | None = None,
    partition: bool = False,
    read_trace: bool = False,
) -> tuple[float, Answer]:
    if spawn is None:
        replicas = [cls(name, w.initial[i]) for i, name in enumerate(w.ids)]
    else:
        replicas = [LossyGossip(name, w.initial[i], spawn) for i, name in enumerate(w.ids)]
    sim = Simulation(
        replicas,
        topology=w.graph,
        seed=w.seed,
        link=Link(Uniform(LOW, HIGH, jitter=JITTER), loss=loss),
        trace=trace,
    )
    if partition:
        sim.add_faults([Partition.isolate(0, ISOLATED, w.ids)])
    t0 = H.perf_counter()
    sim.run(events=w.deliveries)
    if partition:
        # Messages lost on arrival (and the fault itself) are events but not deliveries:
        # top up until exactly w.deliveries messages were delivered.
        while (stats := sim.statistics()).delivered < w.deliveries and stats.pending:
            sim.run(events=w.deliveries - stats.delivered)
    if read_trace:
        # The trace builds its Sent/Delivered events when first read (trace.py): time that too.
        built = len(sim.trace.events)
        made = sim.statistics()
        if built != len(w.ids) + made.sent + made.delivered:  # Started, Sent, Delivered
            raise AssertionError(f"the trace holds {built} events, not one per start, send and delivery")
    elapsed = H.perf_counter() - t0
    stats = sim.statistics()
    times = [r.time for r in replicas]
    return elapsed, Answer(
        stats.delivered, stats.dropped, sim.now, max(times), sum(times), stats.pending
    )


# ---------------------------------------------------------------------------
# Floor: everything inlined into one heapq loop


def run_floor(w: Workload) -> tuple[float, Answer]:
    from heapq import heappop, heappush

    rrand, lrand = streams_for(w)
    peers, low, span, jitter = w.peers, LOW, HIGH - LOW, JITTER
    t0 = H.perf_counter()
    clock = [0] * len(w.ids)
    heap: list[tuple[int, int, int, int]] = []
    seq = 0
    for i, count in enumerate(w.initial):
        mine, rr, lrs = peers[i], rrand[i], lrand[i]
        for _ in range(count):
            t = clock[i] + 1
            clock[i] = t
            j = int(rr() * len(mine))
            lr = lrs[j]
            heappush(
                heap, (int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5), seq, mine[j], t)
            )
            seq += 1
    now = 0
    for _ in range(w.deliveries):
        now, _s, dst, m = heappop(heap)
        t = clock[dst]
        t = (t if t > m else m) + 2
        clock[dst] = t
        mine = peers[dst]
        j = int(rrand[dst]() * len(mine))
        lr = lrand[dst][j]
        heappush(
            heap, (now + int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5), seq, mine[j], t)
        )
        seq += 1
    elapsed = H.perf_counter() - t0
    return elapsed, Answer(w.deliveries, 0, now, max(clock), sum(clock), len(heap))


def run_floor_lossy(w: Workload, spawn: float, partition: bool = False) -> tuple[float, Answer]:
    """The floor with LossyGossip's behaviour, 1% loss drawn on the link stream and, with
    ``partition``, ISOLATED cut off: messages to or from it are dropped on arrival."""
    from heapq import heappop, heappush

    rrand, lrand = streams_for(w)
    peers, low, span, jitter, loss = w.peers, LOW, HIGH - LOW, JITTER, LOSS
    cut = w.ids.index(ISOLATED) if partition else -1
    t0 = H.perf_counter()
    clock = [0] * len(w.ids)
    heap: list[tuple[int, int, int, int, int]] = []
    seq = dropped = now = 0
    for i, count in enumerate(w.initial):
        mine, rr, lrs = peers[i], rrand[i], lrand[i]
        for _ in range(count):
            t = clock[i] + 1
            clock[i] = t
            j = int(rr() * len(mine))
            lr = lrs[j]
            if lr() < loss:
                dropped += 1
                continue
            due = int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5)
            heappush(heap, (due, seq, mine[j], i, t))
            seq += 1
    delivered = 0
    # A bounded `for`, not `while delivered < ...`: see README, "CPython 3.11".
    for _ in range(4 * w.deliveries):
        if delivered == w.deliveries or not heap:
            break
        now, _s, dst, src, m = heappop(heap)
        if dst == cut or src == cut:
            dropped += 1
            continue
        delivered += 1
        t = clock[dst]
        t = (t if t > m else m) + 2
        clock[dst] = t
        mine, rr, lrs = peers[dst], rrand[dst], lrand[dst]
        j = int(rr() * len(mine))
        lr = lrs[j]
        if lr() < loss:
            dropped += 1
        else:
            due = now + int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5)
            heappush(heap, (due, seq, mine[j], dst, t))
            seq += 1
        if rr() < spawn:
            t += 1
            clock[dst] = t
            j = int(rr() * len(mine))
            lr = lrs[j]
            if lr() < loss:
                dropped += 1
            else:
                due = now + int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5)
                heappush(heap, (due, seq, mine[j], dst, t))
                seq += 1
    elapsed = H.perf_counter() - t0
    return elapsed, Answer(delivered, dropped, now, max(clock), sum(clock), len(heap))


# ---------------------------------------------------------------------------
# SimPy 4


def run_simpy_callbacks(w: Workload) -> tuple[float, Answer]:
    """One Timeout per message; its callback is the receiver's handler."""
    rrand, lrand = streams_for(w)
    env = simpy.Environment()
    timeout = env.timeout
    clock = [0] * len(w.ids)
    handlers: list[Callable[[Any], None]] = []
    delivered = 0
    limit = w.deliveries
    low, span, jitter = LOW, HIGH - LOW, JITTER

    def make_handler(i: int) -> Callable[[Any], None]:
        mine, rr, lrs = w.peers[i], rrand[i], lrand[i]
        k = len(mine)

        def on_deliver(event: Any) -> None:
            nonlocal delivered
            m = event.value
            t = clock[i]
            t = (t if t > m else m) + 2
            clock[i] = t
            j = int(rr() * k)
            lr = lrs[j]
            timeout(int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5), t).callbacks.append(
                handlers[mine[j]]
            )
            delivered += 1
            if delivered == limit:
                raise StopSimulation(None)

        return on_deliver

    handlers.extend(make_handler(i) for i in range(len(w.ids)))
    t0 = H.perf_counter()
    for i, count in enumerate(w.initial):
        mine, rr, lrs = w.peers[i], rrand[i], lrand[i]
        for _ in range(count):
            t = clock[i] + 1
            clock[i] = t
            j = int(rr() * len(mine))
            lr = lrs[j]
            timeout(int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5), t).callbacks.append(
                handlers[mine[j]]
            )
    env.run()
    elapsed = H.perf_counter() - t0
    events = next(env._eid)  # events scheduled (SimPy internal counter; for the report only)
    return elapsed, (Answer(delivered, 0, env.now, max(clock), sum(clock)), events)


def run_simpy_processes(w: Workload) -> tuple[float, Answer]:
    """One process per node reading a Store; a message travels in a 'cable' process
    (SimPy docs, "Event Latency" example): timeout, then put into the receiver's Store."""
    rrand, lrand = streams_for(w)
    env = simpy.Environment()
    timeout, process = env.timeout, env.process
    stores = [simpy.Store(env) for _ in w.ids]
    clock = [0] * len(w.ids)
    delivered = 0
    limit = w.deliveries
    done = env.event()
    low, span, jitter = LOW, HIGH - LOW, JITTER

    def cable(delay: int, store: Any, value: int):
        yield timeout(delay)
        store.put(value)

    def node(i: int):
        nonlocal delivered
        mine, rr, lrs, inbox = w.peers[i], rrand[i], lrand[i], stores[i]
        k = len(mine)
        for _ in range(w.initial[i]):
            t = clock[i] + 1
            clock[i] = t
            j = int(rr() * k)
            lr = lrs[j]
            process(
                cable(int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5), stores[mine[j]], t)
            )
        while True:
            m = yield inbox.get()
            t = clock[i]
            t = (t if t > m else m) + 2
            clock[i] = t
            j = int(rr() * k)
            lr = lrs[j]
            process(
                cable(int(low + span * lr() - jitter * log(1.0 - lr()) + 0.5), stores[mine[j]], t)
            )
            delivered += 1
            if delivered == limit:
                # Trigger `done` ahead of this millisecond's other events, as run(until=<time>) does.
                done._ok, done._value = True, None
                env.schedule(done, URGENT)

    t0 = H.perf_counter()
    for i in range(len(w.ids)):
        process(node(i))
    env.run(until=done)
    elapsed = H.perf_counter() - t0
    events = next(env._eid)
    return elapsed, (Answer(delivered, 0, env.now, max(clock), sum(clock)), events)


# ---------------------------------------------------------------------------
# Running and reporting


def _split(result: H.Result) -> tuple[Answer, float | None]:
    answer = result.answer
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], Answer):
        return answer[0], answer[1] / answer[0].deliveries
    return answer, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="50,000 deliveries, 3 repeats: a rough look, not for the record",
    )
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_DELIVERIES:,} deliveries: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    deliveries = SMOKE_DELIVERIES if args.smoke else 50_000 if args.quick else DELIVERIES
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else 5)

    w = prepare(deliveries)
    H.banner("B1 simulator")
    print(
        f"  {N_REPLICAS} replicas, watts_strogatz({N_REPLICAS}, {K}, {P}, seed={SEED}); latency "
        f"uniform {LOW}-{HIGH} ms + exponential jitter (mean {JITTER:g} ms), integer ms;"
    )
    print(
        f"  {IN_FLIGHT:,} messages in flight; each delivery: Lamport receive + forward to a random "
        f"neighbour; {deliveries:,} deliveries."
    )
    print(
        f"  Median of {repeats} interleaved rounds after {H.WARMUP} warm-up."
        f"{'  (--quick)' if args.quick else ''}{'  (--smoke)' if args.smoke else ''}"
    )

    contenders: dict[str, Callable[[], tuple[float, Any]]] = {
        "floor: bare heapq loop": lambda: run_floor(w),
        "replicalab, tracing off": lambda: run_replicalab(w),
        "replicalab, tracing on": lambda: run_replicalab(w, trace=True),
        "replicalab, tracing on, trace read": lambda: run_replicalab(w, trace=True, read_trace=True),
        "replicalab, LamportClock objects": lambda: run_replicalab(w, cls=ClockGossip),
        "replicalab, 1% loss": lambda: run_replicalab(w, loss=LOSS, spawn=w.spawn_loss),
        "floor, 1% loss": lambda: run_floor_lossy(w, w.spawn_loss),
    }
    if PARTITIONS:
        contenders[PART] = lambda: run_replicalab(
            w, loss=LOSS, spawn=w.spawn_partition, partition=True
        )
        contenders[FLOOR_PART] = lambda: run_floor_lossy(w, w.spawn_partition, partition=True)
    if simpy is not None:
        contenders["SimPy 4, timeouts + callbacks"] = lambda: run_simpy_callbacks(w)
        contenders["SimPy 4, process per node + Store"] = lambda: run_simpy_processes(w)
    results = H.measure(contenders, repeats=repeats)

    base = results["replicalab, tracing off"]
    rows = []
    for name, res in results.items():
        answer, per = _split(res)
        n = answer.deliveries
        rows.append(
            [
                name,
                f"{n / res.median:,.0f}",
                f"{n / res.best:,.0f}",
                f"{res.median * 1e6 / n:.2f}",
                f"{res.spread:.0%}",
                "1" if per is None else f"{per:.1f}",
            ]
        )
    print()
    print(
        H.table(
            ["contender", "deliveries/s", "best round", "us/delivery", "spread", "events/delivery"],
            rows,
        )
    )
    print("  deliveries/s and us/delivery: median round; spread: (slowest - fastest) / median;")
    print("  events/delivery: events SimPy scheduled per delivery (its internal counter).")

    # -- checks ---------------------------------------------------------------
    failures = []
    exact = [
        "floor: bare heapq loop",
        "replicalab, tracing off",
        "replicalab, tracing on",
        "replicalab, tracing on, trace read",
        "replicalab, LamportClock objects",
    ]
    if simpy is not None:
        exact.append("SimPy 4, timeouts + callbacks")
    want = _split(results["floor: bare heapq loop"])[0]
    for name in exact:
        got = _split(results[name])[0]
        if got.key() != want.key():
            failures.append(f"{name} ended in {got}, the floor in {want}")
    lossy, floor_lossy = results["replicalab, 1% loss"].answer, results["floor, 1% loss"].answer
    if lossy.key() != floor_lossy.key():
        failures.append(f"1% loss: replicalab ended in {lossy}, the floor in {floor_lossy}")
    if lossy.deliveries != deliveries:
        failures.append(f"1% loss: only {lossy.deliveries} deliveries (messages died out)")
    if PARTITIONS:
        part, floor_part = results[PART].answer, results[FLOOR_PART].answer
        if part.key() != floor_part.key():
            failures.append(f"partition: replicalab ended in {part}, the floor in {floor_part}")
        if part.deliveries != deliveries:
            failures.append(f"partition: only {part.deliveries} deliveries (messages died out)")
    if simpy is not None:
        proc = _split(results["SimPy 4, process per node + Store"])[0]
        if proc.deliveries != deliveries or not 0.8 < proc.max_time / want.max_time < 1.25:
            failures.append(f"SimPy process style ended in {proc}, far from the floor's {want}")

    print()
    print("  Checks:")
    print(
        f"    floor, replicalab (trace off/on, LamportClock){', SimPy callbacks' if simpy else ''}: "
        f"{'identical' if not failures else 'DIFFER'} final state — {want.deliveries:,} deliveries, "
        f"t={want.now} ms, max Lamport {want.max_time}, sum {want.sum_time}"
    )
    if simpy is not None:
        print(
            f"    SimPy process style (same-ms interleaving differs): {proc.deliveries:,} deliveries, "
            f"t={proc.now} ms, max Lamport {proc.max_time} ({proc.max_time / want.max_time:.3f}x the floor's)"
        )
    print(
        f"    1% loss, replicalab = floor: {lossy.key() == floor_lossy.key()}; "
        f"{lossy.deliveries:,} deliveries, {lossy.dropped:,} dropped, t={lossy.now} ms, "
        f"max Lamport {lossy.max_time}, {lossy.in_flight:,} in flight at the end"
    )
    if PARTITIONS:
        print(
            f"    1% loss + {ISOLATED} cut off, replicalab = floor: {part.key() == floor_part.key()}; "
            f"{part.deliveries:,} deliveries, {part.dropped:,} dropped, t={part.now} ms, "
            f"max Lamport {part.max_time}, {part.in_flight:,} in flight at the end"
        )

    # -- ratios ---------------------------------------------------------------
    print()
    print("  replicalab (tracing off) / peer, deliveries per second; higher is better.")
    print("  Targets are judged on the medians; 'best rounds' compares each side's fastest round.")
    floor = H.ratio(results["floor: bare heapq loop"], base)
    ratio_rows = [
        [
            "floor: bare heapq loop",
            f"{floor[0]:.2f}x",
            f"{floor[1]:.2f}x",
            ">= 0.7x",
            H.verdict(floor[0], 0.7),
        ]
    ]
    if simpy is not None:
        cb = H.ratio(results["SimPy 4, timeouts + callbacks"], base)
        pr = H.ratio(results["SimPy 4, process per node + Store"], base)
        ratio_rows.append(
            ["SimPy 4, timeouts + callbacks", f"{cb[0]:.2f}x", f"{cb[1]:.2f}x", "-", ""]
        )
        ratio_rows.append(
            [
                "SimPy 4, process per node + Store",
                f"{pr[0]:.2f}x",
                f"{pr[1]:.2f}x",
                ">= 5x",
                H.verdict(pr[0], 5.0),
            ]
        )
    else:
        ratio_rows.append(["SimPy 4", "skipped", "", "", "pip install simpy (extra 'bench')"])
    print(H.table(["peer", "medians", "best rounds", "target", ""], ratio_rows))

    def cost(variant: str, reference: str) -> tuple[float, float]:
        a, b = results[variant], results[reference]
        return a.median / b.median - 1, a.best / b.best - 1

    def row(label: str, variant: str, reference: str, target: str = "", limit: float | None = None):
        median, best = cost(variant, reference)
        verdict = H.verdict(median, limit, at_most=True) if limit is not None else ""
        return [label, f"{median:+.0%}", f"{best:+.0%}", target, verdict]

    trace = cost("replicalab, tracing on", "replicalab, tracing off")
    read = cost("replicalab, tracing on, trace read", "replicalab, tracing off")
    base_name = "replicalab, tracing off"
    print()
    print("  Extra time per delivery, relative to replicalab with tracing off")
    print("  (lossy variants forward extra copies to keep ~1,000 messages in flight):")
    cost_rows = [
        [
            "tracing on",
            f"{trace[0] + 1:.2f}x time",
            f"{trace[1] + 1:.2f}x time",
            "<= 2x",
            H.verdict(trace[0] + 1, 2.0, at_most=True),
        ],
        [
            "  and the trace read (its events built)",
            f"{read[0] + 1:.2f}x time",
            f"{read[1] + 1:.2f}x time",
            "info",
            "",
        ],
        row("1% loss", "replicalab, 1% loss", base_name, "<= +15%", 0.15),
        row(
            "  the same change in the floor, for scale", "floor, 1% loss", "floor: bare heapq loop"
        ),
    ]
    if PARTITIONS:
        cost_rows += [
            row(
                f"1% loss + one active partition ({ISOLATED} cut off)",
                PART,
                base_name,
                "<= +15%",
                0.15,
            ),
            row("  the same change in the floor, for scale", FLOOR_PART, "floor: bare heapq loop"),
        ]
    else:
        cost_rows.append(
            ["one active partition", "not measured", "", "", "no replicalab.sim.faults.Partition"]
        )
    cost_rows.append(
        row(
            "LamportClock objects instead of an int",
            "replicalab, LamportClock objects",
            base_name,
            "info",
        )
    )
    print(H.table(["variant", "medians", "best rounds", "target", ""], cost_rows))

    if failures:
        print()
        for failure in failures:
            print(f"  CHECK FAILED: {failure}")
    compared = "floor = replicalab tracing off/on/trace read/LamportClock"
    compared += " = SimPy callbacks, SimPy processes in range" if simpy else " (SimPy skipped: not installed)"
    compared += "; 1% loss replicalab = floor"
    compared += "; loss + partition replicalab = floor" if PARTITIONS else " (no partition: no replicalab.sim.faults)"
    return H.checks(failures, f"{compared}; {deliveries:,} deliveries")


if __name__ == "__main__":
    sys.exit(main())
