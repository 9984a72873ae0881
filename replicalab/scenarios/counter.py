"""Atomic counters across regions: three increments at once, and how many survive.

A quota counter (``used``) on one item; metering jobs in all three regions
each add 1 within a few milliseconds — DynamoDB's atomic ``ADD``. The add is
atomic *in its region*: the region reads its own current value and writes
value + 1. Replication then carries three items that each say ``used = 1``.

Under ``item-lww`` (and ``attribute-lww``) one of them wins: the counter
reads 1 and two acknowledged increments are silently lost — the ledger counts
them. Under ``causal`` the three versions are kept as siblings for a reader
to add up. Under ``crdt`` the attribute is a PN-counter (one running total per
region), so merging adds the contributions: the counter reads 3 and every
increment is kept.
"""

from __future__ import annotations

from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario

SCENARIO = TableScenario(
    name="counter",
    description="three regions add 1 to a quota counter at once: how many increments survive?",
    story="Metering jobs in every region ADD 1 to quota_acme.used within 4 ms of each other.",
    regions=LONDON.regions,
    latency=LONDON.latency,
    initial={"quota_acme": {"used": 0, "limit": 100}},
    workload=(
        ClientWrite(100, "us-east-1", "w1", "metering", "quota_acme", {}, add={"used": 1}),
        ClientWrite(102, "eu-west-1", "w2", "metering", "quota_acme", {}, add={"used": 1}),
        ClientWrite(104, "ap-southeast-2", "w3", "metering", "quota_acme", {}, add={"used": 1}),
    ),
    epoch=EPOCH,
    homes={"quota_acme": "us-east-1"},
    primary="us-east-1",
)
