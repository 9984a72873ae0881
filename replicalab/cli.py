"""The ``replicalab`` command line: run a scenario, compare policies, list scenarios.

    replicalab run london [--merge item-lww|attribute-lww|causal] [--seed N] [--json]
    replicalab compare london [--seed N] [--json]
    replicalab scenarios

Bad arguments print one line ``replicalab: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from replicalab import scenarios
from replicalab.errors import ReplicaLabError
from replicalab.policies import POLICIES, policy_names
from replicalab.trace import canonical_json
from replicalab.viz.text import compare_table, table

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, with no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"replicalab: error: {message} (see 'replicalab --help')\n")


def _skew(text: str) -> tuple[str, int]:
    region, sep, ms = text.partition("=")
    try:
        if not sep or not region:
            raise ValueError
        return region, int(ms)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--skew takes REGION=MS with integer milliseconds, e.g. us-east-1=-60; got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = _Parser(
        prog="replicalab",
        description="Learn replication by running it: replay a story under different merge policies.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="{run,compare,scenarios}")

    run = sub.add_parser("run", help="run one scenario and print its timeline, items and ledger")
    run.add_argument("scenario", help="a scenario name (see 'replicalab scenarios')")
    run.add_argument("--merge", default="item-lww", metavar="POLICY",
                     help=f"merge policy: {' | '.join(policy_names())} (default item-lww)")
    run.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    run.add_argument("--skew", type=_skew, action="append", default=[], metavar="REGION=MS",
                     help="shift a region's wall clock by MS milliseconds (repeatable)")
    run.add_argument("--json", action="store_true", help="print the canonical JSON result document")

    compare = sub.add_parser("compare", help="run one scenario under every policy, one row each")
    compare.add_argument("scenario")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--json", action="store_true", help="print the rows as JSON")

    sub.add_parser("scenarios", help="list scenarios with one-line descriptions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``replicalab`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "scenarios":
            rows = [[name, text] for name, text in scenarios.describe().items()]
            print(table(["scenario", "description"], rows, indent=""))
        elif args.command == "run":
            skew = dict(args.skew) or None
            options = {"skew": skew} if skew else {}
            result = scenarios.run(args.scenario, merge=args.merge, seed=args.seed, **options)
            print(result.to_json() if args.json else result.report())
        elif args.command == "compare":
            results = [scenarios.run(args.scenario, merge=name, seed=args.seed) for name in POLICIES]
            if args.json:
                print(canonical_json([
                    {"merge": r.merge, "summary": r.summary, "siblings_visible": r.siblings_visible,
                     "converged": r.converged} for r in results
                ]))
            else:
                print(f"{args.scenario} — every policy on the same seeded schedule (seed={args.seed})\n")
                print(compare_table(results))
    except ReplicaLabError as error:
        print(f"replicalab: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
