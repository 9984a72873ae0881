"""What frames a space-time diagram: the bands naming a region over its AZ lanes, the
summary line under the title (table runs and cluster runs), and the legends.

Split from :mod:`replicalab.viz.svg`, which lays out lanes, steps and messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from replicalab.viz import _svg as s
from replicalab.viz.story import Story

__all__ = ["GROUP_H", "group_headers", "legend", "quorum_legend", "quorum_summary",
           "region_groups", "summary_line"]

#: Height of the band above the lane names that names each region of AZ nodes.
GROUP_H = 24


def region_groups(source: Any, replicas: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``[(region, its AZ node lanes)]`` for a run whose regions are groups of AZ nodes
    (``replicas_per_region`` > 1), in lane order; ``[]`` otherwise."""
    options = getattr(source, "options", None)
    regions = getattr(source, "regions", ())
    if not isinstance(options, dict) or options.get("replicas_per_region", 1) <= 1 or not regions:
        return []
    groups: list[tuple[str, list[str]]] = []
    for lane in replicas:
        region = lane[:-1] if lane[:-1] in regions else lane
        if groups and groups[-1][0] == region:
            groups[-1][1].append(lane)
        else:
            groups.append((region, [lane]))
    return groups


def group_headers(groups: list[tuple[str, list[str]]], lane_x: dict[str, float], col_w: float,
                   y: float, bottom: float) -> list[str]:
    """A bracket naming each region over its AZ lanes, and a rule between regions."""
    out: list[str] = []
    for n, (region, lanes) in enumerate(groups):
        left, right = lane_x[lanes[0]] - col_w / 2 + 6, lane_x[lanes[-1]] + col_w / 2 - 6
        out.append(s.tag("rect", None, x=left, y=y + 2, width=right - left, height=GROUP_H - 6,
                         rx=4, fill="#E8EEF6", stroke="#9FB3CC", stroke_width=1))
        out.append(s.text((left + right) / 2, y + GROUP_H - 9, f"{region} ({len(lanes)} AZs)"
                          if len(lanes) > 1 else region, size=12, font_weight="bold", fill=s.INK,
                          text_anchor="middle"))
        if n:
            edge = lane_x[lanes[0]] - col_w / 2
            out.append(s.line(edge, y + 2, edge, bottom + 6, stroke="#9FB3CC", stroke_width=1,
                              stroke_dasharray="4 3"))
    return out


def quorum_summary(story: Story, x: float, y: float) -> str:
    """A cluster run's verdict counts; lost, hint-only and stale reads in colour when not 0."""
    sm = story.summary or {}
    parts: list[tuple[str, str, str]] = []
    for name, colour in (("kept", s.INK), ("sibling", s.INK), ("superseded", s.INK),
                         ("lost", s.VERMILLION), ("hint-only", s.VERMILLION), ("rejected", s.INK),
                         ("stale_reads", s.ORANGE)):
        count = sm.get(name, 0)
        alarm = count and colour != s.INK
        parts.append((f"{' · ' if parts else ''}{count} {name.replace('_', ' ')}",
                      colour if alarm else s.INK, "bold" if alarm else "normal"))
    spans = "".join(s.tag("tspan", s.esc(t), fill=c, font_weight=w) for t, c, w in parts)
    return s.tag("text", spans, x=x, y=y, font_size=12)


def summary_line(story: Story, x: float, y: float) -> str:
    if story.quorum and story.summary is not None:
        return quorum_summary(story, x, y)
    if story.summary is None:
        return s.text(x, y, f"{len(story.replicas)} replicas · {len(story.steps)} steps · "
                            f"{len(story.messages)} messages (no ledger: a bare trace)",
                      size=12, fill=s.INK)
    sm = story.summary
    parts = [
        (f"{sm['acknowledged']} acknowledged · {sm['kept']} kept · {sm['superseded']} superseded"
         " · ", s.INK, "normal"),
        (f"{sm['silently_lost']} silently lost", s.VERMILLION if sm["silently_lost"] else s.INK,
         "bold" if sm["silently_lost"] else "normal"),
        (f" · {sm['detected']} detected · {sm['rejected']} rejected"
         + (f" · {sm['unreplicated']} unreplicated" if sm.get("unreplicated") else ""),
         s.INK, "normal"),
    ]
    spans = "".join(s.tag("tspan", s.esc(t), fill=c, font_weight=w) for t, c, w in parts)
    return s.tag("text", spans, x=x, y=y, font_size=12)


#: The legend line of a picture where some node went down: the bar and the dashed lane.
OUTAGE_ENTRY = ("node down, then back (its lane dashed in between)",
                s.line(-8, -6, 8, -6, stroke=s.INK, stroke_width=3)
                + s.line(0, -6, 0, 8, stroke=s.GREY, stroke_width=1.5, stroke_dasharray="3 4"))


def legend(x: float, y: float, width: float, compact: bool,
           bare: bool = False, unreplicated: bool = False,
           outage: bool = False) -> tuple[list[str], float]:
    """The legend block at (x, y); returns its elements and its bottom edge."""
    entries: list[tuple[str, str]] = [
        ("client write of a bare trace (no ledger, no verdict)", s.write_mark(0, 0, None)),
    ] if bare else []
    entries += [
        ("kept", s.write_mark(0, 0, "kept")),
        ("superseded (overwritten by a write that saw it)", s.write_mark(0, 0, "superseded")),
        ("SILENTLY LOST write, and where its value was dropped", s.lost_mark(0, 0)),
        ("detected (the conflict was surfaced)", s.write_mark(0, 0, "detected")),
        ("rejected (refused with an error)", s.write_mark(0, 0, "rejected")),
        *([("unreplicated (held by some regions when the run ended)",
            s.write_mark(0, 0, "unreplicated"))] if unreplicated else []),
        ("merge: keeps w1+w2 in one version, w1 | w2 as siblings", s.diamond(0, 0, 6.5, s.GREEN)),
        ("merge that dropped a value (not silently)", s.diamond(0, 0, 6.5, s.ORANGE)),
        ("replication message, labelled with its write", s.arrow(-14, 0, 14, 0, gap1=0, gap2=0)),
        ("message whose merge silently lost a write",
         s.arrow(-14, 0, 14, 0, gap1=0, gap2=0, colour=s.VERMILLION, width=2.4, head=10)),
        ("message dropped by the network",
         s.line(-14, 0, 8, 0, stroke=s.INK, stroke_width=1.2, stroke_dasharray="4 3")
         + s.cross(10, 0, 4.5, s.INK, 2)),
        ("read, timer or other step", s.circle(0, 0, 4, "#FFFFFF", s.GREY, 1.5)),
        *([OUTAGE_ENTRY] if outage else []),
    ]
    return _block(x, y, width, compact, entries)


def quorum_legend(x: float, y: float, width: float, compact: bool,
                  outage: bool = False) -> tuple[list[str], float]:
    """The legend of a cluster run: the quorum ledger's verdicts and stale reads."""
    entries: list[tuple[str, str]] = [
        ("kept (in the final state of its key)", s.write_mark(0, 0, "kept")),
        ("sibling (kept beside a concurrent write)", s.write_mark(0, 0, "sibling")),
        ("superseded (overwritten by a write that read it)", s.write_mark(0, 0, "superseded")),
        ("ACKNOWLEDGED, THEN LOST (no node holds it)", s.write_mark(0, 0, "lost")),
        ("acknowledged, held ONLY IN A HINT that never came home", s.write_mark(0, 0, "hint-only")),
        ("rejected (the client was told it failed)", s.write_mark(0, 0, "rejected")),
        ("STALE read (missed a write acknowledged before it)", s.circle(0, 0, 5, s.ORANGE, s.INK, 1)),
        ("read, timer or other step", s.circle(0, 0, 4, "#FFFFFF", s.GREY, 1.5)),
        ("message between nodes (store, fetch, their answers)", s.arrow(-14, 0, 14, 0, gap1=0, gap2=0)),
        ("message dropped (a crashed node, a partition)",
         s.line(-14, 0, 8, 0, stroke=s.INK, stroke_width=1.2, stroke_dasharray="4 3")
         + s.cross(10, 0, 4.5, s.INK, 2)),
        *([OUTAGE_ENTRY] if outage else []),
    ]
    return _block(x, y, width, compact, entries)


def _block(x: float, y: float, width: float, compact: bool,
           entries: list[tuple[str, str]]) -> tuple[list[str], float]:
    """A legend's ``(label, mark)`` entries in as many 380 px columns as ``width`` holds."""
    if compact:
        entries = [*entries, ("routine delivery (faint arrow, shares a row)",
                              s.circle(0, 0, 2.5, s.GREEN, s.GREEN, 0.5))]
    column_w = 380.0
    columns = max(1, int(width // column_w))
    per_column = -(-len(entries) // columns)
    out = [s.text(x, y, "Legend", size=12, font_weight="bold", fill=s.INK)]
    for n, (label, mark) in enumerate(entries):
        cx = x + 18 + (n // per_column) * column_w
        cy = y + 20 + (n % per_column) * 20
        out.append(f'<g transform="translate({s.num(cx)},{s.num(cy)})">{mark}</g>')
        out.append(s.text(cx + 24, cy + 4, label, size=11, fill=s.INK))
    return out, y + 20 + per_column * 20
