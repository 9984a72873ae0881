"""The hub of a real-network run: it starts the replica processes, carries their messages, injects
faults, plays the clients, and collects every process's steps into one history.

:func:`run` listens on ``config.host`` (127.0.0.0/8 only) at a port the OS picks, starts one
``replicalab serve`` process per replica (each in its own process group), and waits for every
hello. Then, for real:

* **messages**: a replica's ``send`` frame reaches the hub, which holds it for the link's
  delay (``hold`` + ``delay[(src, dst)]`` + up to ``jitter`` ms) and forwards it — or drops it:
  at random (``loss``), across a cut link (a :class:`~replicalab.net.config.Partition`) or to a
  crashed replica. Like a switch with a fault injector; like Maelstrom, which routes every
  message of its nodes through the harness. Replicas never talk to each other directly, so
  no fault depends on the kernel's mood.
* **clients**: the hub sends each :class:`ClientCall` at its time to its replica, in order
  (and, while the run lasts, requests from ``replicalab client`` commands, answering each);
  a call also waits until the previous one has been handled (its replica reported the step),
  so the story's order of requests holds on a loaded machine. A call to a crashed replica
  fails with ``RegionUnreachable``.
* **faults**: ``Partition``/``Heal`` change what the hub forwards; ``Crash`` kills the
  replica's process group with SIGKILL.
* **the end**: once every call is handled, no message is in flight, no live replica has a
  timer pending and nothing happened for ``settle`` ms (or at ``until`` ms, for replicas
  whose timers never stop), the hub asks every live replica for
  its final state (``finish``) and waits for the processes to exit.

Bounded whatever happens: after ``config.timeout`` seconds, on any error, or on Ctrl-C,
every process group is killed (SIGKILL) and reaped before :func:`run` returns or raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, NetworkRunError
from replicalab.net import wire
from replicalab.net.config import Crash, Heal, NetConfig, Partition
from replicalab.net.history import Block, NetRun, merge
from replicalab.replica.base import Request, Response
from replicalab.sim import limits
from replicalab.sim.describe import describe
from replicalab.sim.records import UNREACHABLE, FailedRequest, Reply
from replicalab.sim.rng import RandomStreams

__all__ = ["ClientCall", "run"]


@attrs.frozen
class ClientCall:
    """A client request: ``client`` sends ``request`` to ``replica`` at ``at`` real ms after the
    run began (``via``: the region the client sits in, for the trace; default the replica)."""

    at: int
    replica: str
    client: str
    request: Request
    via: str | None = None


def serve_command(host: str, port: int, replica: str, args: Sequence[str]) -> list[str]:
    """The command line that starts one replica process (see ``replicalab serve --help``)."""
    return [sys.executable, "-m", "replicalab", "serve", "--hub", f"{host}:{port}",
            "--id", replica, *args]


class _Hub:
    def __init__(self, replicas: Mapping[str, Sequence[str]], calls: Sequence[ClientCall],
                 config: NetConfig, epoch: int, on_listen: Callable[[str], None] | None = None) -> None:
        self.on_listen = on_listen
        self.args = {r: list(a) for r, a in sorted(replicas.items())}
        self.calls = sorted(calls, key=lambda c: c.at)  # stable: same-time calls keep their order
        self.config = config
        self.epoch = epoch
        self.rng = RandomStreams(config.seed).stream("hub")  # loss and jitter draws
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stderr: dict[str, Any] = {}
        self.writers: dict[str, asyncio.StreamWriter] = {}
        self.hello: dict[str, dict[str, Any]] = {}
        self.hellos: asyncio.Queue[str] = asyncio.Queue()
        self.blocks: list[Block] = []
        self.sent: dict[tuple[str, int], Any] = {}  # (src, id) -> the message as the trace shows it
        self.in_flight = 0
        self.timers: dict[str, int] = {}
        self.down: set[str] = set()
        self.cut: set[tuple[str, str]] = set()
        self.finished: set[str] = set()
        self.finals: dict[str, dict[str, Any]] = {}
        self.replies: list[Reply] = []
        self.failed: dict[str, FailedRequest] = {}
        self.issued: dict[str, int] = {}
        self.handled: dict[str, asyncio.Event] = {}
        self.target: dict[str, str] = {}  # op -> the replica it was sent to
        self.askers: dict[str, asyncio.StreamWriter] = {}  # op -> the client command waiting
        self.ops = {c.request.op for c in self.calls}
        self.facts: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, dict[str, int]] = {}
        self.origin = 0
        self.ending = False
        self.last = 0.0
        self.failure: asyncio.Future[str] | None = None

    # -- time ------------------------------------------------------------------------------
    def now(self) -> int:
        return max(0, (time.monotonic_ns() - self.origin) // 1_000_000)

    async def until(self, at: int) -> None:
        await asyncio.sleep(max(0.0, (self.origin + at * 1_000_000 - time.monotonic_ns()) / 1e9))

    def fail(self, message: str) -> None:
        if self.failure is not None and not self.failure.done():
            self.failure.set_result(message)

    def log(self, replica: str | None, kind: str, data: dict[str, Any]) -> None:
        self.check_size()
        self.blocks.append(Block(self.now(), replica, [[kind, data]], len(self.blocks), by_hub=True))

    # -- connections -----------------------------------------------------------------------
    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        replica = None
        try:
            hello = await wire.read_frame(reader)
            if hello is not None and hello["kind"] == "hello" and "client" in hello:
                await self.client_session(hello, reader, writer)
                return
            if hello is None or hello["kind"] != "hello" or hello.get("replica") not in self.args \
                    or hello["replica"] in self.writers:
                writer.close()
                return
            replica = hello["replica"]
            self.writers[replica] = writer
            self.hello[replica] = hello
            await self.hellos.put(replica)
            while True:
                frame = await wire.read_frame(reader)
                if frame is None:
                    break
                self.last = time.monotonic()
                self.received(replica, frame)
        except Exception as error:  # a malformed frame: the run cannot be trusted
            self.fail(f"{replica or 'a process'} sent a frame the hub refused: {error}")
            return
        if replica not in self.down and replica not in self.finished:
            self.fail(f"the process of {replica} exited unexpectedly{self.stderr_of(replica)}")

    def received(self, src: str, frame: dict[str, Any]) -> None:
        kind = frame["kind"]
        if kind == "step":
            events = frame["events"]
            for name, data in events:
                if name == "Sent":
                    self.sent[(src, data["id"])] = data["msg"]
                elif name == "ClientRequested" and data["op"] in self.handled:
                    self.handled[data["op"]].set()
            self.check_size()
            self.blocks.append(Block(frame["t"], src, events, len(self.blocks)))
            self.timers[src] = frame["timers"]
            facts = frame["facts"]
            if "write" in facts:
                self.facts[facts["write"]["op"]] = {"replica": src, **facts["write"]}
            if "read" in facts:
                self.reads[facts["read"]["op"]] = facts["read"]["seen"]
        elif kind == "send":
            self.route(src, frame)
        elif kind == "reply":
            response = wire.decode(frame["response"])
            if not isinstance(response, Response):
                raise ConfigError(f"{src} answered with {_validate.shown(response)}, not a Response")
            op = frame["op"]
            self.replies.append(Reply(frame["t"], src, frame["client"], response,
                                      self.issued.get(op, frame["t"])))
            asker = self.askers.pop(op, None)
            if asker is not None:  # a `replicalab client` command is waiting for this answer
                asker.write(wire.frame("answer", op=op, replica=src, response=frame["response"]))
        elif kind == "final":
            self.finals[src] = frame
            self.finished.add(src)
        elif kind == "error":
            self.fail(f"{src}'s handler raised:\n{frame['message']}")
        else:
            raise ConfigError(f"unexpected frame {kind!r}")

    def check_size(self) -> None:
        """A run is bounded in records as the simulator's trace is (never a memory blow-up)."""
        if len(self.blocks) >= limits.MAX_TRACE_EVENTS:
            self.fail(f"the run recorded {limits.MAX_TRACE_EVENTS:,} steps, the trace's cap "
                      "(replicalab.sim.limits.MAX_TRACE_EVENTS); end it sooner with until=")

    def stderr_of(self, replica: str) -> str:
        handle = self.stderr.get(replica)
        if handle is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            handle.seek(0)
            text = handle.read().decode(errors="replace").strip()
            return f"; its last words: {text[-800:]}" if text else ""
        return ""

    # -- the network -----------------------------------------------------------------------
    def drop(self, src: str, dst: str, n: int, reason: str) -> None:
        self.log(src, "Dropped", {"dst": dst, "msg": self.sent.get((src, n)), "reason": reason, "id": n})

    def route(self, src: str, frame: dict[str, Any]) -> None:
        dst, n = frame["dst"], frame["id"]
        if dst in self.down:
            return self.drop(src, dst, n, "crashed")
        if (src, dst) in self.cut:
            return self.drop(src, dst, n, "partition")
        if self.config.loss and self.rng.random() < self.config.loss:
            return self.drop(src, dst, n, "loss")
        delay = self.config.link_delay(src, dst)
        if self.config.jitter:
            delay += int(self.rng.random() * (self.config.jitter + 1))
        self.in_flight += 1
        out = wire.frame("deliver", src=src, id=n, msg=frame["msg"], causal=frame["causal"])
        asyncio.get_running_loop().call_later(delay / 1000, self.deliver, src, dst, n, out)

    def deliver(self, src: str, dst: str, n: int, out: bytes) -> None:
        self.in_flight -= 1
        self.last = time.monotonic()
        if dst in self.down:
            self.drop(src, dst, n, "crashed")
        elif (src, dst) in self.cut:
            self.drop(src, dst, n, "partition")
        else:
            self.writers[dst].write(out)

    # -- clients and faults ----------------------------------------------------------------
    async def clients(self) -> None:
        previous: asyncio.Event | None = None
        for call in self.calls:
            await self.until(call.at)
            if previous is not None:
                await previous.wait()
            previous = self.send_call(call)
        if previous is not None:
            await previous.wait()

    def send_call(self, call: ClientCall) -> asyncio.Event:
        """Send ``call`` to its replica now (or fail it: the replica is down); the event is set
        once the replica has handled it."""
        op = call.request.op
        handled = self.handled[op] = asyncio.Event()
        self.target[op] = call.replica
        if call.replica in self.down:
            reason = f"{call.replica} is down"
            t = self.now()
            self.failed[op] = FailedRequest(t, call.replica, call.via, call.client, call.request, reason)
            self.log(call.replica, "RequestFailed", {
                "client": call.client, "op": op, "via": call.via, "reason": reason,
                "request": describe(call.request)})
            response = Response(op, ok=False, error=UNREACHABLE, message=reason)
            self.replies.append(Reply(t, call.replica, call.client, response, t))
            asker = self.askers.pop(op, None)
            if asker is not None:
                asker.write(wire.frame("answer", op=op, replica=call.replica,
                                       response=wire.encode(response)))
            handled.set()
            return handled
        self.issued[op] = self.now()
        self.writers[call.replica].write(wire.frame(
            "request", client=call.client, request=wire.encode(call.request),
            via=call.via if call.via is not None else call.replica))
        return handled

    async def client_session(self, hello: dict[str, Any], reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        """A ``replicalab client`` command: its requests go to their replicas like the calls,
        and each answer goes back to it. A refused request is answered with ``refused``."""
        try:
            client = _validate.replica_id(hello.get("client"), "client name")
            while True:
                frame = await wire.read_frame(reader)
                if frame is None or frame["kind"] != "ask":
                    break
                request, to = wire.decode(frame["request"]), frame.get("to")
                why = (f"no replica {_validate.shown(to)}; replicas are {sorted(self.args)}"
                       if to not in self.args else
                       "not a Request" if not isinstance(request, Request) else
                       f"op {request.op!r} was used already; op ids are unique in a run"
                       if request.op in self.handled or request.op in self.ops else
                       "the run has not started yet" if not self.origin else
                       "the run is ending" if self.ending else None)
                if why is not None:
                    writer.write(wire.frame("refused", message=why))
                    continue
                self.askers[request.op] = writer
                self.last = time.monotonic()
                self.send_call(ClientCall(self.now(), str(to), client, request, via=str(to)))
        except Exception as error:  # a bad client command is the client's problem, not the run's
            with contextlib.suppress(Exception):
                writer.write(wire.frame("refused", message=str(error)))
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
                writer.close()

    async def faults(self) -> None:
        for fault in sorted(self.config.faults, key=lambda f: f.at):
            await self.until(fault.at)
            if isinstance(fault, Partition):
                for a in fault.groups:
                    for b in fault.groups:
                        if a != b:
                            self.cut.update((x, y) for x in a for y in b)
                self.log(None, "Partitioned", {"groups": [list(g) for g in fault.groups]})
            elif isinstance(fault, Heal):
                self.cut.clear()
                self.log(None, "Healed", {})
            elif isinstance(fault, Crash) and fault.replica not in self.down:
                self.down.add(fault.replica)
                self.timers[fault.replica] = 0
                _kill(self.procs[fault.replica])
                self.log(fault.replica, "Crashed", {"durable": False})
                for op, replica in self.target.items():  # it will never handle them: stop waiting
                    if replica == fault.replica:
                        self.handled[op].set()

    async def quiet(self) -> None:
        if self.config.until is not None:  # a fixed length: timers that re-arm for ever are fine
            await self.until(self.config.until)
            return
        settle = self.config.settle / 1000
        while True:
            live = [r for r in self.args if r not in self.down]
            if (self.in_flight == 0 and all(self.timers.get(r, 0) == 0 for r in live)
                    and time.monotonic() - self.last >= settle):
                return
            await asyncio.sleep(min(0.05, settle / 4 or 0.01))

    # -- the run ---------------------------------------------------------------------------
    async def main(self) -> NetRun:
        loop = asyncio.get_running_loop()
        self.failure = loop.create_future()
        server = await asyncio.start_server(self.connected, self.config.host, 0)
        try:
            host, port = server.sockets[0].getsockname()[:2]
            if host != self.config.host:  # belt and braces: never anything off loopback
                raise ConfigError(f"the hub is bound to {host}, not {self.config.host}")
            self.port = port
            if self.on_listen is not None:
                self.on_listen(f"{host}:{port}")
            for replica, args in self.args.items():
                self.stderr[replica] = tempfile.TemporaryFile()
                self.procs[replica] = subprocess.Popen(
                    serve_command(host, port, replica, args), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=self.stderr[replica], start_new_session=True)
            return await self.race(self.body())
        finally:
            server.close()

    async def race(self, body: Any) -> NetRun:
        """``body``, unless a process fails first (then NetworkRunError)."""
        assert self.failure is not None
        task = asyncio.ensure_future(body)
        done, _ = await asyncio.wait({task, self.failure}, return_when=asyncio.FIRST_COMPLETED)
        if self.failure in done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise NetworkRunError(f"the real-network run failed: {self.failure.result()}")
        return task.result()

    async def body(self) -> NetRun:
        waiting = set(self.args)
        while waiting:
            try:
                waiting.discard(await asyncio.wait_for(self.hellos.get(), 0.1))
            except asyncio.TimeoutError:  # a process that died before saying hello: say why, now
                for replica in sorted(waiting):
                    if self.procs[replica].poll() is not None:
                        raise NetworkRunError(f"the process of {replica} exited before it connected"
                                              f"{self.stderr_of(replica)}") from None
        self.origin = time.monotonic_ns()
        self.last = time.monotonic()
        peers = sorted(self.args)
        for writer in self.writers.values():
            writer.write(wire.frame("start", origin_ns=self.origin, epoch=self.epoch, peers=peers,
                                    seed=self.config.seed))
        await asyncio.gather(self.clients(), self.faults())
        await self.quiet()
        self.ending = True  # no more client commands: the replicas are asked to finish
        elapsed = self.now()
        live = [r for r in self.args if r not in self.down]
        for replica in live:
            self.writers[replica].write(wire.frame("finish"))
        while not all(r in self.finished for r in live):
            await asyncio.sleep(0.01)
        return merge(
            blocks=self.blocks, replicas=list(self.args), down=sorted(self.down),
            finals=self.finals, facts=self.facts, reads=self.reads, replies=self.replies,
            failed=self.failed,
            classes={r: self.hello[r]["cls"] for r in self.args},
            pids={r: p.pid for r, p in self.procs.items()}, elapsed=elapsed,
            address=f"{self.config.host}:{self.port}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``proc``'s whole process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(replicas: Mapping[str, Sequence[str]], calls: Sequence[ClientCall] = (),
        config: NetConfig | None = None, *, epoch: int = 0,
        on_listen: Callable[[str], None] | None = None) -> NetRun:
    """Start one process per replica, play ``calls``, and return the merged history.

    ``replicas`` maps each replica id to the arguments of its ``replicalab serve`` command
    after ``--hub`` and ``--id`` (e.g. ``["--scenario", "london", "--merge", "item-lww"]`` or
    ``["--replica", "mymodule:MyReplica"]``). ``epoch`` is the wall time (ms) at the start.
    ``on_listen("127.0.0.1:PORT")`` is called once the hub listens: where ``replicalab client``
    commands can send requests while the run lasts (give it ``until=`` to stay open).
    Every process is gone when this returns or raises (see the module docs).
    """
    config = NetConfig() if config is None else config
    if not isinstance(config, NetConfig):
        raise ConfigError(f"config must be a NetConfig, got {_validate.shown(config)}")
    if not isinstance(replicas, Mapping) or not all(
            isinstance(a, (list, tuple)) and all(isinstance(x, str) for x in a) for a in replicas.values()):
        raise ConfigError(f"replicas maps replica id -> list of serve arguments, got {_validate.shown(replicas)}")
    for replica in replicas:
        _validate.replica_id(replica)
    config.check_replicas(replicas)
    calls = list(calls)
    ops = [c.request.op for c in calls if isinstance(c, ClientCall)]
    if len(ops) != len(calls) or len(set(ops)) != len(ops):
        raise ConfigError("calls must be ClientCall values with unique request op ids")
    unknown = sorted({c.replica for c in calls} - set(replicas))
    if unknown:
        raise ConfigError(f"calls name unknown replica(s) {unknown}; replicas are {sorted(replicas)}")
    if on_listen is not None and not callable(on_listen):
        raise ConfigError(f"on_listen must be callable, got {_validate.shown(on_listen)}")
    if sys.platform in ("emscripten", "wasi"):  # Pyodide: the site's Run buttons
        raise ConfigError("the real-network runtime starts OS processes that talk over sockets, "
                          "which a browser cannot do; run this on your machine "
                          "(e.g. replicalab run london --net)")
    hub = _Hub(replicas, calls, config, epoch, on_listen)
    try:
        return asyncio.run(asyncio.wait_for(hub.main(), config.timeout))
    except (asyncio.TimeoutError, TimeoutError):
        error = NetworkRunError(f"the real-network run did not finish within timeout={config.timeout} s; "
                                "every process was killed")
        error.pids = {r: p.pid for r, p in hub.procs.items()}  # type: ignore[attr-defined]
        raise error from None
    except NetworkRunError as error:
        error.pids = {r: p.pid for r, p in hub.procs.items()}  # type: ignore[attr-defined]
        raise
    finally:
        for proc in hub.procs.values():
            _kill(proc)
        for proc in hub.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for handle in hub.stderr.values():
            handle.close()
