"""Hard caps that stop a runaway simulation with :class:`ConfigError` before the machine suffers.

Each default is sized for a 2-core, 24 GB machine, so that the worst case a cap allows
costs well under 3 GB and one minute (measured with ``benchmarks``-style scripts on
such a machine; the numbers are in the docstring of each cap). Every error names the
cap and says how to raise it: pass the matching ``Simulation(...)`` argument, or set the
module constant here for runs built for you (``scenarios.run``):

    >>> from replicalab.sim import limits
    >>> limits.MAX_PENDING
    1000000

| cap | what it counts | how to raise it |
|---|---|---|
| `MAX_REPLICAS` | replicas in one simulation | `limits.MAX_REPLICAS = n` |
| `MAX_LINKS` | links (edges) of a topology you pass (the default full mesh stores none) | `limits.MAX_LINKS = n` |
| `MAX_EVENTS` | events one simulation processes | `Simulation(max_events=n)` |
| `MAX_PENDING` | events scheduled and not yet processed | `Simulation(max_pending=n)` |
| `MAX_TRACE_EVENTS` | records kept in the trace | `Simulation(max_trace_events=n)` |
| `MAX_TIME` | simulated milliseconds | `Simulation(max_time=n)` |

A cap that fires inside a handler (pending events, trace records) stops the run in the
middle of that handler's event: raise the cap and run again rather than continuing.
"""

from __future__ import annotations

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = [
    "MAX_EVENTS",
    "MAX_LINKS",
    "MAX_PENDING",
    "MAX_REPLICAS",
    "MAX_TIME",
    "MAX_TRACE_EVENTS",
]

#: Replicas in one simulation (a ring or small-world graph of 10,000 builds in seconds).
MAX_REPLICAS = 10_000
#: Links of a topology: 1,000,000 is a full mesh of 1,414 replicas, about 16 s and 0.6 GB to
#: build (a full mesh of 1,000 replicas: 8 s, 0.3 GB). Sparser topologies scale further.
MAX_LINKS = 1_000_000
#: Events one simulation processes: about 1.2 us each untraced (10 M: 12-25 s, little memory).
MAX_EVENTS = 10_000_000
#: Events scheduled at once (messages in flight, timers): about 200 B each, 0.2 GB at the cap.
#: A broadcast storm or a handler sending millions of messages stops here.
MAX_PENDING = 1_000_000
#: Trace records: 300 B to 1 KB each, so 0.6-2 GB at the cap (2 M records of a zero-latency
#: ping-pong: about 15 s). Turn tracing off (``trace=False``) for long runs.
MAX_TRACE_EVENTS = 2_000_000
#: Simulated time: one year, in milliseconds.
MAX_TIME = 365 * 24 * 60 * 60 * 1000


def check_replicas(count: int) -> None:
    if count > MAX_REPLICAS:
        raise ConfigError(
            f"{count} replicas exceed MAX_REPLICAS={MAX_REPLICAS}; "
            "raise it with replicalab.sim.limits.MAX_REPLICAS = n"
        )


def check_links(count: int, what: str) -> None:
    if count > MAX_LINKS:
        raise ConfigError(
            f"{what} has {count} links, more than MAX_LINKS={MAX_LINKS}; use a sparser topology "
            "(ring, watts_strogatz) or raise it with replicalab.sim.limits.MAX_LINKS = n"
        )


def check_cap(name: str, value: object, allow_none: bool = False) -> None:
    """A cap given to ``Simulation``: an integer >= 0 (or None where that means 'no cap')."""
    if value is None and allow_none:
        return
    if type(value) is not int or value < 0:
        none = " or None (no cap)" if allow_none else ""
        raise ConfigError(f"{name} must be an integer >= 0{none}, got {_validate.shown(value)}")


def too_many_pending(cap: int) -> ConfigError:
    return ConfigError(
        f"more than max_pending={cap} events are scheduled at once (a broadcast storm, or a "
        "handler that sends in a loop?); stop earlier or pass Simulation(max_pending=...)"
    )
