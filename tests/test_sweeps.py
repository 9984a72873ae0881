"""Sweeps: the same bytes on every backend, numbers a brute-force recount agrees with, bad input refused.

The contract under test (replicalab.sweeps.runner.sweep): the aggregated output depends only on
the cells (source, seeds, patterns, options) — never on the backend, the number of workers, or
the order in which workers finish — and every number in it is what you get by running each cell
with ``scenarios.run`` and counting by hand.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import replicalab
from replicalab import scenarios
from replicalab.cli import main
from replicalab.errors import ConfigError
from replicalab.scenarios.compare import compare, patterns
from replicalab.scenarios.result import percentile
from replicalab.scenarios.workloads import workload
from replicalab.sweeps import MAX_CELLS, Distribution, parse_seeds, pattern_ids, sweep
from replicalab.sweeps.cells import pattern, slug

LONDON = {"scenario": "london", "seeds": range(3, 9), "options": {"stamps": ["wall", "hlc"]}}
CONTESTED = {"workload": "contested", "minutes": 1, "seeds": 2,
             "patterns": ["item-lww", "mrsc", "key-home"]}


def outputs(result):
    return result.to_json(), result.to_csv(), result.to_svg()


# ---------------------------------------------------------------------------
# One answer, whatever runs it


@pytest.mark.parametrize("spec", [LONDON, CONTESTED], ids=["london", "contested"])
def test_workers_1_and_2_give_identical_bytes(spec):
    args = dict(spec)
    scenario = args.pop("scenario", None)
    assert outputs(sweep(scenario, **args, workers=1)) == outputs(sweep(scenario, **args, workers=2))


def test_a_dask_local_cluster_gives_the_same_bytes_as_one_process():
    """Faithful to a real cluster: LocalCluster with two worker *processes* (one thread each),
    so chunks and measurements are serialized and cross process boundaries over TCP on
    127.0.0.1, as they would between machines."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    args = dict(LONDON)
    scenario = args.pop("scenario")
    one = sweep(scenario, **args, workers=1)
    on_dask = sweep(scenario, **args, dask="local", workers=2)
    assert outputs(on_dask) == outputs(one)


def test_same_sweep_same_bytes_under_any_hash_seed():
    code = ("from replicalab.sweeps import sweep; import sys; "
            "sys.stdout.write(sweep('london', 4, patterns=['causal', 'crdt'], workers=1).to_json())")
    docs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("0", "4242")
    }
    assert len(docs) == 1


# ---------------------------------------------------------------------------
# The numbers: a brute-force recount from individual runs


def recount(scenario_at, seeds, pattern_options):
    """Per quantity, the list of per-run values, counted the obvious way from scenarios.run."""
    values = {k: [] for k in ("silently_lost", "detected", "rejected", "stale_reads", "acknowledged")}
    latencies = []
    converged = 0
    for seed in seeds:
        r = scenario_at(seed).run(seed=seed, **pattern_options)
        for k in ("silently_lost", "detected", "rejected", "acknowledged"):
            values[k].append(r.summary[k])
        values["stale_reads"].append(len(r.stale_reads))
        latencies += list(r.write_latencies)
        converged += r.converged
    return values, latencies, converged


def check_against(plain, values, n):
    assert plain["count"] == n and plain["total"] == sum(values)
    assert plain["histogram"] == [list(p) for p in sorted(Counter(values).items())]
    assert plain["mean"] == (float(round(Fraction(sum(values), n), 4)) if n else None)
    assert plain["min"] == (min(values) if values else None)
    assert plain["max"] == (max(values) if values else None)
    for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        assert plain[key] == percentile(values, q)


@pytest.mark.parametrize("spec", [
    ("london", lambda seed: scenarios.get("london"), range(4), None),
    ("partition", lambda seed: scenarios.get("partition"), range(2), None),
    ("contested", lambda seed: workload("contested", seed=seed, minutes=1), range(2),
     ["versioned", "single-primary"]),
], ids=["london", "partition", "contested"])
def test_every_aggregate_matches_a_brute_force_recount(spec):
    name, scenario_at, seeds, chosen = spec
    kwargs = {"workload": name, "minutes": 1} if name == "contested" else {"scenario": name}
    result = sweep(**kwargs, seeds=seeds, patterns=chosen or "all", workers=1)
    doc = json.loads(result.to_json())
    chosen_patterns = [pattern(c) for c in chosen] if chosen else patterns()
    assert [row["pattern"] for row in doc["rows"]] == [p.name for p in chosen_patterns]
    for row, p in zip(doc["rows"], chosen_patterns, strict=True):
        values, latencies, converged = recount(scenario_at, seeds, p.options)
        assert row["runs"] == len(seeds) and row["converged"] == converged
        for k, v in values.items():
            check_against(row[k], v, len(seeds))
        check_against(row["write_latency_ms"], latencies, len(latencies))


def test_a_sweep_row_is_compares_row_for_the_same_seeds():
    """sweep and `replicalab compare` share the pattern definitions and agree number for number."""
    assert sweep("london", [0], workers=1).compare_rows() == compare("london", [0])
    assert sweep("london", range(5), workers=1).compare_rows() == compare("london", range(5))
    chosen = ["item-lww", "mrsc", "causal"]
    generated = sweep(workload="contested", minutes=1, seeds=[2], patterns=chosen, workers=1)
    assert generated.compare_rows() == compare(
        lambda seed: workload("contested", seed=seed, minutes=1), [2],
        chosen=[pattern(c) for c in chosen])


@given(st.lists(st.integers(0, 40), min_size=1, max_size=60),
       st.sampled_from([0.01, 0.25, 0.5, 0.9, 0.99, 1.0]))
def test_histogram_percentiles_agree_with_the_list_percentile(values, q):
    d = Distribution()
    d.extend(values)
    assert d.percentile(q) == percentile(values, q)
    assert d.mean == Fraction(sum(values), len(values))


def test_adding_in_another_order_gives_the_same_plain_data():
    values = [3, 0, 0, 7, 1, 0, 3]
    a, b = Distribution(), Distribution()
    a.extend(values)
    b.extend(reversed(values))
    assert a.to_plain() == b.to_plain()


def test_memory_stays_flat_as_seeds_go_by(monkeypatch):
    """Flat in the number of seeds: after the first chunks, the memory held between chunks stops
    growing — a run is reduced to its measurement and folded into histograms, never kept."""
    import gc
    import tracemalloc

    from replicalab.sweeps import runner

    def measure(done, total):
        gc.collect()  # a finished run's simulation holds reference cycles: count what is kept
        held.append(tracemalloc.get_traced_memory()[0])

    monkeypatch.setattr(runner, "CHUNK_CELLS", 10)
    held = []
    tracemalloc.start()
    try:
        sweep("london", 160, patterns=["key-home"], workers=1, progress=measure)
    finally:
        tracemalloc.stop()
    assert len(held) == 16
    assert held[-1] - held[4] < 16 * 1024, [h - held[4] for h in held]


def test_options_cross_every_pattern_and_change_what_they_say():
    result = sweep("skew", 2, patterns=["item-lww"], options={"stamps": ["wall", "hlc"]}, workers=1)
    assert [r.group.id for r in result.rows] == ["item-lww,stamps=wall", "item-lww,stamps=hlc"]
    for row in result.rows:
        alone = scenarios.run("skew", seed=0, merge="item-lww", stamps=row.group.extra["stamps"])
        assert row.counts["silently_lost"].histogram[0][0] == alone.summary["silently_lost"]


def test_pattern_ids_are_compares_patterns_and_either_name_works():
    assert pattern_ids() == [slug(p) for p in patterns()]
    assert len(set(pattern_ids())) == len(pattern_ids())
    by_id = sweep("london", 1, patterns=["mrsc"], workers=1)
    by_name = sweep("london", 1, patterns=["MRSC (3 regions)"], workers=1)
    assert by_id.to_json() == by_name.to_json()


# ---------------------------------------------------------------------------
# Views


def test_the_svg_is_well_formed_and_names_every_pattern():
    result = sweep("london", 3, workers=1)
    svg = result.to_svg()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.find("{http://www.w3.org/2000/svg}title") is not None
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for p in patterns():
        assert p.name in texts
    assert "silently lost" in texts and "latency ms" in texts
    assert result._repr_svg_() == svg
    assert svg in result._repr_html_() and "<script" not in result._repr_html_()


def test_the_svg_fits_a_page_column_with_no_text_under_11px():
    """Readable at the size shown: 680 px wide (the tutorial's column; Jupyter shows it at its own
    size), every font size at least 11 px, and long pattern names wrapped, not run into the bars."""
    root = ET.fromstring(sweep("london", 2, options={"stamps": ["wall", "hlc"]}, workers=1).to_svg())
    assert float(root.get("width")) == 680
    sizes = [float(t.get("font-size")) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert min(sizes) >= 11
    labels = [t for t in root.iter("{http://www.w3.org/2000/svg}text")
              if t.get("font-weight") == "bold" and float(t.get("x")) < 20 and float(t.get("y")) > 100]
    assert all(len(t.text) * 11 * 0.64 <= 192 - 14 for t in labels)


def test_csv_has_a_header_and_one_row_per_pattern():
    lines = sweep("london", 2, workers=1).to_csv().splitlines()
    assert lines[0].startswith("pattern,id,runs,")
    assert len(lines) == 1 + len(patterns())
    assert "silently_lost_histogram" in lines[0] and ",1:2," in lines[1]  # item-lww: 1 lost, twice


# ---------------------------------------------------------------------------
# Bad input: a clear ConfigError, and nothing runs


BAD = [
    ({"seeds": 0}, "seeds as a count must be >= 1"),
    ({"seeds": -3}, ">= 1"),
    ({"seeds": []}, "empty"),
    ({"seeds": [1, 1]}, "repeat"),
    ({"seeds": [0, -1]}, "integer >= 0"),
    ({"seeds": "0..9"}, "parse_seeds"),
    ({"seeds": True}, "count, a range"),
    ({"seeds": range(5, 2)}, "non-empty"),
    ({"seeds": MAX_CELLS}, f"at most {MAX_CELLS} runs"),
    ({"patterns": "foo"}, "unknown pattern 'foo'"),
    ({"patterns": []}, "'all' or a list"),
    ({"patterns": ["causal", "causal"]}, "twice"),
    ({"workers": 0}, "from 1 to 256"),
    ({"workers": 1.5}, "from 1 to 256"),
    ({"workers": "2"}, "from 1 to 256"),
    ({"options": {"stamps": []}}, "non-empty list"),
    ({"options": {"stamps": "hlc"}}, "non-empty list"),
    ({"options": {"stamps": ["sundial"]}}, "unknown stamps"),
    ({"options": {"bogus": [1]}}, "bogus"),
    ({"options": {"merge": ["causal"]}}, "already sets merge"),
    ({"dask": "tcp://127.0.0.1:1", "workers": 2}, "size of dask='local'"),
    ({"progress": 3}, "progress is a function"),
    ({"dask": "", "workers": None}, "dask takes"),
    ({"dask": 42, "workers": None}, "dask takes 'local', a scheduler address or a distributed.Client"),
]


@pytest.mark.parametrize(("extra", "says"), BAD, ids=[f"{k}" for k, _ in BAD])
def test_bad_arguments_raise_config_error_before_running_anything(extra, says):
    calls = []
    kwargs = {"seeds": 2, "workers": 1, "progress": lambda d, t: calls.append(d), **extra}
    with pytest.raises(ConfigError, match=None) as info:
        sweep("london", **kwargs)
    assert says in str(info.value)
    assert calls == []


def test_where_python_cannot_start_processes_the_default_is_one_worker(monkeypatch):
    """Pyodide (the tutorials' Run buttons) has no processes: the default quietly runs here, and
    asking for more says why it cannot."""
    from replicalab.sweeps import runner

    monkeypatch.setattr(runner, "CAN_START_PROCESSES", False)
    assert sweep("london", 1, patterns=["causal"]).rows[0].runs == 1
    with pytest.raises(ConfigError, match="cannot start worker processes"):
        sweep("london", 1, workers=2)


@pytest.mark.parametrize(("args", "says"), [
    ({}, "scenario name or workload"),
    ({"scenario": "london", "workload": "contested"}, "one of them"),
    ({"scenario": "atlantis"}, "unknown scenario 'atlantis'"),
    ({"workload": "flood"}, "unknown workload 'flood'"),
    ({"workload": "contested", "minutes": 0}, "minutes must be an integer from 1 to 60"),
    ({"scenario": "london", "minutes": 3}, "a scenario has its own"),
    ({"scenario": 7}, "scenario is a scenario name"),
])
def test_the_source_must_be_one_known_scenario_or_workload(args, says):
    with pytest.raises(ConfigError) as info:
        sweep(**args, seeds=1, workers=1)
    assert says in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("0..9999", range(0, 10000)), ("5..5", range(5, 6)), ("20", range(20))])
def test_parse_seeds_reads_inclusive_ranges_and_counts(text, expected):
    assert parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["", "x", "9..1", "-2..4", "0", "1..", "..3", "1.5"])
def test_parse_seeds_refuses_what_is_not_a_range(text):
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds(text)


# ---------------------------------------------------------------------------
# The command line


def test_cli_json_is_the_python_sweeps_json(capsys, tmp_path):
    status = main(["sweep", "london", "--seeds", "0..3", "--workers", "1", "--json", "-",
                   "--svg", str(tmp_path / "s.svg"), "--progress"])
    out, err = capsys.readouterr()
    expected = sweep("london", range(4), workers=1)
    assert status == 0 and out == expected.to_json()
    assert (tmp_path / "s.svg").read_text() == expected.to_svg()
    assert err.endswith("] 32/32 runs\n")  # the bar, redrawn with \r, ends on the total


def test_cli_prints_the_table_and_writes_csv(capsys, tmp_path):
    status = main(["sweep", "--workload", "contested", "--minutes", "1", "--seeds", "2",
                   "--patterns", "item-lww,key-home", "--workers", "1", "--csv", str(tmp_path / "s.csv")])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""  # no bar: stderr is not a terminal and --progress not given
    assert out.startswith("workload contested — seeds 0..1 × 2 patterns (4 runs)")
    assert "key-home routing" in out
    assert (tmp_path / "s.csv").read_text() == sweep(
        workload="contested", minutes=1, seeds=2, patterns=["item-lww", "key-home"], workers=1).to_csv()


@pytest.mark.parametrize(("argv", "says"), [
    (["sweep", "london", "--seeds", "9..2"], "0 <= FIRST <= LAST"),
    (["sweep", "london", "--seeds", "lots"], "FIRST..LAST"),
    (["sweep", "london", "--patterns", "fastest"], "unknown pattern 'fastest'"),
    (["sweep", "london", "--workers", "0"], "from 1 to 256"),
    (["sweep", "london", "--vary", "stamps"], "NAME=V1,V2"),
    (["sweep", "london", "--vary", "durable=maybe"], "true,false"),
    (["sweep", "london", "--vary", "stamps=wall", "--vary", "stamps=hlc"], "given twice"),
    (["sweep"], "scenario name or --workload"),
    (["sweep", "london", "--minutes", "3"], "--minutes"),
    (["sweep", "london", "--json", "-", "--svg", "-"], "standard output"),
    (["sweep", "london", "--csv", "a.csv", "--json", "b.json"], "not allowed with"),
    (["sweep", "london", "--dask", "tcp://127.0.0.1:1", "--workers", "2"], "a running cluster"),
])
def test_cli_bad_sweeps_exit_2_with_one_line(capsys, argv, says):
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own refusals (types, choices) exit from the parser
        status = exit.code
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("replicalab: error: ") and err.count("\n") == 1 and says in err


# ---------------------------------------------------------------------------
# Imports: cheap for everyone, Dask only when asked


def test_import_replicalab_does_not_load_sweeps_but_replicalab_sweep_works():
    code = ("import sys, replicalab; assert 'replicalab.sweeps' not in sys.modules; "
            "import replicalab.sweeps; f = replicalab.sweep; assert callable(f), f; "
            "assert f is replicalab.sweeps.sweep")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert replicalab.sweep is sweep


def test_a_process_pool_sweep_never_imports_dask():
    code = ("import sys; from replicalab.sweeps import sweep; from replicalab.sweeps import measure; "
            "sweep('london', 2, patterns=['causal'], workers=2); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def _children(pid):
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process parents from /proc (Linux)")
def test_killing_the_sweeping_process_ends_its_workers():
    """A killed sweep (SIGKILL: no cleanup runs) leaves no worker waiting for work forever."""
    import signal
    import time

    code = ("import sys; from replicalab.sweeps import sweep\n"
            "if __name__ == '__main__':\n"
            "    sweep('london', 20000, workers=2, progress=lambda d, t: print(d, flush=True))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()  # the pool has run a chunk: its workers exist
        started = [w for server in _children(proc.pid) for w in [server, *_children(server)]]
        assert len(started) >= 3, started  # the fork server and two workers
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    deadline = time.monotonic() + 20
    alive = started
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in alive if os.path.exists(f"/proc/{p}") and
                 open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == []
