"""B12 — a leaderless cluster's client throughput: 5 nodes, N=3, R=W=2, tracing off.

Workload (issue #16): five :class:`~replicalab.quorum.DynamoNode`\\ s on a full mesh (links
uniform 1–4 ms) hold 1,000 keys on a SHA-256 ring with 8 virtual nodes each. Clients issue
20,000 operations, one every simulated 0.5 ms on average (two per millisecond), half reads
and half writes, each to a seeded random key through a seeded random coordinator, by seven
clients that write with the context of their last read or write of the key (as Dynamo's
clients do: a blind write would pile up siblings, key by key).
Every operation is a full quorum round trip (a write: N stores and W acks; a read: N
fetches, R replies, read repair when replies differ). The run ends when the cluster is
quiescent (every timeout timer fired).

Contenders: the cluster run (timed from the first event to quiescence, setup excluded; the clients' callbacks,
which keep their contexts, run inside the timed part), and
B1's replicalab gossip run (50,000 deliveries) in the same process, so the ratio of client
operations per second to B1's deliveries per second is measured side by side. Checks: every
operation got an answer, every answer is ok (no faults, no timeouts), and the run's
:func:`fingerprint` (every reply and every node's final store) equals the one pinned from
before the path was made lean.

Target: at least 20,000 client operations per second of wall time. Run
``python benchmarks/b12_quorum.py`` (``--quick``: 5,000 operations, 1 round).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)
import b1_simulator as B1

from replicalab.dots import CausalContext, Dot
from replicalab.quorum import DynamoNode, Get, GetDone, HashRing, Put, PutDone, QuorumConfig
from replicalab.quorum.versions import EMPTY
from replicalab.sim import Link, Simulation, Uniform

NODES = tuple(f"n{i}" for i in range(1, 6))
KEYS = 1000
TARGET = 20_000
#: fingerprint() of the run at 5,000 and 20,000 operations, taken before the leaderless path
#: was made lean (main at a404804): being faster must not change a single decision.
PINNED = {5_000: "f54223fd79347681", 20_000: "c7a25f7dc50456f6"}


def build(ops: int) -> Simulation:
    ring = HashRing(NODES, vnodes=8)
    config = QuorumConfig(n=3, r=2, w=2)
    sim = Simulation([DynamoNode(n, ring, config) for n in NODES], link=Link(Uniform(1, 4)), seed=1,
                     trace=False)
    rng = random.Random(12)
    session: dict[tuple[str, str], CausalContext] = {}

    def remember(client: str, key: str):
        def on_reply(_sim: Simulation, reply) -> None:
            response = reply.response
            if isinstance(response, GetDone):
                session[(client, key)] = session.get((client, key), EMPTY).merge(response.context)
            elif isinstance(response, PutDone):
                replica, _, counter = response.dot.rpartition(":")
                session[(client, key)] = session.get((client, key), EMPTY).add(Dot(replica, int(counter)))
        return on_reply

    def issue(node: str, client: str, key: str, op: str, read: bool, value: int):
        def action(s: Simulation) -> None:
            request = Get(op, key=key) if read else Put(op, key=key, value=value,
                                                        context=session.get((client, key), EMPTY))
            s.client_request(s.now, node, request, client=client, on_reply=remember(client, key))
        return action

    for i in range(ops):
        key = f"key{int(rng.random() * KEYS)}"
        node = NODES[int(rng.random() * len(NODES))]
        read = rng.random() < 0.5
        sim.schedule(i // 2, issue(node, f"c{i % 7}", key, f"{'r' if read else 'w'}{i}", read, i))
    return sim


def fingerprint(sim: Simulation) -> str:
    """SHA-256 of everything the run decided: every reply (time, node, client, answer) in
    order, and every node's final store, hints and counter. A faster cluster must decide
    exactly the same things: the benchmark compares this with the value pinned below,
    taken before the leaderless path was made lean."""
    h = hashlib.sha256()
    for r in sim.replies:
        response = r.response
        answer = ((response.dot, response.acks) if isinstance(response, PutDone) else
                  (response.values, tuple(str(v.dot) for v in response.versions), response.replied)
                  if isinstance(response, GetDone) else (response.error,))
        h.update(repr((r.time, r.replica, r.client, response.op, response.ok, answer)).encode())
    for name, node in sim.replicas.items():
        assert isinstance(node, DynamoNode)
        store = sorted((k, [(v.value, str(v.dot), repr(v.context)) for v in vs]) for k, vs in node.store.items())
        hints = sorted((home, sorted((k, [str(v.dot) for v in vs]) for k, vs in keys.items()))
                       for home, keys in node.hints.items())
        h.update(repr((name, node.identity, node.counter, store, hints)).encode())
    return h.hexdigest()[:16]


def run(ops: int) -> tuple[float, float, Simulation]:
    """Wall seconds and CPU seconds of the run (setup excluded), and the finished simulation."""
    sim = build(ops)
    t0, c0 = H.perf_counter(), H.process_time()
    sim.run_until_quiescent()
    return H.perf_counter() - t0, H.process_time() - c0, sim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 operations, 1 round")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    parser.add_argument("--smoke", action="store_true", help="as --quick, B1 at 5,000 deliveries: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    ops = 5_000 if args.quick or args.smoke else 20_000  # smoke: the smallest size with a pinned fingerprint
    repeats = args.repeats or (1 if args.quick or args.smoke else 5)
    print(f"{H.environment_line()}; median and best of {repeats} interleaved rounds after a warm-up")
    H.banner(f"5 nodes, N=3 R=2 W=2, {ops:,} client operations (half reads), tracing off")
    b1 = B1.prepare(5_000 if args.smoke else 50_000)
    cluster: list[float] = []
    gossip: list[float] = []
    cluster_cpu: list[float] = []
    gossip_cpu: list[float] = []
    last: Simulation | None = None
    for round_no in range(repeats + 1):
        last = None  # the previous round's cluster is garbage: not alive while this one runs
        seconds, cpu, last = run(ops)
        c0 = H.process_time()
        b1_seconds, _ = B1.run_replicalab(b1)
        b1_cpu = H.process_time() - c0
        if round_no:  # the first round warms up
            cluster.append(seconds)
            gossip.append(b1_seconds)
            cluster_cpu.append(cpu)
            gossip_cpu.append(b1_cpu)
    assert last is not None
    failures = []
    replies = last.replies
    if len(replies) != ops:
        failures.append(f"{ops - len(replies)} operations got no answer")
    if not all(r.response.ok for r in replies):
        failures.append("some operation failed without a fault")
    if PINNED.get(ops, fingerprint(last)) != fingerprint(last):
        failures.append(f"the run decided differently: fingerprint {fingerprint(last)}, pinned {PINNED[ops]}")
    stats = last.statistics()
    med, best = sorted(cluster)[len(cluster) // 2], min(cluster)
    rate, best_rate = ops / med, ops / best
    b1_rate = b1.deliveries / sorted(gossip)[len(gossip) // 2]
    # CPU time as well: on a shared machine waiting for a core inflates wall time, not CPU time.
    cpu_rate = ops / sorted(cluster_cpu)[len(cluster_cpu) // 2]
    b1_cpu_rate = b1.deliveries / sorted(gossip_cpu)[len(gossip_cpu) // 2]
    print(H.table(["measure", "median", "best"], [
        ["client ops / s (wall)", f"{rate:,.0f}", f"{best_rate:,.0f}"],
        ["client ops / s (CPU)", f"{cpu_rate:,.0f}", f"{ops / min(cluster_cpu):,.0f}"],
        ["ops/s ÷ B1 deliveries/s (CPU)", f"{cpu_rate / b1_cpu_rate:.3f}", ""],
        ["events / op", f"{stats.events / ops:.1f}", ""],
        ["messages / op", f"{stats.sent / ops:.1f}", ""],
        ["B1 deliveries / s", f"{b1_rate:,.0f}", ""],
        ["ops/s ÷ B1 deliveries/s", f"{rate / b1_rate:.3f}", ""],
    ]))
    print(f"\n  target >= {TARGET:,} ops/s: {H.verdict(rate, TARGET)} (median), "
          f"{H.verdict(best_rate, TARGET)} (best round)")
    for failure in failures:
        print(f"  FAILED: {failure}")
    return H.checks(failures, f"{ops:,} operations all answered ok, fingerprint = pinned")


if __name__ == "__main__":
    sys.exit(main())
