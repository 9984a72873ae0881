"""The London incident: a batch job 49 ms later erases an address change, silently.

From ``seeds/000``: a subscriber in London changes their delivery address on
the eu-west-1 portal at 14:07:12.140 UTC; at 14:07:12.189 a retention job in
us-east-1 writes ``last_contacted`` on the same item (``sub_42``, version 17).
Both are UpdateItem calls without conditions, touching *different*
attributes. Each region acknowledges its write at once and replicates it
asynchronously; neither write has reached the other region when the other
write happens (one-way us-east-1 <-> eu-west-1 latency is 70-80 ms), so they
are concurrent. Five milliseconds after the retention job, a support agent in
eu-west-1 reads the item with a strongly consistent read.

Under ``item-lww`` every region ends with the retention job's item: the
address reverts to its old value, no error anywhere — exactly one write is
silently lost — and the agent's "strong" read misses the us-east-1 write (a
regional guarantee, not a global one). ``attribute-lww`` keeps both
attributes; ``causal`` keeps both versions as siblings. With
``writes="versioned"`` the loss still happens but a version fork flags it;
``routing="key-home"`` (the subscriber's home is eu-west-1) and
``mode="mrsc"`` prevent it, at the price of a cross-region round trip.

The variant ``london-batch-at-home`` runs the retention job in the
subscriber's home region instead: no cross-region race, LWW never fires.
"""

from __future__ import annotations

import attrs

from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
from replicalab.sim.network import Uniform

#: 14:07:12.000 as milliseconds of the day: simulated time 0.
EPOCH = ((14 * 60 + 7) * 60 + 12) * 1000

PORTAL = ClientWrite(
    at=140,
    region="eu-west-1",
    op="w1",
    client="portal",
    key="sub_42",
    attributes={"delivery_address": "12 High Street, London"},
)
RETENTION_JOB = ClientWrite(
    at=189,
    region="us-east-1",
    op="w2",
    client="retention-job",
    key="sub_42",
    attributes={"last_contacted": "2026-12-22T14:07:12.189Z"},
)

SCENARIO = TableScenario(
    name="london",
    description="an address change in eu-west-1 vs a batch job in us-east-1 49 ms later",
    story=(
        "eu-west-1 portal sets delivery_address at 14:07:12.140; the us-east-1 retention job "
        "sets last_contacted on the same item at 14:07:12.189."
    ),
    regions=("ap-southeast-2", "eu-west-1", "us-east-1"),
    latency={
        ("eu-west-1", "us-east-1"): Uniform(70, 80),
        ("ap-southeast-2", "us-east-1"): Uniform(95, 105),
        ("ap-southeast-2", "eu-west-1"): Uniform(130, 145),
    },
    initial={
        "sub_42": {
            "delivery_address": "7 Canal Street, Manchester",
            "last_contacted": "2026-11-30T09:00:00.000Z",
            "version": 17,
        }
    },
    workload=(PORTAL, RETENTION_JOB),
    reads=(ClientRead(at=194, region="eu-west-1", op="r1", client="support-agent", key="sub_42"),),
    homes={"sub_42": "eu-west-1"},
    primary="us-east-1",
    epoch=EPOCH,
)

BATCH_AT_HOME = attrs.evolve(
    SCENARIO,
    name="london-batch-at-home",
    description="the London incident with the retention job moved to the subscriber's home region",
    story="The retention job runs in eu-west-1, the subscriber's home: one writer region per item.",
    workload=(PORTAL, attrs.evolve(RETENTION_JOB, region="eu-west-1")),
)
