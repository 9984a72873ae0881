"""The reference for exercise ``gossip``: push-pull anti-entropy with one random peer per period.

Every ``period`` ms each replica sends one random peer everything it knows
(``Push``); the peer keeps what is new and answers with what the pusher
lacked (``Pull``). Nothing is ever sent only once, so a lost message is
made good a period later, and the cost stays at about one push and one
answer per replica per period however many peers there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from replicalab.exercises.kinds.replica import Rumour
from replicalab.replica.base import Context, Replica


@attrs.frozen
class Push:
    """Everything the sender knows (sorted, so it reads the same in every run)."""

    rumours: tuple[str, ...]


@attrs.frozen
class Pull:
    """The answer to a Push: the rumours the pusher lacked."""

    rumours: tuple[str, ...]


class Gossip(Replica):
    """Push-pull gossip of a grow-only set of rumours."""

    def __init__(self, replica_id: str, period: int = 100) -> None:
        super().__init__(replica_id)
        self.period = period
        self.known: set[str] = set()

    def on_start(self, ctx: Context) -> None:
        # A random first delay, so the replicas' rounds do not all fall on the same millisecond.
        ctx.set_timer(1 + int(ctx.random() * self.period), "gossip")

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if ctx.peers:
            peer = ctx.peers[int(ctx.random() * len(ctx.peers))]
            ctx.send(peer, Push(tuple(sorted(self.known))))
        ctx.set_timer(self.period, "gossip")

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        if isinstance(msg, Rumour):
            self._learn(ctx, [msg.rumour], src)
        elif isinstance(msg, Push):
            self._learn(ctx, msg.rumours, src)
            lacked = self.known.difference(msg.rumours)
            if lacked:
                ctx.send(src, Pull(tuple(sorted(lacked))))
        elif isinstance(msg, Pull):
            self._learn(ctx, msg.rumours, src)

    def _learn(self, ctx: Context, rumours: Iterable[str], src: str) -> None:
        new = set(rumours) - self.known
        if new:
            self.known |= new
            ctx.log("Learned", rumours=sorted(new), src=src)
