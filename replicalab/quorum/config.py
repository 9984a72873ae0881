"""The knobs of a leaderless (Dynamo) cluster, checked once: N, R, W, sloppy, timeouts.

    >>> QuorumConfig(n=3, r=2, w=2).strict
    True
    >>> QuorumConfig(n=3, r=1, w=1).strict
    False
"""

from __future__ import annotations

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["MAX_N", "QuorumConfig"]

#: Replicas per key, at most.
MAX_N = 16


def _int(name: str, low: int, high: int | None = None):  # type: ignore[no-untyped-def]
    def check(_inst: object, _attr: object, value: object) -> None:
        if type(value) is not int or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise ConfigError(f"{name} must be an integer {bound}, got {_validate.shown(value)}")
    return check


def _optional_period(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise ConfigError(f"anti_entropy must be None (off) or a period in ms >= 1, got {_validate.shown(value)}")


@attrs.frozen
class QuorumConfig:
    """How a leaderless cluster replicates (DeCandia et al. 2007, §4).

    ``n`` replicas per key (its preference list), a write acknowledged after ``w`` of them
    stored it, a read answered after ``r`` replied. ``sloppy``: when a home node does not
    answer within ``timeout`` ms, the coordinator stores the write (or asks the read) at the
    next node on the ring instead, with a *hint* naming the home node; the hint holder hands
    it back every ``handoff_period`` ms until the home node takes it. ``read_repair``: after a
    read, the coordinator sends the merged versions to home replicas that answered with less.
    ``anti_entropy``: every so many ms each node compares a Merkle tree of the keys it shares
    with one peer and exchanges the keys that differ (None: off). ``suspect_for``: how long a
    node that timed out is skipped by a sloppy coordinator before it is tried again.
    """

    n: int = attrs.field(default=3, validator=_int("n", 1, MAX_N))
    r: int = attrs.field(default=2, validator=_int("r", 1))
    w: int = attrs.field(default=2, validator=_int("w", 1))
    sloppy: bool = attrs.field(default=False)
    timeout: int = attrs.field(default=50, validator=_int("timeout", 1))
    handoff_period: int = attrs.field(default=200, validator=_int("handoff_period", 1))
    read_repair: bool = attrs.field(default=True)
    anti_entropy: int | None = attrs.field(default=None, validator=_optional_period)
    suspect_for: int = attrs.field(default=500, validator=_int("suspect_for", 1))
    vnodes: int = attrs.field(default=8, validator=_int("vnodes", 1, 1024))

    def __attrs_post_init__(self) -> None:
        for name in ("sloppy", "read_repair"):
            if type(getattr(self, name)) is not bool:
                raise ConfigError(f"{name} must be True or False, got {_validate.shown(getattr(self, name))}")
        if self.r > self.n or self.w > self.n:
            raise ConfigError(f"r and w must be at most n={self.n} (a quorum of the key's n replicas), "
                              f"got r={self.r}, w={self.w}")

    @property
    def strict(self) -> bool:
        """True iff every read quorum meets every write quorum: R + W > N."""
        return self.r + self.w > self.n
