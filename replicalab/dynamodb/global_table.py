"""A simulated DynamoDB global table that runs your own requests: :class:`GlobalTable`.

    >>> from replicalab.dynamodb import GlobalTable
    >>> table = GlobalTable("subscribers", key=("subscriber_id",), merge="item-lww", seed=0,
    ...                     items=[{"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}}])
    >>> eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "retention-job")
    >>> table.at("00:00:00.140")
    >>> _ = eu.update_item(TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}},
    ...                    UpdateExpression="SET delivery_address = :a",
    ...                    ExpressionAttributeValues={":a": {"S": "12 High Street, London"}})
    >>> table.at(189)
    >>> _ = us.update_item(TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}},
    ...                    UpdateExpression="SET last_contacted = :t",
    ...                    ExpressionAttributeValues={":t": {"S": "2026-12-22T14:07:12.189Z"}})
    >>> result = table.settle()
    >>> result.ledger.verdicts()
    {'w1': 'silently-lost', 'w2': 'kept'}

The table is the scenarios' world (:class:`~replicalab.scenarios.world.TableScenario`): the
same regions (:class:`~replicalab.replica.table.TableReplica`), the same seeded simulator,
the same options (``merge``, ``mode``, ``routing``, ``stamps``, ``skew``, ``homes``,
``primary``, ``faults``), and :meth:`GlobalTable.settle` returns the same
:class:`~replicalab.scenarios.result.Result` as ``scenarios.run`` — ledger, timeline,
``to_svg``, ``to_json``. Only the client side differs: instead of a schedule of
``ClientWrite``\\ s, your requests, one call at a time, at the simulated time you set with
:meth:`GlobalTable.at`.

Contract:

* Time is simulated milliseconds since ``epoch`` (a time of day in ms, default 0).
  ``at("14:07:12.140")`` takes a time of day, ``at(140)`` milliseconds since the epoch; it
  runs the simulation (replication, faults) up to that time. Time never goes back.
* A call returns when its reply reaches the client: at once when the client's own region
  serves it, after a round trip when it goes elsewhere (``routing="key-home"``,
  ``mode="single-primary"``); then ``table.now`` has moved on.
* Writes get op ids ``w1, w2, ...`` in call order, reads ``r1, ...``, queries ``q1, ...``,
  transactions ``t1, ...`` whose parts are ``t1.1, t1.2, ...`` (each part is a write in
  the ledger). Item keys in the ledger are the key attributes' values joined by ``|``.
* The key attributes, and the ``version_attribute`` when a conditional write sets it (the
  versioned pattern), are bookkeeping, not part of a write's effect.
* Not supported here: ``mode="mrsc"`` (its regions take the scenarios' own requests only)
  and ``writes="versioned"`` (the scenarios' built-in versioned client: write your own
  condition instead). Both raise ConfigError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from replicalab import _validate
from replicalab.dynamodb.cells import to_cells
from replicalab.dynamodb.client import Client, sort_value
from replicalab.dynamodb.exceptions import (
    ConditionalCheckFailedException,
    ProvisionedThroughputExceededException,
    ValidationException,
)
from replicalab.dynamodb.table import Table
from replicalab.dynamodb.values import Value, from_item, item_size, number_text, to_item
from replicalab.errors import ConfigError
from replicalab.items import format_wall
from replicalab.replica.base import Request, Response
from replicalab.replica.dynamo import ConditionFailed, DynamoGet, plan, resolved
from replicalab.scenarios.result import Result
from replicalab.scenarios.world import ClientRead, TableScenario
from replicalab.sim.network import Latency, Uniform
from replicalab.sim.simulation import Reply, Simulation

__all__ = ["DEFAULT_LATENCY", "DEFAULT_REGIONS", "GlobalTable", "parse_time"]

DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
#: One-way latencies between the default regions (as in the London scenario); any other
#: pair of regions gets ``Uniform(70, 80)``.
DEFAULT_LATENCY: dict[tuple[str, str], Latency] = {
    ("eu-west-1", "us-east-1"): Uniform(70, 80),
    ("ap-southeast-2", "us-east-1"): Uniform(95, 105),
    ("ap-southeast-2", "eu-west-1"): Uniform(130, 145),
}
#: The most items a table may start with, and the most requests one table takes (caps, so
#: that an untrusted request file cannot make a run without end).
MAX_ITEMS = 10_000
MAX_REQUESTS = 10_000

_CLOCK = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?$")
_DAY = 24 * 60 * 60 * 1000


def parse_time(when: Any, epoch: int = 0) -> int:
    """Simulated ms for ``when``: an int (ms since the epoch) or a time of day ``HH:MM:SS[.mmm]``.

        >>> parse_time("14:07:12.189", epoch=parse_time("14:07:12.000"))
        189
    """
    if type(when) is int:
        if when < 0:
            raise ConfigError(f"a time must be >= 0 ms, got {when}")
        return when
    if isinstance(when, str):
        match = _CLOCK.match(when)
        if match:
            h, m, s, ms = (int(g) if g else 0 for g in match.groups())
            if h < 24 and m < 60 and s < 60:
                at = ((h * 60 + m) * 60 + s) * 1000 + ms
                if at < epoch:
                    raise ConfigError(f"time {when} is before the table's epoch {format_wall(epoch)}")
                return at - epoch
    raise ConfigError(f"a time is an integer number of ms or a time of day 'HH:MM:SS.mmm', "
                      f"got {_validate.shown(when)}")


class GlobalTable:
    """A DynamoDB global table in simulation, driven by boto3-shaped clients (module docs).

    Arguments: ``name`` and ``key`` (the key schema: ``(hash,)`` or ``(hash, range)``;
    ``key_types`` maps key attributes to S, N or B, default S); ``regions``; ``merge`` and
    ``seed`` and the scenario options ``mode``, ``routing``, ``stamps``, ``skew``, ``homes``,
    ``primary``, ``retries``, ``durable``; ``faults`` (the simulator's fault values);
    ``items`` the table holds before the run, in DynamoDB JSON; ``epoch`` the time of day at
    simulated time 0 (ms or ``"HH:MM:SS.mmm"``); ``latency`` per region pair;
    ``version_attribute`` the attribute of the versioned pattern; ``ttl_attribute`` the
    attribute holding an item's expiry (Unix epoch seconds, see :meth:`expire`) and ``date``
    the day (``YYYY-MM-DD``) the simulated clock runs on.

    Capacity: on-demand (``capacity=None``, the default) never throttles. Provisioned,
    ``capacity={"write": WCUs, "burst_seconds": 1}``: each region meters the client writes
    it serves (a token bucket of ``write`` WCUs per simulated second holding at most
    ``burst_seconds`` seconds' worth; 1 KB units of the larger of the item before and after,
    at least 1; twice that in a transaction; charged even when the condition fails) and
    refuses a write it has no units for with ``ProvisionedThroughputExceededException`` —
    raised to the caller at once, the request never reaching the region (so not in the
    ledger: the client knows). ``batch_write_item`` returns the throttled items in
    ``UnprocessedItems`` instead. Not modelled: replicated writes consuming the receiving
    region's capacity, reads (RCUs), adaptive capacity, boto3's automatic retries.
    """

    def __init__(self, name: str, key: tuple[str, ...] = ("pk",),
                 regions: Iterable[str] = DEFAULT_REGIONS, merge: Any = "item-lww", seed: int = 0,
                 *, key_types: Mapping[str, str] | None = None, items: Iterable[Any] = (),
                 epoch: int | str = 0, latency: Mapping[tuple[str, str], Latency] | None = None,
                 faults: Iterable[Any] = (), version_attribute: str = "version",
                 ttl_attribute: str | None = None, date: str = "2026-12-22",
                 capacity: Mapping[str, int] | None = None, **options: Any) -> None:
        if isinstance(key, list):
            key = tuple(key)
        self._schema = Table(name, key=key, key_types=key_types)
        if isinstance(regions, (str, bytes)) or not hasattr(regions, "__iter__"):
            raise ConfigError(f"regions must be a list of region names, got {_validate.shown(regions)}")
        regions = tuple(regions)
        for region in regions:
            _validate.replica_id(region, "region")
        if len(set(regions)) != len(regions) or not regions:
            raise ConfigError(f"regions must be distinct and at least one, got {list(regions)}")
        if "writes" in options:
            raise ConfigError("writes= is the scenarios' built-in versioned client; with a "
                              "GlobalTable write the ConditionExpression yourself")
        if options.get("mode") == "mrsc":
            raise ConfigError("mode='mrsc' is not supported by GlobalTable yet: its regions take "
                              "the scenarios' requests only; use scenarios.run(..., mode='mrsc')")
        _validate.name(version_attribute, "version_attribute")
        self.version_attribute = version_attribute
        if ttl_attribute is not None:
            _validate.name(ttl_attribute, "ttl_attribute")
        self.ttl_attribute = ttl_attribute
        self._day = _days_since_1970(date)
        self._capacity = _capacity(capacity)
        self._buckets: dict[str, tuple[int, int]] = {}
        epoch_ms = parse_time(epoch) if isinstance(epoch, str) else epoch
        if type(epoch_ms) is not int or not 0 <= epoch_ms < _DAY:
            raise ConfigError(f"epoch must be a time of day (ms or 'HH:MM:SS.mmm'), got {_validate.shown(epoch)}")
        if latency is None:
            latency = {pair: lat for pair, lat in DEFAULT_LATENCY.items()
                       if pair[0] in regions and pair[1] in regions}
            for i, a in enumerate(sorted(regions)):
                for b in sorted(regions)[i + 1:]:
                    if (a, b) not in latency and (b, a) not in latency:
                        latency[(a, b)] = Uniform(70, 80)
        initial: dict[str, dict[str, Any]] = {}
        listed = list(items)
        if len(listed) > MAX_ITEMS:
            raise ConfigError(f"a table starts with at most {MAX_ITEMS} items, got {len(listed)}")
        for index, raw in enumerate(listed):
            item = to_item(raw, f"items[{index}]")
            key_name = self._key_name(self._schema._key_of(item, "item"))
            if key_name in initial:
                raise ConfigError(f"items[{index}] has the same key as an earlier item: {key_name}")
            initial[key_name] = to_cells(item)
        self.scenario = TableScenario(
            name=name, description=f"global table {name}", regions=regions,
            latency=dict(latency), initial=initial, workload=(), epoch=epoch_ms,
            faults=tuple(faults))
        # The scenario has no workload: prepare() builds the regions, clients and faults only.
        self._prepared = prepared = self.scenario.prepare(merge, seed, **options)
        self._sim, self.options, self._clients = prepared.sim, prepared.opts, prepared.clients
        self._counters: dict[str, int] = {}
        self._requests = 0
        self._reads: list[ClientRead] = []
        #: The op ids of the requests sent so far, in order (a transaction's parts after it).
        self.sent: list[str] = []

    def __repr__(self) -> str:
        return (f"GlobalTable({self._schema.name!r}, key={self._schema.key!r}, "
                f"regions={list(self.scenario.regions)!r}, merge={self.options.merge!r}, "
                f"seed={self.options.seed}) at t={self.now}")

    @property
    def name(self) -> str:
        return self._schema.name

    @property
    def key(self) -> tuple[str, ...]:
        return self._schema.key

    @property
    def now(self) -> int:
        """Simulated time, ms since the epoch."""
        return self._sim.now

    @property
    def clock(self) -> str:
        """The time of day now, ``HH:MM:SS.mmm``."""
        return format_wall(self.scenario.epoch + self._sim.now)

    def client(self, region: str, name: str | None = None) -> Client:
        """A boto3-shaped client in ``region``, named ``name`` in the ledger (default
        ``app@<region>``)."""
        if region not in self.scenario.regions:
            raise ConfigError(f"unknown region {_validate.shown(region)}; regions are "
                              f"{list(self.scenario.regions)}")
        name = f"app@{region}" if name is None else name
        _validate.replica_id(name, "client name")
        return Client(self, region, name)

    def at(self, when: int | str) -> None:
        """Run the simulation up to ``when`` (ms since the epoch, or a time of day)."""
        target = parse_time(when, self.scenario.epoch)
        if target < self._sim.now:
            raise ConfigError(f"time cannot go back: it is already {self.clock} (t={self.now}), "
                              f"asked for {_validate.shown(when)} (t={target})")
        self._sim.run(until=target)

    def expire(self, region: str) -> tuple[str, ...]:
        """Run ``region``'s TTL process now; return the op ids of the deletes it issued.

        Every item ``region`` holds whose ``ttl_attribute`` is a Number of Unix epoch seconds
        not after the region's own wall clock (skew included; the day is ``date``) gets a
        system DeleteItem from client ``dynamodb-ttl@<region>``, conditional on the item still
        being expired in that region when it runs (a write that extended it there wins). The
        delete is an ordinary write: it replicates as tombstones and races concurrent writes
        in other regions under the merge policy, and the ledger judges it like any other.
        """
        if self.ttl_attribute is None:
            raise ConfigError("this table has no TTL: give GlobalTable(..., ttl_attribute='expires_at')")
        if region not in self.scenario.regions:
            raise ConfigError(f"unknown region {_validate.shown(region)}; regions are "
                              f"{list(self.scenario.regions)}")
        wall = self.scenario.epoch + self._sim.now + self.options.skew.get(region, 0)
        now = self._day * 86_400 + wall // 1000
        client = Client(self, region, f"dynamodb-ttl@{region}")
        replica = self._sim.replicas[region]
        before = len(self.sent)
        for key in sorted(replica.items):  # type: ignore[attr-defined]
            view = resolved(replica.items[key])  # type: ignore[attr-defined]
            expiry = view.get(self.ttl_attribute) if view is not None else None
            if not isinstance(expiry, Decimal) or expiry > now:
                continue
            try:
                client.delete_item(TableName=self.name, Key=from_item(self._key_values(key)),
                                   ConditionExpression="#ttl <= :now",
                                   ExpressionAttributeNames={"#ttl": self.ttl_attribute},
                                   ExpressionAttributeValues={":now": {"N": str(now)}})
            except ConditionalCheckFailedException:
                pass  # extended in this region meanwhile: not expired any more
        return tuple(self.sent[before:])

    def settle(self) -> Result:
        """Run until nothing is in flight and return the run's Result (ledger, pictures)."""
        self._sim.run_until_quiescent()
        scenario = attrs.evolve(self.scenario, reads=tuple(self._reads))
        self._clients.scenario = scenario
        # The reads sent so far become the scenario's, so the Result counts them.
        return attrs.evolve(self._prepared, scenario=scenario,
                            initial=dict(self._prepared.initial)).result()

    def items(self, region: str) -> dict[str, Any]:
        """The items ``region`` holds now, as plain data (``{key: attributes}``)."""
        if region not in self.scenario.regions:
            raise ConfigError(f"unknown region {_validate.shown(region)}")
        replica = self._sim.replicas[region]
        return {k: item.to_plain() for k, item in sorted(replica.items.items())}  # type: ignore[attr-defined]

    # -- used by the clients

    def _next(self, kind: str) -> str:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return f"{kind}{self._counters[kind]}"

    def _key_name(self, key: tuple[Any, ...]) -> str:
        """The item key the regions and the ledger use: the key values joined by ``|``."""
        return "|".join(_key_text(v).replace("\\", "\\\\").replace("|", "\\|") for v in key)

    def _units(self, region: str, request: Any) -> int:
        """Write capacity units ``request`` consumes at ``region``: per item, 1 KB units of the
        larger of the item before and after (at least 1), twice that inside a transaction; a
        write whose condition fails is charged too (DynamoDB charges it)."""
        items = self._sim.replicas[region].items  # type: ignore[attr-defined]
        parts = getattr(request, "parts", None)
        total = 0
        for part in parts if parts is not None else (request,):
            item = items.get(part.key)
            old = resolved(item)
            try:
                planned = plan(item, part)
                new = planned.new if planned is not None else None
            except (ConditionFailed, ValidationException):
                new = None
            size = max(item_size(old or {}), item_size(new or {}))
            units = max(1, -(-size // 1024))
            total += 2 * units if parts is not None else units
        return total

    def _charge(self, region: str, units: int) -> None:
        """Take ``units`` WCUs from ``region``'s bucket, or raise the throttling error.

        A token bucket per region, in milli-WCUs: it refills at ``write`` WCUs per simulated
        second up to ``burst_seconds`` seconds' worth, and starts full.
        """
        assert self._capacity is not None
        rate, size = self._capacity["write"], self._capacity["write"] * 1000 * self._capacity["burst_seconds"]
        tokens, last = self._buckets.get(region, (size, self._sim.now))
        tokens = min(size, tokens + (self._sim.now - last) * rate)
        if tokens < units * 1000:
            self._buckets[region] = (tokens, self._sim.now)
            raise ProvisionedThroughputExceededException(
                "The level of configured provisioned throughput for the table was exceeded. "
                "Consider increasing your provisioning level with the UpdateTable API.")
        self._buckets[region] = (tokens - units * 1000, self._sim.now)

    def _key_values(self, name: str) -> dict[str, Value]:
        """The key attributes of item key ``name`` (the inverse of :meth:`_key_name`)."""
        parts, current, escaped = [], "", False
        for char in name:
            if escaped:
                current, escaped = current + char, False
            elif char == "\\":
                escaped = True
            elif char == "|":
                parts.append(current)
                current = ""
            else:
                current += char
        parts.append(current)
        out: dict[str, Value] = {}
        for attribute, text in zip(self._schema.key, parts, strict=True):
            kind = self._schema.key_types[attribute]
            out[attribute] = (Decimal(text) if kind == "N" else bytes.fromhex(text) if kind == "B"
                              else text)
        return out

    def _order(self, item: Mapping[str, Value]) -> tuple[Any, ...]:
        return tuple(sort_value(item[k]) for k in self._schema.key[1:])

    def _call(self, client: Client, request: Request, writing: bool) -> Response:
        """Send ``request`` from ``client`` now and run the simulation until its reply."""
        if self._requests >= MAX_REQUESTS:  # refused before anything is counted or sent
            raise ConfigError(f"a GlobalTable takes at most {MAX_REQUESTS} requests")
        self._requests += 1
        key = getattr(request, "key", None)
        if key is None and hasattr(request, "parts"):
            key = request.parts[0].key
        target = self._clients.target(key, client.region, writing) if key is not None else client.region
        if writing and self._capacity is not None:
            self._charge(target, self._units(target, request))
        self.sent.append(request.op)
        self.sent.extend(part.op for part in getattr(request, "parts", ()))
        box: list[Reply] = []
        if isinstance(request, DynamoGet):
            # A strong read is judged for staleness as the scenarios judge theirs.
            self._reads.append(ClientRead(self._sim.now, client.region, request.op, client.name,
                                          request.key, consistent=request.consistent))

        def answered(sim: Simulation, reply: Reply) -> None:
            box.append(reply)
            if isinstance(request, DynamoGet):
                self._clients.read_replies[request.op] = reply
                self._clients.read_knowledge[request.op] = sim.knowledge(client.region, request.key)

        self._sim.client_request(self._sim.now, target, request, client=client.name,
                                 via=client.region, on_reply=answered)
        while not box:
            before = self._sim.now
            self._sim.run(events=1)
            if not box and self._sim.now == before and not self._sim._heap:
                raise ConfigError(f"request {request.op} got no reply")  # cannot happen: guard
        return box[0].response


def _capacity(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or "write" not in value or set(value) - {"write", "burst_seconds"}:
        raise ConfigError(f"capacity must be None (on-demand) or {{'write': WCUs, 'burst_seconds': n}}, "
                          f"got {_validate.shown(value)}")
    out = {"write": value["write"], "burst_seconds": value.get("burst_seconds", 1)}
    for name, n in out.items():
        if type(n) is not int or not 1 <= n <= 1_000_000:
            raise ConfigError(f"capacity[{name!r}] must be an integer from 1 to 1,000,000, got {_validate.shown(n)}")
    return out


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _days_since_1970(date: Any) -> int:
    """Days from 1970-01-01 to ``date`` (``YYYY-MM-DD``, proleptic Gregorian): the civil-date
    algorithm of H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" (no clock read).

        >>> _days_since_1970("1970-01-01"), _days_since_1970("2026-12-22")
        (0, 20809)
    """
    match = _DATE.match(date) if isinstance(date, str) else None
    if match is None:
        raise ConfigError(f"date must be 'YYYY-MM-DD', got {_validate.shown(date)}")
    year, month, day = (int(g) for g in match.groups())
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    length = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (1970 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= length[month - 1]):
        raise ConfigError(f"date must be a real day from 1970 on, got {date!r}")
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _key_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return number_text(value)
    return str(value)
