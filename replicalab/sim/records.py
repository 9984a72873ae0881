"""What a simulation reports besides its trace: statistics, replies, failed requests.

Plain frozen values, read by the ledger, the clients and the result.
"""

from __future__ import annotations

import attrs

from replicalab._built import new, slot_setter
from replicalab.replica.base import Request, Response

__all__ = ["UNREACHABLE", "FailedRequest", "Reply", "Statistics"]

#: The error a client gets when its request (or the answer) cannot reach the region:
#: the region is down, or a partition cuts the client's region off from it.
UNREACHABLE = "RegionUnreachable"


@attrs.frozen
class Statistics:
    """Counters of one simulation, as of the moment :meth:`Simulation.statistics` was called."""

    now: int
    """Simulated time (ms)."""
    events: int
    """Events processed (deliveries, client requests, timers, runtime actions)."""
    sent: int
    """Messages replicas asked to send."""
    delivered: int
    """Messages delivered (duplicates included)."""
    dropped: int
    """Messages the network lost."""
    duplicated: int
    """Extra copies the network delivered."""
    timers_fired: int
    """Timers that fired (cancelled ones excluded)."""
    client_requests: int
    """Client requests delivered to replicas."""
    pending: int
    """Events still scheduled."""


@attrs.frozen
class FailedRequest:
    """A client request that could not reach ``replica`` at ``time``, and why."""

    time: int
    replica: str
    via: str | None
    client: str
    request: Request
    reason: str


@attrs.frozen
class Reply:
    """A replica's answer to a client, as the client got it.

    ``time`` is when the client received it and ``issued`` when the client sent
    the request, so ``latency`` is what the client waited (0 for a client in
    the replica's own region; a round trip when it writes to another region).
    """

    time: int
    replica: str
    client: str
    response: Response
    issued: int = 0

    @property
    def latency(self) -> int:
        """Milliseconds from sending the request to receiving this reply."""
        return self.time - self.issued


_reply_time, _reply_replica, _reply_client, _reply_response, _reply_issued = (
    slot_setter(Reply, n) for n in ("time", "replica", "client", "response", "issued"))


def made_reply(time: int, replica: str, client: str, response: Response, issued: int) -> Reply:
    """``Reply(time, replica, client, response, issued)`` from parts the simulator checked,
    without attrs' ``__init__``: one per client operation (:mod:`replicalab._built` says why)."""
    r = new(Reply)
    _reply_time(r, time)
    _reply_replica(r, replica)
    _reply_client(r, client)
    _reply_response(r, response)
    _reply_issued(r, issued)
    return r
