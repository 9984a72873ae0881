"""Fractured reads: a region's reader sees half of a transaction.

``TransactWriteItems`` is all-or-nothing in the region that runs it, but a global table
replicates it item by item: for a while another region can hold one part and not the other.
A read that observes exactly that — its answer holds the values of some parts of a
transaction and, for other parts of the same transaction that it also covered, neither their
values nor any sign that they had arrived — is a *fractured read*. :func:`fractured_reads`
finds them in a run's trace, naming the transaction, the read, the region and the parts seen
and missed.

Two shapes of read are checked:

* **One Query.** It covers the items of its partition (``Queried`` records the partition
  and, per item returned, the writes whose values it held). It is fractured if it saw some
  parts of a transaction and missed others it covered.
* **A client's GetItem calls.** Each covers one item (``Read`` records the key and the
  writes whose values it returned). Once a client has seen a part of a transaction in a
  region, a later GetItem of that client in the same region that misses another part of
  the same transaction is fractured: the client has observed the transaction and then read
  around it. ``earlier`` names the reads in which it saw the parts. The other order — a miss,
  then a hit — is no anomaly: the client read before the transaction, then after it.

A part counts as seen if the answer held its values, or if the region's log shows the part
had arrived there (it was written or merged there) before the read: a part overwritten since
by a write that had seen it is then not reported missed. A fractured read needs at least one
part whose values were in an answer. The one case this cannot tell apart: a part whose
values reached the region only inside a later write's item (anti-entropy, a write that
overwrote them elsewhere) is reported missed. The checker reads the trace only, never the
simulator.

    >>> fractured_reads([])
    []
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.events import TraceEvent
from replicalab.trace import Event

__all__ = ["FracturedRead", "fractured_reads"]


@attrs.frozen
class FracturedRead:
    """Read ``read`` at ``region`` (time ``time``) saw parts ``saw`` of ``transaction`` and
    missed parts ``missed`` (part op ids, sorted). For a client's GetItem calls, ``read`` is
    the one that missed and ``earlier`` the same client's reads that saw (sorted); for a
    Query, ``earlier`` is empty: the one read saw and missed."""

    transaction: str
    read: str
    region: str
    time: int
    saw: tuple[str, ...]
    missed: tuple[str, ...]
    earlier: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for people."""
        where = f" (in {', '.join(self.earlier)})" if self.earlier else ""
        return (f"fractured read {self.read} at {self.region} t={self.time}: it saw "
                f"{', '.join(self.saw)} of transaction {self.transaction}{where} but not "
                f"{', '.join(self.missed)}")


def _covered(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + "|")


def fractured_reads(events: Iterable[Any]) -> list[FracturedRead]:
    """Every fractured read in ``events`` (a run's trace), in trace order (see module docs)."""
    if isinstance(events, (str, bytes, bytearray, Mapping)) or not hasattr(events, "__iter__"):
        raise ConfigError(f"events must be trace events (result.trace), got {_validate.shown(events)}")
    events = list(events)
    for event in events:
        if not isinstance(event, (Event, TraceEvent)):
            raise ConfigError(f"events must be trace Event records, got {_validate.shown(event)}")
    parts: dict[str, dict[str, str]] = {}  # transaction -> part op -> item key
    arrived: dict[str, set[str]] = {}      # region -> writes written or merged there so far
    # (region, client, transaction) -> part op -> (the read that first saw it, by value?)
    observed: dict[tuple[str, str, str], dict[str, tuple[str, bool]]] = {}
    found: list[FracturedRead] = []
    for event in events:
        if event.kind == "Wrote":
            transaction = event.get("transaction")
            if transaction is not None:
                parts.setdefault(transaction, {})[event.get("write")] = event.get("key")
            arrived.setdefault(event.replica, set()).add(event.get("write"))
        elif event.kind == "Merged":
            arrived.setdefault(event.replica, set()).add(event.get("write"))
        elif event.kind == "Queried":
            items = event.get("items") or {}
            prefix = event.get("prefix")
            here = arrived.get(event.replica, set())
            for transaction, members in sorted(parts.items()):
                covered = {op: key for op, key in members.items() if _covered(key, prefix)}
                saw = sorted(op for op, key in covered.items()
                             if op in items.get(key, ()) or op in here)
                missed = sorted(op for op in covered if op not in saw)
                if saw and missed and any(op in items.get(covered[op], ()) for op in saw):
                    found.append(FracturedRead(transaction, event.get("op"), event.replica,
                                               event.time, tuple(saw), tuple(missed)))
        elif event.kind == "Read":
            found.extend(_fractured_get(event, parts, arrived.get(event.replica, set()), observed))
    return found


def _fractured_get(event: Any, parts: dict[str, dict[str, str]], here: set[str],
                   observed: dict[tuple[str, str, str], dict[str, tuple[str, bool]]],
                   ) -> list[FracturedRead]:
    """A GetItem ``event`` against what its client saw before in its region (module docs)."""
    key, op, returned = event.get("key"), event.get("op"), set(event.get("writes") or ())
    found = []
    for transaction, members in sorted(parts.items()):
        mine = sorted(part for part, part_key in members.items() if part_key == key)
        if not mine:
            continue
        seen = observed.setdefault((event.replica, event.get("client"), transaction), {})
        missed = [part for part in mine if part not in returned and part not in here]
        by_value = any(shown for _, shown in seen.values())
        if missed and by_value:
            found.append(FracturedRead(transaction, op, event.replica, event.time,
                                       tuple(sorted(seen)), tuple(missed),
                                       tuple(sorted({read for read, _ in seen.values()}))))
        for part in mine:
            if part not in missed and part not in seen:
                seen[part] = (op, part in returned)
    return found
