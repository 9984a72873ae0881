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
  :meth:`GlobalTable.start` sends a call without waiting for it, so several clients'
  calls can be in flight at once (a request file replays that way).
* Writes get op ids ``w1, w2, ...`` in call order, reads ``r1, ...``, queries ``q1, ...``,
  transactions ``t1, ...`` whose parts are ``t1.1, t1.2, ...`` (each part is a write in
  the ledger). Item keys in the ledger are the key attributes' values joined by ``|``.
* The key attributes, and the ``version_attribute`` when a conditional write sets it (the
  versioned pattern), are bookkeeping, not part of a write's effect.
* A region evaluates an ``UpdateExpression`` on its own copy and writes what it computed —
  except under ``merge="crdt"``, where ``ADD`` of an integer is a counter increment and
  ``ADD``/``DELETE`` of a set (SS, NS, BS) on a top-level attribute adds or removes OR-Set
  members (add-wins: a ``DELETE`` removes the members its region had seen; see
  :func:`replicalab.replica.dynamo.plan` and :class:`~replicalab.policies.CrdtMap`), so
  concurrent ``ADD`` s from two regions all count. Reads show the typed set, as DynamoDB does.
* ``mode="mrsc"`` (DynamoDB's multi-Region strong consistency; exactly three regions,
  ``merge="item-lww"``): the regions are :class:`~replicalab.replica.mrsc.MrscRegion`\\ s.
  A write returns once another region holds it (``put_item``, ``update_item``,
  ``delete_item``, ``batch_write_item`` item by item); its condition is evaluated on the
  latest commit (a region whose copy is behind gets the write refused, never judged on
  stale data). A write on an item whose latest commit this region has not received yet,
  or that races another region's write in flight, raises
  ``ReplicatedWriteConflictException`` — the AWS SDK's "one or more items in the request
  are being modified by a request in another Region"; nothing was written, and a retry
  succeeds once the regions agree. ``get_item(ConsistentRead=True)`` returns the latest
  commit, whichever region made it. Refused: ``transact_write_items``
  (``ValidationException``: MRSC tables do not support transactions), a strongly
  consistent ``query`` and :meth:`GlobalTable.expire` (not modelled; ConfigError). Two
  clients' writes race only if both are in flight: start them with
  :meth:`GlobalTable.start` (a blocking call has returned before the next is made).
* ``writes="versioned"`` is refused (ConfigError): it names the scenarios' built-in
  versioned client, which reads, then writes with a condition for you. With a
  GlobalTable you write that request yourself — ``ConditionExpression="#v = :expected"``
  with ``SET #v = :next`` — so the condition is yours to see and change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from replicalab import _validate
from replicalab.dynamodb.cells import to_cells
from replicalab.dynamodb.client import Client, answer, sort_value
from replicalab.dynamodb.exceptions import (
    ConditionalCheckFailedException,
    DynamoDBError,
    ProvisionedThroughputExceededException,
    ValidationException,
)
from replicalab.dynamodb.table import Table
from replicalab.dynamodb.values import Value, from_item, item_size, number_text, to_item
from replicalab.errors import ConfigError
from replicalab.items import format_wall
from replicalab.replica.base import Request, Response
from replicalab.replica.capacity import TokenBucket, read_units
from replicalab.replica.dynamo import ConditionFailed, DynamoGet, plan, resolved
from replicalab.scenarios.result import Result
from replicalab.scenarios.world import ClientRead, TableScenario
from replicalab.sim.network import Latency, Uniform
from replicalab.sim.simulation import Reply, Simulation

__all__ = ["DEFAULT_LATENCY", "DEFAULT_REGIONS", "Call", "GlobalTable", "parse_time"]

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
#: How long (simulated ms) a client waits for an answer before it gives up, as an SDK's read
#: timeout does: its region crashed with the request in hand, or the request or its answer
#: was lost. The call raises ServiceUnavailableException; whether it took effect is unknown.
CLIENT_TIMEOUT = 10_000

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
    ``primary``, ``retries``, ``durable``, ``replicas_per_region``, ``region_protocol``,
    ``n``, ``r``, ``w``, ``sloppy`` (a leaderless region's quorums), ``az_outages`` and
    ``az_partitions`` (regions of AZ nodes, :mod:`replicalab.scenarios.regions`); ``faults``
    (the simulator's fault values);
    ``items`` the table holds before the run, in DynamoDB JSON; ``epoch`` the time of day at
    simulated time 0 (ms or ``"HH:MM:SS.mmm"``); ``latency`` per region pair;
    ``version_attribute`` the attribute of the versioned pattern; ``ttl_attribute`` the
    attribute holding an item's expiry (Unix epoch seconds, see :meth:`expire`) and ``date``
    the day (``YYYY-MM-DD``) the simulated clock runs on.

    Capacity: on-demand (``capacity=None``, the default) never throttles. Provisioned,
    ``capacity={"write": WCUs, "read": RCUs, "burst_seconds": 1}`` (``read`` optional:
    without it reads are not metered): each region has a token bucket per kind
    (:class:`~replicalab.replica.capacity.TokenBucket`: ``write`` or ``read`` units per
    simulated second, holding at most ``burst_seconds`` seconds' worth, starting full).

    * A client write costs 1 KB units of the larger of the item before and after, at least
      1; twice that in a transaction; charged even when the condition fails.
    * A replicated write costs the *receiving* region 1 KB units of the item, from the
      same write bucket (DynamoDB's replicated WCUs), paid when it is sent. It is never
      refused or dropped: when the receiver's bucket is short the item waits at the sender
      (a ``ReplicationThrottled`` event), in order, and is sent once the bucket can pay —
      so an under-provisioned region lags, then catches up. (It waits before sending, not
      inside the receiver, so what a region has received is what it has applied.) Under
      ``mode="mrsc"`` the synchronous protocol's messages are not metered.
    * ``get_item`` costs 4 KB units of the item read (at least 1): half a unit each when
      eventually consistent, a whole unit when ``ConsistentRead``; ``query`` the same on
      the summed size of the items it returns. (Transactional reads, two units per 4 KB,
      have no API here: TransactGetItems is not modelled.)
    * A client request the bucket cannot pay for raises
      ``ProvisionedThroughputExceededException`` at once, the request never reaching the
      region (so not in the ledger: the client knows). ``batch_write_item`` returns the
      throttled items in ``UnprocessedItems`` instead.

    Not modelled: adaptive and burst capacity beyond ``burst_seconds``, per-partition
    limits, boto3's automatic retries.
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
            raise ConfigError(
                "writes= is the scenarios' built-in versioned client; with a GlobalTable write "
                "the condition yourself: update_item(..., UpdateExpression='SET #v = :next, ...', "
                "ConditionExpression='#v = :expected') and retry on ConditionalCheckFailedException "
                "(tutorial chapter 13, the london-versioned request file)")
        _validate.name(version_attribute, "version_attribute")
        self.version_attribute = version_attribute
        if ttl_attribute is not None:
            _validate.name(ttl_attribute, "ttl_attribute")
        self.ttl_attribute = ttl_attribute
        self._day = _days_since_1970(date)
        self._capacity = _capacity(capacity)
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
        #: Provisioned capacity per region (empty: on-demand), shared by the client side and
        #: the region's own replication (write).
        self.write_capacity: dict[str, TokenBucket] = {}
        self.read_capacity: dict[str, TokenBucket] = {}
        if self._capacity is not None and self._clients.router is not None:
            raise ConfigError("provisioned capacity is not modelled with AZ nodes "
                              "(replicas_per_region > 1); use on-demand (capacity=None)")
        if self._capacity is not None:
            burst = self._capacity["burst_seconds"]
            for region in regions:
                self.write_capacity[region] = TokenBucket(self._capacity["write"], burst)
                if "read" in self._capacity:
                    self.read_capacity[region] = TokenBucket(self._capacity["read"], burst)
            for region in regions:
                # What a region replicates to a peer waits for that peer's write capacity.
                self._sim.replicas[region].peer_capacity = {  # type: ignore[attr-defined]
                    peer: bucket for peer, bucket in self.write_capacity.items() if peer != region}
        self._counters: dict[str, int] = {}
        self._requests = 0
        #: Requests sent and not yet answered: op -> (sent at, who gets the answer).
        self._pending: dict[str, tuple[int, Callable[[Response], None]]] = {}
        self._reads: list[ClientRead] = []
        #: The op ids of the requests sent so far, in order (a transaction's parts after it).
        self.sent: list[str] = []
        #: Every request that reached the simulation, in order, as ``(time sent, client name,
        #: client region, request, writing, response)``: what :mod:`replicalab.explore` replays.
        self.calls: list[tuple[int, str, str, Request, bool, Response]] = []

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
        """A boto3-shaped client in ``region``, named ``name`` (default ``app``); the ledger
        shows it as ``name@region``."""
        if region not in self.scenario.regions:
            raise ConfigError(f"unknown region {_validate.shown(region)}; regions are "
                              f"{list(self.scenario.regions)}")
        name = "app" if name is None else name
        _validate.replica_id(name, "client name")
        return Client(self, region, name)

    def at(self, when: int | str) -> None:
        """Run the simulation up to ``when`` (ms since the epoch, or a time of day)."""
        target = parse_time(when, self.scenario.epoch)
        if target < self._sim.now:
            raise ConfigError(f"time cannot go back: it is already {self.clock} (t={self.now}), "
                              f"asked for {_validate.shown(when)} (t={target})")
        self._run_to(target)

    def expire(self, region: str) -> tuple[str, ...]:
        """Run ``region``'s TTL process now; return the op ids of the deletes it issued.

        Every item ``region`` holds whose ``ttl_attribute`` is a Number of Unix epoch seconds
        not after the region's own wall clock (skew included; the day is ``date``) gets a
        system DeleteItem from client ``dynamodb-ttl@<region>``, conditional on the item still
        being expired in that region when it runs (a write that extended it there wins). The
        delete is an ordinary write: it replicates as tombstones and races concurrent writes
        in other regions under the merge policy, and the ledger judges it like any other.
        Refused (:class:`ConfigError`, nothing sent) on an MRSC table and with
        ``region_protocol="leaderless"`` (no conditional writes there).
        """
        if self.ttl_attribute is None:
            raise ConfigError("this table has no TTL: give GlobalTable(..., ttl_attribute='expires_at')")
        if self.options.mode == "mrsc":
            raise ConfigError("TTL expiry is not modelled on an MRSC table (DynamoDB's MRSC "
                              "tables did not support TTL at launch); use mode='mrec'")
        if self.options.region_protocol == "leaderless":
            # Expiry deletes each item under the condition that it is still expired, and a
            # leaderless region refuses conditional writes: refuse the call before any delete.
            raise ConfigError("TTL expiry deletes under a condition, which a leaderless region "
                              "refuses; use region_protocol='leader' for a table with TTL")
        if region not in self.scenario.regions:
            raise ConfigError(f"unknown region {_validate.shown(region)}; regions are "
                              f"{list(self.scenario.regions)}")
        wall = self.scenario.epoch + self._sim.now + self.options.skew.get(region, 0)
        now = self._day * 86_400 + wall // 1000
        client = Client(self, region, f"dynamodb-ttl@{region}")
        replica = self._held(region)
        before = len(self.sent)
        for key in sorted(replica.items):
            view = resolved(replica.items[key])
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
        self._run_to(None)
        scenario = attrs.evolve(self.scenario, reads=tuple(self._reads))
        self._clients.scenario = scenario
        # The reads sent so far become the scenario's, so the Result counts them.
        return attrs.evolve(self._prepared, scenario=scenario,
                            initial=dict(self._prepared.initial)).result()

    def items(self, region: str) -> dict[str, Any]:
        """The items ``region`` holds now, as plain data (``{key: attributes}``)."""
        if region not in self.scenario.regions:
            raise ConfigError(f"unknown region {_validate.shown(region)}")
        replica = self._held(region)
        return {k: item.to_plain() for k, item in sorted(replica.items.items())}

    def _held(self, region: str) -> Any:
        """The replica whose items are ``region``'s: the region itself, or — with AZ nodes
        (``replicas_per_region``) — its live node that has applied the most of the region's log,
        or, in a leaderless region, each key's item merged over its live home nodes."""
        router = self._clients.router
        return self._sim.replicas[region] if router is None else router.freshest(region)

    # -- used by the clients

    def _next(self, kind: str) -> str:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return f"{kind}{self._counters[kind]}"

    def _unissue(self, op: str) -> None:
        """Take back op id ``op`` (the latest of its kind): its request was never sent."""
        kind = op.rstrip("0123456789")
        if self._counters.get(kind) and f"{kind}{self._counters[kind]}" == op:
            self._counters[kind] -= 1

    def _key_name(self, key: tuple[Any, ...]) -> str:
        """The item key the regions and the ledger use: the key values joined by ``|``."""
        return "|".join(_key_text(v).replace("\\", "\\\\").replace("|", "\\|") for v in key)

    def _units(self, region: str, request: Any) -> int:
        """Write capacity units ``request`` consumes at ``region``: per item, 1 KB units of the
        larger of the item before and after (at least 1), twice that inside a transaction; a
        write whose condition fails is charged too (DynamoDB charges it)."""
        items = self._held(region).items
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

    def _charge(self, bucket: TokenBucket, milli: int) -> None:
        """Take ``milli`` milli-units from ``bucket``, or raise the throttling error."""
        if not bucket.take(self._sim.now, milli):
            raise ProvisionedThroughputExceededException(
                "The level of configured provisioned throughput for the table was exceeded. "
                "Consider increasing your provisioning level with the UpdateTable API.")

    def _read_cost(self, region: str, request: Any) -> int:
        """Milli-RCUs a GetItem costs at ``region``: 4 KB units of the item as stored there."""
        view = resolved(self._held(region).items.get(request.key))
        size = item_size({**view, **request.key_item}) if view is not None else 0
        return read_units(size, request.consistent)

    def _charge_query(self, region: str, items: list[dict[str, Value]], consistent: bool) -> None:
        """Charge a Query at ``region`` for the items it will return (their summed size)."""
        bucket = self.read_capacity.get(region)
        if bucket is not None:
            self._charge(bucket, read_units(sum(item_size(i) for i in items), consistent))

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

    def start(self, client: Client, operation: str, request: Mapping[str, Any],
              on_done: Callable[[Call], None] | None = None) -> Call:
        """Start ``client.<operation>(**request)`` now without waiting for it: return its
        :class:`Call`, which holds the response (or the boto3 error) once the simulation has
        run far enough (:meth:`at`, :meth:`settle`). ``on_done(call)`` runs then.

        Several clients' calls can be in flight at once, as in the scenarios: under
        ``mode="mrsc"`` two of them may then race and one gets
        ``ReplicatedWriteConflictException``. A blocking call (``client.put_item(...)``)
        is ``start`` followed by running until it is done. A request that is invalid is
        refused at once (the call is done before this returns).
        """
        if not isinstance(client, Client) or client._table is not self:
            raise ConfigError(f"start takes a client of this table (table.client(region)), got "
                              f"{_validate.shown(client)}")
        if not isinstance(request, Mapping):
            raise ConfigError(f"request must be a mapping of the operation's parameters, got "
                              f"{_validate.shown(request)}")
        method = getattr(type(client), operation, None) if isinstance(operation, str) else None
        steps = getattr(method, "steps", None)
        if steps is None:
            raise ConfigError(f"unknown operation {_validate.shown(operation)}; operations: "
                              f"{', '.join(OPERATION_NAMES)}")
        call = Call(client, operation, self._sim.now, on_done)
        self._advance(call, steps(client, **request), None, None)
        return call

    def _advance(self, call: Call, steps: Any, result: Any, error: DynamoDBError | None) -> None:
        """Feed ``steps`` its last answer and send its next request (or finish the call)."""
        while True:
            try:
                step = steps.throw(error) if error is not None else (
                    next(steps) if result is None else steps.send(result))
            except StopIteration as done:
                call._finish(done.value, None)
                return
            except DynamoDBError as failed:
                call._finish(None, failed)
                return
            request, on_failure, writing = step

            def answered(response: Response, on_failure: Any = on_failure) -> None:
                try:
                    answer_ = answer(response, on_failure)
                except DynamoDBError as failed:
                    self._advance(call, steps, None, failed)
                else:
                    self._advance(call, steps, answer_, None)

            try:
                self._begin(call.client, request, writing, answered)
            except DynamoDBError as throttled:  # refused before it was sent
                result, error = None, throttled
                continue
            call.ops.append(request.op)
            call.ops.extend(part.op for part in getattr(request, "parts", ()))
            return

    def _call(self, client: Client, request: Request, writing: bool) -> Response:
        """Send ``request`` from ``client`` now and run the simulation until its reply."""
        box: list[Response] = []
        self._begin(client, request, writing, box.append)
        while not box:  # event by event: the call returns when its answer arrives
            deadline = self._deadline()
            heap = self._sim._heap
            if deadline is not None and (not heap or heap[0][0] > deadline):
                self._sim.run(until=deadline)
                self._give_up(final=False)
            else:
                self._sim.run(events=1)
        return box[0]

    def _deadline(self) -> int | None:
        """When the longest-waiting call's client gives up, if any call is waiting."""
        if not self._pending:
            return None
        return min(sent for sent, _ in self._pending.values()) + CLIENT_TIMEOUT

    def _run_to(self, target: int | None) -> None:
        """Run to ``target`` (None: until nothing is left). While calls wait, event by event,
        so that each waiting call's client gives up at its deadline and not a moment later;
        with none waiting, in one go (nothing can then start a request)."""
        while (deadline := self._deadline()) is not None:
            heap = self._sim._heap
            if heap and heap[0][0] <= (deadline if target is None else min(deadline, target)):
                self._sim.run(events=1)
            elif target is not None and deadline > target:
                break
            else:
                self._sim.run(until=deadline)
                self._give_up(final=False)
        if target is None:
            self._sim.run_until_quiescent()
        else:
            self._sim.run(until=target)

    def _give_up(self, final: bool, only: str | None = None) -> None:
        """Answer the calls still waiting — all of them (``final``: nothing else can answer
        them) or those waiting ``CLIENT_TIMEOUT`` ms — with the client's own time-out."""
        now = self._sim.now
        for op in [op for op in sorted(self._pending) if only in (None, op)]:
            sent, deliver = self._pending[op]
            if final or now - sent >= CLIENT_TIMEOUT:
                del self._pending[op]
                deliver(Response(op, ok=False, error="RequestTimedOut", message=(
                    f"no answer after {now - sent} ms (the region crashed with the request in "
                    f"hand, or the request or its answer was lost): whether it took effect is "
                    f"unknown")))

    def _begin(self, client: Client, request: Request, writing: bool,
               on_response: Callable[[Response], None]) -> None:
        """Send ``request`` from ``client`` now; ``on_response`` gets the region's answer."""
        if self._requests >= MAX_REQUESTS:
            raise ConfigError(f"a GlobalTable takes at most {MAX_REQUESTS} requests")
        key = getattr(request, "key", None)
        if key is None and hasattr(request, "parts"):
            key = request.parts[0].key
        target = self._clients.target(key, client.region, writing) if key is not None else client.region
        try:
            if writing and target in self.write_capacity:
                self._charge(self.write_capacity[target], 1000 * self._units(target, request))
            elif isinstance(request, DynamoGet) and target in self.read_capacity:
                self._charge(self.read_capacity[target], self._read_cost(target, request))
        except ProvisionedThroughputExceededException:
            self._unissue(request.op)  # a throttled call changes nothing, its op id included
            raise
        self._requests += 1
        self.sent.append(request.op)
        self.sent.extend(part.op for part in getattr(request, "parts", ()))
        if isinstance(request, DynamoGet):
            # A strong read is judged for staleness as the scenarios judge theirs.
            self._reads.append(ClientRead(self._sim.now, client.region, request.op, client.name,
                                          request.key, consistent=request.consistent))

        def answered(sim: Simulation, reply: Reply) -> None:
            if self._pending.pop(request.op, None) is None:
                return  # its client gave up waiting (CLIENT_TIMEOUT) and was told so
            if isinstance(request, DynamoGet):
                self._clients.read_replies[request.op] = reply
                where = client.region if self._clients.router is None else reply.replica
                self._clients.read_knowledge[request.op] = sim.knowledge(where, request.key)
            finish(reply.response)

        sent_at = self._sim.now

        def finish(response: Response) -> None:
            # What each call was told, kept for the explorer (explore.scenario(table)).
            self.calls.append((sent_at, client.name, client.region, request, writing, response))
            on_response(response)

        self._pending[request.op] = (sent_at, finish)
        self._clients.send(sent_at, target, key, request, client.name, client.region, answered)


#: The operations :meth:`GlobalTable.start` runs (a client's boto3 method names).
OPERATION_NAMES = ("put_item", "update_item", "delete_item", "get_item", "query",
                   "transact_write_items", "batch_write_item")


class Call:
    """One operation started by :meth:`GlobalTable.start`: ``done`` once answered, then
    ``response`` (boto3's response dict) or ``error`` (the boto3 exception it raised).
    ``ops`` are the op ids of what it sent; ``started`` the simulated ms it began."""

    def __init__(self, client: Client, operation: str, started: int,
                 on_done: Callable[[Call], None] | None) -> None:
        self.client, self.operation, self.started = client, operation, started
        self.ops: list[str] = []
        self.done = False
        self.response: dict[str, Any] | None = None
        self.error: DynamoDBError | None = None
        self._on_done = on_done

    def __repr__(self) -> str:
        state = ("error " + self.error.code if self.error is not None else "ok") if self.done else "in flight"
        return f"<Call {self.operation} by {self.client.name} at t={self.started}: {state}>"

    def _finish(self, response: dict[str, Any] | None, error: DynamoDBError | None) -> None:
        self.done, self.response, self.error = True, response, error
        if self._on_done is not None:
            self._on_done(self)


def _capacity(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or "write" not in value or \
            set(value) - {"write", "read", "burst_seconds"}:
        raise ConfigError(f"capacity must be None (on-demand) or {{'write': WCUs, 'read': RCUs, "
                          f"'burst_seconds': n}} ('read' optional), got {_validate.shown(value)}")
    out = {"write": value["write"], "burst_seconds": value.get("burst_seconds", 1)}
    if "read" in value:
        out["read"] = value["read"]
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
