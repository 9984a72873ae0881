"""Oracle ``version-forks``: ``find_forks(writes)`` over a write log, against the reconciliation scan.

A case is a write log as plain data, the shape a DynamoDB Stream gives an
operator: a list of dicts ``{"write": "eu3", "key": "sub_42", "region":
"eu-west-1", "version": 18}``, where a write that set no version attribute
has no ``"version"`` key or ``"version": None``. Write ids are unique.

Most cases are generated: a few keys, each a run of versions in which now and
then two or three writes claim the same version (a fork), a version is
skipped, or a write carries no version at all; the log is then interleaved the
way three regions' streams are. About one case in eight is the real write log
of a versioned run of the ``planted`` workload (a few cross-region conflicts
and some quiet writes), read from the run's ``Wrote`` trace events.

The expected answer is :func:`replicalab.reconcile.find_version_forks` over
the log turned back into ``Wrote`` events, as plain data: a list of
``[key, version, [write ids, sorted]]`` sorted by key and version.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from typing import Any

from replicalab.exercises.oracles import Oracle
from replicalab.reconcile import find_version_forks
from replicalab.sim.rng import choice
from replicalab.trace import AnyEvent, Event

__all__ = ["ORACLE", "as_events", "from_trace"]

Record = dict[str, Any]

REGIONS = ("ap-southeast-2", "eu-west-1", "us-east-1")
KEYS = ("sub_42", "sub_7", "sub_108", "quota-0", "quota-1", "cart-9")
REAL_RUNS = 0.125


def as_events(writes: list[Record]) -> list[Event]:
    """The log as the ``Wrote`` events the regions' replicas record (what the scan reads)."""
    events = []
    for n, record in enumerate(writes):
        version = record.get("version")
        data = {"write": record["write"], "key": record["key"],
                "attributes": {} if version is None else {"version": version}}
        events.append(Event(n, record.get("time", 0), "Wrote", record.get("region"), data))
    return events


def from_trace(events: Iterable[AnyEvent]) -> list[Record]:
    """A run's ``Wrote`` events as stream records (``version`` only where the write set one)."""
    records = []
    for event in events:
        if event.kind != "Wrote":
            continue
        record: Record = {"write": event.get("write"), "key": event.get("key"),
                          "region": event.replica}
        version = event.get("attributes", {}).get("version")
        if version is not None:
            record["version"] = version
        records.append(record)
    return records


def _region_id(rng: random.Random, region: str, used: set[str]) -> str:
    # Ids like the workloads' ("eu17", "ap3"): log order is not id order, and "eu17" < "eu3".
    while True:
        candidate = f"{region[:2]}{int(rng.random() * 40)}"
        if candidate not in used:
            used.add(candidate)
            return candidate


def _generated(rng: random.Random) -> list[Record]:
    keys = list(KEYS)
    chosen = [keys.pop(int(rng.random() * len(keys))) for _ in range(1 + int(rng.random() * 3))]
    used: set[str] = set()
    timed: list[tuple[int, Record]] = []
    for key in chosen:
        version = 1 + int(rng.random() * 20)
        t = int(rng.random() * 1000)
        for _ in range(1 + int(rng.random() * 4)):
            roll = rng.random()
            claims = 1 if roll < 0.65 else 2 if roll < 0.9 else 3
            regions = list(REGIONS)  # one region's conditional check stops a second claim there
            for _ in range(claims):
                region = regions.pop(int(rng.random() * len(regions)))
                record = {"write": _region_id(rng, region, used), "key": key, "region": region,
                          "version": version}
                timed.append((t + int(rng.random() * 60), record))
            t += 100 + int(rng.random() * 400)
            version += 2 if rng.random() < 0.15 else 1  # now and then a version nobody claimed
    for _ in range(int(rng.random() * 4)):  # writes that set no version: plain UpdateItem, PutItem
        region = choice(rng, REGIONS)
        record = {"write": _region_id(rng, region, used), "key": choice(rng, chosen),
                  "region": region}
        if rng.random() < 0.5:
            record["version"] = None
        timed.append((int(rng.random() * 2000), record))
    timed.sort(key=lambda pair: (pair[0], pair[1]["write"]))
    return [record for _, record in timed]


def _real(rng: random.Random) -> list[Record]:
    from replicalab.scenarios.workloads import planted

    seed = int(rng.random() * 1_000_000)
    scenario = planted(1 + int(rng.random() * 3), seed=seed, background=int(rng.random() * 4))
    result = scenario.run(seed=seed, writes="versioned")
    return from_trace(result.trace.of_kind("Wrote"))


def _generate(rng: random.Random) -> list[Record]:
    return _real(rng) if rng.random() < REAL_RUNS else _generated(rng)


def _expected(writes: list[Record]) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(f.key, f.version, f.writes) for f in find_version_forks(as_events(writes))]


def _actual(target: Any, writes: list[Record]) -> Any:
    return target(copy.deepcopy(writes))


def _code(name: str, writes: list[Record]) -> str:
    if not writes:
        return f"{name}([])"
    lines = "".join(f"        {record!r},\n" for record in writes)
    return f"{name}([\n{lines}    ])"


ORACLE = Oracle(
    generate=_generate,
    expected=_expected,
    actual=_actual,
    code=_code,
    describe="the forks as (key, version, sorted write ids), sorted by key and version",
)
