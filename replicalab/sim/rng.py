"""Seeded randomness with named sub-streams.

One run has one seed. Every consumer of randomness (a link, the workload, a
fault) asks for its own stream by name; a stream's seed is derived from
``(seed, name)`` with SHA-256, never with :func:`hash`, so it is the same in
every process and under every ``PYTHONHASHSEED``. Because streams are
independent, enabling one more lossy link does not shift the workload's draws.

Only :meth:`random.Random.random` is used for draws that reach output: its
sequence for a given seed is stable across Python versions, unlike
``randrange``/``choice``/``shuffle`` helpers whose algorithms have changed.
A stream the simulator draws from per message (a link's) is made as a bare
:meth:`RandomStreams.generator`, the C Mersenne Twister under :class:`random.Random`:
the same draws, through a cheaper call.

    >>> streams = RandomStreams(7)
    >>> streams.stream("link:a->b").random() == RandomStreams(7).stream("link:a->b").random()
    True
"""

from __future__ import annotations

import copyreg
import hashlib
import math
import random
from _random import Random as Generator  # random.Random's C base: the generator itself
from collections.abc import Sequence
from typing import Any, TypeVar

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["RandomStreams", "choice", "exponential", "uniform"]

T = TypeVar("T")


def _check_seed(seed: object) -> int:
    if type(seed) is not int:
        raise ConfigError(f"seed must be an integer, got {_validate.shown(seed)} ({type(seed).__name__})")
    return seed


class RandomStreams:
    """A family of independent, reproducible :class:`random.Random` streams keyed by name.

    A name is made either as a :meth:`stream` (a :class:`random.Random`) or as a bare
    :meth:`generator`; both give the same draws from ``random()``, and a name made as one is
    refused as the other, so that no two objects ever replay one stream.
    """

    def __init__(self, seed: int) -> None:
        self.seed = _check_seed(seed)
        self._streams: dict[str, random.Random | Generator] = {}

    def _made(self, name: object, kind: type) -> Any:
        if not isinstance(name, str):
            raise ConfigError(f"a stream is named by a string such as 'link:a->b', got {_validate.shown(name)}")
        found = self._streams.get(name)
        if found is None:
            # surrogatepass: a name with a lone surrogate gets a stream too; other names, same bytes.
            digest = hashlib.sha256(f"replicalab/{self.seed}/{name}".encode("utf-8", "surrogatepass")).digest()
            # random.Random(n) and Generator(n) seed the same C generator the same way from an int.
            found = kind(int.from_bytes(digest[:8], "big"))
            self._streams[name] = found
        elif type(found) is not kind:
            made, asked = ("stream", "generator") if kind is Generator else ("generator", "stream")
            raise ConfigError(f"{name!r} was made as a {made} of these streams; ask for it as a {made}, "
                              f"not a {asked}, so that one object draws it")
        return found

    def stream(self, name: str) -> random.Random:
        """The stream called ``name`` (created on first use, then reused)."""
        stream: random.Random = self._made(name, random.Random)
        return stream

    def generator(self, name: str) -> Generator:
        """The stream called ``name`` as a bare Mersenne Twister (``random()``, ``getrandbits()``
        and state; none of :class:`random.Random`'s helpers), created on first use, then reused.

        Its ``random()`` draws exactly what ``stream(name).random()`` would. It is for draws made
        per message (the simulator's links): CPython 3.11 calls ``generator.random()`` through
        one specialized instruction, where ``stream.random()`` (a Python subclass) or a bound
        ``random`` method takes the generic call path, about 120 more instructions a draw.
        """
        generator: Generator = self._made(name, Generator)
        return generator

    def __repr__(self) -> str:
        return f"RandomStreams({self.seed})"


def _generator_from(state: tuple[int, ...]) -> Generator:
    generator = Generator()
    generator.setstate(state)
    return generator


# random.Random copies and pickles itself (its __reduce__); its C base does not. Registered
# here, a bare generator copies and pickles with its state too, so a simulation whose links
# drew can still be deep-copied or pickled as before.
copyreg.pickle(Generator, lambda generator: (_generator_from, (generator.getstate(),)))


def check_generator(rng: object) -> None:
    """Raise :class:`ConfigError` unless ``rng`` is a ``random.Random`` or a bare generator
    from :meth:`RandomStreams.generator` (what samplers draw from)."""
    if not isinstance(rng, Generator):  # random.Random is a subclass
        raise ConfigError(
            "latency draws need a random.Random, e.g. RandomStreams(seed).stream('link:a->b'), "
            f"or RandomStreams(seed).generator('link:a->b'), got {_validate.shown(rng)}"
        )


def uniform(rng: random.Random | Generator, low: float, high: float) -> float:
    """A float drawn uniformly from [low, high) using only ``rng.random()``."""
    return low + (high - low) * rng.random()


def exponential(rng: random.Random | Generator, mean: float) -> float:
    """An exponential draw with the given mean, using only ``rng.random()``."""
    return -mean * math.log(1.0 - rng.random())


def choice(rng: random.Random | Generator, items: Sequence[T]) -> T:
    """One element of a non-empty sequence, using only ``rng.random()``."""
    return items[int(rng.random() * len(items))]
