"""Views of a run for people: text, pictures, exports and a step-through page.

* :mod:`~replicalab.viz.text` — the numbered timeline, final items, ledger, comparison table;
* :mod:`~replicalab.viz.svg` — the space-time (Lamport) diagram: :func:`to_svg`, :func:`compare_svg`;
* :mod:`~replicalab.viz.html` — a self-contained step-through page: :func:`to_html`;
* :mod:`~replicalab.viz.mermaid` — Mermaid sequence-diagram text: :func:`to_mermaid`;
* :mod:`~replicalab.viz.shiviz` — a ShiViz log with happens-before vector clocks: :func:`to_shiviz`;
* :mod:`~replicalab.viz.faults` — the words the text exports use for a node down or back, a cut,
  a heal and a message lost on arrival, at the step where each happened;
* :mod:`~replicalab.viz.topology` — a topology drawing with partitions: :func:`topology_svg`;
* :mod:`~replicalab.viz.charts` — messages, bytes and siblings over time: :func:`cost_chart`;
* :mod:`~replicalab.viz.linearizability` — a linearizability verdict's core or witness: :func:`verdict_svg`.

All of them take a scenario Result (most also a bare Trace) and return text;
the same run always gives the same bytes.
"""

from typing import TYPE_CHECKING, Any

from replicalab import trace as _trace
from replicalab.viz.html import html_fragment, to_html
from replicalab.viz.mermaid import to_mermaid
from replicalab.viz.shiviz import to_shiviz
from replicalab.viz.svg import compare_svg, to_svg
from replicalab.viz.text import compare_table, final_items, ledger_lines, report, table, timeline

if TYPE_CHECKING:
    from replicalab.viz.charts import cost_chart, cost_series
    from replicalab.viz.linearizability import verdict_svg
    from replicalab.viz.merkle import merkle_diff_svg
    from replicalab.viz.topology import topology_svg

__all__ = [
    "compare_svg",
    "compare_table",
    "cost_chart",
    "cost_series",
    "final_items",
    "html_fragment",
    "ledger_lines",
    "merkle_diff_svg",
    "report",
    "table",
    "timeline",
    "to_html",
    "to_mermaid",
    "to_shiviz",
    "to_svg",
    "topology_svg",
    "verdict_svg",
]

# A trace draws itself through these (it sits below the pictures and never imports them).
_trace.RENDERERS.update({"svg": to_svg, "html": html_fragment})


def __getattr__(name: str) -> Any:
    """The drawings ``import replicalab`` does not need, imported on first use (PEP 562):
    the verdict picture alone would bring in the linearizability checker."""
    # Plain import statements, so the layering test sees them.
    if name in ("cost_chart", "cost_series"):
        from replicalab.viz import charts

        return getattr(charts, name)
    if name == "verdict_svg":
        from replicalab.viz.linearizability import verdict_svg

        return verdict_svg
    if name == "merkle_diff_svg":
        from replicalab.viz.merkle import merkle_diff_svg

        return merkle_diff_svg
    if name == "topology_svg":
        from replicalab.viz.topology import topology_svg

        return topology_svg
    raise AttributeError(f"module 'replicalab.viz' has no attribute {name!r}")
