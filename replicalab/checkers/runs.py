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
    requests = {op: event.get("request") for op, event in requested.items()}
    # Which attributes are registers: set somewhere, never by a counter or set action.
    attributes: dict[str, set[str]] = {}
    actions: set[tuple[str, str]] = set()
    for request in requests.values():
        if not isinstance(request, dict) or request.get("type") not in _WRITES:
            continue
        key: Any = request["key"]
        attributes.setdefault(key, set()).update(request.get("attributes") or {})
        for name in list(request.get("add") or {}) + list(request.get("delete") or {}):
            actions.add((key, name))
    registers = {key: sorted(a for a in names if (key, a) not in actions and a not in bookkeeping)
                 for key, names in attributes.items()}
    setters = {op: set(request.get("attributes") or {}) for op, request in requests.items()
               if isinstance(request, dict) and request.get("type") in _WRITES}
    ops: list[Operation] = []
    for op_id, event in sorted(requested.items(), key=lambda pair: pair[1].seq):
        request = requests[op_id]
        if not isinstance(request, dict):
            continue
        reply = replied.get(op_id) if op_id not in dropped else None
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
