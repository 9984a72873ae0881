"""Generated workloads: the seed's three data shapes, and planted conflicts for testing.

The seed's "Matching data shape to pattern" figure, as traffic:

``append-only``  events appended from every region under time-ordered ULID keys;
                 no item is written twice, so there is nothing to resolve.
``profile``      subscriber profiles updated occasionally from the subscriber's
                 home region by a portal and, minutes apart, by a batch job in
                 us-east-1: rare millisecond races.
``contested``    a few hot items (quota counters, balances) written every
                 second from every region: races all the time.

:func:`planted` builds a run with exactly ``C`` same-item cross-region
conflicts inside the replication window, and otherwise only writes that
cannot conflict — the ground truth the tests check every pattern against.

Every generator draws from a named stream of the run's seed, so the same
seed gives the same traffic.
"""

from __future__ import annotations

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.rng import RandomStreams, choice
from replicalab.ulid import ulid

__all__ = ["SHAPES", "planted", "workload"]

REGIONS = LONDON.regions
SHAPES = ("append-only", "profile", "contested")


def _base(name: str, description: str, initial: dict, writes: list[ClientWrite],
          homes: dict[str, str] | None = None) -> TableScenario:
    return TableScenario(
        name=name, description=description, regions=REGIONS, latency=LONDON.latency,
        initial=initial, workload=tuple(writes), epoch=EPOCH, homes=homes or {},
        primary=LONDON.primary,
    )


def planted(conflicts: int, *, seed: int = 0, background: int = 10, window: int = 30) -> TableScenario:
    """``conflicts`` items each written by two regions less than ``window`` ms apart, plus
    ``background`` items written once each. Conflicts are 1 s apart, so they never overlap.

    ``window`` must stay below the smallest one-way latency (70 ms) so that the
    second write of a pair cannot have seen the first.
    """
    if type(conflicts) is not int or conflicts < 0:
        raise ConfigError(f"conflicts must be an integer >= 0, got {_validate.shown(conflicts)}")
    if type(window) is not int or not 0 < window < 70:
        raise ConfigError(f"window must be an integer in (0, 70) ms, got {_validate.shown(window)}")
    rng = RandomStreams(seed).stream("workload:planted")
    writes: list[ClientWrite] = []
    initial: dict[str, dict] = {}
    homes: dict[str, str] = {}
    t = 100
    for i in range(conflicts):
        key = f"item-{i:03d}"
        first = choice(rng, REGIONS)
        second = choice(rng, [r for r in REGIONS if r != first])
        gap = int(rng.random() * window)
        initial[key] = {"a": "a0", "b": "b0", "version": 1}
        homes[key] = first
        writes.append(ClientWrite(t, first, f"c{i}a", "app", key, {"a": f"a{i}"}))
        writes.append(ClientWrite(t + gap, second, f"c{i}b", "batch", key, {"b": f"b{i}"}))
        t += 1000
    for j in range(background):
        key = f"quiet-{j:03d}"
        region = choice(rng, REGIONS)
        initial[key] = {"a": "a0", "version": 1}
        homes[key] = region
        writes.append(ClientWrite(t, region, f"q{j}", "app", key, {"a": f"q{j}"}))
        t += 1000
    writes.sort(key=lambda w: (w.at, w.op))
    return _base(f"planted-{conflicts}", f"{conflicts} planted cross-region conflicts",
                 initial, writes, homes)


def workload(shape: str, *, seed: int = 0, minutes: int = 2) -> TableScenario:
    """Generate the traffic of one data ``shape`` (see the module docs) for ``minutes`` of time."""
    if shape not in SHAPES:
        raise ConfigError(f"unknown workload {_validate.shown(shape)}; choose one of: {', '.join(SHAPES)}")
    if type(minutes) is not int or not 1 <= minutes <= 60:
        raise ConfigError(f"minutes must be an integer from 1 to 60, got {_validate.shown(minutes)}")
    rng = RandomStreams(seed).stream(f"workload:{shape}")
    span = minutes * 60_000
    writes: list[ClientWrite] = []
    initial: dict[str, dict] = {}
    homes: dict[str, str] = {}
    if shape == "append-only":
        for n in range(minutes * 300):  # ~5 events/s across the regions
            at = int(rng.random() * span)
            region = choice(rng, REGIONS)
            key = "events#" + ulid(EPOCH + at, rng)
            writes.append(ClientWrite(at, region, f"e{n}", "audit", key,
                                      {"region": region, "event": f"login-{n}"}, put=True))
        description = "audit events appended from every region under ULID keys"
    elif shape == "profile":
        for i in range(200):
            key = f"sub_{i:03d}"
            home = choice(rng, REGIONS)
            homes[key] = home
            initial[key] = {"address": "old", "last_contacted": "never", "version": 1}
            portal_at = int(rng.random() * span)
            writes.append(ClientWrite(portal_at, home, f"p{i}", "portal", key,
                                      {"address": f"new-{i}"}))
            if rng.random() < 0.5:  # the batch job touches half of them, at any time
                batch_at = int(rng.random() * span)
                writes.append(ClientWrite(batch_at, "us-east-1", f"b{i}", "retention-job", key,
                                          {"last_contacted": f"t{batch_at}"}))
        description = "profiles updated by a home-region portal and a us-east-1 batch job"
    else:
        keys = [f"quota-{k}" for k in range(5)]
        for key in keys:
            initial[key] = {"used": 0, "version": 1}
            homes[key] = choice(rng, REGIONS)
        n = 0
        for region in REGIONS:
            for second in range(minutes * 60):
                at = second * 1000 + int(rng.random() * 1000)
                key = choice(rng, keys)
                writes.append(ClientWrite(at, region, f"{region[:2]}{n}", "metering", key,
                                          {"used": n, f"by_{region}": second}))
                n += 1
        description = "hot quota items written every second from every region"
    writes.sort(key=lambda w: (w.at, w.op))
    return _base(shape, description, initial, writes, homes)
