"""A table scenario on a real network: one OS process per region, the same replicas, a real race.

:func:`run_on_network` plays a :class:`~replicalab.scenarios.world.TableScenario` with
:mod:`replicalab.net`: each region is a ``replicalab serve`` process running the very
:class:`~replicalab.replica.table.TableReplica` the simulator builds (:func:`region_replica`
is the one constructor both use), the clients' requests are sent at the story's times
(real ms after the start), and every replica-to-replica message is held by the hub for
``hold`` ms plus the scenario's mean one-way latency of that link. Holding replication
for hundreds of ms makes the story's race (two writes 49 ms apart, in two regions) happen
even on a loaded machine: each write reaches the other region long after that region wrote.

The result is an ordinary :class:`~replicalab.scenarios.result.Result` (timeline, ledger,
pictures, stepper) whose ``runtime`` is ``"net"``; times are real, and it says plainly that
the run is not deterministic.

Supported: the merge policy and ``stamps``; plain writes routed to the client's own region.
The other options (versioned writes, key-home routing, MRSC, skew) and scenarios with
faults are refused with a :class:`~replicalab.errors.ConfigError` (they need client
callbacks or simulated faults that the real runtime does not replay yet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.items import Item
from replicalab.ledger import from_simulation
from replicalab.net import ClientCall, NetConfig, NetRun
from replicalab.net import run as run_net
from replicalab.policies import get_policy
from replicalab.reconcile import find_version_forks
from replicalab.replica.table import GetItem, PutItem, TableReplica, UpdateItem
from replicalab.scenarios.result import Result
from replicalab.scenarios.world import TableScenario
from replicalab.sim.network import Constant, Exponential, Latency, Uniform

__all__ = ["DEFAULT_HOLD", "calls_of", "region_replica", "result_of", "run_on_network"]

#: How long (ms) the hub holds every replication message by default: long enough that two
#: writes tens of ms apart race whatever the machine's load.
DEFAULT_HOLD = 400


def region_replica(scenario: TableScenario, region: str, merge: str = "item-lww",
                   stamps: str = "wall") -> TableReplica:
    """The replica of ``region``, built exactly as :meth:`TableScenario.run` builds it (MREC)."""
    if region not in scenario.regions:
        raise ConfigError(f"{scenario.name} has no region {_validate.shown(region)}; regions are "
                          f"{', '.join(sorted(scenario.regions))}")
    policy = get_policy(merge)
    return TableReplica(region, policy, scenario.initial_items(policy), stamps=stamps,
                        replication_delay=scenario.replication_delay,
                        anti_entropy=scenario.anti_entropy)


def _mean(latency: Latency) -> int:
    if isinstance(latency, Constant):
        return round(latency.ms + latency.jitter)
    if isinstance(latency, Uniform):
        return round((latency.low + latency.high) / 2 + latency.jitter)
    if isinstance(latency, Exponential):
        return round(latency.offset + latency.mean)
    raise ConfigError(f"cannot hold messages for a latency of {_validate.shown(latency)}")


def calls_of(scenario: TableScenario) -> list[ClientCall]:
    """The scenario's writes and reads as client calls to the writer's own region."""
    calls = []
    for w in scenario.workload:
        request: Any = (PutItem(w.op, w.key, w.attributes, w.condition) if w.put else
                        UpdateItem(w.op, w.key, w.attributes, w.condition, add=w.add, delete=w.delete))
        calls.append(ClientCall(w.at, w.region, w.client, request, via=w.region))
    for r in scenario.reads:
        calls.append(ClientCall(r.at, r.region, r.client, GetItem(r.op, r.key, consistent=r.consistent),
                                via=r.region))
    return calls


def run_on_network(scenario: TableScenario, merge: str = "item-lww", *, stamps: str = "wall",
                   hold: int = DEFAULT_HOLD, seed: int = 0, timeout: float = 60.0,
                   settle: int = 300, listen: int | None = None,
                   on_listen: Callable[[str], None] | None = None) -> Result:
    """Play ``scenario`` on real processes (see the module docs); every process is gone after.

    ``listen``: keep the run open this many seconds after it starts (at least as long as the
    story needs), taking requests from ``replicalab client`` commands at the address passed to
    ``on_listen``; their writes are judged with the story's.
    """
    if not isinstance(scenario, TableScenario):
        raise ConfigError(f"run_on_network takes a TableScenario, got {_validate.shown(scenario)}")
    opts = scenario.options(merge, seed, stamps=stamps)
    if scenario.faults:
        raise ConfigError(f"{scenario.name} schedules simulated faults, which a real run does not "
                          "replay yet; scenarios without faults: london, london-batch-at-home, cart, "
                          "counter, skew")
    if scenario.skew:
        raise ConfigError(f"{scenario.name} skews simulated clocks; a real run reads the real clock")
    delay = {pair: _mean(latency) for pair, latency in scenario.latency.items()}
    calls = calls_of(scenario)
    until = None
    if listen is not None:
        if type(listen) is not int or not 1 <= listen <= 600:
            raise ConfigError(f"listen is a number of seconds in [1, 600], got {_validate.shown(listen)}")
        # Long enough for the story too: its last call, two crossings of the slowest link, settling.
        story = max((c.at for c in calls), default=0) + 2 * (hold + max(delay.values(), default=0)) + settle
        until = max(listen * 1000, story)
        timeout = max(timeout, until / 1000 + 30)
    config = NetConfig(hold=hold, delay=delay, seed=seed, timeout=timeout, settle=settle, until=until)
    args = {region: ["--scenario", scenario.name, "--merge", str(opts.merge), "--stamps", str(opts.stamps)]
            for region in scenario.regions}
    net = run_net(args, calls, config, epoch=scenario.epoch, on_listen=on_listen)
    shown = {"hold": hold, **({"listen": listen} if listen is not None else {})}
    return result_of(scenario, net, str(opts.merge), seed, shown, get_policy(merge))


def _stale_reads(scenario: TableScenario, net: NetRun) -> tuple[str, ...]:
    """Strong reads that missed a write acknowledged before they were sent (ground truth),
    judged as :meth:`replicalab.scenarios.clients.Clients.stale_reads` judges them."""
    acked = {r.response.op: r.time for r in net.replies if r.response.ok and r.response.op in net.writes}
    issued = {r.response.op: r.issued for r in net.replies}
    answered = {r.response.op for r in net.replies if r.response.ok}
    stale = []
    for read in scenario.reads:
        known = net.read_knowledge.get(read.op)
        # A read that failed told its client nothing about the item: it cannot be stale.
        if known is None or not read.consistent or read.op not in answered:
            continue
        for op, when in sorted(acked.items()):
            fact = net.writes[op]
            if fact.scope == read.key and when <= issued[read.op] \
                    and fact.dot.counter > known.get(fact.dot.replica):
                stale.append(read.op)
                break
    return tuple(stale)


def result_of(scenario: TableScenario, net: NetRun, merge: str, seed: int,
              options: Mapping[str, Any], policy: Any) -> Result:
    """The :class:`Result` of a real run: the ledger judged from the processes' own reports."""
    items = {rid: dict(final.items) for rid, final in sorted(net.replicas.items())}
    forks = tuple(find_version_forks(net.trace))  # type: ignore[arg-type]
    reports = {w: f.describe() for f in forks for w in f.writes}
    ledger = from_simulation(net, reports)
    states = list(items.values())
    initial: dict[str, Item] = scenario.initial_items(policy)
    return Result(
        scenario=scenario.name, merge=merge, seed=seed, options=dict(options),
        epoch=scenario.epoch, ledger=ledger,
        final={rid: {k: item.to_plain() for k, item in keys.items()} for rid, keys in items.items()},
        items=items, converged=all(s == states[0] for s in states) and not net.down,
        trace=net.trace, statistics=net.statistics(), label=f"{merge} (real network)", forks=forks,
        write_latencies=tuple(r.latency for r in net.replies if r.response.op in net.writes),
        stale_reads=_stale_reads(scenario, net), reads=len(scenario.reads),
        regions=tuple(sorted(scenario.regions)), facts=tuple(net.writes.values()), skew={},
        initial=initial, runtime="net")
