"""What one scenario run produced: the ledger, each region's items, the trace — plain data.

A :class:`Result` is a value: everything a picture, an export or a checker
needs is in it, and nothing in it runs the simulation again. The drawing
methods (``to_svg``, ``report`` ...) are thin delegations to
:mod:`replicalab.viz`, which sits below the scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from replicalab.items import Item
from replicalab.ledger import Ledger
from replicalab.reconcile import Fork
from replicalab.sim.simulation import Statistics, WriteFact
from replicalab.trace import Trace, canonical_json
from replicalab.viz import html, mermaid, shiviz, svg, text

__all__ = ["RESULT_FORMAT", "Result", "percentile"]

RESULT_FORMAT = "replicalab/result"


def percentile(values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile of integer values (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 100) * len(ordered) // 100))  # ceil(q * n), at least 1
    return ordered[rank - 1]


@attrs.frozen
class Result:
    """What one scenario run produced. Plain data throughout, except ``trace`` and ``ledger``.

    ``final`` is ``{region: {key: attributes}}`` — a dict of attributes, or a
    list of dicts when the region holds concurrent siblings.

    A replica that is down at the end having lost its state (``Crash(durable=False)``, or
    ``AzOutage(durable=False)`` without ``until``) holds nothing: ``final`` and ``items`` show it
    empty (``{}``), whatever its process held in memory before the crash, ``state_lost`` names
    it with the time of that crash, and ``converged`` is judged without it. The ledger never
    counts a write as held by it. A replica down with its state (``durable=True``) is shown with
    what its disk holds (the report marks it "down, state kept"), and counts for ``converged``:
    the run has converged only if every replica that has state — live, or on a kept disk —
    agrees. The ledger judges a write where its key is served (the live replicas), and at the
    kept disks only when no replica of the key is up: so a write held only on such disks (a
    leaderless ``n=1`` key whose home node is down) is ``kept`` in a converged run, and says
    so; a write a down disk lacks can be ``kept`` in a run that has not converged (that disk is
    behind, and catches up when its node is back). See "Replicas down with their disk" in
    :mod:`replicalab.ledger`.
    """

    scenario: str
    merge: str
    seed: int
    options: dict[str, Any]
    epoch: int
    ledger: Ledger
    final: dict[str, dict[str, Any]]
    items: dict[str, dict[str, Item]] = attrs.field(repr=False)
    """Each region's final items (the values ``final`` shows as plain data)."""
    converged: bool
    trace: Trace = attrs.field(repr=False)
    statistics: Statistics
    label: str = ""
    forks: tuple[Fork, ...] = ()
    write_latencies: tuple[int, ...] = ()
    stale_reads: tuple[str, ...] = ()
    #: With AZ nodes in regions: every stale read, strong or eventual, and why.
    stale_why: dict[str, str] = attrs.field(factory=dict, repr=False)
    reads: int = 0
    regions: tuple[str, ...] = ()
    facts: tuple[WriteFact, ...] = attrs.field(default=(), repr=False)
    skew: dict[str, int] = attrs.field(factory=dict)
    components: tuple[tuple[str, ...], ...] = ()
    initial: dict[str, Item] = attrs.field(factory=dict, repr=False)
    """The items every region started with, as the run's policy shaped them."""
    state_lost: dict[str, int] = attrs.field(factory=dict)
    """``{replica: time of its crash}`` for each replica down at the end without its state
    (shown empty in ``final``; see above)."""
    runtime: str = "sim"
    """``"sim"``: the deterministic simulator; ``"net"``: real processes on 127.0.0.1
    (:mod:`replicalab.scenarios.on_network`) — real times, not deterministic."""

    @property
    def sync(self) -> dict[str, int]:
        """Anti-entropy totals: sessions, bytes sent, hashes, items, keys repaired, and the
        bytes a full-state transfer would have needed for the same sessions."""
        events = self.trace.of_kind("Synced")
        return {
            "sessions": len(events),
            "bytes": sum(e.get("bytes_sent") for e in events),
            "hashes": sum(e.get("hashes_sent") for e in events),
            "items": sum(e.get("items_sent") for e in events),
            "repaired": sum(len(e.get("repaired")) for e in events),
            "full_state_bytes": sum(e.get("full_state_bytes") for e in events),
        }

    @property
    def summary(self) -> dict[str, int]:
        """Verdict counts: acknowledged, kept, superseded, silently_lost, detected, rejected."""
        return self.ledger.summary

    @property
    def siblings_visible(self) -> int:
        """How many (region, key) pairs end with more than one concurrent version.

        With AZ nodes (``replicas_per_region`` > 1) ``items`` is keyed by node: a region's
        pair counts once if any of its nodes ends with siblings for the key."""
        pairs = {(self._region(node), key) for node, keys in self.items.items()
                 for key, item in keys.items() if item.has_siblings}
        return len(pairs)

    def _region(self, node: str) -> str:
        """The region a node of ``items`` belongs to (itself with one replica per region)."""
        if node in self.regions or not self.regions:
            return node
        for region in self.regions:
            if node.startswith(region) and len(node) == len(region) + 1:
                return region
        return node

    @property
    def latency(self) -> dict[str, int | None]:
        """Client-observed write latency in simulated ms: ``{"p50", "p99", "max"}``."""
        values = self.write_latencies
        return {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
                "max": max(values) if values else None}

    def to_plain(self) -> dict[str, Any]:
        """The canonical result document as plain data."""
        return {
            "format": RESULT_FORMAT,
            "schema_version": 1,
            "scenario": self.scenario,
            "merge": self.merge,
            "seed": self.seed,
            "options": self.options,
            "pattern": self.label,
            "summary": self.summary,
            "converged": self.converged,
            "siblings_visible": self.siblings_visible,
            "write_latency_ms": self.latency,
            "stale_strong_reads": list(self.stale_reads),
            **({"stale_reads": dict(self.stale_why)} if self.stale_why else {}),
            "version_forks": [attrs.asdict(f) | {"writes": list(f.writes)} for f in self.forks],
            "final": self.final,
            # Only when some replica ended down without its state, so other documents keep their bytes.
            **({"state_lost": dict(sorted(self.state_lost.items()))} if self.state_lost else {}),
            "ledger": self.ledger.to_plain(),
            "statistics": attrs.asdict(self.statistics),
            "trace": self.trace.to_plain(),
            # Only a real run says so, so a simulated run's document keeps its bytes.
            **({"runtime": self.runtime, "deterministic": False} if self.runtime != "sim" else {}),
        }

    def to_json(self) -> str:
        """The canonical JSON result document: same seed, same bytes."""
        return canonical_json(self.to_plain())

    def timeline(self) -> str:
        """A short numbered timeline of writes, rejections, reads and merges."""
        return text.timeline(self)

    def report(self) -> str:
        """Timeline, final items and ledger, formatted for people (what the CLI prints)."""
        return text.report(self)

    def to_svg(self, *, compact: bool | None = None) -> str:
        """The space-time diagram as standalone SVG: a lane per region, messages, merges, losses."""
        return svg.to_svg(self, compact=compact)

    def to_html(self) -> str:
        """A self-contained step-through page (inline SVG, script and data; no network)."""
        return html.to_html(self)

    def to_mermaid(self) -> str:
        """Mermaid sequence-diagram text of the run."""
        return mermaid.to_mermaid(self)

    def to_shiviz(self) -> str:
        """A ShiViz log: one event per step, happens-before vector clocks from the trace."""
        return shiviz.to_shiviz(self)

    def _repr_svg_(self) -> str:
        """Jupyter: the space-time diagram."""
        return self.to_svg()

    def _repr_html_(self) -> str:
        """Jupyter: the diagram and the ledger (static HTML, no script)."""
        return html.html_fragment(self)
