"""Planted wrong solution: pick a random peer once, in on_start, and always gossip with it.

Push-pull, every period, a random peer — but the *same* random peer every
time. The pairs a fixed choice makes need not connect the graph: on a ring,
whenever a replica picks its left neighbour and the next one picks its right,
nobody ever talks across that gap, and the rumour never crosses it.
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
        self.peer: str | None = None

    def on_start(self, ctx: Context) -> None:
        self.peer = ctx.peers[int(ctx.random() * len(ctx.peers))]
        ctx.set_timer(self.period, "gossip")

    def on_timer(self, ctx: Context, timer: Any) -> None:
        ctx.send(self.peer, ("push", tuple(sorted(self.known))))
        ctx.set_timer(self.period, "gossip")

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        if isinstance(msg, Rumour):
            self.known.add(msg.rumour)
            return
        kind, rumours = msg
        self.known.update(rumours)
        if kind == "push" and self.known - set(rumours):
            ctx.send(src, ("pull", tuple(sorted(self.known - set(rumours)))))
