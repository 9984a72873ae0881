"""Exercise: a gossip replica (replicalab exercise ``gossip``).

Tutorial chapter 12 ended with push gossip that stopped after a fixed number
of rounds, and half a ring that never heard the rumour. Here you write gossip
that does not give up: every replica ends up knowing every rumour, fast, on
any connected graph, even when the network loses messages — and without
flooding it.

Fill in the three handlers marked ``raise NotImplementedError``. Keep the
class name and the constructor's signature: the checks build your replicas as
``Gossip("n07", period=100)`` and read ``replica.known``. Then run::

    replicalab exercise check gossip gossip.py

Try it by hand first — the check's own runs, replayed::

    from replicalab.exercises.kinds.replica import setup
    sim, told = setup(Gossip, {"graph": "ring", "n": 12}, seed=0)
    sim.run(until=2000)
    print({r.id: sorted(r.known) for r in sim.replicas.values()})
    print(sim.statistics())
    for e in sim.trace.of_kind("Learned"):
        print(e.time, e.replica, e.data)

The rules of the contract (tutorial chapter 12): handlers run one at a time
and only through ``ctx`` — ``ctx.peers``, ``ctx.random()``, ``ctx.now``,
``ctx.send(peer, msg)``, ``ctx.set_timer(delay, timer)``,
``ctx.log(kind, **data)``. No print, no files, no sleeping, no ``random`` or
``time`` module: the checks refuse I/O and run the same seed twice.

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab.exercises.kinds.replica import Rumour
from replicalab.replica.base import Context, Replica

__all__ = ["Gossip", "Pull", "Push", "Rumour"]


@attrs.frozen
class Push:
    """A message: everything the sender knows, e.g. ``Push(("rumour-1", "rumour-3"))``.

    Send a sorted tuple, not a set, so the message reads the same in every run.
    """

    rumours: tuple[str, ...]


@attrs.frozen
class Pull:
    """A message: the answer to a ``Push`` — the rumours the pusher lacked (push-pull)."""

    rumours: tuple[str, ...]


class Gossip(Replica):
    """A replica that spreads a grow-only set of rumours by periodic gossip.

    Contract:

    * ``known`` is the set of rumours this replica knows; it only grows;
    * a client tells a replica a rumour with a ``Rumour`` request:
      ``on_message(ctx, "client", Rumour(op="tell-rumour-1", rumour="rumour-1"))``;
    * every ``period`` ms, for as long as the run lasts, the replica gossips
      with one peer chosen with ``ctx.random()`` from ``ctx.peers``;
    * every replica ends up knowing every rumour told to any replica, on any
      connected graph, even if some messages are lost;
    * on average at most 3 messages per replica per period.

        >>> from replicalab.replica import RecordingContext
        >>> node = Gossip("n1")
        >>> node.on_message(RecordingContext("n1"), "client", Rumour(op="tell-1", rumour="cake"))
        >>> node.known
        {'cake'}
        >>> ctx = RecordingContext("n1", peers=["n0", "n2"], randoms=[0.75])
        >>> node.on_timer(ctx, "gossip")      # 0.75 picks ctx.peers[1]: n2
        >>> [(e.kind, e.args) for e in ctx.effects]
        [('send', ('n2', Push(rumours=('cake',)))), ('set_timer', (100, 'gossip'))]
    """

    def __init__(self, replica_id: str, period: int = 100) -> None:
        super().__init__(replica_id)
        self.period = period
        self.known: set[str] = set()

    def on_start(self, ctx: Context) -> None:
        """Called once at time 0: start gossiping (a timer)."""
        raise NotImplementedError

    def on_timer(self, ctx: Context, timer: Any) -> None:
        """A timer fired: gossip with one random peer, then arrange the next round."""
        raise NotImplementedError

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        """A ``Rumour`` from a client, or a gossip message from peer ``src``."""
        raise NotImplementedError
