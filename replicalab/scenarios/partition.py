"""A partition, then repair: anti-entropy finds and fixes what replication lost.

eu-west-1 is cut off from the other two regions from t=200 to t=3000. Both
sides keep accepting writes (MREC stays available), and every replication
message that crosses the cut is dropped — there is no retry. After the heal
nothing would ever bring the sides together again, except anti-entropy: every
500 ms each region compares a Merkle tree of its items with a random peer's,
descends only into differing subtrees, and merges the items that differ.

The report shows the repairs next to their cost: bytes exchanged by the Merkle
sessions against the bytes of sending every item. Two items are written on
both sides of the cut, so ``item-lww`` still loses one write on each (repair
merges with the same policy), while ``causal`` keeps both as siblings.
"""

from __future__ import annotations

from replicalab.replica.table import AntiEntropy
from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.faults import Heal, Partition

KEYS = [f"sub_{i:02d}" for i in range(40)]

_writes = [
    ClientWrite(400, "eu-west-1", "w1", "portal", "sub_03", {"plan": "annual"}),
    ClientWrite(600, "us-east-1", "w2", "billing", "sub_17", {"plan": "monthly"}),
    ClientWrite(800, "ap-southeast-2", "w3", "portal", "sub_25", {"address": "1 Harbour St"}),
    # written on both sides of the cut: a true conflict
    ClientWrite(1000, "eu-west-1", "w4", "portal", "sub_08", {"address": "12 High Street"}),
    ClientWrite(1200, "us-east-1", "w5", "batch", "sub_08", {"address": "9 Elm Road"}),
    ClientWrite(1400, "us-east-1", "w6", "batch", "sub_31", {"plan": "trial"}),
    ClientWrite(1600, "eu-west-1", "w7", "support", "sub_31", {"plan": "annual"}),
    ClientWrite(2000, "eu-west-1", "w8", "portal", "sub_12", {"address": "3 Mill Lane"}),
]

SCENARIO = TableScenario(
    name="partition",
    description="eu-west-1 cut off for 2.8 s; both sides write; anti-entropy repairs after the heal",
    story="A partition isolates eu-west-1 from t=200 to t=3000; Merkle anti-entropy repairs.",
    regions=LONDON.regions,
    latency=LONDON.latency,
    initial={key: {"plan": "monthly", "address": f"{i} Old Road"} for i, key in enumerate(KEYS)},
    workload=tuple(_writes),
    epoch=EPOCH,
    faults=(Partition.isolate(200, "eu-west-1", LONDON.regions), Heal(3000)),
    anti_entropy=AntiEntropy(period=500, fanout=4, depth=2, timeout=1500),
    horizon=6000,
    primary="us-east-1",
)
