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
    assert "merge=causal, seed=3" in out and "sibling 1 of 2" in out and "0 silently lost" in out


def test_json_flag_prints_the_canonical_document(capsys):
    _, out, _ = run(capsys, "run", "london", "--json", "--seed", "2")
    doc = json.loads(out)
    assert doc["format"] == "replicalab/result" and doc["seed"] == 2
    assert doc["summary"]["silently_lost"] == 1


def test_compare_prints_one_aligned_row_per_policy(capsys):
    _, out, _ = run(capsys, "compare", "london")
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert [r.split()[0] for r in rows] == ["merge", "item-lww", "attribute-lww", "causal"]
    start = rows[0].index("silently lost")  # second column starts at the same place in every row
    assert all(r[start - 2:start] == "  " and r[start] != " " for r in rows)
    assert rows[1].split()[1] == "1" and rows[2].split()[1] == "0" and rows[3].split()[1] == "0"


def test_compare_json(capsys):
    _, out, _ = run(capsys, "compare", "london", "--json")
    rows = json.loads(out)
    assert [(r["merge"], r["summary"]["silently_lost"]) for r in rows] == [
        ("item-lww", 1), ("attribute-lww", 0), ("causal", 0)]


def test_skew_flag(capsys):
    _, out, _ = run(capsys, "run", "london", "--skew", "us-east-1=-100")
    assert "skew={'us-east-1': -100}" in out and "w2     silently-lost" in out


def test_scenarios_lists_names_and_descriptions(capsys):
    status, out, _ = run(capsys, "scenarios")
    assert status == 0 and out.splitlines()[1].startswith("london")


def test_console_script_and_module_entry_point_agree():
    module = subprocess.run([sys.executable, "-m", "replicalab", "compare", "london"],
                            capture_output=True, text=True, check=True)
    assert "item-lww" in module.stdout and module.stderr == ""
