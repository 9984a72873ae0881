"""How a real-network run is set up: loopback addresses only, injected delays, faults, bounds.

A :class:`NetConfig` is checked when it is built, so a run that would use an address
outside ``127.0.0.0/8``, a negative delay or an unbounded timeout never starts.
Faults are data, as in the simulator, at real milliseconds after the run began:
:class:`Partition`, :class:`Heal` and :class:`Crash` (a crash kills the replica's
process with SIGKILL; it does not restart).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, FaultScheduleError

__all__ = ["LOOPBACK", "MAX_REPLICAS", "MAX_TIMEOUT_S", "Crash", "Heal", "NetConfig", "Partition",
           "check_loopback"]

#: The only network a run may use: the loopback block.
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
#: The most replica processes one run starts.
MAX_REPLICAS = 16
#: The longest a run may take before every process is killed (seconds).
MAX_TIMEOUT_S = 600.0
#: The longest injected delay of one message (ms).
MAX_DELAY_MS = 60_000


def check_loopback(host: Any) -> str:
    """``host`` if it is an IPv4 address in 127.0.0.0/8; else :class:`ConfigError`.

    Names (``localhost``) are refused too: what a name resolves to is not ours to check.

        >>> check_loopback("127.0.0.1")
        '127.0.0.1'
    """
    try:
        address = ipaddress.ip_address(host) if isinstance(host, str) else None
    except ValueError:
        address = None
    if address is None or address not in LOOPBACK:
        raise ConfigError(f"replicalab.net runs on this machine only: the address must be an IPv4 "
                          f"address in 127.0.0.0/8 such as 127.0.0.1, got {_validate.shown(host)}")
    return str(address)


def _ms(value: Any, what: str, limit: int = MAX_DELAY_MS) -> int:
    if type(value) is not int or not 0 <= value <= limit:
        raise ConfigError(f"{what} must be an integer number of ms in [0, {limit}], got {_validate.shown(value)}")
    return value


def _groups(groups: Any) -> tuple[tuple[str, ...], ...]:
    if isinstance(groups, (str, bytes)) or not all(
            isinstance(g, (list, tuple, set, frozenset)) and all(isinstance(r, str) for r in g)
            for g in groups):
        raise FaultScheduleError(f"Partition groups are lists of replica ids, got {_validate.shown(groups)}")
    return tuple(tuple(sorted(g)) for g in groups)


@attrs.frozen
class Partition:
    """At ``at`` ms, cut every link between ``groups`` (each a list of replica ids)."""

    at: int
    groups: tuple[tuple[str, ...], ...] = attrs.field(converter=_groups)


@attrs.frozen
class Heal:
    """At ``at`` ms, restore every cut link."""

    at: int


@attrs.frozen
class Crash:
    """At ``at`` ms, kill ``replica``'s process (SIGKILL): its state and pending timers are gone."""

    at: int
    replica: str


Fault = Partition | Heal | Crash


@attrs.frozen
class NetConfig:
    """A real-network run's settings.

    ``host``: where the hub listens and every process connects (127.0.0.0/8 only;
    ports are chosen by the OS). ``hold``: ms every replica-to-replica message is held
    by the hub before delivery; ``delay``: extra ms per directed link ``(src, dst)``
    (``(a, b)`` also sets ``b -> a`` unless given); ``jitter``: up to this many ms more,
    drawn at random; ``loss``: the probability that the hub drops a message.
    ``faults``: :class:`Partition`, :class:`Heal`, :class:`Crash` at real ms.
    ``settle``: ms of silence (no message in flight, no timer pending) after the last
    client answer before the run ends; ``until``: end the run at this many ms instead,
    whatever is pending (for replicas whose timers re-arm for ever, like gossip); ``timeout``: seconds after which everything is
    killed and :class:`~replicalab.errors.NetworkRunError` raised.
    ``seed`` seeds the replicas' ``ctx.random()`` and the hub's draws — a real run is
    still not deterministic: the operating system schedules the processes.
    """

    host: str = attrs.field(default="127.0.0.1", converter=check_loopback)
    hold: int = attrs.field(default=0, validator=lambda _i, _a, v: _ms(v, "hold"))
    delay: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    jitter: int = attrs.field(default=0, validator=lambda _i, _a, v: _ms(v, "jitter"))
    loss: float = 0.0
    faults: tuple[Fault, ...] = attrs.field(default=(), converter=tuple)
    settle: int = attrs.field(default=300, validator=lambda _i, _a, v: _ms(v, "settle"))
    timeout: float = 30.0
    seed: int = 0
    until: int | None = attrs.field(
        default=None, validator=lambda _i, _a, v: v is None or _ms(v, "until", int(MAX_TIMEOUT_S * 1000)))

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.delay, Mapping):
            raise ConfigError(f"delay maps (src, dst) -> ms, got {_validate.shown(self.delay)}")
        for pair, ms in self.delay.items():
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(r, str) for r in pair)):
                raise ConfigError(f"delay keys are (src, dst) replica id pairs, got {_validate.shown(pair)}")
            _ms(ms, f"delay[{pair}]")
        if type(self.loss) not in (int, float) or not 0.0 <= self.loss <= 1.0:
            raise ConfigError(f"loss is a probability in [0, 1], got {_validate.shown(self.loss)}")
        if type(self.timeout) not in (int, float) or not 0 < self.timeout <= MAX_TIMEOUT_S:
            raise ConfigError(f"timeout is in (0, {MAX_TIMEOUT_S}] seconds, got {_validate.shown(self.timeout)}")
        if type(self.seed) is not int or self.seed < 0:
            raise ConfigError(f"seed is an integer >= 0, got {_validate.shown(self.seed)}")
        for fault in self.faults:
            if not isinstance(fault, (Partition, Heal, Crash)):
                raise FaultScheduleError(f"net faults are Partition, Heal or Crash from "
                                         f"replicalab.net, got {_validate.shown(fault)}")
            if type(fault.at) is not int or not 0 <= fault.at <= MAX_TIMEOUT_S * 1000:
                raise FaultScheduleError(f"{type(fault).__name__}.at is an integer number of ms "
                                         f"after the start, in [0, {int(MAX_TIMEOUT_S * 1000)}], "
                                         f"got {_validate.shown(fault.at)}")

    def link_delay(self, src: str, dst: str) -> int:
        """The fixed part of a message's delay from ``src`` to ``dst``: hold plus the link's own."""
        extra = self.delay.get((src, dst), self.delay.get((dst, src), 0))
        return self.hold + extra

    def check_replicas(self, replicas: Mapping[str, Any]) -> None:
        """Refuse faults and delays that name replicas the run does not have."""
        if not 1 <= len(replicas) <= MAX_REPLICAS:
            raise ConfigError(f"a real-network run starts 1 to {MAX_REPLICAS} replica processes, "
                              f"got {len(replicas)}")
        known = set(replicas)
        named = [r for pair in self.delay for r in pair]
        for fault in self.faults:
            named += ([fault.replica] if isinstance(fault, Crash) else
                      [r for g in fault.groups for r in g] if isinstance(fault, Partition) else [])
        unknown = sorted(set(named) - known)
        if unknown:
            raise FaultScheduleError(f"unknown replica(s) {unknown} in the net config; replicas are "
                                     f"{sorted(known)}")
