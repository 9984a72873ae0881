"""Probabilistically Bounded Staleness (Bailis et al., VLDB 2012): how stale is a partial quorum?

With N replicas, a write acknowledged by W of them and a read answered by R of them, a
read issued the instant the write is acknowledged — before it has propagated any further —
misses it iff the R replicas it hears from are all among the N − W that do not have it::

    P(miss) = C(N − W, R) / C(N, R)          (0 when R + W > N)

:func:`closed_form` is that number. :func:`measure_fresh_read_miss` measures it on the real
cluster (:class:`~replicalab.quorum.DynamoNode`): a writer node and a reader node that are
not replicas of the key, the write's copies on slow links (so nothing propagates during the
read) and the read's requests on fast ones; each trial is one key written and read once.

:func:`t_visibility` is PBS's WARS model by Monte Carlo: per replica, draw the write's
delay W, its acknowledgement's A, the read request's R and the response's S; the write
commits at the W-th fastest W + A; a read issued ``t`` ms later hears from the R replicas
with the smallest R + S, and is consistent iff one of them had the write when the read
request arrived (W ≤ commit + t + R). It gives P(consistent read) as a function of ``t``;
:func:`replicalab.viz.visibility.visibility_chart` draws it.

    >>> closed_form(3, 1, 1)
    Fraction(2, 3)
    >>> curve = t_visibility(3, 1, 1, times=[0, 50], trials=2000, seed=0)
    >>> curve[0][1] < curve[1][1]
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.quorum import DynamoNode, Get, GetDone, HashRing, Put, PutDone, QuorumConfig
from replicalab.sim.network import Constant, Exponential, Latency, Link, Uniform
from replicalab.sim.rng import RandomStreams
from replicalab.sim.simulation import Simulation

__all__ = ["MAX_TRIALS", "Staleness", "closed_form", "hoeffding_tolerance", "measure_fresh_read_miss",
           "t_visibility"]

#: Trials per measurement, at most (a cap: a typo cannot start a run that does not end).
MAX_TRIALS = 200_000
#: The writer's copies travel 10^6 .. 10^7 ms; the reader's requests 1 .. 100 ms. A copy still
#: in flight when the write is acknowledged lands within a read's 100 ms with probability at
#: most 100 / 9·10^6 per replica: the bias this leaves is below 10^-4 for N <= 9.
SLOW, FAST = Uniform(10**6, 10**7), Uniform(1, 100)
#: The WARS model's default for each of its four delays: exponential, mean 10 ms.
TEN_MS = Exponential(10)


def _nrw(n: object, r: object, w: object) -> tuple[int, int, int]:
    for name, value in (("n", n), ("r", r), ("w", w)):
        if type(value) is not int or not 1 <= value <= 9:
            raise ConfigError(f"{name} must be an integer from 1 to 9, got {_validate.shown(value)}")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(w, int)
    if r > n or w > n:
        raise ConfigError(f"r and w must be at most n={n}, got r={r}, w={w}")
    return n, r, w


def _trials(trials: object) -> int:
    if type(trials) is not int or not 1 <= trials <= MAX_TRIALS:
        raise ConfigError(f"trials must be an integer from 1 to {MAX_TRIALS}, got {_validate.shown(trials)}")
    return trials


def closed_form(n: int, r: int, w: int) -> Fraction:
    """P(a read right after an acknowledged write misses it) = C(N−W, R) / C(N, R), exactly."""
    n, r, w = _nrw(n, r, w)
    return Fraction(math.comb(n - w, r), math.comb(n, r))


def hoeffding_tolerance(trials: int, failure: float = 1e-6) -> float:
    """The ε with P(|measured − true| ≥ ε) ≤ ``failure`` for a mean of ``trials`` independent
    0/1 outcomes (Hoeffding: 2·exp(−2·trials·ε²) = failure)."""
    trials = _trials(trials)
    if type(failure) is not float or not 0 < failure < 1:
        raise ConfigError(f"failure must be a float probability in (0, 1), got {_validate.shown(failure)}")
    return math.sqrt(math.log(2 / failure) / (2 * trials))


@attrs.frozen
class Staleness:
    """A measured miss rate beside the closed form."""

    n: int
    r: int
    w: int
    trials: int
    misses: int
    expected: Fraction

    @property
    def measured(self) -> float:
        """The fraction of reads that missed the write."""
        return self.misses / self.trials


def _keys(ring: HashRing, outsiders: tuple[str, str], count: int) -> list[str]:
    """``count`` keys whose preference list leaves out both ``outsiders`` (the writer and reader)."""
    found: list[str] = []
    i = 0
    while len(found) < count:
        key = f"key{i}"
        if set(ring.walk(key)[-2:]) == set(outsiders):
            found.append(key)
        i += 1
    return found


def measure_fresh_read_miss(n: int, r: int, w: int, trials: int = 4000, seed: int = 0) -> Staleness:
    """Measure, on the cluster, how often a read issued at a write's acknowledgement misses it."""
    n, r, w = _nrw(n, r, w)
    trials = _trials(trials)
    homes = tuple(f"h{i}" for i in range(1, n + 1))
    writer, reader = "w0", "r0"
    ring = HashRing((*homes, writer, reader), vnodes=1)
    # No timeouts, no read repair, no sloppy quorum: only the propagation race is measured.
    config = QuorumConfig(n=n, r=r, w=w, timeout=10**8, read_repair=False)
    nodes = [DynamoNode(node, ring, config) for node in ring.nodes]
    links: dict[tuple[str, str], Link] = {}
    for home in homes:
        links[(writer, home)], links[(home, writer)] = Link(SLOW), Link(Uniform(0, 0))
        links[(reader, home)], links[(home, reader)] = Link(FAST), Link(Uniform(0, 0))
    sim = Simulation(nodes, seed=seed, links=links, link=Link(FAST), trace=False)
    missed: list[bool] = []
    dots: dict[str, str] = {}

    def read_back(key: str):  # type: ignore[no-untyped-def]
        def on_reply(s: Simulation, reply) -> None:  # type: ignore[no-untyped-def]
            response = reply.response
            if isinstance(response, PutDone):
                dots[key] = response.dot
                s.client_request(s.now, reader, Get(f"r-{key}", key=key), on_reply=read_back(key))
            elif isinstance(response, GetDone):
                missed.append(dots[key] not in {str(v.dot) for v in response.versions})
        return on_reply

    for key in _keys(ring, (writer, reader), trials):
        sim.client_request(0, writer, Put(f"w-{key}", key=key, value=key), on_reply=read_back(key))
    sim.run_until_quiescent()
    if len(missed) != trials:  # every write and read must complete: no timeouts were allowed
        raise ConfigError(f"only {len(missed)} of {trials} trials completed")  # pragma: no cover
    return Staleness(n, r, w, trials, sum(missed), closed_form(n, r, w))


def t_visibility(n: int, r: int, w: int, times: Sequence[int], trials: int = 10_000, seed: int = 0,
                 write: Latency = TEN_MS, ack: Latency = TEN_MS,
                 read: Latency = TEN_MS, response: Latency = TEN_MS,
                 ) -> list[tuple[int, float]]:
    """``[(t, P(consistent read t ms after the write commits))]`` by the WARS model (module docs).

    The same ``trials`` draws serve every ``t``, so the curve is monotone by construction
    and two curves from one seed differ only by their settings.
    """
    n, r, w = _nrw(n, r, w)
    trials = _trials(trials)
    if isinstance(times, (str, bytes)) or not isinstance(times, Sequence) or not times or len(times) > 1000 \
            or not all(type(t) is int and 0 <= t <= 10**9 for t in times):
        raise ConfigError(f"times must be 1 to 1000 integers of ms from 0 to 10^9, got {_validate.shown(times)}")
    for name, latency in (("write", write), ("ack", ack), ("read", read), ("response", response)):
        if not isinstance(latency, (Constant, Exponential, Uniform)):
            raise ConfigError(f"{name} must be a latency (Constant, Uniform, Exponential), "
                              f"got {_validate.shown(latency)}")
    streams = RandomStreams(seed)
    draw_w, draw_a = write.sampler(streams.stream("pbs:write")), ack.sampler(streams.stream("pbs:ack"))
    draw_r, draw_s = read.sampler(streams.stream("pbs:read")), response.sampler(streams.stream("pbs:response"))
    consistent = [0] * len(times)
    for _ in range(trials):
        ws = [draw_w() for _ in range(n)]
        commit = sorted(wi + draw_a() for wi in ws)[w - 1]
        rs = [draw_r() for _ in range(n)]
        order = sorted(range(n), key=lambda i: (rs[i] + draw_s(), i))[:r]
        for j, t in enumerate(times):
            if any(ws[i] <= commit + t + rs[i] for i in order):
                consistent[j] += 1
    return [(t, c / trials) for t, c in zip(times, consistent, strict=True)]
