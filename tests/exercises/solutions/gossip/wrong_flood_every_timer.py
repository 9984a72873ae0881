"""Planted wrong solution: on every timer, send everything to every peer.

It converges as fast as the network allows — and pays for it: on a full mesh
of 16 each replica sends 15 messages every period, forever, long after
everyone knows everything. Gossip's point is a cost that does not grow with
the number of peers: one random peer per period.
"""

from __future__ import annotations

from typing import Any

from replicalab.exercises.kinds.replica import Rumour
from replicalab.replica.base import Context, Replica


class Gossip(Replica):
    def __init__(self, replica_id: str, period: int = 100) -> None:
        super().__init__(replica_id)
        self.period = period
        self.known: set[str] = set()

    def on_start(self, ctx: Context) -> None:
        ctx.set_timer(self.period, "gossip")

    def on_timer(self, ctx: Context, timer: Any) -> None:
        for peer in ctx.peers:
            ctx.send(peer, tuple(sorted(self.known)))
        ctx.set_timer(self.period, "gossip")

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        if isinstance(msg, Rumour):
            self.known.add(msg.rumour)
        else:
            self.known.update(msg)
