"""Text views of a run, for people: a numbered timeline, final items, the ledger, comparisons.

Everything here is a pure function of a result, with sorted ids and aligned
columns, so the same run prints the same text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from replicalab.items import format_wall

if TYPE_CHECKING:
    from replicalab.scenarios.world import Result

__all__ = ["compare_table", "final_items", "ledger_lines", "report", "table", "timeline"]


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


def timeline(result: Result) -> str:
    """Numbered lines: each write (or rejection) and each merge, in the order they happened."""
    lines = []
    for event in result.trace:
        when = f"t={event.time}"
        if event.kind == "Wrote":
            stamp = event.get("stamp")
            text = (
                f"{event.replica} {event.get('client')} writes {event.get('key')} "
                f"({event.get('write')}): {_assignments(event.get('attributes'))} "
                f"[stamp {format_wall(stamp['wall'])}]"
            )
        elif event.kind == "Rejected":
            text = (
                f"{event.replica} rejects {event.get('client')}'s {event.get('op')}: "
                f"{event.get('error')} ({event.get('message')})"
            )
        elif event.kind == "Merged":
            lost = [x for x in event.get("losses", ()) if x["write"] != "initial"]
            text = (
                f"{event.replica} receives {event.get('key')} from {event.get('source')} "
                f"({event.get('write')}): {event.get('note')}"
            )
            if lost:
                text += " — drops " + ", ".join(f"{x['write']}'s {x['attribute']}" for x in lost)
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
    blocks = []
    for key in keys:
        rows_data = []
        for region in sorted(result.final):
            value = result.final[region].get(key)
            versions = value if isinstance(value, list) else [value]
            for n, attributes in enumerate(versions):
                label = region
                if len(versions) > 1:
                    label = f"{region} (sibling {n + 1} of {len(versions)})"
                rows_data.append((label, attributes or {}))
        names = sorted({name for _, attributes in rows_data for name in attributes})
        rows = [[label] + [_value(a[n]) if n in a else "-" for n in names] for label, a in rows_data]
        blocks.append(f"  {key}\n" + table(["region", *names], rows, indent="    "))
    return "\n".join(blocks)


def ledger_lines(result: Result) -> str:
    """One line per write with its verdict; an indented reason under every non-kept write."""
    rows = []
    reasons = {}
    for entry in result.ledger:
        what = f"{entry.client}@{entry.replica} sets {', '.join(sorted(entry.attributes))}"
        rows.append([entry.write, entry.verdict, what])
        if entry.verdict != "kept":
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
        f"{result.siblings_visible} with siblings",
        "converged" if result.converged else "NOT converged",
    ]
    return " · ".join(parts)


def report(result: Result) -> str:
    """What ``replicalab run`` prints: header, timeline, final items, ledger, summary."""
    options = "".join(f", {k}={v}" for k, v in sorted(result.options.items()))
    return "\n".join([
        f"{result.scenario} — merge={result.merge}, seed={result.seed}{options}",
        "",
        "Timeline (simulated ms)",
        timeline(result),
        "",
        "Final items",
        final_items(result),
        "",
        "Ledger",
        ledger_lines(result),
        "",
        "Summary: " + _summary_line(result),
    ])


def compare_table(results: Sequence[Result]) -> str:
    """One aligned row per run (policy): what was lost, kept, left as siblings, converged."""
    rows = []
    for r in results:
        s = r.summary
        rows.append([r.merge, s["silently_lost"], s["kept"], s["superseded"], s["detected"],
                     s["rejected"], r.siblings_visible, "yes" if r.converged else "no"])
    headers = ["merge", "silently lost", "kept", "superseded", "detected", "rejected",
               "siblings visible", "converged"]
    return table(headers, rows)
