"""``replicalab run leader`` takes the options the scenario takes, ``compare leader`` shows the
write quorums, and a leader run's picture carries its verdicts and stale reads."""

from __future__ import annotations

import json
import re

import pytest

from replicalab.cli import main
from replicalab.errors import ConfigError
from replicalab.scenarios import leader
from replicalab.viz import _svg as s
from replicalab.viz.story import build


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as stop:  # argparse refuses a bad flag value by exiting (one line, status 2)
        status = int(stop.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_run_leader_passes_every_option_to_the_scenario(capsys) -> None:
    argv = ["run", "leader", "--seed", "1", "--fault", "follower-crash-lossy", "--no-heal",
            "--write-quorum", "3", "--partitions", "3", "--ops", "50", "--keys", "6",
            "--reads", "0.5", "--strong", "0", "--json"]
    status, out, err = _cli(capsys, *argv)
    assert status == 0, err
    expected = leader.run(1, fault="follower-crash-lossy", heal=False, write_quorum=3, partitions=3,
                          ops=50, keys=6, reads=0.5, strong=0)
    assert json.loads(out)["summary"] == expected.summary
    assert expected.summary["strong_reads"] == 0  # --strong 0: every read eventually consistent


def test_run_leader_draws_its_picture(capsys, tmp_path) -> None:
    path = tmp_path / "leader.svg"
    status, out, _ = _cli(capsys, "run", "leader", "--ops", "30", "--svg", str(path))
    assert status == 0 and out.startswith("leader  ")
    assert path.read_text().startswith("<svg") and "Space-time diagram: leader" in path.read_text()


@pytest.mark.parametrize(("argv", "says"), [
    (["--strong", "2"], "must be a fraction from 0 to 1"),
    (["--reads", "nan"], "must be a fraction from 0 to 1"),
    (["--write-quorum", "4"], "must be an integer from 1 to 3"),
    (["--fault", "crash-lossy"], "not a fault of the leader cluster"),
    (["--fault", "melt"], "invalid choice"),
    (["--n", "3"], "not an option of the leader cluster"),
    (["--merge", "causal"], "global-table option"),
])
def test_run_leader_refuses_bad_values_in_one_line_with_status_2(capsys, argv, says) -> None:
    status, out, err = _cli(capsys, "run", "leader", *argv)
    assert status == 2 and out == ""
    assert says in err and err.count("\n") == 1


def test_dynamo_refuses_the_leader_only_options_and_a_table_story_refuses_both(capsys) -> None:
    status, _, err = _cli(capsys, "run", "dynamo", "--write-quorum", "2")
    assert status == 2 and "--write-quorum is not an option of the dynamo cluster" in err
    status, _, err = _cli(capsys, "run", "dynamo", "--fault", "leader-crash")
    assert status == 2 and "fault must be one of" in err
    status, _, err = _cli(capsys, "run", "london", "--strong", "1")
    assert status == 2 and "global-table story" in err
    status, out, _ = _cli(capsys, "run", "dynamo", "--reads", "1", "--ops", "20")
    assert status == 0 and "kept=0" in out  # every operation a read: no write to judge


def test_compare_leader_prints_one_row_per_write_quorum(capsys) -> None:
    status, out, _ = _cli(capsys, "compare", "leader", "--json")
    rows = json.loads(out)
    assert status == 0 and [r["write_quorum"] for r in rows] == [1, 2, 3]
    assert rows == leader.compare_rows(range(1))
    status, out, _ = _cli(capsys, "compare", "leader")
    assert status == 0 and "W (of 3)" in out
    with pytest.raises(ConfigError, match="write_quorum"):
        leader.compare_rows(write_quorum=2)
    with pytest.raises(ConfigError, match="write quorums from 1 to 3"):
        leader.compare_rows(write_quorums=(0,))


@pytest.mark.parametrize("options", [{"fault": "none", "write_quorum": 1},
                                     {"fault": "leader-crash", "write_quorum": 2},
                                     {"fault": "az-partition"}])
def test_a_leader_picture_marks_each_write_by_its_verdict_and_each_stale_read(options) -> None:
    result = leader.run(seed=0, ops=60, **options)
    svg = result.to_svg()
    story = build(result)
    groups = {int(m.group(1)): m.group(2)
              for m in re.finditer(r'<g class="step" data-step="(\d+)">(.*?)</g>', svg, re.S)}
    marks = {"kept": rf'<circle [^>]*fill="{s.BLUE}"', "lost": rf'<rect [^>]*fill="{s.VERMILLION}"',
             "rejected": r'<rect [^>]*fill="#FFFFFF"'}
    verdicts = {e.op: e.verdict for e in result.entries}
    drawn = set()
    for step in story.steps:
        if step.kind == "write":
            after = groups[step.index].split("</title>", 1)[1].lstrip()
            assert re.match(marks[verdicts[step.write]], after), (step.write, after[:100])
            drawn.add(step.write)
    assert drawn == set(verdicts)
    for op in result.stale_reads:
        assert f"{op}: STALE" in svg
    assert f"{len(result.stale_reads)} stale reads" in svg
