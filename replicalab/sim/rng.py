"""Seeded randomness with named sub-streams.

One run has one seed. Every consumer of randomness (a link, the workload, a
fault) asks for its own stream by name; a stream's seed is derived from
``(seed, name)`` with SHA-256, never with :func:`hash`, so it is the same in
every process and under every ``PYTHONHASHSEED``. Because streams are
independent, enabling one more lossy link does not shift the workload's draws.

Only :meth:`random.Random.random` is used for draws that reach output: its
sequence for a given seed is stable across Python versions, unlike
``randrange``/``choice``/``shuffle`` helpers whose algorithms have changed.

    >>> streams = RandomStreams(7)
    >>> streams.stream("link:a->b").random() == RandomStreams(7).stream("link:a->b").random()
    True
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from typing import TypeVar

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["RandomStreams", "choice", "exponential", "uniform"]

T = TypeVar("T")


def _check_seed(seed: object) -> int:
    if type(seed) is not int:
        raise ConfigError(f"seed must be an integer, got {_validate.shown(seed)} ({type(seed).__name__})")
    return seed


class RandomStreams:
    """A family of independent, reproducible :class:`random.Random` streams keyed by name."""

    def __init__(self, seed: int) -> None:
        self.seed = _check_seed(seed)
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        """The stream called ``name`` (created on first use, then reused)."""
        if not isinstance(name, str):
            raise ConfigError(f"a stream is named by a string such as 'link:a->b', got {_validate.shown(name)}")
        found = self._streams.get(name)
        if found is None:
            # surrogatepass: a name with a lone surrogate gets a stream too; other names, same bytes.
            digest = hashlib.sha256(f"replicalab/{self.seed}/{name}".encode("utf-8", "surrogatepass")).digest()
            found = random.Random(int.from_bytes(digest[:8], "big"))
            self._streams[name] = found
        return found

    def __repr__(self) -> str:
        return f"RandomStreams({self.seed})"


def check_generator(rng: object) -> None:
    """Raise :class:`ConfigError` unless ``rng`` is a ``random.Random`` (what samplers draw from)."""
    if not isinstance(rng, random.Random):
        raise ConfigError(
            "latency draws need a random.Random, e.g. RandomStreams(seed).stream('link:a->b'), "
            f"got {_validate.shown(rng)}"
        )


def uniform(rng: random.Random, low: float, high: float) -> float:
    """A float drawn uniformly from [low, high) using only ``rng.random()``."""
    return low + (high - low) * rng.random()


def exponential(rng: random.Random, mean: float) -> float:
    """An exponential draw with the given mean, using only ``rng.random()``."""
    return -mean * math.log(1.0 - rng.random())


def choice(rng: random.Random, items: Sequence[T]) -> T:
    """One element of a non-empty sequence, using only ``rng.random()``."""
    return items[int(rng.random() * len(items))]
