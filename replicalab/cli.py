"""The ``replicalab`` command line: run a scenario, compare patterns, list scenarios.

    replicalab run london [--merge item-lww|attribute-lww|causal] [--seed N] [--json]
                          [--writes versioned] [--routing key-home] [--mode mrsc|single-primary]
                          [--skew REGION=MS] [--stamps hlc] [--scan]
                          [--replicas-per-region 3 [--region-protocol leader|leaderless [--n N --r R --w W
                           --sloppy]] [--az-outage NODE@AT..UNTIL] [--az-partition NODE@AT[..UNTIL]]]
    replicalab compare london [--seed N] [--seeds N] [--json] [--replicas-per-region 3
                           [--az-outage NODE@AT[..UNTIL][:lose-disk]] [--az-partition NODE@AT[..UNTIL]]]
    replicalab compare --workload append-only|profile|contested [--minutes M]
    replicalab run london --net [--merge POLICY] [--hold MS]   (real processes on 127.0.0.1)
    replicalab run london --net --listen SECONDS   (and, meanwhile, in another terminal:)
    replicalab client --hub 127.0.0.1:PORT --to REGION (update KEY ATTR=VALUE... | get KEY)
    replicalab serve --hub 127.0.0.1:PORT --id REPLICA (--scenario NAME | --replica MODULE:CLASS)
    replicalab explore london [--merge POLICY] [--faults none|loss|duplicate|crash|amnesia|loss+crash...] [--timers order|choice]
                              [--invariant NAME] [--no-reduce] [--json] [--html FILE]
    replicalab explore FILE.json [--merge POLICY] [...]   (your own DynamoDB requests, every schedule)
    replicalab sweep london --seeds 0..9999 [--patterns all|ID,ID...] [--vary NAME=V1,V2]
                     [--workers N | --dask ADDRESS|local] [--csv FILE | --json FILE] [--svg FILE]
    replicalab scenarios
    replicalab exercise list | start ID [DIR] | check ID [PATH] [--json] | hint ID [N]
    replicalab exercise grade ID SUBMISSIONS_DIR [--json | --csv] [--jobs N]

Every error is one line ``replicalab: error: ...`` on standard error, never a traceback:
status 2 for bad input (arguments, names, values that make no sense), status 1 when a check
failed or output could not be written (a full disk, a closed pipe, an encoding that cannot
show the text, a path that is not a writable file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from replicalab import _validate, explore, scenarios
from replicalab.errors import ConfigError, ReplicaLabError
from replicalab.explore import INVARIANTS, MAX_STATES
from replicalab.explore.html import stepper_html
from replicalab.policies import POLICIES, policy_names
from replicalab.replica.table import STAMPS
from replicalab.scenarios.compare import applicable, compare
from replicalab.scenarios.dynamo import FAULTS as DYNAMO_FAULTS
from replicalab.scenarios.dynamo import compare_rows as dynamo_rows
from replicalab.scenarios.dynamo import compare_table as dynamo_table
from replicalab.scenarios.leader import FAULTS as LEADER_FAULTS
from replicalab.scenarios.leader import compare_rows as leader_rows
from replicalab.scenarios.leader import compare_table as leader_table
from replicalab.scenarios.workloads import SHAPES, workload
from replicalab.scenarios.world import MODES, ROUTING, WRITES
from replicalab.sweeps.cells import pattern_ids
from replicalab.sweeps.runner import MAX_WORKERS
from replicalab.trace import canonical_json
from replicalab.viz import compare_svg, to_html, to_mermaid, to_shiviz, to_svg
from replicalab.viz.text import compare_table, table

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, with no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"replicalab: error: {message} (see 'replicalab --help')\n")


#: Every fault of the clusters inside a region (each scenario checks its own).
_CLUSTER_FAULTS = tuple(dict.fromkeys(DYNAMO_FAULTS + LEADER_FAULTS))
#: The most seeds ``compare --seeds`` aggregates (about 10 minutes of runs on one core).
MAX_SEEDS = 10_000
#: The largest clock skew ``--skew`` accepts, either way: one day in milliseconds.
MAX_SKEW_MS = 24 * 60 * 60 * 1000


class _OutputFailed(Exception):
    """Output could not be written (exit status 1, not 2: the input was fine)."""


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {_validate.shown(text)}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is an integer >= 0, got {value}")
    return value


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {_validate.shown(text)}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid fraction: {_validate.shown(text)}") from None
    if not 0 <= value <= 1:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 to 1, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {_validate.shown(text)}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {_validate.shown(text)}")
    return value


def _path(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("needs a file name ('-' for standard output), got ''")
    return text


def _az_outage(text: str) -> Any:
    """``NODE@AT[..UNTIL][:lose-disk]``, e.g. ``eu-west-1a@150..600``: an AZ outage."""
    from replicalab.scenarios.regions import AzOutage

    spec, _, flag = text.partition(":")
    node, sep, when = spec.partition("@")
    start, dots, end = when.partition("..")
    try:
        if not sep or len(node) < 2 or flag not in ("", "lose-disk"):
            raise ValueError
        return AzOutage(int(start), node[:-1], node[-1], until=int(end) if dots else None,
                        durable=flag != "lose-disk")
    except (ValueError, ConfigError) as error:
        raise argparse.ArgumentTypeError(
            f"--az-outage takes NODE@AT[..UNTIL][:lose-disk], e.g. eu-west-1a@150..600; got "
            f"{_validate.shown(text)}" + (f" ({error})" if str(error) else "")) from None


def _az_partition(text: str) -> Any:
    """``NODE@AT[..UNTIL]``, e.g. ``eu-west-1a@150..600``: an AZ cut off from its region's other
    AZs (without ``..UNTIL``, for good)."""
    from replicalab.scenarios.regions import AzPartition

    node, sep, when = text.partition("@")
    start, dots, end = when.partition("..")
    try:
        if not sep or len(node) < 2:
            raise ValueError
        return AzPartition(int(start), node[:-1], node[-1], until=int(end) if dots else None)
    except (ValueError, ConfigError) as error:
        raise argparse.ArgumentTypeError(
            f"--az-partition takes NODE@AT[..UNTIL], e.g. eu-west-1a@150..600 (or eu-west-1a@150: "
            f"a cut that never heals); got {_validate.shown(text)}" + (f" ({error})" if str(error) else "")
        ) from None


def _pair(text: str) -> tuple[str, str]:
    key, sep, region = text.partition("=")
    if not sep or not key or not region:
        raise argparse.ArgumentTypeError(f"--home takes KEY=REGION, e.g. sub_42=eu-west-1; got {_validate.shown(text)}")
    return key, region


def _skew(text: str) -> tuple[str, int]:
    region, sep, ms = text.partition("=")
    try:
        if not sep or not region:
            raise ValueError
        value = int(ms)
        if abs(value) > MAX_SKEW_MS:
            raise argparse.ArgumentTypeError(
                f"--skew is at most a day either way (|MS| <= {MAX_SKEW_MS}); got {text!r}")
        return region, value
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--skew takes REGION=MS with integer milliseconds, e.g. us-east-1=-60; got {text!r}"
        ) from None


def _hub(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    try:
        if not sep:
            raise ValueError
        number = int(port)
        if not 1 <= number <= 65535:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hub takes HOST:PORT, e.g. 127.0.0.1:40123; got {text!r}") from None
    from replicalab.net import check_loopback

    try:
        return check_loopback(host), number
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _assignment(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"an assignment is ATTR=VALUE, e.g. city=London; got {text!r}")
    try:
        parsed = json.loads(value, parse_constant=lambda c: c)  # NaN/Infinity stay strings
    except ValueError:
        parsed = value
    return name, parsed
def _vary(text: str) -> tuple[str, list[Any]]:
    name, sep, values = text.partition("=")
    parts = values.split(",")
    if not sep or not name or not all(parts):
        raise argparse.ArgumentTypeError(
            f"--vary takes NAME=V1,V2,... e.g. stamps=wall,hlc; got {_validate.shown(text)}")
    if name == "durable":  # the one boolean option
        flags = {"true": True, "yes": True, "false": False, "no": False}
        if any(p not in flags for p in parts):
            raise argparse.ArgumentTypeError(f"--vary durable=... takes true,false; got {_validate.shown(text)}")
        return name, [flags[p] for p in parts]
    return name, list(parts)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = _Parser(
        prog="replicalab",
        description="Learn replication by running it: replay a story under different merge policies.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="{run,compare,sweep,explore,scenarios,serve,client,exercise}")

    run = sub.add_parser("run", help="run one scenario and print its timeline, items and ledger")
    run.add_argument("scenario", help="a scenario name (see 'replicalab scenarios'), or a request "
                     "file FILE.json of DynamoDB requests to replay")
    run.add_argument("--merge", default="item-lww", metavar="POLICY",
                     help=f"merge policy: {' | '.join(policy_names())} (default item-lww)")
    run.add_argument("--seed", type=_seed, default=0, help="the run's seed (default 0)")
    run.add_argument("--skew", type=_skew, action="append", default=[], metavar="REGION=MS",
                     help="shift a region's wall clock by MS milliseconds (repeatable)")
    run.add_argument("--writes", choices=WRITES, default="plain",
                     help="versioned: read, then write with expect_version (retry on failure)")
    run.add_argument("--routing", choices=ROUTING, default="local",
                     help="key-home: every write goes to its key's home region")
    run.add_argument("--home", type=_pair, action="append", default=[], metavar="KEY=REGION",
                     help="a key's home region for --routing key-home (repeatable)")
    run.add_argument("--mode", choices=MODES, default="mrec",
                     help="mrec (async, default), mrsc (sync, 3 regions), single-primary")
    run.add_argument("--primary", metavar="REGION", help="the writer region for --mode single-primary")
    run.add_argument("--stamps", choices=STAMPS, default="wall",
                     help="what LWW orders by: the wall clock or a hybrid logical clock")
    run.add_argument("--durable", action=argparse.BooleanOptionalAction, default=None,
                     help="whether crashed regions keep their state (scenarios with crashes)")
    azs = run.add_argument_group("regions of AZ nodes (the global-table stories)")
    azs.add_argument("--replicas-per-region", type=_count(1, 9), default=None, metavar="N",
                     help="nodes per region, one per AZ (default 1: a region is one replica)")
    azs.add_argument("--region-protocol", default=None, metavar="PROTOCOL",
                     help="the protocol inside a region: leader (the default with N > 1) or "
                          "leaderless (with --n --r --w --sloppy)")
    _az_fault_flags(azs, "")
    run.add_argument("--scan", action="store_true",
                     help="print only the reconciliation scan (version forks) and its verdicts")
    quorum = run.add_argument_group("the clusters inside a region (replicalab run dynamo | leader)")
    quorum.add_argument("--n", type=_count(1, 16), help="replicas per key (default 3)")
    quorum.add_argument("--r", type=_count(1, 16), help="read quorum (default 2)")
    quorum.add_argument("--w", type=_count(1, 16), help="write quorum (default 2)")
    quorum.add_argument("--sloppy", action="store_true", default=None,
                        help="sloppy quorum: stand-ins with hints when home nodes do not answer")
    quorum.add_argument("--fault", choices=_CLUSTER_FAULTS, metavar="FAULT",
                        help=f"a fault inside the region (default none); dynamo: {', '.join(DYNAMO_FAULTS)}; "
                             f"leader: {', '.join(LEADER_FAULTS)}")
    quorum.add_argument("--no-heal", dest="heal", action="store_false", default=None,
                        help="the fault never ends (no restart, no heal)")
    quorum.add_argument("--ops", type=_count(1, 100_000), help="client operations (default 200)")
    quorum.add_argument("--keys", type=_count(1, 10_000), help="keys (default 4)")
    quorum.add_argument("--reads", type=_fraction, metavar="FRACTION",
                        help="the fraction of operations that are reads (dynamo 0.5, leader 0.6)")
    quorum.add_argument("--partitions", type=_count(1, 64), help="leader: partitions (default 2)")
    quorum.add_argument("--write-quorum", type=_count(1, 3),
                        help="leader: nodes (of 3) that must have a write before it is acknowledged (default 2)")
    quorum.add_argument("--strong", type=_fraction, metavar="FRACTION",
                        help="leader: the fraction of reads that are strongly consistent (default 0.5; "
                             "0: every read eventually consistent, 1: every read strong)")
    run.add_argument("--json", action="store_true", help="print the canonical JSON result document")
    run.add_argument("--timeline", action="store_true", help="print only the numbered timeline")
    run.add_argument("--svg", type=_path, metavar="FILE",
                     help="write the space-time diagram (SVG; '-': stdout)")
    run.add_argument("--html", type=_path, metavar="FILE", help="write a self-contained step-through page")
    run.add_argument("--mermaid", type=_path, metavar="FILE", help="write a Mermaid sequence diagram")
    run.add_argument("--shiviz", type=_path, metavar="FILE", help="write a ShiViz log (vector clocks)")
    run.add_argument("--net", action="store_true",
                     help="run on a real network: one OS process per region, TCP on 127.0.0.1, real "
                          "timers (not deterministic; --merge and --stamps only)")
    run.add_argument("--hold", type=_count(0, 10_000), default=None, metavar="MS",
                     help="with --net: hold every replication message this many ms on top of the "
                          "link's latency (default 400), so the story's race happens for real")
    run.add_argument("--listen", type=_count(1, 600), default=None, metavar="SECONDS",
                     help="with --net: stay open this long, taking requests from 'replicalab "
                          "client' commands (the address is printed on standard error)")

    compare = sub.add_parser("compare", help="every pattern on the same seeded schedule, one row each")
    compare.add_argument("scenario", nargs="?", help="a scenario name or a request file FILE.json "
                         "(or use --workload)")
    compare.add_argument("--workload", choices=SHAPES,
                         help="generate one of the seed's data shapes instead of a scenario")
    compare.add_argument("--minutes", type=_count(1, 24 * 60), default=None,
                         help="simulated minutes of --workload traffic (default 2)")
    compare.add_argument("--seed", type=_seed, default=0, help="the first seed (default 0)")
    compare.add_argument("--seeds", type=_count(1, MAX_SEEDS), default=1,
                         help=f"aggregate over this many seeds (at most {MAX_SEEDS})")
    compare.add_argument("--json", action="store_true", help="print the rows as JSON")
    compare.add_argument("--replicas-per-region", type=_count(1, 9), default=None, metavar="N",
                         help="nodes per region, one per AZ, in every pattern's runs")
    compare.add_argument("--region-protocol", default=None, metavar="PROTOCOL",
                         help="the protocol inside a region: leader (the default with N > 1)")
    _az_fault_flags(compare, " in every pattern's runs")
    compare.add_argument("--n", type=_count(1, 9), help="--region-protocol leaderless: home nodes per key")
    compare.add_argument("--r", type=_count(1, 9), help="--region-protocol leaderless: read quorum")
    compare.add_argument("--w", type=_count(1, 9), help="--region-protocol leaderless: write quorum")
    compare.add_argument("--sloppy", action="store_true", default=None,
                         help="--region-protocol leaderless: sloppy quorum with hinted handoff")
    compare.add_argument("--svg", type=_path, metavar="FILE",
                         help="write every policy's space-time diagram side by side (at --seed)")

    explore = sub.add_parser("explore", help="every delivery order of a scenario or a request file: "
                                             "counts, verdicts, the shortest counterexample")
    explore.add_argument("scenario", help="a scenario name (see 'replicalab scenarios') or a request "
                                          "file FILE.json of DynamoDB requests")
    explore.add_argument("--merge", default="item-lww", metavar="POLICY",
                         help=f"merge policy: {' | '.join(policy_names())} (default item-lww)")
    explore.add_argument("--faults", default="none", metavar="FAULTS",
                         help="also lose, duplicate a message or crash a replica, once per schedule: "
                              "loss, duplicate, crash (durable), amnesia (the replica loses its "
                              "state), joined by + (default none)")
    explore.add_argument("--timers", choices=("order", "choice"), default="order",
                         help="order: timers fire in time order (default); choice: a pending timer "
                              "may also fire early, at any step"),
    explore.add_argument("--invariant", choices=sorted(INVARIANTS), default=None,
                         help="check this invariant: status 1 if some schedule breaks it "
                              "(default: show the shortest schedule that loses a write)")
    explore.add_argument("--no-reduce", dest="reduce", action="store_false",
                         help="count every interleaving, not one per class of schedules")
    explore.add_argument("--writes", choices=WRITES, default="plain",
                         help="versioned: read, then write with expect_version")
    explore.add_argument("--routing", choices=ROUTING, default="local",
                         help="key-home: every write goes to its key's home region")
    explore.add_argument("--mode", choices=MODES, default="mrec",
                         help="mrec (async, default), mrsc (sync, 3 regions), single-primary")
    explore.add_argument("--max-states", type=_count(1, 10 * MAX_STATES), default=MAX_STATES,
                         help=f"stop with an error past this many states (default {MAX_STATES})")
    explore.add_argument("--json", action="store_true", help="print the counts and verdicts as JSON")
    explore.add_argument("--html", type=_path, metavar="FILE",
                         help="write a forking step-through page: you pick which message arrives next")
    sweep = sub.add_parser("sweep", help="many seeds × every pattern: distributions, on every core")
    sweep.add_argument("scenario", nargs="?", help="a scenario name (or use --workload)")
    sweep.add_argument("--workload", choices=SHAPES,
                       help="generate new traffic of one of the seed's data shapes for every seed")
    sweep.add_argument("--minutes", type=_count(1, 60), default=None,
                       help="simulated minutes of --workload traffic (default 2)")
    sweep.add_argument("--seeds", default="100", metavar="FIRST..LAST|N",
                       help="seeds to run: FIRST..LAST inclusive, or N for 0..N-1 (default 100)")
    sweep.add_argument("--patterns", default="all", metavar="all|ID,ID...",
                       help="'all' or pattern ids: " + ", ".join(pattern_ids()))
    sweep.add_argument("--vary", type=_vary, action="append", default=[], metavar="NAME=V1,V2",
                       help="cross every pattern with these option values, e.g. stamps=wall,hlc "
                            "(repeatable)")
    sweep.add_argument("--workers", type=_count(1, MAX_WORKERS), default=None,
                       help="local processes (default: the machine's cores; 1: no pool)")
    sweep.add_argument("--dask", metavar="ADDRESS|local",
                       help="run on a Dask cluster (needs the dask extra); local: a LocalCluster here")
    out = sweep.add_mutually_exclusive_group()
    out.add_argument("--csv", type=_path, metavar="FILE", help="write a CSV row per pattern ('-': stdout)")
    out.add_argument("--json", type=_path, metavar="FILE", help="write the canonical JSON ('-': stdout)")
    sweep.add_argument("--svg", type=_path, metavar="FILE",
                       help="write the distributions as SVG ('-': stdout)")
    sweep.add_argument("--progress", action="store_true",
                       help="draw the progress bar even when standard error is not a terminal")

    sub.add_parser("scenarios", help="list scenarios with one-line descriptions")

    client = sub.add_parser(
        "client", help="send one request to a replica of a running 'run --net --listen' and print the answer",
        description="Send one request to one replica of a running real-network run (started with "
                    "'replicalab run SCENARIO --net --listen SECONDS', which prints its address). "
                    "Exit status 1 if the replica answered with an error.")
    client.add_argument("--hub", required=True, type=_hub, metavar="HOST:PORT",
                        help="the run's address (HOST in 127.0.0.0/8)")
    client.add_argument("--to", required=True, metavar="REPLICA", help="the replica (region) to ask")
    client.add_argument("--client", default="cli", metavar="NAME", help="who asks (default cli)")
    client.add_argument("--op", metavar="ID", help="the request's op id (default: cli-PID); unique in a run")
    asks = client.add_subparsers(dest="ask", required=True, parser_class=_Parser, metavar="{update,get}")
    update = asks.add_parser("update", help="UpdateItem: set attributes of an item")
    update.add_argument("key", help="the item key, e.g. sub_42")
    update.add_argument("assignments", nargs="+", type=_assignment, metavar="ATTR=VALUE",
                        help="VALUE is JSON if it parses as JSON, else a string")
    get = asks.add_parser("get", help="GetItem: read an item")
    get.add_argument("key", help="the item key, e.g. sub_42")
    get.add_argument("--consistent", action="store_true", help="a (regional) strongly consistent read")

    serve = sub.add_parser(
        "serve", help="start one replica process of a real-network run (run --net starts them)",
        description="Start one replica in this process and connect it to a run's hub over TCP. "
                    "'replicalab run SCENARIO --net' starts one per region; start your own with "
                    "replicalab.net.run({...: ['--replica', 'mymodule:MyReplica']}, calls).")
    serve.add_argument("--hub", required=True, type=_hub, metavar="HOST:PORT",
                       help="the hub to connect to; HOST must be in 127.0.0.0/8 (e.g. 127.0.0.1)")
    serve.add_argument("--id", required=True, dest="replica_id", metavar="REPLICA",
                       help="this replica's id (a region of --scenario, or CLASS's argument)")
    what = serve.add_mutually_exclusive_group(required=True)
    what.add_argument("--scenario", metavar="NAME",
                      help="run the table replica of region --id, built as the simulator builds it")
    what.add_argument("--replica", metavar="MODULE:CLASS",
                      help="run CLASS(REPLICA) from MODULE (a dotted name or a path to a .py file); "
                           "the attrs classes its module defines or imports may cross the wire")
    serve.add_argument("--merge", default="item-lww", metavar="POLICY",
                       help="with --scenario: the merge policy (default item-lww)")
    serve.add_argument("--stamps", choices=STAMPS, default="wall",
                       help="with --scenario: what LWW orders by")

    exercise = sub.add_parser("exercise", help="course exercises: list, start, check, hint, grade")
    verbs = exercise.add_subparsers(dest="verb", required=True, parser_class=_Parser,
                                    metavar="{list,start,check,hint,grade}")
    dirs = _Parser(add_help=False)
    dirs.add_argument("--dir", action="append", default=[], metavar="DIR",
                      help="a teacher's exercise directory (repeatable; also $REPLICALAB_EXERCISES)")
    verbs.add_parser("list", parents=[dirs], help="every exercise: id, title, concepts, time")
    start = verbs.add_parser("start", parents=[dirs],
                             help="write an exercise's starter module and README")
    start.add_argument("id", help="the exercise id (see 'replicalab exercise list')")
    start.add_argument("directory", nargs="?", type=_path, help="where to write them (default: ./ID)")
    start.add_argument("--force", action="store_true", help="overwrite existing files")
    check = verbs.add_parser("check", parents=[dirs], help="grade your module against the checks")
    check.add_argument("id", help="the exercise id")
    check.add_argument("path", nargs="?",
                       help="your module (default: ./ID/MODULE, else ./MODULE)")
    check.add_argument("--seed", type=_seed, default=0, help="the checks' seed (default 0)")
    check.add_argument("--time-limit", type=_seconds, metavar="SECONDS",
                       help="override every check's time limit")
    check.add_argument("--json", action="store_true", help="print the report as JSON (autograders)")
    grade = verbs.add_parser("grade", parents=[dirs],
                             help="grade a class: one file or folder per student, a row each")
    grade.add_argument("id", help="the exercise id")
    grade.add_argument("submissions", help="a directory with NAME.py files or NAME/ folders")
    grade.add_argument("--seed", type=int, default=0, help="the checks' seed (default 0)")
    grade.add_argument("--time-limit", type=float, metavar="SECONDS",
                       help="override every check's time limit")
    grade.add_argument("--jobs", type=int, metavar="N",
                       help="submissions graded at once (default: the machine's cores)")
    shape = grade.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the grades as canonical JSON")
    shape.add_argument("--csv", action="store_true", help="the grades as CSV, a row per student")
    hint = verbs.add_parser("hint", parents=[dirs], help="progressive hints: hint ID [N]")
    hint.add_argument("id", help="the exercise id")
    hint.add_argument("n", nargs="?", type=_count(1, 10**9), default=1, help="show hints 1..N (default 1)")
    return parser


def scan_report(result: scenarios.Result) -> str:
    """What ``run --scan`` prints: the version forks found and the verdicts they changed."""
    if not result.forks:
        hint = "" if result.options.get("writes") == "versioned" else (
            " (writes carry no version attribute; try --writes versioned)")
        return f"Reconciliation scan: no version forks{hint}"
    lines = ["Reconciliation scan"]
    for fork in result.forks:
        lines.append(f"  {fork.describe()}")
        for write in fork.writes:
            lines.append(f"    {write}: {result.ledger[write].verdict}")
    return "\n".join(lines)


def _write(path: str, text: str) -> None:
    """Write an export to ``path`` (``-``: standard output); an unwritable path is a one-line error."""
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text, encoding="utf-8", newline="\n")
    except OSError as error:
        raise _OutputFailed(f"cannot write {path}: {error.strerror or error}") from None


def _compare(args: argparse.Namespace) -> None:
    if (args.scenario is None) == (args.workload is None):
        raise ConfigError("compare takes a scenario name or --workload SHAPE (one of them)")
    if args.minutes is not None and args.workload is None:
        raise ConfigError("--minutes sets the length of --workload traffic; a scenario has its own")
    if args.minutes is None:
        args.minutes = 2
    if args.svg and args.scenario is None:
        raise ConfigError("--svg draws a scenario's runs: give a scenario name, not --workload")
    if args.svg == "-" and args.json:
        raise ConfigError("--json and --svg - both write to standard output; send one to a file")
    seeds = range(args.seed, args.seed + args.seeds)
    show = sys.stderr.isatty() and args.seeds > 1

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\r  {done}/{total} runs", end="" if done < total else "\n", file=sys.stderr,
                  flush=True)

    if args.workload:
        def generated(seed: int) -> scenarios.TableScenario:
            return workload(args.workload, seed=seed, minutes=args.minutes)

        rows = compare(generated, seeds, progress=progress)
        title = (f"workload {args.workload} — {args.minutes} simulated minutes, "
                 f"seeds {seeds.start}..{seeds.stop - 1}")
    elif args.scenario in ("leader", "dynamo"):
        # The clusters compare settings, not patterns: write quorums, or N/R/W.
        what, rows_of, table_of = (("write quorums", leader_rows, leader_table)
                                   if args.scenario == "leader" else
                                   ("N/R/W settings", dynamo_rows, dynamo_table))
        if args.svg:
            raise ConfigError(f"compare {args.scenario} prints a table of {what}; it draws no --svg")
        cluster_rows = rows_of(seeds)
        if args.json:
            print(canonical_json(cluster_rows))
        else:
            print(f"{args.scenario} — {what} on the same seeded workload, seeds "
                  f"{seeds.start}..{seeds.stop - 1}\n")
            print(table_of(cluster_rows))
        return
    else:
        inside = _region_options(args)
        chosen, skipped = applicable(args.scenario, inside)
        rows = compare(args.scenario, seeds, chosen=chosen, progress=progress, options=inside)
        title = (f"{args.scenario} — every pattern on the same seeded schedule, "
                 f"seeds {seeds.start}..{seeds.stop - 1}")
        if inside.get("replicas_per_region", 1) > 1:
            title += (f", {inside['replicas_per_region']} AZ nodes per region "
                      f"({inside.get('region_protocol', 'leader')})")
            if inside.get("az_outages"):
                title += "; AZ outages " + ", ".join(
                    f"{o.region}{o.az}@{o.at}" + (f"..{o.until}" if o.until is not None else "")
                    + ("" if o.durable else ":lose-disk") for o in inside["az_outages"])
            if inside.get("az_partitions"):
                title += "; AZ partitions " + ", ".join(
                    f"{c.node}@{c.at}" + (f"..{c.until}" if c.until is not None else " (never heals)")
                    for c in inside["az_partitions"])
            if skipped:
                title += f"; not applicable: {', '.join(skipped)}"
    if args.json:
        print(canonical_json([r.to_plain() for r in rows]))
    elif args.svg != "-":
        print(title + "\n")
        print(compare_table(rows, rates=bool(args.workload)))
    if args.svg:
        runs = [scenarios.run(args.scenario, merge=name, seed=args.seed) for name in POLICIES]
        _write(args.svg, compare_svg(runs))


def _progress_bar(done: int, total: int) -> None:
    """``[#####.....] done/total runs`` on one line of standard error, redrawn in place."""
    filled = 30 * done // total
    end = "\n" if done >= total else ""
    print(f"\r  [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} runs", end=end,
          file=sys.stderr, flush=True)


def _sweep(args: argparse.Namespace) -> None:
    from replicalab.sweeps import parse_seeds, sweep

    if (args.scenario is None) == (args.workload is None):
        raise ConfigError("sweep takes a scenario name or --workload SHAPE (one of them)")
    if args.minutes is not None and args.workload is None:
        raise ConfigError("--minutes sets the length of --workload traffic; a scenario has its own")
    if args.workers is not None and args.dask not in (None, "local"):
        raise ConfigError("--workers sets the size of --dask local; a running cluster has its own")
    to_stdout = [f"--{name} -" for name in ("csv", "json", "svg") if getattr(args, name) == "-"]
    if len(to_stdout) > 1:
        raise ConfigError(f"{' and '.join(to_stdout)} each write to standard output; "
                          "send all but one to a file")
    vary: dict[str, list[Any]] = {}
    for name, values in args.vary:
        if name in vary:
            raise ConfigError(f"--vary {name} is given twice; list every value in one: {name}=A,B")
        vary[name] = values
    show = args.progress or sys.stderr.isatty()
    result = sweep(args.scenario, parse_seeds(args.seeds), patterns=args.patterns,
                   options=vary or None, workload=args.workload, minutes=args.minutes,
                   workers=args.workers, dask=args.dask,
                   progress=_progress_bar if show else None)
    for path, render in ((args.csv, result.to_csv), (args.json, result.to_json),
                         (args.svg, result.to_svg)):
        if path:
            _write(path, render())
    if not to_stdout:
        print(result.text())


def _exercise(args: argparse.Namespace) -> int:
    """``replicalab exercise ...``; returns the exit status (check: 1 if a check fails)."""
    from replicalab import exercises

    if args.verb == "list":
        rows = [[e.id, e.title, ", ".join(e.concepts[:3]), f"{e.minutes} min", str(e.points),
                 "" if e.builtin else str(e.directory)]
                for e in exercises.catalog(args.dir).values()]
        headers = ["id", "title", "concepts", "time", "points", "from"]
        if not any(row[-1] for row in rows):
            headers, rows = headers[:-1], [row[:-1] for row in rows]
        print(table(headers, rows, indent=""))
        return 0
    spec = exercises.get(args.id, args.dir)
    if args.verb == "start":
        written = exercises.start(spec, args.directory, force=args.force)
        print(f"wrote {', '.join(str(p) for p in written)}")
        print(f"next: edit {written[0]}, then run: replicalab exercise check {spec.id} {written[0]}")
        return 0
    if args.verb == "hint":
        shown = exercises.hints(spec, args.n)
        for n, text in enumerate(shown, start=1):
            print(f"{n}. {text}")
        if len(shown) < len(spec.hints):
            print(f"({len(shown)} of {len(spec.hints)}; 'replicalab exercise hint {spec.id} "
                  f"{len(shown) + 1}' for the next)")
        return 0
    if args.verb == "grade":
        from replicalab.exercises import classroom

        graded = classroom.grade(spec, args.submissions, seed=args.seed,
                                 time_limit=args.time_limit, jobs=args.jobs)
        if args.json:
            print(classroom.to_json(spec, graded))
        elif args.csv:
            print(classroom.to_csv(spec, graded), end="")
        else:
            print(classroom.to_text(spec, graded))
        return 0
    path = args.path
    if path is None:
        guesses = [Path(spec.id) / spec.module, Path(spec.module)]
        path = next((p for p in guesses if p.is_file()), guesses[0])
    report = exercises.check(spec, path, seed=args.seed, time_limit=args.time_limit)
    print(report.to_json() if args.json else report.text())
    return 0 if report.passed else 1


def _check_run(args: argparse.Namespace) -> None:
    """Refuse option combinations whose meaning is ambiguous or that would be ignored."""
    to_stdout = [name for name, path in (("--svg", args.svg), ("--html", args.html),
                                         ("--mermaid", args.mermaid), ("--shiviz", args.shiviz))
                 if path == "-"]
    printed = [name for name, on in (("--json", args.json), ("--scan", args.scan),
                                     ("--timeline", args.timeline)) if on]
    if len(printed) > 1:
        raise ConfigError(f"{' and '.join(printed)} each choose what to print; give one of them")
    if len(to_stdout) + len(printed) > 1:
        both = " and ".join(f"{name} -" if name in to_stdout else name for name in to_stdout + printed)
        raise ConfigError(f"{both} each write to standard output; send all but one to a file")
    if args.primary and args.mode != "single-primary":
        raise ConfigError("--primary names the writer of --mode single-primary; add that mode")
    if args.home and args.routing != "key-home":
        raise ConfigError("--home sets a key's home for --routing key-home; add that routing")
    if args.durable is not None:
        from replicalab.sim.faults import Crash

        scenario = scenarios.get(args.scenario)
        if not any(isinstance(fault, Crash) for fault in scenario.faults):
            with_crashes = [name for name in scenarios.names()
                            if any(isinstance(f, Crash) for f in scenarios.get(name).faults)]
            raise ConfigError(f"--durable says what crashed regions keep, but {args.scenario} has no "
                              f"crashes; scenarios with crashes: {', '.join(with_crashes)}")


def _check_net(args: argparse.Namespace) -> None:
    """``--net`` plays plain writes to the client's own region: refuse what it would ignore."""
    given = [name for name, on in (
        ("--writes", args.writes != "plain"), ("--routing", args.routing != "local"),
        ("--mode", args.mode != "mrec"), ("--skew", bool(args.skew)), ("--home", bool(args.home)),
        ("--primary", bool(args.primary)), ("--durable", args.durable is not None),
        ("--scan", args.scan), ("--replicas-per-region", args.replicas_per_region is not None),
        ("--region-protocol", args.region_protocol is not None), ("--az-outage", bool(args.az_outage)),
        ("--az-partition", bool(args.az_partition)),
    ) if on]
    if given:
        raise ConfigError(f"--net runs the plain pattern with --merge and --stamps only; "
                          f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} not supported there")


_DYNAMO_FLAGS = ("n", "r", "w", "sloppy", "fault", "heal", "ops", "keys", "reads")
_LEADER_FLAGS = ("partitions", "write_quorum", "strong", "fault", "heal", "ops", "keys", "reads")
#: Every flag of the clusters inside a region, in the order --help lists them.
_QUORUM_FLAGS = ("n", "r", "w", "sloppy", "fault", "heal", "ops", "keys", "reads", "partitions",
                 "write_quorum", "strong")


#: The cluster flags a table story takes too, with --region-protocol leaderless.
_ZONE_FLAGS = ("n", "r", "w", "sloppy")


def _flag(name: str) -> str:
    return "--no-heal" if name == "heal" else f"--{name.replace('_', '-')}"


def _cluster_given(args: argparse.Namespace, scenario: str, takes: tuple[str, ...]) -> dict[str, Any]:
    """The cluster options given for ``scenario``; a flag only the other cluster takes is refused."""
    other = [_flag(k) for k in _QUORUM_FLAGS if k not in takes and getattr(args, k) is not None]
    if other:
        raise ConfigError(f"{', '.join(other)} {'is' if len(other) == 1 else 'are'} not an option of the "
                          f"{scenario} cluster; it takes {' '.join(_flag(k) for k in takes)}")
    return {k: getattr(args, k) for k in takes if getattr(args, k) is not None}
_TABLE_DEFAULTS: dict[str, object] = {"merge": "item-lww", "writes": "plain", "routing": "local", "mode": "mrec",
                   "stamps": "wall", "skew": [], "home": [], "primary": None, "durable": None,
                   "scan": False, "timeline": False, "html": None, "mermaid": None, "shiviz": None,
                   "net": False, "hold": None, "listen": None, "replicas_per_region": None,
                   "region_protocol": None, "az_outage": [], "az_partition": []}


def _cluster_options(args: argparse.Namespace, name: str, flags: Any) -> dict[str, Any]:
    """The options of ``run dynamo`` / ``run leader`` from ``args``; a global-table flag, or
    ``--json`` with ``--svg -``, is refused naming what the cluster takes."""
    table = [f"--{k.replace('_', '-')}" for k, v in _TABLE_DEFAULTS.items() if getattr(args, k) != v]
    if table:
        raise ConfigError(f"{', '.join(table)} set(s) a global-table option; the {name} cluster takes "
                          f"{' '.join(_flag(k) for k in flags)}, --seed, --json, --svg")
    if args.json and args.svg == "-":
        raise ConfigError("--json and --svg - each write to standard output; send one to a file")
    return _cluster_given(args, name, flags)


def _run_dynamo(args: argparse.Namespace) -> None:
    given = _cluster_options(args, "dynamo", _DYNAMO_FLAGS)
    result = scenarios.run("dynamo", seed=args.seed, **given)
    if args.svg:
        _write(args.svg, result.to_svg())
    if args.json:
        print(result.to_json())
    elif args.svg != "-":
        print(result.report())


def _run_leader(args: argparse.Namespace) -> None:
    given = _cluster_options(args, "leader", _LEADER_FLAGS)
    if "fault" in given and given["fault"] not in LEADER_FAULTS:
        raise ConfigError(f"--fault {given['fault']} is not a fault of the leader cluster; it takes "
                          f"{', '.join(LEADER_FAULTS)}")
    result = scenarios.run("leader", seed=args.seed, **given)
    if args.svg:
        _write(args.svg, result.to_svg())
        if args.svg == "-":
            return
    if args.json:
        print(canonical_json({"summary": result.summary, "stale_strong": list(result.stale_strong),
                              "stale_eventual": list(result.stale_eventual), "lost": list(result.lost)}))
        return
    print("leader  " + "  ".join(f"{k}={v}" for k, v in result.summary.items()))
    for line in result.stale_eventual[:5]:
        print(f"  stale eventual read: {line}")


def _is_request_file(name: str | None) -> bool:
    """A scenario argument that names a request file rather than a scenario."""
    return name is not None and (name.endswith(".json") or os.sep in name or "/" in name)


def _run(args: argparse.Namespace) -> None:
    if _is_request_file(args.scenario):
        _run_requests(args)
        return
    if args.scenario == "dynamo":
        _run_dynamo(args)
        return
    if args.scenario == "leader":
        _run_leader(args)
        return
    quorum = [_flag(k) for k in _QUORUM_FLAGS if getattr(args, k) is not None
              and not (k in _ZONE_FLAGS and args.region_protocol == "leaderless")]
    if quorum:
        zone = [_flag(k) for k in _ZONE_FLAGS if getattr(args, k) is not None]
        raise ConfigError(f"{', '.join(quorum)} set(s) a cluster's options; {args.scenario} is a "
                          f"global-table story (try: replicalab run dynamo or run leader {' '.join(quorum)}"
                          + (f"; or give {', '.join(zone)} with --replicas-per-region 3 "
                             "--region-protocol leaderless" if zone and quorum == zone else "") + ")")
    _check_run(args)
    for flag, value in (("--hold", args.hold), ("--listen", args.listen)):
        if value is not None and not args.net:
            raise ConfigError(f"{flag} is about a real network run; add --net")
    if args.net:
        _check_net(args)
        from replicalab.scenarios.on_network import DEFAULT_HOLD, run_on_network

        def listening(address: str) -> None:
            print(f"replicalab: listening at {address} for {args.listen} s; in another terminal: "
                  f"replicalab client --hub {address} --to REGION update KEY ATTR=VALUE",
                  file=sys.stderr, flush=True)

        hold = DEFAULT_HOLD if args.hold is None else args.hold
        _show(args, run_on_network(scenarios.get(args.scenario), args.merge, stamps=args.stamps,
                                   hold=hold, seed=args.seed, listen=args.listen,
                                   on_listen=listening if args.listen is not None else None))
        return
    options = {"writes": args.writes, **_table_options(args)}
    if args.durable is not None:
        options["durable"] = args.durable
    _show(args, scenarios.run(args.scenario, merge=args.merge, seed=args.seed, **options))


def _table_options(args: argparse.Namespace) -> dict[str, Any]:
    """The global-table options of ``run`` that a scenario and a request file both take."""
    options: dict[str, Any] = {"routing": args.routing, "mode": args.mode, "stamps": args.stamps}
    if args.skew:
        options["skew"] = dict(args.skew)
    if args.home:
        options["homes"] = dict(args.home)
    if args.primary:
        options["primary"] = args.primary
    options.update(_region_options(args))
    return options


def _az_fault_flags(parser: Any, where: str) -> None:
    """``--az-outage`` and ``--az-partition`` (repeatable) on ``parser``; ``where`` ends their help."""
    parser.add_argument("--az-outage", type=_az_outage, action="append", default=[],
                        metavar="NODE@AT[..UNTIL][:lose-disk]",
                        help=f"take an AZ down{where}, e.g. eu-west-1a@150..600 (repeatable)")
    parser.add_argument("--az-partition", type=_az_partition, action="append", default=[],
                        metavar="NODE@AT[..UNTIL]",
                        help=f"cut an AZ off from its region's other AZs{where}, e.g. "
                             "eu-west-1a@150..600; without ..UNTIL it never heals (repeatable)")


def _region_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--replicas-per-region``, ``--region-protocol``, ``--az-outage`` and ``--az-partition``
    as run options."""
    options: dict[str, Any] = {}
    if args.replicas_per_region is not None:
        options["replicas_per_region"] = args.replicas_per_region
    if args.region_protocol is not None:
        options["region_protocol"] = args.region_protocol
    if getattr(args, "az_outage", None):
        options["az_outages"] = list(args.az_outage)
    if getattr(args, "az_partition", None):
        options["az_partitions"] = list(args.az_partition)
    for name in _ZONE_FLAGS:  # the leaderless region's quorums (options refuse them elsewhere)
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    return options


def _show(args: argparse.Namespace, result: Any, report: Callable[[], str] | None = None) -> None:
    """Write the exports asked for and print the report (``report()``, by default the
    result's own) or what replaces it."""
    exports = ((args.svg, to_svg), (args.html, to_html), (args.mermaid, to_mermaid),
               (args.shiviz, to_shiviz))
    for path, render in exports:
        if path:
            _write(path, render(result))
    if args.json:
        print(result.to_json())
    elif args.scan:
        print(scan_report(result))
    elif args.timeline:
        print(result.timeline())
    elif not any(path == "-" for path, _ in exports):  # stdout is not taken by an export
        print((report or result.report)())


def _explore(args: argparse.Namespace) -> int:
    if args.json and args.html == "-":
        raise ConfigError("--json and --html - each write to standard output; send one to a file")
    if _is_request_file(args.scenario) and args.writes != "plain":
        raise ConfigError("--writes versioned is the scenarios' built-in client; a request file's "
                          "conditions are its own (write the ConditionExpression in the file)")
    options = {"writes": args.writes, "routing": args.routing, "mode": args.mode}
    name = args.invariant or "no-silent-loss"
    check = explore.check(args.scenario, args.merge, invariant=name, faults=args.faults,
                          reduce=args.reduce, max_states=args.max_states, timers=args.timers,
                          **options)
    space = check.space
    if args.html:
        # The page offers every order, so it is built from the unreduced space.
        full = space if not args.reduce else explore.scenario(
            args.scenario, args.merge, faults=args.faults, reduce=False,
            max_states=args.max_states, timers=args.timers, **options)
        _write(args.html, stepper_html(full))
    if args.json:
        cx = check.counterexample
        print(canonical_json({**space.summary(), "invariant": name, "holds": check.holds,
                              "counterexample": cx.to_plain() if cx is not None else None,
                              **({"replies": space.replies()} if _requests(space) else {})}))
    elif args.html != "-":
        print(explore_report(check))
    return 0 if check.holds or args.invariant is None else 1


def _requests(space: explore.Space) -> bool:
    """Whether ``space`` explored DynamoDB requests (a request file or a GlobalTable)."""
    return isinstance(space.scenario, explore.RequestScenario)


def explore_report(check: explore.Check) -> str:
    """What ``replicalab explore`` prints: counts, the verdict distribution, the counterexample."""
    space = check.space
    kind = "classes of schedules" if space.reduce else "schedules (every interleaving)"
    lines = [f"{space.scenario.name} under {space.summary()['merge']}: {space.schedules} {kind}, "
             f"{space.states} states, {space.transitions} steps executed, "
             f"{len(space.outcomes)} final states", *([space.note] if space.note else []), ""]
    verdicts = space.verdicts()
    columns = sorted({v for counts in verdicts.values() for v in counts})
    rows = [[write, *[str(counts.get(v, 0)) for v in columns]] for write, counts in verdicts.items()]
    lines += [table(["write", *columns], rows, indent=""), ""]
    if _requests(space):
        # What each request was told, over all schedules: a condition may hold in some only.
        replies = space.replies()
        answers = sorted({a for counts in replies.values() for a in counts})
        rows = [[op, *[str(counts.get(a, 0)) for a in answers]] for op, counts in replies.items()]
        lines += [table(["request", *answers], rows, indent=""), ""]
    cx = check.counterexample
    if cx is None:
        lines.append(f"{check.invariant}: holds in every schedule.")
    else:
        lines += [f"{check.invariant}: broken. The shortest schedule that breaks it "
                  f"({len(cx.steps)} steps):", cx.schedule(), "", cx.result.timeline()]
    return "\n".join(lines)
def _run_requests(args: argparse.Namespace) -> None:
    """``replicalab run FILE.json``: replay a request file on a GlobalTable."""
    from replicalab.dynamodb.requestfile import read_requests

    if args.writes != "plain":
        raise ConfigError("--writes versioned is the scenarios' built-in client; a request file's "
                          "conditions are its own (write the ConditionExpression in the file)")
    if args.durable is not None:
        raise ConfigError("--durable says what a scenario's crashes keep; a request file has none")
    if args.scan:
        raise ConfigError("--scan reports a scenario's version forks; for a request file they are "
                          "in the ledger (detected writes)")
    if args.net or args.hold is not None or args.listen is not None:
        raise ConfigError("--net, --hold and --listen run a built-in scenario on real processes; "
                          "a request file replays on the simulated GlobalTable")
    quorum = [_flag(k) for k in _QUORUM_FLAGS if getattr(args, k) is not None
              and not (k in _ZONE_FLAGS and args.region_protocol == "leaderless")]
    if quorum:
        zone = [_flag(k) for k in _ZONE_FLAGS if getattr(args, k) is not None]
        raise ConfigError(f"{', '.join(quorum)} set(s) a cluster's options; a request file "
                          "replays on a global table" + (
                              f" (give {', '.join(zone)} with --replicas-per-region 3 --region-protocol "
                              "leaderless for leaderless regions)" if zone and quorum == zone else ""))
    args.scan = False
    _check_run(args)
    replay = read_requests(args.scenario).replay(merge=args.merge, seed=args.seed,
                                                 **_table_options(args))
    _show(args, replay.result, replay.report)  # args.scan is False here (refused above)


def _compare_requests(args: argparse.Namespace) -> None:
    """``replicalab compare FILE.json``: every applicable pattern on a request file."""
    from replicalab.dynamodb.requestfile import compare_requests, read_requests

    if args.workload or args.minutes is not None or args.svg:
        raise ConfigError("compare FILE.json takes --seed, --seeds and --json only")
    seeds = range(args.seed, args.seed + args.seeds)
    rows, skipped = compare_requests(read_requests(args.scenario), seeds)
    if args.json:
        print(canonical_json([r.to_plain() for r in rows]))
        return
    print(f"{args.scenario} — every pattern on the same requests, seeds {seeds.start}..{seeds.stop - 1}\n")
    print(compare_table(rows, rates=False))
    print(f"\nnot applicable to a request file: {', '.join(skipped)}")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "scenarios":
        rows = [[name, text] for name, text in scenarios.describe().items()]
        print(table(["scenario", "description"], rows, indent=""))
    elif args.command == "run":
        _run(args)
    elif args.command == "compare" and _is_request_file(args.scenario):
        _compare_requests(args)
    elif args.command == "compare":
        _compare(args)
    elif args.command == "serve":
        return _serve(args)
    elif args.command == "client":
        return _client(args)
    elif args.command == "explore":
        return _explore(args)
    elif args.command == "sweep":
        _sweep(args)
    elif args.command == "exercise":
        return _exercise(args)
    return 0


def _client(args: argparse.Namespace) -> int:
    """One request to a running real-network run (``replicalab client``); status 1 on an error answer."""
    from replicalab.net import ask
    from replicalab.replica.table import GetItem, ReadResult, UpdateItem

    op = args.op or f"{args.client}-{os.getpid()}"
    request: Any = (UpdateItem(op, args.key, dict(args.assignments)) if args.ask == "update"
                    else GetItem(op, args.key, consistent=args.consistent))
    host, port = args.hub
    replica, response = ask(f"{host}:{port}", args.to, request, client=args.client)
    if not response.ok:
        print(f"{op} at {replica}: {response.error}: {response.message}")
        return 1
    if isinstance(response, ReadResult):
        print(f"{op} at {replica}: {canonical_json(response.item)} (writes {', '.join(response.writes) or '-'})")
    else:
        print(f"{op} at {replica}: ok")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Start one replica process (``replicalab serve``); its exit status is the command's."""
    from replicalab import net
    from replicalab.replica.base import Replica

    host, port = args.hub
    replica: Replica
    if args.scenario is not None:
        from replicalab.scenarios.on_network import region_replica

        replica = region_replica(scenarios.get(args.scenario), args.replica_id, args.merge, args.stamps)
    else:
        replica = net.load_replica(args.replica)(args.replica_id)
    return net.serve(replica, host, port)


def _one_line(message: object) -> str:
    return " ".join(str(message).split()) or "(no message)"


def _fail(status: int, message: object) -> int:
    line = f"replicalab: error: {_one_line(message)}"
    try:
        try:
            print(line, file=sys.stderr, flush=True)
        except UnicodeEncodeError:  # stderr cannot show a name in the message: escape it
            print(line.encode("ascii", "backslashreplace").decode("ascii"), file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr itself is gone: the status is all we can give
        pass
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``replicalab`` command; returns the exit status."""
    parser = build_parser()
    try:
        status = _dispatch(parser.parse_args(argv))
        sys.stdout.flush()
    except ReplicaLabError as error:
        return _fail(2, error)
    except _OutputFailed as error:
        return _fail(1, error)
    except BrokenPipeError:  # e.g. `replicalab run london | head`: the reader left early
        _silence_stdout()
        return _fail(1, "standard output was closed before everything was written (broken pipe)")
    except UnicodeEncodeError as error:
        _silence_stdout()
        return _fail(1, f"standard output ({error.encoding}) cannot show {error.object[error.start:error.end]!r}; "
                        "set PYTHONIOENCODING=utf-8")
    except KeyboardInterrupt:  # Ctrl-C: stopped on purpose, said in one line
        return _fail(1, "interrupted")
    except OSError as error:  # a full disk, a path that is a directory or a device, ...
        if error.filename is None:  # it was standard output: its final flush would fail again
            _silence_stdout()
        where = f" {error.filename}" if error.filename else " standard output"
        return _fail(1, f"cannot write{where}: {error.strerror or error}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
