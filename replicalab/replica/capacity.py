"""Provisioned capacity of one region: a token bucket in integer milli-units.

DynamoDB meters a provisioned table per region: write capacity units (WCUs, 1 KB of item a
unit) and read capacity units (RCUs, 4 KB a unit; an eventually consistent read costs half).
:class:`TokenBucket` is that meter. It refills at ``rate`` units per simulated second up to
``burst_seconds`` seconds' worth and starts full. Amounts are milli-units (integers), so a
half unit is exact and nothing depends on floating point.

Who draws from a region's write bucket: the client writes it serves (refused with
``ProvisionedThroughputExceededException`` when it is short, by the
:class:`~replicalab.dynamodb.GlobalTable`), and the writes replicated to it (by the sending
:class:`~replicalab.replica.table.TableReplica`, before it sends): a replicated write is never
refused or dropped — it waits at the sender, in order, until the receiver's bucket can pay,
so an under-provisioned region falls behind (replication lag) and catches up.

    >>> bucket = TokenBucket(rate=2)            # 2 units/s, 1 s of burst: 2000 milli-units
    >>> bucket.take(now=0, milli=1500), bucket.take(now=0, milli=1000)
    (True, False)
    >>> bucket.ready_at(now=0, milli=1000)      # 500 held, 500 missing, 2 milli-units per ms
    250
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["TokenBucket", "read_units", "write_units"]


def _amount(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ConfigError(f"{what} must be an integer >= 0, got {_validate.shown(value)}")
    return value


def _signed(value: Any) -> None:
    if value is not None and type(value) is not int:
        raise ConfigError(f"tokens must be an integer number of milli-units or None, got "
                          f"{_validate.shown(value)}")


def _rate(_instance: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not int or not 1 <= value <= 1_000_000:
        raise ConfigError(f"a capacity must be an integer from 1 to 1,000,000 units per second, "
                          f"got {_validate.shown(value)}")


@attrs.define
class TokenBucket:
    """A region's provisioned capacity (see the module docs). Mutable: it is a meter."""

    rate: int = attrs.field(validator=_rate)
    burst_seconds: int = attrs.field(default=1, validator=_rate)
    #: Milli-units held at ``last`` (None: full). Negative after a replicated write larger
    #: than the whole bucket took what it needed (a debt later refills pay back).
    tokens: int | None = attrs.field(default=None, validator=lambda _i, _a, v: _signed(v))
    last: int = attrs.field(default=0, validator=lambda _i, _a, v: _amount(v, "last (simulated ms)"))

    @property
    def size(self) -> int:
        """The most milli-units the bucket holds."""
        return self.rate * 1000 * self.burst_seconds

    def level(self, now: int) -> int:
        """Milli-units held at simulated time ``now`` (ms); refills ``rate`` per ms."""
        _amount(now, "now (simulated ms)")
        if self.tokens is None:
            return self.size
        return min(self.size, self.tokens + max(0, now - self.last) * self.rate)

    def take(self, now: int, milli: int) -> bool:
        """Take ``milli`` milli-units at ``now`` if the bucket holds them; False (and nothing
        taken) if not."""
        _amount(milli, "milli (milli-units)")
        held = self.level(now)
        if held < milli:
            return False
        self.tokens, self.last = held - milli, now
        return True

    def force(self, now: int, milli: int) -> None:
        """Take ``milli`` even if that leaves a debt (a write larger than the whole bucket)."""
        _amount(milli, "milli (milli-units)")
        self.tokens, self.last = self.level(now) - milli, now

    def ready_at(self, now: int, milli: int) -> int:
        """The first ms at or after ``now`` when the bucket holds ``min(milli, size)``."""
        missing = min(_amount(milli, "milli (milli-units)"), self.size) - self.level(now)
        return now if missing <= 0 else now + -(-missing // self.rate)


def write_units(size: int) -> int:
    """WCUs for writing an item of ``size`` bytes: 1 KB units, at least 1.

        >>> write_units(0), write_units(1024), write_units(1025)
        (1, 1, 2)
    """
    _amount(size, "size (bytes)")
    return max(1, -(-size // 1024))


def read_units(size: int, consistent: bool) -> int:
    """Milli-RCUs for reading ``size`` bytes: 4 KB units, at least 1; an eventually
    consistent read costs half a unit each, a strongly consistent one a whole unit.

        >>> read_units(0, False), read_units(4096, True), read_units(4097, False)
        (500, 1000, 1000)
    """
    _amount(size, "size (bytes)")
    if not isinstance(consistent, bool):
        raise ConfigError(f"consistent must be True or False, got {_validate.shown(consistent)}")
    units = max(1, -(-size // 4096))
    return units * (1000 if consistent else 500)
