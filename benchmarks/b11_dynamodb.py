"""B11 — DynamoDB requests: parsing and applying a boto3 request vs a plain ClientWrite.

Workload (issue #15): one region of a global table holds 100 items
``{subscriber_id, delivery_address, version}``. 5,000 updates, round-robin over the items,
each sets ``delivery_address`` and bumps ``version`` — in two variants: unconditional, and
conditional on the version the client last wrote (the seed's pattern; every condition holds).

Contenders, each on the same simulator and the same kind of region (``TableReplica``,
item-lww, tracing on as every run that feeds the ledger has it):

* **ClientWrite** (the floor): the request the scenarios send, ``UpdateItem(op, key,
  {"delivery_address": ..., "version": n}, condition={"version": n - 1})``, all scheduled and
  run by the simulator, then the run's Result (ledger) built;
* **boto3 request**: the same effect as ``client.update_item(TableName=..., Key=...,
  UpdateExpression="SET delivery_address = :a, version = :v", ConditionExpression=...,
  ExpressionAttributeValues=...)`` on a one-region :class:`~replicalab.dynamodb.GlobalTable`:
  validated and parsed by the client, evaluated and applied to the local item by the region,
  one synchronous call at a time, then ``settle()`` (the same Result).

Check: both runs end with identical items (plain values). Target: the boto3 request costs at
most 3x the ClientWrite per request. Run ``python benchmarks/b11_dynamodb.py`` (``--quick``:
1,000 updates).
"""

from __future__ import annotations

import argparse
import sys

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

from replicalab.dynamodb import GlobalTable
from replicalab.replica.table import UpdateItem
from replicalab.scenarios.world import TableScenario

REGION = "eu-west-1"
ITEMS = 100
TARGET = 3.0


def _initial() -> dict[str, dict]:
    return {f"sub_{i}": {"subscriber_id": f"sub_{i}", "delivery_address": "old", "version": 0}
            for i in range(ITEMS)}


def _address(n: int) -> str:
    return f"{n} High Street, London"


def client_writes(updates: int, conditional: bool) -> tuple[float, dict]:
    scenario = TableScenario(name="b11", description="", regions=(REGION,), latency={},
                             initial=_initial(), workload=())
    prepared = scenario.prepare("item-lww", 0)
    sim = prepared.sim
    versions = [0] * ITEMS
    started = H.perf_counter()
    for n in range(updates):
        i = n % ITEMS
        condition = {"version": versions[i]} if conditional else None
        versions[i] += 1
        sim.client_request(n, REGION, UpdateItem(f"w{n + 1}", f"sub_{i}", {
            "delivery_address": _address(n), "version": versions[i]}, condition))
    sim.run_until_quiescent()
    result = prepared.result()  # the ledger, as settle() makes
    seconds = H.perf_counter() - started
    return seconds, result.final[REGION]


def boto3_requests(updates: int, conditional: bool) -> tuple[float, dict]:
    items = [{"subscriber_id": {"S": f"sub_{i}"}, "delivery_address": {"S": "old"},
              "version": {"N": "0"}} for i in range(ITEMS)]
    table = GlobalTable("subscribers", key=("subscriber_id",), regions=(REGION,), items=items)
    client = table.client(REGION)
    versions = [0] * ITEMS
    started = H.perf_counter()
    for n in range(updates):
        i = n % ITEMS
        table.at(n)
        values = {":a": {"S": _address(n)}, ":v": {"N": str(versions[i] + 1)}}
        extra = {}
        if conditional:
            values[":expected"] = {"N": str(versions[i])}
            extra = {"ConditionExpression": "version = :expected"}
        versions[i] += 1
        client.update_item(TableName="subscribers", Key={"subscriber_id": {"S": f"sub_{i}"}},
                           UpdateExpression="SET delivery_address = :a, version = :v",
                           ExpressionAttributeValues=values, **extra)
    result = table.settle()
    seconds = H.perf_counter() - started
    return seconds, result.final[REGION]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 updates, 1 round")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    parser.add_argument("--smoke", action="store_true", help="200 updates (2 per item): " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    updates = 200 if args.smoke else 1_000 if args.quick else 5_000
    repeats = args.repeats or (1 if args.quick or args.smoke else 5)
    print(f"{H.environment_line()}; median of {repeats} interleaved rounds after a warm-up")
    failures: list[str] = []
    for conditional in (False, True):
        label = "conditional (version = :expected)" if conditional else "unconditional"
        H.banner(f"{updates:,} UpdateItems over {ITEMS} items in one region, {label}")
        results = H.measure({
            "ClientWrite (floor)": lambda c=conditional: client_writes(updates, c),
            "boto3 request": lambda c=conditional: boto3_requests(updates, c),
        }, repeats=repeats)
        floor, ours = results["ClientWrite (floor)"], results["boto3 request"]
        if floor.answer != ours.answer:
            failures.append(f"{label}: the two runs ended with different items")
        ratio = ours.median / floor.median
        print(f"  ClientWrite     {floor.median * 1e6 / updates:8.1f} us/request")
        print(f"  boto3 request   {ours.median * 1e6 / updates:8.1f} us/request   "
              f"{ratio:.2f}x the floor (target <= {TARGET:g}x): "
              f"{'not judged (smoke)' if H.SMOKE else 'met' if ratio <= TARGET else 'MISSED'}")
    for failure in failures:
        print(f"FAILED: {failure}")
    return H.checks(failures, f"ClientWrite and boto3 request runs end with identical items, "
                    f"{updates:,} updates, unconditional and conditional")


if __name__ == "__main__":
    sys.exit(main())
