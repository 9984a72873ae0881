"""Views of a run for people. Text views today; pictures land with the visualisation work."""

from replicalab.viz.text import compare_table, final_items, ledger_lines, report, table, timeline

__all__ = ["compare_table", "final_items", "ledger_lines", "report", "table", "timeline"]
