"""The real-network runtime: the simulator's replicas, unchanged, as OS processes on 127.0.0.1.

The London story between three real processes must lose the address under item-lww and
nothing under attribute-lww — the simulator's verdicts, judged by the same ledger from the
processes' own reports. Timing is never asserted: replication is held for hundreds of ms,
so the race happens on a loaded machine too, and every wait is bounded by a timeout.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest

import replicalab.scenarios.world as world
from replicalab import net, scenarios, serialization
from replicalab.errors import (
    ConfigError,
    FaultScheduleError,
    NetworkRunError,
    SerializationError,
    TopologyError,
)
from replicalab.items import Item
from replicalab.net import ClientCall, Crash, NetConfig, Partition, wire
from replicalab.replica.base import Response
from replicalab.replica.table import Replicate, TableReplica, UpdateItem
from replicalab.scenarios.on_network import DEFAULT_HOLD, calls_of, region_replica, result_of

HERE = Path(__file__).resolve().parent
LEARNER = str(HERE / "net_replicas.py")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def gone(pid: int) -> bool:
    """True if no process ``pid`` exists any more (it was killed and reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def causal_order_holds(trace) -> None:
    """Every delivery comes after its send, steps count up, and each replica's times never
    go back: the merged history is a linear extension of happens-before."""
    sent = {}
    steps = [e.step for e in trace]
    assert steps == sorted(steps)
    last: dict[str, int] = {}
    for index, e in enumerate(trace):
        if e.kind == "Sent":
            sent[e.get("id")] = (index, e.replica, e.get("dst"))
        elif e.kind in ("Delivered", "Dropped"):
            where, src, dst = sent[e.get("id")]
            assert where < index
            assert (src, dst) == ((e.get("src"), e.replica) if e.kind == "Delivered" else (e.replica, e.get("dst")))
        if e.replica is not None:
            assert e.time >= last.get(e.replica, 0)
            last[e.replica] = e.time


def london_on_network(merge: str):
    scenario = scenarios.get("london")
    config = NetConfig(hold=DEFAULT_HOLD, delay={("eu-west-1", "us-east-1"): 75}, timeout=60.0,
                       settle=150)
    args = {region: ["--scenario", "london", "--merge", merge] for region in scenario.regions}
    run = net.run(args, calls_of(scenario), config, epoch=scenario.epoch)
    from replicalab.policies import get_policy

    return run, result_of(scenario, run, merge, 0, {"hold": DEFAULT_HOLD}, get_policy(merge))


def test_london_between_three_real_processes_loses_the_address_under_item_lww_only() -> None:
    """The lesson survives the move to sockets: item-lww silently drops the London address,
    attribute-lww keeps both writes; the ledger's verdicts are the simulator's."""
    from concurrent.futures import ThreadPoolExecutor

    policies = (("item-lww", 1), ("attribute-lww", 0))
    with ThreadPoolExecutor(2) as pool:  # both runs at once: six processes, each run its own hub
        runs = list(pool.map(london_on_network, [merge for merge, _ in policies]))
    for (merge, lost), (run, result) in zip(policies, runs, strict=True):
        simulated = scenarios.run("london", merge=merge)
        assert result.summary["silently_lost"] == lost
        assert result.ledger.verdicts() == simulated.ledger.verdicts()
        if lost:
            assert result.ledger["w1"].by == ("w2",)
            assert "w2 had not seen w1" in result.ledger["w1"].why
        assert result.converged
        assert result.final == simulated.final
        # Three processes, the simulator's replica class, every one gone afterwards.
        assert sorted(run.pids) == ["ap-southeast-2", "eu-west-1", "us-east-1"]
        assert len(set(run.pids.values())) == 3 and os.getpid() not in run.pids.values()
        assert all(gone(pid) for pid in run.pids.values())
        qualified = f"{TableReplica.__module__}.{TableReplica.__qualname__}"
        assert set(run.classes.values()) == {qualified}
        host = run.address.rpartition(":")[0]
        assert ipaddress.ip_address(host) in LOOPBACK
        causal_order_holds(result.trace)
        assert result.runtime == "net"
        svg = result.to_svg()
        assert "t = real ms since the run began" in svg and "t = simulated ms" not in svg
        assert "REAL network run, not deterministic" in result.to_html()
        assert "NOT deterministic" in result.report()
        assert result.to_plain()["deterministic"] is False


def test_other_stories_get_the_simulators_verdicts_and_final_items_on_real_processes() -> None:
    """An independent oracle for the whole path (processes, wire, merge, ground truth, ledger):
    for stories and policies whose outcome does not hang on a race closer than the hold, the
    real run's verdicts and final items are the simulator's. Three runs at once, in threads."""
    from concurrent.futures import ThreadPoolExecutor

    from replicalab.scenarios.on_network import run_on_network

    cells = [("cart", "causal"), ("counter", "crdt"), ("london-batch-at-home", "item-lww")]

    def both(cell):
        name, merge = cell
        real = run_on_network(scenarios.get(name), merge, hold=200, settle=150, timeout=60.0)
        return real, scenarios.run(name, merge=merge)

    with ThreadPoolExecutor(len(cells)) as pool:
        for (name, merge), (real, simulated) in zip(cells, pool.map(both, cells), strict=True):
            assert real.ledger.verdicts() == simulated.ledger.verdicts(), (name, merge)
            assert real.final == simulated.final, (name, merge)
            assert real.siblings_visible == simulated.siblings_visible, (name, merge)


def test_the_real_runtime_runs_the_simulators_replica_class_itself() -> None:
    """Not a copy or a subclass: the object the simulator's scenarios build."""
    scenario = scenarios.get("london")
    replica = region_replica(scenario, "eu-west-1", "item-lww")
    assert type(replica) is TableReplica is world.TableReplica
    assert replica.items == TableReplica("eu-west-1", "item-lww", scenario.initial_items()).items


def test_a_learners_replica_gossips_with_real_timers_and_survives_a_crash_and_a_partition() -> None:
    """A replica class of one's own (loaded by path), real timers, a partition and a crash:
    messages across the cut or to the dead process are dropped, a request to it fails."""
    from net_replicas import Tell

    wire.allow([Tell])
    config = NetConfig(hold=30, timeout=60.0, settle=100,
                       faults=(Partition(at=0, groups=[["a", "b"], ["c", "d"]]), Crash(at=300, replica="d")))
    args = {r: ["--replica", f"{LEARNER}:Gossip"] for r in ("a", "b", "c", "d")}
    calls = [ClientCall(400, "a", "alice", Tell("t1", "hello")),
             ClientCall(410, "d", "dave", Tell("t2", "dead"))]
    run = net.run(args, calls, config)
    assert all(gone(pid) for pid in run.pids.values())
    assert run.down == ("d",)
    heard = sorted(e.replica for e in run.trace.of_kind("Heard"))
    assert heard == ["a", "b"]  # c is across the partition, d is dead
    assert {"a", "b", "c"} <= {e.replica for e in run.trace.of_kind("Ticked")}
    fired = [e.get("id") for e in run.trace.of_kind("TimerFired")]
    assert len(fired) == len(set(fired))  # one numbering for the whole trace
    reasons = sorted({e.get("reason") for e in run.trace.of_kind("Dropped")})
    assert reasons == ["crashed", "partition"]
    failed = run.failed_requests["t2"]
    assert failed.reason == "d is down"
    assert [r.response.ok for r in sorted(run.replies, key=lambda r: r.response.op)] == [True, False]
    causal_order_holds(run.trace)


def test_a_replica_that_raises_fails_the_run_and_leaves_no_process_behind() -> None:
    with pytest.raises(NetworkRunError, match="ZeroDivisionError") as failed:
        net.run({"a": ["--replica", f"{LEARNER}:Boom"], "b": ["--replica", f"{LEARNER}:Gossip"]},
                config=NetConfig(timeout=30.0))
    assert sorted(failed.value.pids) == ["a", "b"]
    assert all(gone(pid) for pid in failed.value.pids.values())


def test_a_run_that_never_becomes_quiet_is_killed_at_its_timeout() -> None:
    with pytest.raises(NetworkRunError, match="timeout=1.0") as failed:
        net.run({"a": ["--replica", f"{LEARNER}:Forever"]}, config=NetConfig(timeout=1.0))
    assert sorted(failed.value.pids) == ["a"]
    assert all(gone(pid) for pid in failed.value.pids.values())


@pytest.mark.parametrize("host", ["10.0.0.1", "0.0.0.0", "192.168.1.2", "localhost", "::1",
                                  "128.0.0.1", "", None, 127])
def test_only_loopback_addresses_are_accepted(host) -> None:
    with pytest.raises(ConfigError, match="127.0.0.0/8"):
        NetConfig(host=host)
    with pytest.raises(ConfigError, match="127.0.0.0/8"):
        net.check_loopback(host)


def test_any_address_in_127_slash_8_is_loopback() -> None:
    assert NetConfig(host="127.0.0.1").host == "127.0.0.1"
    assert NetConfig(host="127.1.2.3").host == "127.1.2.3"


def test_serve_refuses_a_hub_outside_loopback_before_connecting() -> None:
    out = subprocess.run([sys.executable, "-m", "replicalab", "serve", "--hub", "8.8.8.8:53",
                          "--id", "eu-west-1", "--scenario", "london"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "127.0.0.0/8" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("bad, error", [
    (dict(hold=-1), ConfigError), (dict(hold=1.5), ConfigError), (dict(loss=1.5), ConfigError),
    (dict(timeout=0), ConfigError), (dict(timeout=10_000), ConfigError),
    (dict(delay={("a",): 5}), ConfigError), (dict(faults=("crash",)), FaultScheduleError),
    (dict(faults=(Crash(at=-5, replica="a"),)), FaultScheduleError),
    (dict(until=-1), ConfigError), (dict(seed=-1), ConfigError), (dict(jitter=None), ConfigError),
])
def test_bad_net_configs_are_refused(bad, error) -> None:
    with pytest.raises(error):
        NetConfig(**bad)


def test_a_replica_module_that_cannot_be_imported_fails_at_once_with_the_reason(tmp_path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("this is not python\n")
    with pytest.raises(NetworkRunError, match="exited before it connected.*cannot import") as failed:
        net.run({"a": ["--replica", f"{broken}:Nope"]}, config=NetConfig(timeout=30.0))
    assert all(gone(pid) for pid in failed.value.pids.values())


@pytest.mark.parametrize("replicas, calls", [
    ({}, []),                                                        # no replica
    ({"a": "--replica x:Y"}, []),                                    # arguments are a list
    ({"a": []}, [ClientCall(0, "zz", "c", UpdateItem("w1", "k", {"a": 1}))]),  # unknown replica
    ({"a": []}, [ClientCall(0, "a", "c", UpdateItem("w1", "k", {"a": 1}))] * 2),  # duplicate op
    ({"a": []}, ["not a call"]),
])
def test_bad_runs_are_refused_before_any_process_starts(replicas, calls) -> None:
    with pytest.raises(ConfigError):
        net.run(replicas, calls)


def test_partition_groups_are_lists_of_replica_ids() -> None:
    for groups in ("ab", [["a"], "b"], [[1], [2]]):
        with pytest.raises(FaultScheduleError, match="lists of replica ids"):
            Partition(at=5, groups=groups)


def test_faults_naming_unknown_replicas_are_refused_before_any_process_starts() -> None:
    config = NetConfig(faults=(Crash(at=5, replica="zz"),))
    with pytest.raises(FaultScheduleError, match="zz"):
        net.run({"a": ["--replica", f"{LEARNER}:Gossip"]}, config=config)


def test_messages_cross_the_wire_as_tagged_json_and_come_back_equal() -> None:
    item = scenarios.get("london").initial_items()["sub_42"]
    message = Replicate("sub_42", item, "w1", 3, (5, 1))
    request = UpdateItem("w9", "k", {"a": 1}, add={"tags": frozenset({"x", "y"}), "n": 2})
    for value in (message, request, Response("w1"), {"k": (1, "a")}, [None, True, 1.5]):
        assert wire.decode(wire.encode(value)) == value
    assert isinstance(wire.decode(wire.encode(item)), Item)


@pytest.mark.parametrize("tagged", [
    {"$a": "os.system", "f": {}},                       # not allow-listed: never imported
    {"$a": "replicalab.net.config.NetConfig", "f": {}},  # a replicalab class, but not a message
    {"$t": "not a list"}, {"$zz": []}, {"$d": [[1]]}, {"$item": "not an item"},
    {"$a": "replicalab.replica.table.Replicate", "f": {"key": ""}},  # its validator refuses it
])
def test_the_wire_refuses_what_is_not_an_allow_listed_value(tagged) -> None:
    with pytest.raises(SerializationError):
        wire.decode(tagged)


def test_the_wire_refuses_to_encode_what_it_could_not_decode() -> None:
    with pytest.raises(SerializationError, match="allow"):
        wire.encode(object())
    with pytest.raises(SerializationError, match="finite"):
        wire.encode(float("nan"))


def test_run_london_net_prints_the_timeline_the_ledger_and_that_it_is_not_deterministic() -> None:
    """The CLI's real run (item-lww): same story, same verdict, and it says it is real."""
    out = subprocess.run([sys.executable, "-m", "replicalab", "run", "london", "--net"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "REAL NETWORK" in out.stdout and "NOT deterministic" in out.stdout
    assert "Timeline (real ms since the run began)" in out.stdout
    assert "w1     silently-lost" in out.stdout


def test_the_gossip_exercises_reference_replica_spreads_a_rumour_between_real_processes() -> None:
    """The exercise's replica (whose timer re-arms for ever) runs as it is, for a fixed time."""
    from replicalab.exercises.kinds.replica import Rumour

    wire.allow([Rumour])
    reference = HERE / "exercises" / "solutions" / "gossip" / "reference.py"
    args = {r: ["--replica", f"{reference}:Gossip"] for r in ("a", "b", "c", "d")}
    run = net.run(args, [ClientCall(50, "b", "teller", Rumour("tell-1", "rumour-1"))],
                  NetConfig(until=1000, timeout=60.0))
    assert {e.replica for e in run.trace.of_kind("Learned")} == {"a", "b", "c", "d"}
    assert set(run.classes.values()) == {"reference.Gossip"}
    assert all(gone(pid) for pid in run.pids.values())
    causal_order_holds(run.trace)


class _Writer:
    """Collects the frames a node writes (a stand-in for its socket)."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def frames(self) -> list[dict]:
        out, data = [], self.data
        while data:
            (length,) = wire.HEADER.unpack(data[:4])
            out.append(serialization.parse(data[4:4 + length]))
            data = data[4 + length:]
        return out


def node_of(replica, peers=("a", "b", "c")):
    from replicalab.net.node import _Node

    start = {"origin_ns": 0, "epoch": 1000, "peers": list(peers), "seed": 0}
    return _Node(replica, _Writer(), start)


class _Unprintable:
    pass  # Python's default repr holds a memory address: it cannot go into a trace


@attrs.frozen
class _NotOnTheList:
    """Traceable (attrs), but never allowed on the wire."""

    x: int


@pytest.mark.parametrize("command, error", [
    (lambda ctx: ctx.send("zz", "hi"), TopologyError),          # not a peer
    (lambda ctx: ctx.send("a", "hi"), TopologyError),           # itself
    (lambda ctx: ctx.send("b", _Unprintable()), ConfigError),   # cannot be traced
    (lambda ctx: ctx.send("b", frozenset({_Unprintable()})), ConfigError),
    (lambda ctx: ctx.send("b", _NotOnTheList(1)), SerializationError),  # cannot cross the wire
    (lambda ctx: ctx.set_timer(-1, "t"), ConfigError),
    (lambda ctx: ctx.set_timer(5, _Unprintable()), ConfigError),
    (lambda ctx: ctx.cancel_timer(0), ConfigError),
    (lambda ctx: ctx.reply("client", "not a Response"), ConfigError),
    (lambda ctx: ctx.log("", x=1), ConfigError),
])
def test_a_refused_command_raises_inside_the_handler_and_records_nothing(command, error) -> None:
    """The real context checks what the simulator's checks, before anything is recorded."""
    import asyncio

    from replicalab.replica.base import Replica

    async def go() -> None:
        node = node_of(Replica("a"))
        before = (list(node.events), list(node.outgoing), dict(node.timers), node.sent)
        with pytest.raises(error):
            command(node.ctx)
        assert (node.events, node.outgoing, node.timers, node.sent) == before

    asyncio.run(go())


def test_commands_recorded_by_hand_are_carried_out_by_the_real_context_alike() -> None:
    """ctx.execute(command) does what the verb does, as SimContext.execute does."""
    import asyncio

    from replicalab.replica.base import RecordingContext, Replica

    recorded = RecordingContext("a", peers=("b", "c"))
    recorded.send("b", ("hello", 1), scope="k")
    recorded.reply("alice", Response("w1"))
    recorded.log("Noted", n=1)
    timer = recorded.set_timer(5, "tick")
    recorded.cancel_timer(timer)

    async def go() -> list[dict]:
        node = node_of(Replica("a"))
        node.step_time = 7

        def handler() -> None:
            for command in recorded.commands:
                node.ctx.execute(command)

        node.step("Started", {}, handler)
        assert node.timers == {}  # set, then cancelled
        return node.writer.frames()

    step, send, reply = asyncio.run(go())
    assert [e[0] for e in step["events"]] == ["Started", "Sent", "Replied", "Noted"]
    assert step["t"] == 7 and step["timers"] == 0
    assert send["kind"] == "send" and send["dst"] == "b" and wire.decode(send["msg"]) == ("hello", 1)
    assert reply["kind"] == "reply" and wire.decode(reply["response"]) == Response("w1")
    assert node_wall_time() == 1007


def node_wall_time() -> int:
    """wall_time() is the run's epoch plus the step's real ms (here 1000 + 7)."""
    import asyncio

    from replicalab.replica.base import Replica

    async def go() -> int:
        node = node_of(Replica("a"))
        node.step_time = 7
        return node.ctx.wall_time()

    return asyncio.run(go())


def test_a_client_command_sends_a_write_into_a_running_story_and_the_ledger_judges_it() -> None:
    """`run --net --listen` takes requests from `replicalab client` while it lasts: a write
    from outside the story lands in the trace, and the ledger judges it with the story's."""
    import queue
    import threading

    from replicalab.replica.table import GetItem
    from replicalab.scenarios.on_network import run_on_network

    addresses: queue.Queue[str] = queue.Queue()
    done: dict = {}

    def story() -> None:
        try:
            done["result"] = run_on_network(scenarios.get("london"), "attribute-lww", listen=1,
                                            on_listen=addresses.put)
        except BaseException as error:  # surfaced by the assertion below
            done["error"] = error

    thread = threading.Thread(target=story)
    thread.start()
    try:
        hub = addresses.get(timeout=60)
        assert ipaddress.ip_address(hub.rpartition(":")[0]) in LOOPBACK
        request = UpdateItem("mine", "sub_42", {"city": "London"})
        for _attempt in range(200):  # until the processes have started (bounded: ~10 s)
            try:
                replica, response = net.ask(hub, "eu-west-1", request, client="me")
                break
            except ConfigError as error:
                assert "not started" in str(error)
                time.sleep(0.05)
        assert (replica, response.ok) == ("eu-west-1", True)
        with pytest.raises(ConfigError, match="used already"):
            net.ask(hub, "eu-west-1", request)
        with pytest.raises(ConfigError, match="no replica 'mars'"):
            net.ask(hub, "mars", GetItem("r9", "sub_42"))
    finally:
        thread.join(timeout=90)
    assert "error" not in done, done.get("error")
    result = done["result"]
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept", "mine": "kept"}
    assert any(e.kind == "ClientRequested" and e.get("client") == "me" for e in result.trace)
    with pytest.raises(NetworkRunError, match="no run is listening"):
        net.ask(hub, "eu-west-1", GetItem("late", "sub_42"))


@pytest.mark.parametrize("hub", ["10.0.0.1:80", "localhost:80", "127.0.0.1", "127.0.0.1:0", 5])
def test_the_client_only_talks_to_loopback_addresses(hub) -> None:
    from replicalab.replica.table import GetItem

    with pytest.raises(ConfigError):
        net.ask(hub, "eu-west-1", GetItem("r1", "sub_42"))
