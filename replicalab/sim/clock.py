"""Per-replica wall clocks: simulated time seen through skew and drift.

A replica never reads simulated global time for its timestamps; it reads its
own wall clock, which may be ahead (positive skew), behind (negative skew) or
running fast or slow (drift, in parts per million). LWW policies order writes
by these readings, which is how "last" stops meaning last.

    >>> WallClock(skew=-30).read(now=140, epoch=50_832_000)
    50832110
"""

from __future__ import annotations

import math

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["WallClock"]


def _finite(_inst: object, attribute: attrs.Attribute, value: object) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or (type(value) is int and abs(value) > 2**53) or not math.isfinite(value)):
        raise ConfigError(f"wall clock {attribute.name} must be a finite number, got {_validate.shown(value)}")


@attrs.frozen
class WallClock:
    """``read(now) = epoch + now + skew + floor(now * drift_ppm / 1e6)``, in integer milliseconds."""

    skew: int = attrs.field(default=0, validator=_finite)
    drift_ppm: float = attrs.field(default=0.0, validator=_finite)

    def read(self, now: int, epoch: int = 0) -> int:
        """The wall time (ms) this clock shows at simulated time ``now``; never below 0."""
        if type(now) is not int or type(epoch) is not int or now < 0 or epoch < 0:
            raise ConfigError(f"WallClock.read takes integer ms >= 0, got now={_validate.shown(now)}, "
                              f"epoch={_validate.shown(epoch)}")
        drift = math.floor(now * self.drift_ppm / 1_000_000) if self.drift_ppm else 0
        return max(0, int(epoch + now + self.skew + drift))
