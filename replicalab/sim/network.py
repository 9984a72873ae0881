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

import random
from collections.abc import Callable
from math import floor, log

import attrs

from replicalab import _validate
from replicalab.errors import LatencyError
from replicalab.sim.rng import Generator, check_generator, exponential

__all__ = ["Constant", "Exponential", "Latency", "Link", "Uniform"]


def _ms(what: str) -> Callable[[object, attrs.Attribute, object], object]:
    return lambda _i, a, v: _validate.milliseconds(v, f"{what} {a.name}")


def _round(x: float) -> int:
    return int(x + 0.5)


# A sampler is the bound ``draw`` method of one of these, not a closure: the simulator calls
# it once per message, and CPython 3.11 inlines a call only to a function it has seen before
# at that call site. Closures made per link are each a new function, so every call took the
# generic path; the methods below are one function per latency kind, shared by every link.
# Each computes exactly the closure's expression, so the draws are the same to the bit.
# Their numbers are stored as floats: an int operand (Uniform(1, 10) holds ints) made every
# `*` and `+` with a draw a mixed int/float operation, which 3.11 leaves generic; float with
# float is specialized. Python converts the int operand with the same float() either way
# (milliseconds are at most 2**53, so exactly), so the draws stay the same to the bit.
# They round with floor(x + 0.5), not int(x + 0.5): the same for every x >= 0, as every
# latency is (no term is negative), and math.floor on a float is one specialized C call where
# int() is a type call that parses its arguments (about 200 instructions a message).
# They draw with `rng.random()` on the generator itself, not through a bound `random` method
# kept in a slot: on the bare generator the simulator's links use (RandomStreams.generator),
# 3.11 specializes that method call (one instruction calls the C function), while a bound
# builtin method with no arguments is always called the generic way (~120 instructions more a
# draw). A random.Random passed by other callers draws the same numbers, the generic way.


class _Fixed:
    __slots__ = ("ms",)

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def draw(self) -> int:
        return self.ms


class _FixedJitter:
    __slots__ = ("base", "jitter", "rng")

    def __init__(self, base: float, jitter: float, rng: Generator) -> None:
        self.base, self.jitter, self.rng = float(base), float(jitter), rng

    def draw(self) -> int:
        rng = self.rng
        return floor(self.base - self.jitter * log(1.0 - rng.random()) + 0.5)


class _Uniform:
    __slots__ = ("low", "span", "rng")

    def __init__(self, low: float, span: float, rng: Generator) -> None:
        self.low, self.span, self.rng = float(low), float(span), rng

    def draw(self) -> int:
        rng = self.rng
        return floor(self.low + self.span * rng.random() + 0.5)


class _UniformJitter:
    __slots__ = ("low", "span", "jitter", "rng")

    def __init__(self, low: float, span: float, jitter: float, rng: Generator) -> None:
        self.low, self.span, self.jitter, self.rng = float(low), float(span), float(jitter), rng

    def draw(self) -> int:
        rng = self.rng
        return floor(self.low + self.span * rng.random() - self.jitter * log(1.0 - rng.random()) + 0.5)


class _Exponential:
    __slots__ = ("offset", "mean", "rng")

    def __init__(self, offset: float, mean: float, rng: Generator) -> None:
        self.offset, self.mean, self.rng = offset, mean, rng

    def draw(self) -> int:
        return _round(self.offset + exponential(self.rng, self.mean))


@attrs.frozen
class Constant:
    """Every message takes ``ms`` milliseconds, plus an optional exponential ``jitter`` (its mean)."""

    ms: float = attrs.field(validator=_ms("Constant latency"))
    jitter: float = attrs.field(default=0.0, validator=_ms("Constant latency"))

    def sampler(self, rng: random.Random | Generator) -> Callable[[], int]:
        """A zero-argument function drawing one latency (int ms) from ``rng`` (a
        :class:`random.Random` or a :meth:`~replicalab.sim.rng.RandomStreams.generator`)."""
        check_generator(rng)
        if not self.jitter:
            return _Fixed(_round(self.ms)).draw
        return _FixedJitter(self.ms, self.jitter, rng).draw

    def sample(self, rng: random.Random | Generator) -> int:
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

    def sampler(self, rng: random.Random | Generator) -> Callable[[], int]:
        """A zero-argument function drawing one latency (int ms) from ``rng`` (a
        :class:`random.Random` or a :meth:`~replicalab.sim.rng.RandomStreams.generator`)."""
        check_generator(rng)
        if not self.jitter:
            return _Uniform(self.low, self.high - self.low, rng).draw
        return _UniformJitter(self.low, self.high - self.low, self.jitter, rng).draw

    def sample(self, rng: random.Random | Generator) -> int:
        """One latency draw (int ms)."""
        return self.sampler(rng)()


@attrs.frozen
class Exponential:
    """Latency ``offset`` plus an exponential draw with the given ``mean`` (ms)."""

    mean: float = attrs.field(validator=_ms("Exponential latency"))
    offset: float = attrs.field(default=0.0, validator=_ms("Exponential latency"))

    def sampler(self, rng: random.Random | Generator) -> Callable[[], int]:
        """A zero-argument function drawing one latency (int ms) from ``rng`` (a
        :class:`random.Random` or a :meth:`~replicalab.sim.rng.RandomStreams.generator`)."""
        check_generator(rng)
        return _Exponential(self.offset, self.mean, rng).draw

    def sample(self, rng: random.Random | Generator) -> int:
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
