"""The history of a run: client requests and replies from its trace, as register operations.

:func:`history_of` reads only the trace (``ClientRequested``, ``Replied``,
``ReplyDropped``, ``Read``, ``Wrote``), never the simulator. A table item is a
map of attributes, so each *(item, attribute)* is one register, keyed
``"item.attribute"``, and the history is checked with ``model="kv"``:

* a write (``UpdateItem``, ``PutItem``) writes its op id (``"w1"``) to every
  attribute it sets — values are unique, so a read names the write it saw; a
  ``PutItem`` also writes None to the item's other attributes (it replaces the
  item). Counter and set actions (``add``/``delete``) are not register writes:
  attributes they touch are left out, as is the versioning pattern's
  bookkeeping attribute;
* a read (``GetItem``) reads, for every attribute written anywhere in the run,
  the write whose value its answer held (the ``Read`` event lists them), or
  None if it held the initial value or none. When the answer held two writes
  that both set the attribute (siblings, or a write that set several
  attributes), which one the attribute came from is not recorded: that
  attribute's read is left out;
* times are positions in the trace (``seq``): the call is the request reaching
  its replica, the return the reply leaving it. The simulator orders
  same-millisecond events, so positions are finer than milliseconds;
* a write the replica refused (``ConditionalCheckFailed``,
  ``ReplicatedWriteConflict``, ``ValidationError``) took effect nowhere and is
  left out; one whose answer was lost, that timed out, or that was still
  running when the run ended never returned (it may have taken effect); a read
  without an answer is left out; a request that never reached a replica
  (``RequestFailed``) is left out.

Your own DynamoDB requests (a request file's, a :class:`~replicalab.dynamodb.GlobalTable`'s)
enter the same way: the attributes a ``DynamoWrite`` set are those of its ``Wrote`` event
(its update expression is evaluated by the region, so the request alone does not say); an
attribute some write removes (``REMOVE``) is left out, as counter and set attributes are (the
removing write's other cells stay, so a read holding the write that set it cannot tell
whether it is still there); a ``DeleteItem`` writes None to every attribute as a
``PutItem`` does to those it leaves out; and each part of a transaction is
a write of its own (called and answered with the transaction); ``ConditionCheck`` parts
write nothing. A ``DynamoGet`` is a read; queries are left out. A write's *condition* is
not modelled: a conditional write is a plain write of what it set.

Splitting a multi-attribute write into one write per attribute checks each
attribute's register on its own: a non-linearizable attribute proves the run
not linearizable; the converse does not hold (atomicity across attributes is
not checked).
"""

from __future__ import annotations

from typing import Any

from replicalab import _validate
from replicalab.checkers.history import History, Operation
from replicalab.errors import ConfigError
from replicalab.trace import Trace

__all__ = ["REFUSALS", "history_of"]

#: Errors after which a write is known to have taken effect nowhere.
REFUSALS = frozenset({"ConditionalCheckFailed", "ReplicatedWriteConflict", "ValidationError"})
_WRITES = ("UpdateItem", "PutItem")


def _trace_of(run: Any) -> Trace:
    if isinstance(run, Trace):
        return run
    trace = getattr(run, "trace", None) if not isinstance(run, (str, bytes, dict)) else None
    if isinstance(trace, Trace):
        return trace
    raise ConfigError(f"history_of takes a scenario Result or a Trace, got {_validate.shown(run)}")


def history_of(run: Any, *, reads: str = "all") -> History:
    """The client history of a run (a scenario ``Result`` or its ``Trace``), for ``model="kv"``.

    ``reads="consistent"`` keeps only strongly consistent reads (``GetItem(consistent=True)``);
    ``"all"`` keeps every read. See the module docs for how requests become operations.
    """
    trace = _trace_of(run)
    if not isinstance(reads, str) or reads not in ("all", "consistent"):
        raise ConfigError(f"reads must be 'all' or 'consistent', got {_validate.shown(reads)}")
    requested: dict[str, Any] = {}
    replied: dict[str, Any] = {}
    seen: dict[str, list[str]] = {}
    bookkeeping: set[str] = set()
    dropped: set[str] = set()  # answered, but the answer never reached the client
    wrote: dict[str, Any] = {}  # write -> its first Wrote event (where it was made)
    for event in trace:
        kind = event.kind
        if kind == "ClientRequested":
            requested[event.get("op")] = event
        elif kind == "Replied":
            replied.setdefault(event.get("op"), event)
        elif kind == "ReplyDropped":
            dropped.add(event.get("op"))
        elif kind == "Read":
            seen[event.get("op")] = list(event.get("writes"))
        elif kind == "Wrote":
            bookkeeping.update(event.get("bookkeeping"))
            wrote.setdefault(event.get("write"), event)
    requests: dict[str, Any] = {}
    answers: dict[str, str] = {}  # a transaction part -> the op whose reply answers it
    calls: dict[str, Any] = {}  # op -> its ClientRequested event (a part: its transaction's)
    for op, event in requested.items():
        for part_op, form in _scenario_forms(op, event.get("request"), wrote):
            requests[part_op], answers[part_op], calls[part_op] = form, op, event
    # Which attributes are registers: set somewhere, never by a counter or set action.
    attributes: dict[str, set[str]] = {}
    actions: set[tuple[str, str]] = set()
    for request in requests.values():
        if not isinstance(request, dict) or request.get("type") not in _WRITES:
            continue
        key: Any = request["key"]
        attributes.setdefault(key, set()).update(request.get("attributes") or {})
        # A REMOVE leaves the write's other cells in the item, so a read holding that write
        # cannot tell whether the attribute it set is still there: left out like the actions.
        for name in [*(request.get("add") or {}), *(request.get("delete") or {}),
                     *(request.get("removed") or ())]:
            actions.add((key, name))
    registers = {key: sorted(a for a in names if (key, a) not in actions and a not in bookkeeping)
                 for key, names in attributes.items()}
    setters = {op: set(request.get("attributes") or {}) for op, request in requests.items()
               if isinstance(request, dict) and request.get("type") in _WRITES}
    ops: list[Operation] = []
    for op_id, event in sorted(calls.items(), key=lambda pair: pair[1].seq):
        request = requests[op_id]
        if not isinstance(request, dict):
            continue
        answer = answers[op_id]
        reply = replied.get(answer) if answer not in dropped else None
        rtype = request.get("type")
        key = request.get("key")
        client = event.get("client")
        if rtype in _WRITES:
            if reply is not None and not reply.get("ok") and reply.get("error") in REFUSALS:
                continue
            ret = reply.seq if reply is not None and reply.get("ok") else None
            for name in registers.get(key, []):
                if name in setters[op_id]:
                    value: str | None = op_id
                elif rtype == "PutItem":
                    value = None
                else:
                    continue
                ops.append(Operation(client, event.seq, ret, "write", value,
                                     key=f"{key}.{name}", label=op_id))
        elif rtype == "GetItem":
            if reply is None or not reply.get("ok") or op_id not in seen:
                continue
            if reads == "consistent" and not request.get("consistent"):
                continue
            held = seen[op_id]
            for name in registers.get(key, []):
                writers = [w for w in held if name in setters.get(w, ())]
                if len(writers) > 1:
                    continue
                ops.append(Operation(client, event.seq, reply.seq, "read",
                                     output=writers[0] if writers else None,
                                     key=f"{key}.{name}", label=op_id))
    return History(ops)


def _scenario_forms(op: str, request: Any, wrote: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(op, request)`` in the scenarios' request form (``UpdateItem``, ``PutItem``,
    ``GetItem``) for one traced request; a DynamoDB request (see the module docs) becomes
    that form, a transaction one write per part. Anything else is kept as it is."""
    if not isinstance(request, dict):
        return [(op, request)]
    kind = request.get("type")
    if kind == "DynamoGet":
        return [(op, {"type": "GetItem", "key": request.get("key"),
                      "consistent": request.get("consistent")})]
    if kind == "DynamoTransaction":
        return [form for part in request.get("parts") or ()
                for form in _scenario_forms(part.get("op"), {**part, "type": "DynamoWrite"}, wrote)]
    if kind != "DynamoWrite":
        return [(op, request)]
    operation = request.get("operation")
    if operation == "ConditionCheck":
        return []
    made = wrote.get(op)  # None: it took effect nowhere (refused, or never reached a region)
    if made is None:
        return [(op, {"type": "UpdateItem", "key": request.get("key"), "attributes": {}})]
    removed = list(made.get("removed") or ())
    # A removed attribute is listed among the written ones too (as a tombstone): not a value set.
    attributes = {name: value for name, value in (made.get("attributes") or {}).items()
                  if name not in removed}
    return [(op, {"type": "UpdateItem" if operation == "UpdateItem" else "PutItem",
                  "key": request.get("key"), "attributes": attributes,
                  "add": dict(made.get("added") or {}), "delete": dict(made.get("elements") or {}),
                  "removed": removed})]
