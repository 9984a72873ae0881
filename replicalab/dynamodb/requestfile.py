"""Request files: your incident as data, replayed on a GlobalTable (``replicalab run FILE.json``).

A request file is JSON. Its entries are requests exactly as the AWS CLI takes them with
``--cli-input-json`` (DynamoDB JSON), each with when, where and who::

    [{"at": "14:07:12.140", "region": "eu-west-1", "client": "portal",
      "UpdateItem": {"TableName": "subscribers", "Key": {"subscriber_id": {"S": "sub_42"}},
                     "UpdateExpression": "SET delivery_address = :addr",
                     "ExpressionAttributeValues": {":addr": {"S": "12 High Street, London"}}}},
     ...]

A bare list like this runs on an empty table whose key schema is read from the entries'
``Key`` (give a ``table`` to be explicit). The object form says more::

    {"table": {"TableName": "subscribers",
               "KeySchema": [{"AttributeName": "subscriber_id", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "subscriber_id", "AttributeType": "S"}]},
     "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
     "epoch": "14:07:12.000",
     "items": [{"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}}],
     "requests": [ ...entries... ]}

``table`` is CreateTable's shape; ``epoch`` the time of day at simulated time 0 (default:
the first entry's second); ``date`` the day the clock runs on (``YYYY-MM-DD``, default
``2026-12-22``: it matters only to TTL, whose expiry times are Unix epoch seconds);
``items`` what every region holds before the run.

Entries: ``at`` (a time of day ``HH:MM:SS.mmm`` or ms since the epoch, never decreasing),
``region``, ``client`` (optional: default ``app``; the ledger shows ``client@region``) and exactly one operation:
``PutItem``, ``UpdateItem``, ``DeleteItem``, ``GetItem``, ``Query``,
``TransactWriteItems``, ``BatchWriteItem``, ``UpdateTimeToLive``, or ``ExpireItems``. Each
client (region and name) is a synchronous client: its entry whose time comes while its
previous call still waits (for a round trip: ``routing="key-home"``, ``mode="mrsc"``, ...)
runs as soon as that call returns, and its outcome says it ran late. Different clients'
calls overlap, as in the scenarios — so under ``mode="mrsc"`` two clients' writes can race,
and one gets ReplicatedWriteConflict. ``UpdateTimeToLive`` and ``ExpireItems`` take effect
at their time, without waiting for anyone's calls.

Time to live, as AWS shapes it: an ``UpdateTimeToLive`` entry (``{"TableName": ...,
"TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires_at"}}``, the
request ``aws dynamodb update-time-to-live --cli-input-json`` takes) turns TTL on for the
whole table. DynamoDB then deletes expired items in the background, in each region on its
own; a file says when: an ``ExpireItems`` entry (``{"TableName": ...}``; not an AWS API,
and no ``client``: the deletes come from ``dynamodb-ttl@<region>``) runs ``region``'s TTL
process at ``at``, as :meth:`GlobalTable.expire <replicalab.dynamodb.GlobalTable.expire>`
does: every item whose expiry attribute is not after the region's clock gets a system
delete, conditional on it still being expired there. The deletes are ordinary writes in the
ledger: they replicate as tombstones and race writes made in other regions meanwhile. With
TTL off, the process deletes nothing (its outcome says so).

A request DynamoDB would refuse (a false condition, a malformed expression) is not an error
of the file: it is that entry's outcome, and the ledger shows it. A file that is not
well-formed is refused before anything runs, with a
:class:`~replicalab.errors.SerializationError` naming the entry (its index) and the field and
saying what would be valid: an entry without a parameter its operation needs
(``requests[1].PutItem.Item: missing; PutItem needs Item, TableName ...``), a table name
DynamoDB refuses, a region listed twice, an initial item without the table's key. The file is
untrusted data: size-capped (:data:`MAX_FILE_BYTES`, :data:`MAX_ENTRIES`), parsed by the
allow-listing JSON reader (no duplicate keys, no NaN, bounded depth), never evaluated.
The London story ships as such a file: :func:`example` ``("london")``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from replicalab import _validate, serialization
from replicalab.dynamodb.client import Client
from replicalab.dynamodb.exceptions import DynamoDBError, ValidationException
from replicalab.dynamodb.global_table import (
    DEFAULT_REGIONS,
    Call,
    GlobalTable,
    _days_since_1970,
    parse_time,
)
from replicalab.dynamodb.table import Table
from replicalab.dynamodb.values import to_item
from replicalab.errors import ConfigError, SerializationError
from replicalab.scenarios.result import Result

__all__ = ["EXAMPLES", "MAX_ENTRIES", "MAX_FILE_BYTES", "OPERATIONS", "SYSTEM_OPERATIONS", "Entry",
           "Outcome", "RequestFile", "Replay", "example", "load_requests", "read_requests"]

#: Caps on an untrusted request file.
MAX_FILE_BYTES = 2_000_000
MAX_ENTRIES = 10_000
#: Operation name in a file -> the boto3 client method that runs it.
OPERATIONS = {"PutItem": "put_item", "UpdateItem": "update_item", "DeleteItem": "delete_item",
              "GetItem": "get_item", "Query": "query",
              "TransactWriteItems": "transact_write_items", "BatchWriteItem": "batch_write_item",
              "UpdateTimeToLive": "update_time_to_live"}
#: Entries that are not a client's request: the system's own processes.
SYSTEM_OPERATIONS = {"ExpireItems": ("TableName",)}
#: The request files that ship with replicalab (``example(name)``).
EXAMPLES = ("london", "london-versioned")
_TOP = ("table", "regions", "epoch", "date", "items", "requests")
_DEFAULT_DATE = "2026-12-22"
_ENTRY = ("at", "region", "client")


@attrs.frozen
class Entry:
    """One entry of a request file: ``operation`` with ``request`` at ``at`` in ``region``."""

    index: int
    at: int | str
    region: str
    client: str
    operation: str
    request: dict[str, Any]


@attrs.frozen
class Outcome:
    """What one entry got: ``ok`` or the error code, the op ids it was given, the response."""

    entry: int
    operation: str
    ops: tuple[str, ...]
    outcome: str
    time: int
    late: bool
    response: dict[str, Any]

    def to_plain(self) -> dict[str, Any]:
        return attrs.asdict(self) | {"ops": list(self.ops)}


@attrs.frozen
class Replay:
    """A replayed file: the run's :class:`Result` and each entry's :class:`Outcome`."""

    result: Result
    outcomes: tuple[Outcome, ...]

    def report(self) -> str:
        """The entries' outcomes, then the run's usual report (timeline, items, ledger)."""
        lines = ["requests:"]
        for o in self.outcomes:
            late = " (late: the client was busy)" if o.late else ""
            ops = ", ".join(o.ops) or "-"
            lines.append(f"  [{o.entry}] t={o.time} {o.operation} -> {o.outcome} ({ops}){late}")
        return "\n".join(lines) + "\n\n" + self.result.report()


@attrs.frozen
class RequestFile:
    """A parsed, validated request file (see the module docs)."""

    name: str
    key: tuple[str, ...]
    key_types: dict[str, str]
    regions: tuple[str, ...]
    epoch: int
    items: tuple[Any, ...]
    entries: tuple[Entry, ...]
    date: str = _DEFAULT_DATE

    def table(self, merge: Any = "item-lww", seed: int = 0, **options: Any) -> GlobalTable:
        """A fresh GlobalTable for this file (its entries not yet run)."""
        return GlobalTable(self.name, key=self.key, regions=self.regions, merge=merge,
                           seed=seed, key_types=self.key_types, items=self.items,
                           epoch=self.epoch, date=self.date, **options)

    def replay(self, merge: Any = "item-lww", seed: int = 0, **options: Any) -> Replay:
        """Run every entry on a fresh table and settle it.

        Each client's entries run in order, one call at a time; different clients' calls
        overlap (:meth:`GlobalTable.start`), so an entry starts at its own time unless its
        client is still waiting for an earlier call (then it starts when that returns, late).
        """
        table = self.table(merge, seed, **options)
        clients: dict[tuple[str, str], Client] = {}
        outcomes: dict[int, Outcome] = {}
        busy: set[tuple[str, str]] = set()
        waiting: dict[tuple[str, str], list[tuple[Entry, int]]] = {}

        def setting(entry: Entry, at: int) -> None:
            """The table's TTL setting or a region's TTL process: done at its time, not a
            client's call that waits for a region (nor behind one)."""
            before = len(table.sent)
            try:
                if entry.operation == "ExpireItems":
                    response, code = _expire(table, entry), "ok"
                else:
                    who = (entry.region, entry.client)
                    client = clients.get(who)
                    if client is None:
                        client = clients[who] = table.client(entry.region, entry.client)
                    response, code = client.update_time_to_live(**entry.request), "ok"
            except DynamoDBError as error:
                response, code = dict(error.response), error.code
            except TypeError as error:  # a parameter given twice, or not a keyword
                raise SerializationError(f"requests[{entry.index}].{entry.operation}: {error}") from None
            response = dict(response)
            response.pop("ResponseMetadata", None)
            outcomes[entry.index] = Outcome(entry.index, entry.operation, tuple(table.sent[before:]),
                                            code, table.now, at < table.now, response)

        def launch(entry: Entry, at: int) -> None:
            who = (entry.region, entry.client)
            client = clients.get(who)
            if client is None:
                client = clients[who] = table.client(entry.region, entry.client)
            late = at < table.now
            def done(call: Call) -> None:
                if call.error is None:
                    response, code = dict(call.response or {}), "ok"
                else:
                    response, code = dict(call.error.response), call.error.code
                response.pop("ResponseMetadata", None)
                outcomes[entry.index] = Outcome(entry.index, entry.operation, tuple(call.ops),
                                                code, call.started, late, response)
                busy.discard(who)
                queue = waiting.get(who)
                if queue:  # this client's next entry, due while it waited: it runs now
                    launch(*queue.pop(0))

            try:
                call = table.start(client, OPERATIONS[entry.operation], entry.request, on_done=done)
            except TypeError as error:  # a parameter given twice, or not a keyword
                raise SerializationError(f"requests[{entry.index}].{entry.operation}: {error}") from None
            except ConfigError as error:  # a request these options cannot run: say which entry
                raise type(error)(f"requests[{entry.index}].{entry.operation}: {error}") from None
            if not call.done:
                busy.add(who)

        for entry in self.entries:
            try:
                at = parse_time(entry.at, self.epoch)
            except ConfigError as error:
                raise SerializationError(f"requests[{entry.index}].at: {error}") from None
            if at > table.now:
                table.at(at)
            who = (entry.region, entry.client)
            if entry.operation in ("ExpireItems", "UpdateTimeToLive"):
                setting(entry, at)
            elif who in busy:
                waiting.setdefault(who, []).append((entry, at))
            else:
                launch(entry, at)
        result = table.settle()
        unanswered = [e.index for e in self.entries if e.index not in outcomes]
        if unanswered:  # cannot happen without faults (a request file has none): a guard
            raise ConfigError(f"requests {unanswered} got no answer")
        return Replay(result, tuple(outcomes[index] for index in sorted(outcomes)))


def _expire(table: GlobalTable, entry: Entry) -> dict[str, Any]:
    """An ``ExpireItems`` entry: ``entry.region``'s TTL process, now."""
    if entry.request["TableName"] != table.name:
        raise SerializationError(f"requests[{entry.index}].ExpireItems.TableName: the table is "
                                 f"{table.name!r}, got {_validate.shown(entry.request['TableName'])}")
    if table.ttl_attribute is None:
        return {"Message": "TimeToLive is not enabled on this table: the TTL process deletes nothing"}
    deletes = table.expire(entry.region)
    return {"ExpiredItems": len(deletes)}


def _field(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SerializationError(f"{where}: must be {what}, got {_validate.shown(value)}")
    return value


def _parse(text: str | bytes) -> Any:
    """Parse untrusted JSON with the serialization module's limits (no duplicate keys, no
    NaN, bounded size and depth); a bare list is read inside a one-field wrapper object."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_FILE_BYTES:
            raise SerializationError(f"a request file is at most {MAX_FILE_BYTES} bytes, got {len(text)}")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise SerializationError(f"a request file is UTF-8 text: {error}") from None
    if not isinstance(text, str):
        raise SerializationError(f"a request file is JSON text, got {_validate.shown(text)}")
    if len(text) > MAX_FILE_BYTES:
        raise SerializationError(f"a request file is at most {MAX_FILE_BYTES} characters, got {len(text)}")
    if text.lstrip().startswith("["):
        # The wrapper's only key is "requests": text that tried to add keys of its own would
        # either be invalid JSON or a duplicate key, both refused.
        doc = serialization.parse('{"requests":' + text + "\n}", max_bytes=MAX_FILE_BYTES + 20)
        if set(doc) != {"requests"}:
            raise SerializationError("a request file is a JSON list of entries or an object")
        return doc["requests"]
    return serialization.parse(text, max_bytes=MAX_FILE_BYTES)


def _table(doc: Any) -> tuple[str, tuple[str, ...], dict[str, str]]:
    where = "table"
    _field(where, doc, Mapping, "an object with TableName, KeySchema, AttributeDefinitions")
    extra = sorted(set(doc) - {"TableName", "KeySchema", "AttributeDefinitions"})
    if extra:
        raise SerializationError(f"table: unknown field(s) {extra}; a table has TableName, "
                                 "KeySchema and AttributeDefinitions (CreateTable's shape)")
    name = _field("table.TableName", doc.get("TableName"), str, "the table's name")
    schema = _field("table.KeySchema", doc.get("KeySchema"), list, "a list of key elements")
    if not 1 <= len(schema) <= 2:
        raise SerializationError("table.KeySchema: one HASH element and at most one RANGE element")
    key: list[str] = []
    for i, element in enumerate(schema):
        _field(f"table.KeySchema[{i}]", element, Mapping, "{AttributeName, KeyType}")
        if set(element) != {"AttributeName", "KeyType"} or \
                element["KeyType"] != ("HASH", "RANGE")[i] or not isinstance(element["AttributeName"], str):
            raise SerializationError(f"table.KeySchema[{i}]: must be {{\"AttributeName\": NAME, "
                                     f"\"KeyType\": \"{('HASH', 'RANGE')[i]}\"}}")
        key.append(element["AttributeName"])
    types: dict[str, str] = {}
    for i, definition in enumerate(_field("table.AttributeDefinitions", doc.get("AttributeDefinitions", []),
                                          list, "a list of {AttributeName, AttributeType}")):
        _field(f"table.AttributeDefinitions[{i}]", definition, Mapping, "{AttributeName, AttributeType}")
        if set(definition) != {"AttributeName", "AttributeType"} or \
                definition["AttributeName"] not in key or definition["AttributeType"] not in ("S", "N", "B"):
            raise SerializationError(f"table.AttributeDefinitions[{i}]: must define a key attribute "
                                     "as S, N or B")
        types[definition["AttributeName"]] = definition["AttributeType"]
    return name, tuple(key), types


def _entry(index: int, raw: Any) -> Entry:
    where = f"requests[{index}]"
    _field(where, raw, Mapping, "an object with at, region, client and one operation")
    operations = [k for k in raw if k not in _ENTRY]
    known = [*OPERATIONS, *SYSTEM_OPERATIONS]
    unknown = [k for k in operations if k not in known]
    if unknown:
        raise SerializationError(f"{where}.{unknown[0]}: unknown field; an entry has at, region, "
                                 f"client and one of {', '.join(known)}")
    if len(operations) != 1:
        raise SerializationError(f"{where}: exactly one operation ({', '.join(known)}), got "
                                 f"{operations or 'none'}")
    operation = operations[0]
    if "at" not in raw:
        raise SerializationError(f"{where}.at: missing; when the request is made (HH:MM:SS.mmm or ms)")
    at = raw["at"]
    if not (type(at) is int and at >= 0 or isinstance(at, str)):
        raise SerializationError(f"{where}.at: a time of day 'HH:MM:SS.mmm' or ms >= 0, got {_validate.shown(at)}")
    region = _field(f"{where}.region", raw.get("region"), str, "a region name")
    if operation in SYSTEM_OPERATIONS and "client" in raw:
        raise SerializationError(f"{where}.client: {operation} is the system's TTL process, not "
                                 f"a client's request (its deletes come from dynamodb-ttl@{region})")
    client = raw.get("client", "app")
    _field(f"{where}.client", client, str, "a client name")
    if not client:
        raise SerializationError(f"{where}.client: a non-empty name")
    request = _field(f"{where}.{operation}", raw[operation], Mapping, "the request, as --cli-input-json takes it")
    if not all(isinstance(k, str) for k in request):
        raise SerializationError(f"{where}.{operation}: parameter names are strings")
    allowed = frozenset(SYSTEM_OPERATIONS[operation]) if operation in SYSTEM_OPERATIONS \
        else _parameters(operation)
    for name in request:
        if name not in allowed:
            raise SerializationError(f"{where}.{operation}.{name}: unknown parameter; {operation} "
                                     f"takes {', '.join(sorted(allowed))}")
    if operation in SYSTEM_OPERATIONS and not isinstance(request.get("TableName"), str):
        raise SerializationError(f"{where}.{operation}.TableName: missing; the table's name")
    return Entry(index, at, region, client, operation, dict(request))


def _parameters(operation: str) -> frozenset[str]:
    """The parameters the client's method for ``operation`` takes (its keyword arguments)."""
    signature = inspect.signature(getattr(Client, OPERATIONS[operation]))
    return frozenset(name for name, p in signature.parameters.items()
                     if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _required(operation: str) -> frozenset[str]:
    """The parameters ``operation`` cannot go without (its method's keywords with no default)."""
    signature = inspect.signature(getattr(Client, OPERATIONS[operation]))
    return frozenset(name for name, p in signature.parameters.items()
                     if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty)


def _check_required(entry: Entry) -> None:
    """Refuse an entry without a parameter its operation needs, naming it and the others."""
    if entry.operation not in OPERATIONS:
        return
    required = _required(entry.operation)
    missing = sorted(required - set(entry.request))
    if missing:
        optional = sorted(_parameters(entry.operation) - required)
        raise SerializationError(
            f"requests[{entry.index}].{entry.operation}.{missing[0]}: missing; {entry.operation} "
            f"needs {', '.join(sorted(required))}"
            + (f" (and may take {', '.join(optional)})" if optional else ""))


def _schema(name: str, key: tuple[str, ...], types: dict[str, str], where: str) -> Table:
    """The table's schema, checked as the GlobalTable will check it, or the refusal at ``where``
    (``table.TableName``, or the entry a bare list took the name from)."""
    try:
        return Table(name, key=key, key_types=types)
    except ValidationException as error:
        raise SerializationError(f"{where}: {error}") from None


def _check_items(raw: Any, schema: Table) -> tuple[Any, ...]:
    """The initial items, each a DynamoDB JSON item holding the table's key, no key twice."""
    items = tuple(_field("items", raw, list, "a list of items in DynamoDB JSON"))
    seen: dict[tuple[Any, ...], int] = {}
    for i, item in enumerate(items):
        try:
            key = schema._key_of(to_item(item, f"items[{i}]"), "item")
        except ValidationException as error:
            text = str(error)
            raise SerializationError(text if text.startswith(f"items[{i}]") else f"items[{i}]: {text}") from None
        plain = tuple(repr(k) for k in key)  # values are str, bytes or Decimal: repr keys them exactly
        if plain in seen:
            raise SerializationError(f"items[{i}]: has the same key as items[{seen[plain]}]; "
                                     "each item once")
        seen[plain] = i
    return items


def _inferred_key(entries: tuple[Entry, ...]) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """A bare list's table: its name and key schema from the entries' TableName and Key."""
    name, key, types = None, None, {}
    for entry in entries:
        request = entry.request
        if name is None and isinstance(request.get("TableName"), str):
            name = request["TableName"]
        raw = request.get("Key")
        if isinstance(raw, Mapping) and key is None and 1 <= len(raw) <= 2:
            key = tuple(raw)
            for k, v in raw.items():
                if isinstance(v, Mapping) and len(v) == 1:
                    types[k] = next(iter(v))
    if name is None or key is None:
        raise SerializationError("requests: a bare list needs an entry with TableName and Key to tell "
                                 "the table's key schema; or give a 'table' (CreateTable's shape)")
    return name, key, {k: t for k, t in types.items() if t in ("S", "N", "B")}


def load_requests(text: str | bytes) -> RequestFile:
    """Parse and validate a request file (see the module docs); nothing runs yet."""
    doc = _parse(text)
    if isinstance(doc, list):
        doc = {"requests": doc}
    if not isinstance(doc, dict):
        raise SerializationError("a request file is a JSON list of entries or an object")
    unknown = sorted(set(doc) - set(_TOP))
    if unknown:
        raise SerializationError(f"unknown field(s) {unknown}; a request file has {', '.join(_TOP)}")
    raw_entries = _field("requests", doc.get("requests"), list, "a list of entries")
    if not raw_entries or len(raw_entries) > MAX_ENTRIES:
        raise SerializationError(f"requests: 1 to {MAX_ENTRIES} entries, got {len(raw_entries)}")
    entries = tuple(_entry(i, raw) for i, raw in enumerate(raw_entries))
    table, key, types = _table(doc["table"]) if "table" in doc else _inferred_key(entries)
    named = "table.TableName" if "table" in doc else next(
        f"requests[{e.index}].{e.operation}.TableName" for e in entries
        if isinstance(e.request.get("TableName"), str))
    schema = _schema(table, key, types, named)
    for entry in entries:  # after the table: a file without one is told that first
        _check_required(entry)
    regions = tuple(_field("regions", doc.get("regions", list(DEFAULT_REGIONS)), list,
                           "a list of region names"))
    if not regions:
        raise SerializationError("regions: at least one region name")
    for i, region in enumerate(regions):
        _field(f"regions[{i}]", region, str, "a region name")
        try:
            _validate.replica_id(region, "a region")
        except ConfigError as error:
            raise SerializationError(f"regions[{i}]: {error}") from None
        if region in regions[:i]:
            raise SerializationError(f"regions[{i}]: {region!r} is listed twice; each region once")
    for entry in entries:
        if entry.operation in SYSTEM_OPERATIONS and entry.request["TableName"] != table:
            raise SerializationError(f"requests[{entry.index}].{entry.operation}.TableName: the "
                                     f"table is {table!r}, got {_validate.shown(entry.request['TableName'])}")
        if entry.region not in regions:
            raise SerializationError(f"requests[{entry.index}].region: unknown region "
                                     f"{_validate.shown(entry.region)}; regions are {list(regions)}")
    epoch_raw = doc.get("epoch")
    if epoch_raw is None:  # the first entry's second, so that its clock times read as given
        first = entries[0].at
        epoch = (parse_time(first) // 1000) * 1000 if isinstance(first, str) and _clock(first) else 0
    else:
        try:
            epoch = parse_time(epoch_raw)
        except ConfigError as error:
            raise SerializationError(f"epoch: {error}") from None
    previous = -1
    for entry in entries:
        try:
            at = parse_time(entry.at, epoch)
        except ConfigError as error:
            raise SerializationError(f"requests[{entry.index}].at: {error}") from None
        if at < previous:
            raise SerializationError(f"requests[{entry.index}].at: {entry.at} is before the entry "
                                     f"above it; entries are in time order")
        previous = at
    items = _check_items(doc.get("items", []), schema)
    date = _field("date", doc.get("date", _DEFAULT_DATE), str, "a day, YYYY-MM-DD")
    try:
        _days_since_1970(date)
    except ConfigError as error:
        raise SerializationError(f"date: {error}") from None
    return RequestFile(table, key, types, regions, epoch, items, entries, date)


def _clock(text: str) -> bool:
    try:
        parse_time(text)
    except ConfigError:
        return False
    return True


def read_requests(path: str | Path) -> RequestFile:
    """Load the request file at ``path`` (at most :data:`MAX_FILE_BYTES`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SerializationError(f"{path}: a request file is at most {MAX_FILE_BYTES} bytes, got {size}")
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return load_requests(data)
    except SerializationError as error:
        raise SerializationError(f"{path}: {error}") from None


def example(name: str) -> RequestFile:
    """A request file that ships with replicalab: ``"london"`` (the seed's two UpdateItems)
    or ``"london-versioned"`` (the seed's conditional request, verbatim)."""
    if name not in EXAMPLES:
        raise ConfigError(f"unknown example {_validate.shown(name)}; examples: {', '.join(EXAMPLES)}")
    text = resources.files("replicalab.dynamodb").joinpath("examples").joinpath(f"{name}.json").read_bytes()
    return load_requests(text)


def compare_requests(requests: RequestFile, seeds: Any = (0,)) -> tuple[list[Any], list[str]]:
    """The seed's side-by-side table for a request file: one row per pattern that applies.

    Returns the rows (as :func:`replicalab.scenarios.compare.compare` makes them) and the
    names of the patterns left out: the built-in versioned client (a request file's
    conditions are its own).
    """
    from replicalab.scenarios.compare import patterns, row_of

    rows, skipped = [], []
    seeds = list(seeds)
    for pattern in patterns():
        if "writes" in pattern.options:
            skipped.append(pattern.name)
            continue
        rows.append(row_of(pattern, (requests.replay(seed=seed, **pattern.options).result
                                     for seed in seeds)))
    return rows, skipped
