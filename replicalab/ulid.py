"""Time-ordered ids in the ULID layout, made from simulated time and a seeded stream.

A ULID is 128 bits: a 48-bit millisecond timestamp followed by 80 random bits,
written as 26 characters of Crockford's base32 (ulid/spec). Ids from later
milliseconds sort after earlier ones, and two writers never collide in
practice, so append-only data keyed by them never conflicts: there is
nothing for last-writer-wins to resolve.

Here the timestamp is a replica's *simulated* wall time and the randomness
comes from a seeded :class:`random.Random` via ``random()`` only, so the same
seed gives the same ids (real ULID libraries read the real clock and
``os.urandom``, which a replayable simulation must not).

    >>> import random
    >>> ulid(0, random.Random(1))[:10]
    '0000000000'
    >>> ulid(1, random.Random(1)) > ulid(0, random.Random(1))
    True
"""

from __future__ import annotations

import random

from replicalab import _validate
from replicalab.errors import ConfigError

__all__ = ["CROCKFORD", "ulid"]

#: Crockford's base32 alphabet (no I, L, O, U).
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_MAX_TIME = (1 << 48) - 1


def ulid(ms: int, rng: random.Random) -> str:
    """A 26-character ULID for wall time ``ms`` (0 <= ms < 2**48) with 80 bits from ``rng``."""
    if type(ms) is not int or not 0 <= ms <= _MAX_TIME:
        raise ConfigError(f"ULID time must be an integer number of ms in [0, 2**48), got {_validate.shown(ms)}")
    if not callable(getattr(rng, "random", None)):
        raise ConfigError(f"ulid draws from a random.Random (e.g. RandomStreams(seed).stream('ids')), "
                          f"got {_validate.shown(rng)}")
    draws = [rng.random() for _ in range(5)]  # 5 x 16 bits, each from one random() draw
    if not all(type(d) is float and 0.0 <= d < 1.0 for d in draws):
        raise ConfigError(f"rng.random() must return floats in [0, 1), got {_validate.shown(draws)}")
    randomness = 0
    for draw in draws:
        randomness = (randomness << 16) | int(draw * 65536)
    value = (ms << 80) | randomness
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))
