"""A crash before replication: is an acknowledged write durable?

eu-west-1 acknowledges the portal's address change at t=100 and, like a
real replication pipeline, ships it to the other regions a little later
(here 50 ms). At t=120 — acknowledged, not yet shipped — eu-west-1 crashes,
and it restarts at t=1000.

With ``durable=True`` (the default for this scenario's crash is *not*
durable; pass ``durable=True``) the write was in the region's log: after the
restart it ships, and the ledger says ``kept``. With ``durable=False`` the
region lost its state: it comes back empty, under a new causal identity
(``eu-west-1~2``), anti-entropy refills it from the other regions — and the
acknowledged write is gone. The ledger says ``silently-lost``, and why.
"""

from __future__ import annotations

from replicalab.replica.table import AntiEntropy
from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.faults import Crash, Restart

SCENARIO = TableScenario(
    name="crash",
    description="eu-west-1 acknowledges a write, then crashes before replicating it",
    story="Acknowledged at t=100, shipped after 50 ms, crashed at t=120, restarted at t=1000.",
    regions=LONDON.regions,
    latency=LONDON.latency,
    initial={"sub_42": {"delivery_address": "7 Canal Street, Manchester", "version": 17},
             "sub_43": {"delivery_address": "2 Quay Street, Bristol", "version": 4}},
    workload=(
        ClientWrite(100, "eu-west-1", "w1", "portal", "sub_42",
                    {"delivery_address": "12 High Street, London"}),
        ClientWrite(300, "us-east-1", "w2", "billing", "sub_43", {"version": 5}),
    ),
    epoch=EPOCH,
    faults=(Crash(120, "eu-west-1", durable=False), Restart(1000, "eu-west-1")),
    replication_delay=50,
    anti_entropy=AntiEntropy(period=400, fanout=4, depth=1, timeout=1500),
    horizon=4000,
    primary="us-east-1",
)
