"""Text views of a run, for people: a numbered timeline, final items, the ledger, comparisons.

Everything here is a pure function of a result, with sorted ids and aligned
columns, so the same run prints the same text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from replicalab.items import format_wall
from replicalab.replica.log_fields import DropRule
from replicalab.viz import faults
from replicalab.viz.story import Message, build, merge_carried

#: A run's result (:class:`replicalab.scenarios.result.Result`). The scenarios sit above the
#: pictures, so viz reads a result by its fields and never imports the class.
Result = Any

__all__ = ["clocks", "compare_table", "final_items", "ledger_lines", "report", "table", "timeline"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """Left-aligned columns separated by two spaces.

        >>> print(table(["a", "bb"], [["x", 1], ["yyy", 22]]))
          a    bb
          x    1
          yyy  22
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    return "\n".join(indent + line for line in lines)


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _assignments(attributes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in sorted(attributes.items()))


def _dropping(lost: Sequence[dict[str, Any]]) -> str:
    """`` — drops w1's a, w2's b`` for drop records (:class:`~replicalab.replica.log_fields.DropRule`), or ""."""
    return (" — drops " + ", ".join(f"{x['write']}'s {x['attribute']}" for x in lost)) if lost else ""


def _arrival_drops(trace: Any) -> dict[int, list[Message]]:
    """``{seq of the Dropped event: [copies]}`` for copies of a client write the network lost
    on arrival (:func:`~replicalab.viz.faults.lost_on_arrival`, the rule the pictures draw an X
    by), keyed by the first ``Dropped`` event of the step that lost them. A trace without a
    ``Dropped`` event costs one scan."""
    if not any(e.kind == "Dropped" for e in trace):
        return {}
    story = build(trace)  # a bare trace: messages and steps, no states, no ledger
    out: dict[int, list[Message]] = {}
    for index, copies in faults.arrival_drops(story).items():
        # A protocol message (an anti-entropy round, a quorum ack) is left to the pictures: the
        # timeline does not show those when they arrive either. A write's copy it does show.
        writes = [m for m in copies if isinstance(m.payload, dict) and isinstance(m.payload.get("write"), str)
                  and m.payload["write"] and m.payload["write"] != "anti-entropy"]
        first = next(e.seq for e in story.step(index).events if e.kind == "Dropped")
        if writes:
            out[first] = writes
    return out


def timeline(result: Result) -> str:
    """Numbered lines: writes, rejections, strong reads and merges, in the order they happened;
    and a client write's copy the network lost on arrival (its destination down, or cut off
    when it arrived: where the pictures draw an X), in :mod:`~replicalab.viz.faults`' words."""
    lines = []
    lost_on_arrival = _arrival_drops(result.trace)
    # The message each replica handles now and when it last logged a read repair: a merge
    # that names no write says from these whether it was a catch-up answer or a repair.
    delivered: dict[str | None, Any] = {}
    repairing: dict[str | None, int] = {}
    rule = DropRule(result.trace.of_kind("Wrote"))
    # What the repairs of a replica's anti-entropy session dropped: said on its Synced line.
    repairs: dict[str | None, list[dict[str, Any]]] = {}
    for event in result.trace:
        when = f"t={event.time}"
        if event.kind == "Delivered":
            delivered[event.replica] = event.get("msg")
        elif event.kind in ("TimerFired", "ClientRequested"):
            delivered.pop(event.replica, None)
        elif event.kind == "ReadRepaired":
            repairing[event.replica] = event.time
        elif event.kind == "Synced" and not event.get("repaired"):
            repairs.pop(event.replica, None)  # a session that repaired nothing dropped nothing
        if event.kind == "Dropped" and event.seq in lost_on_arrival:
            lines += [(when, f"network: {m.src}'s {faults.drop_text(m)}") for m in lost_on_arrival[event.seq]]
            continue
        if event.kind == "Read" and event.get("consistent"):
            seen = ", ".join(w for w in event.get("writes", ()) if w != "initial") or "no write"
            scope = event.get("scope") or "regional"  # the field is None for a regional read
            text = (f"{event.replica} {event.get('client')} strong read of {event.get('key')} "
                    f"({event.get('op')}) [{scope}]: sees {seen}")
        elif event.kind == "Partitioned":
            if event.get("one_way"):
                src, dst = event.get("one_way")
                text = f"network: messages from {src} to {dst} are now dropped"
            else:
                text = "network: partitioned into " + " | ".join(
                    ", ".join(g) for g in event.get("groups"))
                if event.get("bridges"):  # an AZ partition: the other regions' nodes reach both sides
                    text += f" ({len(event.get('bridges'))} other nodes reach both sides)"
        elif event.kind == "Healed":
            text = "network: partition healed"
        elif event.kind == "Crashed":
            text = f"{event.replica} crashes ({'durable' if event.get('durable') else 'state lost'})"
        elif event.kind == "Restarted":
            text = f"{event.replica} restarts as {event.get('identity')}"
        elif event.kind == "Synced" and event.get("repaired"):
            text = (f"{event.replica} anti-entropy with {event.get('peer')}: "
                    f"{event.get('divergent')} keys differed, repaired {', '.join(event.get('repaired'))} "
                    f"({event.get('bytes_sent')} bytes sent)") + _dropping(repairs.pop(event.replica, []))
        elif event.kind == "Merged" and event.get("write") == "anti-entropy" and event.get("changed"):
            # Summarised by the Synced line, with what the repair dropped (as the pictures show
            # it at that step); a repair that kept the local item and dropped the peer's values
            # is shown below, like a replication merge that lost.
            repairs.setdefault(event.replica, []).extend(rule.drops(event))
            continue
        elif event.kind == "Proposed":
            text = (f"{event.replica} proposes {event.get('write')} on {event.get('key')} "
                    f"as commit {event.get('base') + 1} and waits for another region")
        elif event.kind == "Refused":
            text = f"{event.replica} refuses {event.get('write')}: {event.get('reason')}"
        elif event.kind == "Wrote":
            stamp = event.get("stamp")
            text = (
                f"{event.replica} {event.get('client')} writes {event.get('key')} "
                f"({event.get('write')}): {_assignments(event.get('attributes'))} "
                f"[stamp {format_wall(stamp['wall'])}"
                f"{'+' + str(stamp['logical']) if stamp.get('logical') else ''}]"
            )
        elif event.kind == "Rejected":
            text = (
                f"{event.replica} rejects {event.get('client')}'s {event.get('op')}: "
                f"{event.get('error')} ({event.get('message')})"
            )
        elif event.kind == "Merged":
            lost = rule.drops(event)  # the rule every view follows
            carried = merge_carried(event.get("write"), delivered.get(event.replica),
                                    repairing.get(event.replica) == event.time)
            text = (
                f"{event.replica} receives {event.get('key')} from {event.get('source')} "
                f"({carried}): {event.get('note')}"
            )
            text += _dropping(lost)
        else:
            continue
        lines.append((when, text))
    width = len(str(len(lines)))
    twidth = max((len(w) for w, _ in lines), default=0)
    return "\n".join(
        f"{str(i).rjust(width)}. {w.ljust(twidth)}  {t}" for i, (w, t) in enumerate(lines, 1)
    )


def final_items(result: Result) -> str:
    """One aligned table per key: a row per region (a row per sibling when there are several)."""
    keys = sorted({k for items in result.final.values() for k in items})
    lost = getattr(result, "state_lost", None) or {}
    # A replica down without its disk holds nothing (its row shows "-"); say so, and why.
    blocks = [f"  {replica} is down, its state lost (crashed at t={at}, durable=False): it holds "
              "nothing, and convergence is judged without it" for replica, at in sorted(lost.items())]
    # A replica down *with* its disk is shown with what the disk holds, and judged with it.
    asleep = down_with_state(result)
    blocks += [f"  {replica} is down, its state kept (crashed at t={at}, durable=True): it is "
               "shown with what its disk holds, and counts for convergence (it catches up when it is back)"
               for replica, at in sorted(asleep.items())]
    if len(keys) > 6:  # many items: show the ones some write touched, say how many were left out
        touched = {entry.key for entry in result.ledger}
        shown = [k for k in keys if k in touched]
        if len(shown) < len(keys):
            blocks.append(f"  ({len(keys) - len(shown)} items no client wrote are not shown)")
        keys = shown
    for key in keys:
        rows_data = []
        for region in sorted(result.final):
            value = result.final[region].get(key)
            versions = value if isinstance(value, list) else [value]
            for n, attributes in enumerate(versions):
                label = (f"{region} (down, state lost)" if region in lost else
                         f"{region} (down, state kept)" if region in asleep else region)
                if len(versions) > 1:
                    label = f"{region} (sibling {n + 1} of {len(versions)})"
                rows_data.append((label, attributes or {}))
        names = sorted({name for _, attributes in rows_data for name in attributes})
        rows = [[label] + [_value(a[n]) if n in a else "-" for n in names] for label, a in rows_data]
        blocks.append(f"  {key}\n" + table(["region", *names], rows, indent="    "))
    return "\n".join(blocks)


def down_with_state(result: Result) -> dict[str, int]:
    """``{replica: time of its crash}`` for each replica down at the end with its state kept
    (``Crash(durable=True)`` or ``AzOutage(durable=True)`` with no restart after it), read from
    the trace."""
    down: dict[str, int] = {}
    for event in result.trace.of_kind("Crashed", "Restarted"):
        if event.kind == "Crashed" and event.get("durable"):
            down[event.replica] = event.time
        else:
            down.pop(event.replica, None)
    return dict(sorted(down.items()))


def _actions(attributes: dict[str, Any], wrote: Any, deleted: bool = False) -> str:
    """``sets a, b``; ``adds 1 to used``; ``adds pen to items``; ``deletes book from items``;
    ``removes c`` (REMOVE); ``deletes the item`` (DeleteItem). Key attributes and the versioned
    pattern's bookkeeping are not part of the effect, so they are not named."""
    added = wrote.get("added", {}) if wrote is not None else {}
    elements = (wrote.get("elements") or {}) if wrote is not None else {}
    removed = set(wrote.get("removed") or ()) if wrote is not None else set()
    bookkeeping = set(wrote.get("bookkeeping") or ()) if wrote is not None else set()
    if deleted:
        return "deletes the item"
    plain = [n for n in sorted(attributes) if n not in added and n not in elements
             and n not in removed and n not in bookkeeping]
    parts = [f"sets {', '.join(plain)}"] if plain else []
    gone = [n for n in sorted(attributes) if n in removed]
    parts += [f"removes {', '.join(gone)}"] if gone else []
    parts += [f"adds {k} to {n}" for n, k in sorted(added.items())]
    for name, action in sorted(elements.items()):
        parts += [f"{verb} {', '.join(str(e) for e in action[key])} {prep} {name}"
                  for verb, key, prep in (("adds", "add", "to"), ("deletes", "delete", "from"))
                  if action[key]]
    return "; ".join(parts)


def ledger_lines(result: Result) -> str:
    """One line per write with its verdict; an indented reason under every non-kept write."""
    rows = []
    reasons = {}
    wrote = {e.get("write"): e for e in result.trace.of_kind("Wrote")}
    deletes = set()  # DeleteItem requests, and a transaction's or a batch's Delete parts
    for event in result.trace.of_kind("ClientRequested"):
        request = event.get("request") or {}
        for part in [request, *(request.get("parts") or ())]:
            if isinstance(part, dict) and part.get("operation") == "DeleteItem":
                deletes.add(part.get("op"))
    for entry in result.ledger:
        actions = _actions(entry.attributes, wrote.get(entry.write), entry.write in deletes)
        what = f"{entry.client}@{entry.replica} {actions}".rstrip()
        rows.append([entry.write, entry.verdict, what])
        if entry.verdict != "kept" or entry.why:  # a kept write's why: held only on a down disk
            reasons[entry.write] = entry.why
    text = table(["write", "verdict", "what"], rows).split("\n")
    out = [text[0]]
    for line, entry in zip(text[1:], result.ledger, strict=False):
        out.append(line)
        if entry.write in reasons:
            out.append(f"      why: {reasons[entry.write]}")
    return "\n".join(out)


def _summary_line(result: Result) -> str:
    s = result.summary
    parts = [
        f"{s['acknowledged']} acknowledged",
        f"{s['kept']} kept",
        f"{s['superseded']} superseded",
        f"{s['silently_lost']} silently lost",
        f"{s['detected']} detected",
        f"{s['rejected']} rejected",
        *([f"{s['unreplicated']} unreplicated"] if s["unreplicated"] else []),
        f"{result.siblings_visible} with siblings",
        "converged" if result.converged else "NOT converged",
    ]
    return " · ".join(parts)


def clocks(result: Result) -> str:
    """One row per write: real (simulated) time, and the wall, Lamport and HLC stamps it got."""
    rows = []
    for event in result.trace.of_kind("Wrote"):
        stamp = event.get("stamp")
        hlc = event.get("hlc") or [0, 0]
        rows.append([event.get("write"), event.replica, f"t={event.time}",
                     format_wall(stamp["wall"]) + (f"+{stamp['logical']}" if stamp.get("logical") else ""),
                     event.get("lamport"), f"{format_wall(hlc[0])}+{hlc[1]}"])
    return table(["write", "region", "real time", "LWW stamp", "Lamport", "HLC"], rows)


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value} ms"


#: What a real-network run (``result.runtime == "net"``) says about itself, under its title.
REAL_RUN = ("REAL NETWORK: one OS process per region, TCP on 127.0.0.1, real timers, real ms. "
            "NOT deterministic: the operating system schedules the processes, so another run "
            "can show other times (and, near a race, another outcome).")


def report(result: Result) -> str:
    """What ``replicalab run`` prints: header, timeline, final items, ledger, summary."""
    options = "".join(f", {k}={v}" for k, v in sorted(result.options.items()))
    real = getattr(result, "runtime", "sim") == "net"
    lines = [
        f"{result.scenario} — {result.label}, seed={result.seed}{options}",
        *([REAL_RUN] if real else []),
        "",
        "Timeline (real ms since the run began)" if real else "Timeline (simulated ms)",
        timeline(result),
        "",
        "Final items",
        final_items(result),
        "",
        "Ledger",
        ledger_lines(result),
        "",
    ]
    if result.forks:
        lines += ["Reconciliation scan", *(f"  {f.describe()}" for f in result.forks), ""]
    if result.skew:
        lines += ["Clocks (skew " + ", ".join(f"{r} {ms:+d} ms" for r, ms in result.skew.items())
                  + "): what each stamp says about the order of the writes", clocks(result), ""]
    sync = result.sync
    if sync["sessions"]:
        ratio = sync["bytes"] / sync["full_state_bytes"] if sync["full_state_bytes"] else 0.0
        lines.append(f"Anti-entropy: {sync['sessions']} sessions, {sync['repaired']} keys repaired, "
                     f"{sync['bytes']} bytes sent; sending every item instead: "
                     f"{sync['full_state_bytes']} bytes ({ratio:.1%})")
    if result.components:
        lines.append("NOT converged: still partitioned into "
                     + " | ".join(", ".join(c) for c in result.components))
    latency = result.latency
    lines.append(f"Write latency: p50 {_ms(latency['p50'])}, p99 {_ms(latency['p99'])}"
                 + (f" · stale strong reads: {len(result.stale_reads)} of {result.reads}"
                    f"{' (' + ', '.join(result.stale_reads) + ')' if result.stale_reads else ''}"
                    if result.reads else ""))
    lines.append("Summary: " + _summary_line(result))
    return "\n".join(lines)


def compare_table(rows: Sequence[Any], *, rates: bool = False) -> str:
    """The seed's side-by-side table with measured columns: one aligned row per pattern.

    ``rows`` are :class:`replicalab.scenarios.compare.Row` values; ``rates`` adds
    writes/s, conflicts/s and loss % (for generated workloads).
    """
    # The unreplicated column appears only when some run ended before its writes spread.
    unreplicated = any(getattr(r, "unreplicated", 0) for r in rows)
    headers = ["pattern", "multi-region writes", "silently lost", "detected", "rejected",
               *(["unreplicated"] if unreplicated else []),
               "siblings", "write p50/p99", "stale strong reads", "converged"]
    if rates:
        headers += ["writes/s", "conflicts/s", "loss %"]
    out = []
    for r in rows:
        latency = "-" if r.p50 is None else f"{r.p50}/{r.p99} ms"
        stale = f"{r.stale_reads}/{r.reads}" if r.reads else "-"
        converged = "yes" if r.converged == r.seeds else f"{r.converged}/{r.seeds}"
        line = [r.pattern, r.active, r.silently_lost, r.detected, r.rejected,
                *([r.unreplicated] if unreplicated else []), r.siblings, latency, stale, converged]
        if rates:
            line += [f"{r.acknowledged / r.seconds:.1f}", f"{r.conflicts / r.seconds:.2f}",
                     f"{r.loss_percent:.1f}"]
        out.append(line)
    return table(headers, out)
