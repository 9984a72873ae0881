"""The network model: per-link latency distributions, loss and duplication.

Latency is integer milliseconds, never negative. Each directed link draws from
its own named random stream (``link:a->b``), so links are independent and a
change to one link does not perturb the others. Reordering needs no switch:
two messages on one link with random latency may overtake each other.

    >>> import random
    >>> Uniform(70, 80).sample(random.Random(1)) in range(70, 81)
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import attrs

from replicalab import _validate
from replicalab.errors import LatencyError
from replicalab.sim.rng import check_generator, exponential

__all__ = ["Constant", "Exponential", "Latency", "Link", "Uniform"]


def _ms(what: str) -> Callable[[object, attrs.Attribute, object], None]:
    return lambda _i, a, v: _validate.milliseconds(v, f"{what} {a.name}")


def _round(x: float) -> int:
    return int(x + 0.5)


@attrs.frozen
class Constant:
    """Every message takes ``ms`` milliseconds, plus an optional exponential ``jitter`` (its mean)."""

    ms: float = attrs.field(validator=_ms("Constant latency"))
    jitter: float = attrs.field(default=0.0, validator=_ms("Constant latency"))

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        """A zero-argument function drawing one latency (int ms) from ``rng``."""
        check_generator(rng)
        base, jitter, draw = self.ms, self.jitter, rng.random
        if not jitter:
            fixed = _round(base)
            return lambda: fixed
        log = math.log
        return lambda: int(base - jitter * log(1.0 - draw()) + 0.5)

    def sample(self, rng: random.Random) -> int:
        """One latency draw (int ms)."""
        return self.sampler(rng)()


@attrs.frozen
class Uniform:
    """Latency uniform in ``[low, high]`` ms, plus an optional exponential ``jitter`` (its mean)."""

    low: float = attrs.field(validator=_ms("Uniform latency"))
    high: float = attrs.field(validator=_ms("Uniform latency"))
    jitter: float = attrs.field(default=0.0, validator=_ms("Uniform latency"))

    def __attrs_post_init__(self) -> None:
        if self.high < self.low:
            raise LatencyError(
                f"Uniform latency needs low <= high, got low={self.low}, high={self.high}"
            )

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        """A zero-argument function drawing one latency (int ms) from ``rng``."""
        check_generator(rng)
        low, span, jitter, draw, log = self.low, self.high - self.low, self.jitter, rng.random, math.log
        if not jitter:
            return lambda: int(low + span * draw() + 0.5)
        return lambda: int(low + span * draw() - jitter * log(1.0 - draw()) + 0.5)

    def sample(self, rng: random.Random) -> int:
        """One latency draw (int ms)."""
        return self.sampler(rng)()


@attrs.frozen
class Exponential:
    """Latency ``offset`` plus an exponential draw with the given ``mean`` (ms)."""

    mean: float = attrs.field(validator=_ms("Exponential latency"))
    offset: float = attrs.field(default=0.0, validator=_ms("Exponential latency"))

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        """A zero-argument function drawing one latency (int ms) from ``rng``."""
        check_generator(rng)
        offset, mean = self.offset, self.mean
        return lambda: _round(offset + exponential(rng, mean))

    def sample(self, rng: random.Random) -> int:
        """One latency draw (int ms)."""
        return self.sampler(rng)()


Latency = Constant | Uniform | Exponential


def _latency(_inst: object, _attr: attrs.Attribute, value: object) -> None:
    if not isinstance(value, (Constant, Uniform, Exponential)):
        raise LatencyError(
            f"link latency must be Constant, Uniform or Exponential, got {_validate.shown(value)}; "
            "e.g. Uniform(70, 80) for 70-80 ms"
        )


@attrs.frozen
class Link:
    """How one link behaves: a latency distribution and loss/duplication probabilities in [0, 1]."""

    latency: Latency = attrs.field(default=Constant(10), validator=_latency)
    loss: float = attrs.field(
        default=0.0, validator=lambda _i, a, v: _validate.probability(v, f"link {a.name}")
    )
    duplicate: float = attrs.field(
        default=0.0, validator=lambda _i, a, v: _validate.probability(v, f"link {a.name}")
    )
