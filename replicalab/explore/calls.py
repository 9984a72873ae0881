"""Your own DynamoDB requests as an explorer scope: a request file or a GlobalTable's calls.

A :class:`RequestScenario` is a :class:`~replicalab.scenarios.world.TableScenario` whose
clients are a recorded list of :class:`Call` s — DynamoDB requests exactly as the boto3-shaped
:class:`~replicalab.dynamodb.client.Client` built them — instead of ``ClientWrite`` s. It
runs (``.run()``) and is explored (``explore.scenario(...)``) like any scenario.

Contract:

* **The calls keep their times and their order.** Each client is one synchronous caller,
  as ``replicalab run FILE.json`` replays them: its next call is sent at its own time or, if
  its previous call's reply has not come back by then (a round trip to another region), as
  soon as it does; different clients' calls overlap. (A call nobody answers — its region
  crashed with it — holds its client's later calls here; a GlobalTable's client gives up
  after ``CLIENT_TIMEOUT``.) So :meth:`RequestScenario.run` makes the same run as
  :meth:`~replicalab.dynamodb.requestfile.RequestFile.replay` (the tests check it), and the
  explorer chooses only what it chooses for a scenario: the order of deliveries between
  these timed events, and faults when asked.
* **The requests are fixed; what the regions answer is not.** A request is built once, by
  the real client code (expressions parsed, op ids ``w1, w2, ...`` given, keys named), and
  carried out in each explored schedule by the region it reaches, against *that
  schedule's* local copy: a ``ConditionExpression`` may hold in one schedule and fail in
  another. :func:`replies` reads each request's answer (``"ok"``, ``"ConditionalCheckFailed"``,
  ``"Unreachable"``, ...) from a run's Result; the ledger judges each write as in any run.
* **Your code is not re-run per schedule.** From a :class:`~replicalab.dynamodb.GlobalTable`
  the calls are the ones your code made in the table's one run, replayed verbatim. If your
  code decided something from a reply (a retry after ``ConditionalCheckFailedException``,
  a write that depends on what a read returned, ``expire()``'s choice of items), that
  decision is *not* made again in a schedule where the reply differs: the request is sent
  as it was. :attr:`RequestScenario.note` says so, and names the calls that followed a
  refused one from the same client (likely retries). A request file has no code, so this
  does not arise there.
* A request the client refused before sending it (a malformed expression: ``ValidationException``)
  never reaches a region in any schedule; it is listed in :attr:`RequestScenario.refused`.
* Not supported (:class:`~replicalab.errors.ConfigError`): ``mode="mrsc"`` and
  ``writes="versioned"`` (as for a GlobalTable), and a table with provisioned ``capacity``
  (its throttling reads region state, which differs per schedule).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from replicalab import _validate
from replicalab.dynamodb.exceptions import DynamoDBError
from replicalab.dynamodb.global_table import GlobalTable, parse_time
from replicalab.dynamodb.requestfile import OPERATIONS, RequestFile, load_requests, read_requests
from replicalab.errors import ConfigError, SerializationError
from replicalab.policies import MergePolicy
from replicalab.replica.base import Request, Response
from replicalab.replica.dynamo import DynamoGet, DynamoResult
from replicalab.scenarios.result import Result
from replicalab.scenarios.world import ClientRead, Prepared, TableScenario
from replicalab.sim.simulation import Reply, Simulation

__all__ = ["Call", "RequestScenario", "from_table", "replies", "requests"]


@attrs.frozen
class Call:
    """One request as sent: ``request`` from ``client`` in ``region``, not before ``at`` (ms
    since the epoch); ``writing`` says whether routing treats it as a write; ``entry`` is the
    request file's entry (or the table's call number) it belongs to."""

    at: int
    region: str
    client: str
    request: Request
    writing: bool
    entry: int


@attrs.frozen
class RequestScenario(TableScenario):
    """A scenario whose clients are recorded DynamoDB calls (see the module docs).

    ``calls`` in the order they are sent; ``refused``: ``(entry, operation, error code)`` of
    the requests the client refused before sending; ``note``: what the explorer should say
    about this scope (replayed code, likely retries); ``defaults``: the run options the
    source was made with (a GlobalTable's merge, seed, routing, ...).
    """

    calls: tuple[Call, ...] = ()
    refused: tuple[tuple[int, str, str], ...] = ()
    note: str = ""
    defaults: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        # Built by requests() and from_table(); one made by hand is checked here, not mid-run.
        if not isinstance(self.calls, tuple) or not all(
                isinstance(c, Call) and isinstance(c.request, Request) and c.region in self.regions
                and type(c.at) is int and c.at >= 0 for c in self.calls):
            raise ConfigError(f"calls must be a tuple of Call values with a Request, a time >= 0 "
                              f"and one of the regions {list(self.regions)}; build them with "
                              f"explore.calls.requests(FILE) or from_table(table)")

    def prepare(self, merge: str | MergePolicy = "item-lww", seed: int = 0, *,
                simulation: type[Simulation] = Simulation, **given: Any) -> Prepared:
        """The run: the scenario's regions and faults, then the calls, chained (module docs)."""
        _refuse(given)
        # The regions, network and faults of a TableScenario without clients; the calls follow.
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(TableScenario)}
        bare = TableScenario(**{**fields, "workload": (), "reads": ()})
        prepared = bare.prepare(merge, seed, simulation=simulation, **given)
        prepared.clients.scenario = self  # its reads are the GetItems: judged for staleness
        if self.calls:
            _Chain(self.calls, prepared).start()
        return attrs.evolve(prepared, scenario=self)


def _refuse(given: Mapping[str, Any]) -> None:
    if given.get("mode") == "mrsc":
        raise ConfigError("exploring DynamoDB requests under mode='mrsc' is not supported "
                          "(run them on a GlobalTable(mode='mrsc') instead); choose mode 'mrec' "
                          "or 'single-primary', or explore a scenario with mode='mrsc'")
    if given.get("writes", "plain") != "plain":
        raise ConfigError("writes='versioned' is the scenarios' built-in versioned client; "
                          "requests carry their own ConditionExpression (writes must be 'plain')")


class _Chain:
    """Sends each client's calls one at a time: a client's call ``k + 1`` goes when call ``k``'s
    reply arrives (or at its own time, if later); different clients' calls overlap — as
    :meth:`~replicalab.dynamodb.requestfile.RequestFile.replay` runs them.

    A plain object, not attrs: the explorer's fingerprint sees a pending callback's closure
    as its code, the index it holds and only the *type* of this object (the simulation and
    the clients are fingerprinted on their own)."""

    def __init__(self, calls: tuple[Call, ...], prepared: Prepared) -> None:
        self.calls, self.clients = calls, prepared.clients
        #: For each call, the index of its client's next call (None for the last).
        self.following: list[int | None] = [None] * len(calls)
        last: dict[tuple[str, str], int] = {}
        self.heads: list[int] = []
        for index, call in enumerate(calls):
            who = (call.region, call.client)
            if who in last:
                self.following[last[who]] = index
            else:
                self.heads.append(index)
            last[who] = index

    def start(self) -> None:
        for index in self.heads:
            self.send(index, 0)

    def send(self, index: int, now: int) -> None:
        call = self.calls[index]
        request = call.request
        key = getattr(request, "key", None)
        if key is None and hasattr(request, "parts"):
            key = request.parts[0].key  # a transaction goes where its first item goes
        target = (self.clients.target(key, call.region, call.writing) if key is not None
                  else call.region)
        chain = self

        def answered(sim: Simulation, reply: Reply) -> None:
            sent = chain.calls[index].request
            if isinstance(sent, DynamoGet):
                chain.clients.read_replies[sent.op] = reply
                where = (chain.calls[index].region if chain.clients.router is None
                         else reply.replica)
                chain.clients.read_knowledge[sent.op] = sim.knowledge(where, sent.key)
            following = chain.following[index]
            if following is not None:
                chain.send(following, sim.now)

        self.clients.send(max(call.at, now), target, key, request, call.client, call.region,
                          answered)


def replies(result: Result) -> dict[str, str]:
    """``{op: answer}`` for every client request of a run, in the order they were sent:
    ``"ok"``, the region's error code (``"ConditionalCheckFailed"``, ``"TransactionCanceled"``,
    ...), or ``"Unreachable"`` (the region was down or cut off, or the reply was cut on its
    way back). Read from the run's trace, so it works on any Result."""
    out: dict[str, str] = {}
    for event in result.trace:
        data = event.data
        if event.kind in ("ClientRequested", "RequestFailed"):
            out.setdefault(data["op"], "no reply")
        if event.kind == "Replied":
            out[data["op"]] = "ok" if data["ok"] else str(data["error"])
        elif event.kind in ("RequestFailed", "ReplyDropped"):
            out[data["op"]] = "Unreachable"
    return out


class _Builder(GlobalTable):
    """A GlobalTable whose ``_call`` records the request instead of sending it: the real
    client code builds each request (parsing, validation, op ids, key names) exactly as a
    replay does; nothing runs."""

    recorded: list[tuple[Request, bool]]

    def _call(self, client: Any, request: Request, writing: bool) -> Response:
        self.recorded.append((request, writing))
        return DynamoResult(request.op)  # a placeholder answer: the client's result is discarded


def requests(source: Any) -> RequestScenario:
    """The scope of a request file: ``source`` is a path, JSON text (bytes), a list of
    entries or a file object (``{"table": ..., "requests": [...]}``) as
    :mod:`~replicalab.dynamodb.requestfile` reads them, or a parsed
    :class:`~replicalab.dynamodb.requestfile.RequestFile`; a GlobalTable goes to
    :func:`from_table`. A file that is not well-formed raises
    :class:`~replicalab.errors.SerializationError` naming the entry and the field."""
    if isinstance(source, GlobalTable):
        return from_table(source)
    if isinstance(source, RequestFile):
        parsed = source
    elif isinstance(source, Path) or isinstance(source, str) and source.lstrip()[:1] not in ("[", "{"):
        parsed = read_requests(source)
    elif isinstance(source, (str, bytes, bytearray)):
        parsed = load_requests(source if isinstance(source, str) else bytes(source))
    elif isinstance(source, (list, dict)):
        try:
            text = json.dumps(source, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:  # not JSON data, or too deep
            raise SerializationError(f"a request file is JSON data: {type(error).__name__}: "
                                     f"{error}") from None
        parsed = load_requests(text)
    else:
        raise ConfigError(f"requests takes a path to a request file, its JSON text, its entries "
                          f"(a list or an object), a RequestFile or a GlobalTable, got "
                          f"{_validate.shown(source)}")
    return _from_file(parsed)


def _from_file(parsed: RequestFile) -> RequestScenario:
    builder = _Builder(parsed.name, key=parsed.key, regions=parsed.regions,
                       key_types=parsed.key_types, items=parsed.items, epoch=parsed.epoch)
    builder.recorded = []
    clients: dict[tuple[str, str], Any] = {}
    calls: list[Call] = []
    refused: list[tuple[int, str, str]] = []
    for entry in parsed.entries:
        try:
            at = parse_time(entry.at, parsed.epoch)
        except ConfigError as error:
            raise SerializationError(f"requests[{entry.index}].at: {error}") from None
        if entry.operation not in OPERATIONS or entry.operation == "UpdateTimeToLive":
            raise ConfigError(f"requests[{entry.index}].{entry.operation}: time to live is not "
                              f"explored (which items a TTL process deletes depends on each "
                              f"schedule's items); replay the file with 'replicalab run' instead")
        client = clients.get((entry.region, entry.client))
        if client is None:
            client = clients[(entry.region, entry.client)] = builder.client(entry.region, entry.client)
        builder.recorded.clear()
        try:
            getattr(client, OPERATIONS[entry.operation])(**entry.request)
        except DynamoDBError as error:  # refused by the client: never sent, in any schedule
            refused.append((entry.index, entry.operation, error.code))
        except TypeError as error:  # a parameter given twice, or not a keyword
            raise SerializationError(f"requests[{entry.index}].{entry.operation}: {error}") from None
        calls += [Call(at, entry.region, entry.client, request, writing, entry.index)
                  for request, writing in builder.recorded]
    return _scenario(builder.scenario, calls, refused, "", {})


def from_table(table: GlobalTable) -> RequestScenario:
    """The scope of a :class:`~replicalab.dynamodb.GlobalTable`: the calls your code made on
    it, replayed verbatim with their times, on the table's regions, items and faults under
    its options (read, never changed: the table is left as it was). See the module docs for
    what "verbatim" means when your code branched on a reply."""
    if not isinstance(table, GlobalTable):
        raise ConfigError(f"from_table takes a GlobalTable, got {_validate.shown(table)}")
    if table._capacity is not None:  # reading the table's settings, not changing them
        raise ConfigError("a table with provisioned capacity cannot be explored: whether a write "
                          "is throttled depends on item sizes, which differ per schedule; build "
                          "the table with capacity=None (on-demand)")
    calls = [Call(at, region, client, request, writing, i)
             for i, (at, client, region, request, writing, _) in enumerate(table.calls)]
    if not calls:
        raise ConfigError("this GlobalTable has no requests to explore yet: make some calls "
                          "with table.client(region).put_item(...) first")
    refused_before: dict[str, str] = {}
    followed = []
    for _, client, region, request, _, response in table.calls:
        who = f"{client}@{region}"
        if who in refused_before:
            followed.append(f"{request.op} by {client} came after {refused_before.pop(who)}")
        if not response.ok:
            refused_before[who] = f"{response.op} was refused ({response.error})"
    note = ("replayed verbatim: the calls your code made in the table's run are sent as they "
            "were in every schedule; code that branched on a reply is not re-run")
    if followed:
        note += (" — if these were retries they are sent even where the first try succeeds: "
                 + "; ".join(followed))
    options = table.options
    defaults = {"merge": options.merge, "seed": options.seed,
                **options.non_default(table.scenario.options(options.merge, options.seed))}
    return _scenario(table.scenario, calls, [], note, defaults)


def _scenario(base: TableScenario, calls: Sequence[Call], refused: Sequence[tuple[int, str, str]],
              note: str, defaults: dict[str, Any]) -> RequestScenario:
    reads = tuple(ClientRead(c.at, c.region, c.request.op, c.client, c.request.key,
                             consistent=c.request.consistent)
                  for c in calls if isinstance(c.request, DynamoGet))
    fields = {f.name: getattr(base, f.name) for f in attrs.fields(TableScenario)}
    return RequestScenario(**{**fields, "reads": reads}, calls=tuple(calls), refused=tuple(refused),
                           note=note, defaults=defaults)
