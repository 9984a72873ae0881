"""The command line: what people type and what they read."""

import json
import subprocess
import sys

from replicalab.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_london_prints_timeline_items_ledger_and_summary(capsys):
    status, out, err = run(capsys, "run", "london")
    assert status == 0 and err == ""
    for heading in ("Timeline", "Final items", "Ledger", "Summary:"):
        assert heading in out
    assert "silently-lost" in out and "1 silently lost" in out


def test_merge_flag_swaps_the_policy(capsys):
    _, out, _ = run(capsys, "run", "london", "--merge", "causal", "--seed", "3")
    assert "london — causal, seed=3" in out and "sibling 1 of 2" in out and "0 silently lost" in out


def test_json_flag_prints_the_canonical_document(capsys):
    _, out, _ = run(capsys, "run", "london", "--json", "--seed", "2")
    doc = json.loads(out)
    assert doc["format"] == "replicalab/result" and doc["seed"] == 2
    assert doc["summary"]["silently_lost"] == 1


def test_compare_prints_the_seeds_table_one_aligned_row_per_pattern(capsys):
    _, out, _ = run(capsys, "compare", "london")
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert rows[0].split()[0] == "pattern"
    names = [r[2:32].strip() for r in rows[1:]]
    assert names[:5] == ["MREC item-lww (as deployed)", "MREC + version + conditional",
                         "MRSC (3 regions)", "single primary", "key-home routing"]
    start = rows[0].index("silently lost")  # every row's column starts at the same place
    assert all(r[start - 2:start] == "  " and r[start] != " " for r in rows)
    lost = {name: r[start:].split()[0] for name, r in zip(names, rows[1:], strict=True)}
    assert lost["MREC item-lww (as deployed)"] == "1"
    assert all(v == "0" for k, v in lost.items() if k != "MREC item-lww (as deployed)")


def test_compare_json(capsys):
    _, out, _ = run(capsys, "compare", "london", "--json", "--seeds", "2")
    rows = {r["pattern"]: r for r in json.loads(out)}
    assert rows["MREC item-lww (as deployed)"]["silently_lost"] == 2  # one per seed
    assert rows["MREC + version + conditional"]["detected"] == 2
    assert rows["MRSC (3 regions)"]["rejected"] == 2 and rows["MRSC (3 regions)"]["p50"] > 100
    assert rows["key-home routing"]["stale_reads"] == 0


def test_compare_workload_prints_rates(capsys):
    _, out, _ = run(capsys, "compare", "--workload", "append-only", "--minutes", "1")
    assert "writes/s" in out and "conflicts/s" in out and "loss %" in out


def test_compare_needs_a_scenario_or_a_workload(capsys):
    status, _, err = run(capsys, "compare")
    assert status == 2 and err.startswith("replicalab: error: compare takes a scenario name")


def test_run_scan_reports_the_version_fork(capsys):
    _, out, _ = run(capsys, "run", "london", "--writes", "versioned", "--scan")
    assert "version fork on sub_42: w1, w2 all wrote version 18" in out and "w1: detected" in out


def test_skew_flag(capsys):
    _, out, _ = run(capsys, "run", "london", "--skew", "us-east-1=-100")
    assert "skew={'us-east-1': -100}" in out and "w2     silently-lost" in out


def test_scenarios_lists_names_and_descriptions(capsys):
    status, out, _ = run(capsys, "scenarios")
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert status == 0 and names == ["cart", "counter", "crash", "dynamo", "leader", "london",
                                     "london-batch-at-home", "partition", "skew"]


def test_console_script_and_module_entry_point_agree():
    module = subprocess.run([sys.executable, "-m", "replicalab", "compare", "london"],
                            capture_output=True, text=True, check=True)
    assert "item-lww" in module.stdout and module.stderr == ""


def test_run_writes_every_picture_and_export(tmp_path, capsys):
    paths = {flag: tmp_path / f"london.{ext}" for flag, ext in
             [("--svg", "svg"), ("--html", "html"), ("--mermaid", "mmd"), ("--shiviz", "log")]}
    argv = ["run", "london"] + [x for flag, path in paths.items() for x in (flag, str(path))]
    status, out, _ = run(capsys, *argv)
    assert status == 0 and "Ledger" in out
    assert "<svg" in paths["--svg"].read_text()[:200]
    html = paths["--html"].read_text()
    assert "<script>" in html and 'src="http' not in html and 'href="http' not in html
    assert paths["--mermaid"].read_text().startswith("sequenceDiagram")
    assert "eu-west-1" in paths["--shiviz"].read_text()


def test_svg_to_stdout_replaces_the_report(capsys):
    _, out, _ = run(capsys, "run", "london", "--svg", "-")
    assert out.lstrip().startswith("<") and "Ledger" not in out


def test_timeline_flag_prints_only_the_timeline(capsys):
    _, out, _ = run(capsys, "run", "london", "--timeline")
    assert out.startswith("1. t=140") and "Ledger" not in out


def test_compare_svg_puts_the_policies_side_by_side(tmp_path, capsys):
    path = tmp_path / "compare.svg"
    status, _, _ = run(capsys, "compare", "london", "--svg", str(path))
    text = path.read_text()
    assert status == 0 and all(p in text for p in ("item-lww", "attribute-lww", "causal"))


def test_an_unwritable_export_path_is_a_one_line_error(capsys):
    """A write that fails is status 1 (the input was fine), not 2 (bad input)."""
    status, _, err = run(capsys, "run", "london", "--svg", "/nonexistent-dir/x.svg")
    assert status == 1 and err.startswith("replicalab: error: cannot write") and err.count("\n") == 1
