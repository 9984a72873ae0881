"""Small replicas of a learner's own, for the real-network runtime's tests (tests/test_net.py).

They are started by path (``replicalab serve --replica tests/net_replicas.py:Gossip``), so
this module is imported as ``net_replicas`` in the replica processes and in the tests alike:
the qualified names of its message classes agree on both sides of the wire.
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab.replica.base import Context, Replica, Request, Response


@attrs.frozen
class Tell(Request):
    """A client asks a replica to spread ``text``."""

    text: str = ""


@attrs.frozen
class Rumour:
    """What replicas pass on."""

    text: str
    hops: tuple[str, ...] = ()


class Gossip(Replica):
    """Passes every rumour it hears for the first time to every peer; logs ``Heard``.

    It also sets one timer at start (logged as ``Ticked`` when it fires), so the runtime's
    real timers are exercised.
    """

    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.heard: set[str] = set()

    def on_start(self, ctx: Context) -> None:
        ctx.set_timer(20, ("tick", self.id))
        cancelled = ctx.set_timer(10_000, ("never", self.id))
        ctx.cancel_timer(cancelled)

    def on_timer(self, ctx: Context, timer: Any) -> None:
        ctx.log("Ticked", timer=list(timer))

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        if isinstance(msg, Tell):
            ctx.reply(src, Response(msg.op))
            msg = Rumour(msg.text)
        if msg.text in self.heard:
            return
        self.heard.add(msg.text)
        ctx.log("Heard", text=msg.text, via=src)
        for peer in ctx.peers:
            if peer not in msg.hops:
                ctx.send(peer, Rumour(msg.text, (*msg.hops, self.id)))


class Boom(Replica):
    """A replica with a bug: its on_start raises."""

    def on_start(self, ctx: Context) -> None:
        raise ZeroDivisionError("a bug in on_start")


class Forever(Replica):
    """A replica whose timer re-arms for ever: a run of it never becomes quiet."""

    def on_start(self, ctx: Context) -> None:
        ctx.set_timer(5, "again")

    def on_timer(self, ctx: Context, timer: Any) -> None:
        ctx.set_timer(5, timer)
