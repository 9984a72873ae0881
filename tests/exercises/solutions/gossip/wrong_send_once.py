"""Planted wrong solution: forward a new rumour to every peer once, when you learn it; no timer.

On a perfect network this is a fine broadcast: every replica hears every
rumour within a few hops, with no periodic chatter at all. But nothing is
ever sent twice, so a lost message is lost for good: on a chain, one dropped
message cuts everyone beyond it off. Periodic gossip is what repairs loss.
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
        pass  # nothing to do until someone tells us something

    def on_timer(self, ctx: Context, timer: Any) -> None:
        pass

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        new = {msg.rumour} if isinstance(msg, Rumour) else set(msg) - self.known
        if not new:
            return
        self.known |= new
        for peer in ctx.peers:
            if peer != src:
                ctx.send(peer, tuple(sorted(new)))
