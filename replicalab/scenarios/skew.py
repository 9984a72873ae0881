"""Clock skew: the write that happened later in real time loses under wall-clock LWW.

A plan change in eu-west-1 at t=100 reaches us-east-1 at about t=175. At
t=300 a support agent in us-east-1, having seen it, changes the plan again:
a later, informed write. But us-east-1's wall clock runs 500 ms behind, so
its stamp is *smaller*, and item-lww keeps the older write: the newer one is
silently lost, and no clock anywhere looks wrong.

The report's clock table shows the same two writes through three clocks.
The Lamport and hybrid logical clocks both order the us-east-1 write after
the one it saw; ``stamps="hlc"`` makes LWW order by the HLC, and the later
write wins.
"""

from __future__ import annotations

from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario

SCENARIO = TableScenario(
    name="skew",
    description="us-east-1's clock runs 500 ms slow: its later, informed write loses under LWW",
    story="eu-west-1 sets the plan at t=100; us-east-1, having seen it, changes it at t=300.",
    regions=LONDON.regions,
    latency=LONDON.latency,
    initial={"sub_7": {"plan": "trial", "version": 3}},
    workload=(
        ClientWrite(100, "eu-west-1", "w1", "portal", "sub_7", {"plan": "monthly"}),
        ClientWrite(300, "us-east-1", "w2", "support-agent", "sub_7", {"plan": "annual"}),
    ),
    epoch=EPOCH,
    skew={"us-east-1": -500},
    homes={"sub_7": "eu-west-1"},
    primary="us-east-1",
)
