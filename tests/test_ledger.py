"""The write ledger on hand-written histories whose verdicts we know in advance."""

from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.items import INITIAL_WRITE, Cell, Item, Stamp, Version
from replicalab.ledger import LossEvent, WriteRecord, from_simulation, judge
from replicalab.policies import get_policy
from replicalab.replica.table import TableReplica, UpdateItem
from replicalab.sim import Constant, Link, Simulation

START = Stamp(-1, "", 0)
INITIAL = Item((Version.of({"x": Cell("x0", INITIAL_WRITE, START),
                            "y": Cell("y0", INITIAL_WRITE, START)},
                           write=INITIAL_WRITE, stamp=START),))


class History:
    """Write a history by hand: replicas apply writes and merges with a policy, and every
    write records (as ground truth) which writes its replica had seen."""

    def __init__(self, policy, replicas=("a", "b")):
        self.policy = get_policy(policy)
        self.items = {r: INITIAL for r in replicas}
        self.seen = {r: VectorClock() for r in replicas}
        self.seq = {r: 0 for r in replicas}
        self.records = []
        self.losses = []
        self.clock = 0

    def write(self, op, replica, wall=None, acknowledged=True, **attributes):
        self.clock += 1
        self.seq[replica] += 1
        self.seen[replica] = self.seen[replica].tick(replica)
        stamp = Stamp(self.clock if wall is None else wall, replica, self.seq[replica])
        if acknowledged:
            outcome = self.policy.write(self.items[replica], attributes, write=op, stamp=stamp,
                                        replica=replica)
            self.items[replica] = outcome.item
            self._lost(replica, outcome.losses)
        self.records.append(WriteRecord(
            id=op, replica=replica, key="k", time=self.clock, client="c", attributes=attributes,
            dot=Dot(replica, self.seen[replica].get(replica)), seen=self.seen[replica],
            acknowledged=acknowledged, error=None if acknowledged else "ConditionalCheckFailed",
            stamp=stamp))

    def sync(self, dst, src):
        """dst receives src's item (and with it, src's causal past)."""
        self.clock += 1
        outcome = self.policy.merge(self.items[dst], self.items[src])
        self.items[dst] = outcome.item
        self.seen[dst] = self.seen[dst].merge(self.seen[src])
        self._lost(dst, outcome.losses)

    def _lost(self, replica, losses):
        self.losses += [LossEvent(self.clock, replica, x) for x in losses if x.write != INITIAL_WRITE]

    def everyone_syncs(self):
        names = sorted(self.items)
        for dst in names:
            for src in names:
                if dst != src:
                    self.sync(dst, src)

    def ledger(self, reports=None):
        final = {r: {"k": item} for r, item in self.items.items()}
        return judge(self.records, final, self.losses, reports)


def test_a_lone_write_is_kept():
    h = History("item-lww")
    h.write("w1", "a", x="new")
    h.everyone_syncs()
    assert h.ledger().verdicts() == {"w1": "kept"}


def test_an_overwrite_by_a_write_that_saw_it_is_superseded():
    h = History("item-lww")
    h.write("w1", "a", x="first")
    h.sync("b", "a")
    h.write("w2", "b", x="second")
    h.everyone_syncs()
    ledger = h.ledger()
    assert ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    assert ledger["w1"].by == ("w2",) and "had seen" in ledger["w1"].why


def test_london_item_lww_silently_loses_the_concurrent_write_to_another_attribute():
    """Different attributes, concurrent writes, per-item LWW: the earlier stamp vanishes."""
    h = History("item-lww")
    h.write("w1", "a", x="London")
    h.write("w2", "b", y="contacted")
    h.everyone_syncs()
    ledger = h.ledger()
    assert ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert "item-lww kept w2" in ledger["w1"].why and "w2 had not seen w1" in ledger["w1"].why
    assert ledger["w1"].where in ("a", "b")


def test_attribute_lww_loses_only_a_same_attribute_race():
    h = History("attribute-lww")
    h.write("w1", "a", x="A")
    h.write("w2", "b", x="B")
    h.write("w3", "b", y="Y")
    h.everyone_syncs()
    assert h.ledger().verdicts() == {"w1": "silently-lost", "w2": "kept", "w3": "kept"}


def test_causal_keeps_concurrent_writes_as_siblings():
    h = History("causal")
    h.write("w1", "a", x="A")
    h.write("w2", "b", x="B")
    h.everyone_syncs()
    assert h.ledger().verdicts() == {"w1": "kept", "w2": "kept"}
    assert h.items["a"].has_siblings


def test_a_refused_write_is_rejected_and_says_why():
    h = History("item-lww")
    h.write("w1", "a", acknowledged=False, x="nope")
    h.everyone_syncs()
    entry = h.ledger()["w1"]
    assert entry.verdict == "rejected" and "ConditionalCheckFailed" in entry.why


def test_a_lost_write_the_system_reported_is_detected_not_silent():
    h = History("item-lww")
    h.write("w1", "a", x="London")
    h.write("w2", "b", y="contacted")
    h.everyone_syncs()
    ledger = h.ledger(reports={"w1": "version fork at version 18"})
    assert ledger.verdicts() == {"w1": "detected", "w2": "kept"}
    assert ledger["w1"].why.startswith("version fork at version 18")


def test_a_partly_overwritten_write_is_superseded():
    h = History("attribute-lww")
    h.write("w1", "a", x="x1", y="y1")
    h.sync("b", "a")
    h.write("w2", "b", x="x2")
    h.everyone_syncs()
    assert h.ledger().verdicts() == {"w1": "superseded", "w2": "kept"}


def test_skew_makes_the_later_write_lose_to_the_one_it_saw():
    """b saw a's write and wrote after it, but b's clock runs 500 ms behind: LWW keeps the older."""
    h = History("item-lww")
    h.write("w1", "a", wall=1000, x="older")
    h.sync("b", "a")
    h.write("w2", "b", wall=600, x="newer")
    h.everyone_syncs()
    ledger = h.ledger()
    assert ledger.verdicts() == {"w1": "kept", "w2": "silently-lost"}
    assert "w1 had not seen w2" in ledger["w2"].why


def test_a_write_that_never_reached_a_replica_is_not_kept():
    h = History("item-lww", replicas=("a", "b", "c"))
    h.write("w1", "a", x="only at a and b")
    h.sync("b", "a")
    entry = h.ledger()["w1"]
    assert entry.verdict == "silently-lost" and "absent" in entry.why


def test_summary_counts_every_verdict_and_acknowledged_excludes_rejected():
    h = History("item-lww")
    h.write("w1", "a", x="London")
    h.write("w2", "b", y="contacted")
    h.write("w3", "b", acknowledged=False, y="refused")
    h.everyone_syncs()
    assert h.ledger().summary == {"acknowledged": 2, "kept": 1, "superseded": 0,
                                  "silently_lost": 1, "detected": 0, "rejected": 1,
                                  "unreplicated": 0}


def test_ledger_from_a_simulation_of_table_replicas():
    """End to end through the runtime: ground truth comes from the simulator, not the policy."""
    regions = [TableReplica(r, "item-lww", {"k": INITIAL}) for r in ("a", "b")]
    sim = Simulation(regions, link=Link(Constant(30)), epoch=10_000)
    sim.client_request(0, "a", UpdateItem("w1", "k", {"x": "A"}), client="app")
    sim.client_request(10, "b", UpdateItem("w2", "k", {"y": "B"}), client="job")  # concurrent
    sim.client_request(60, "b", UpdateItem("w3", "k", {"y": "C"}), client="job")  # saw w1, w2
    sim.client_request(61, "a", UpdateItem("w4", "k", {"x": "D"}, condition={"x": "zzz"}))
    sim.run_until_quiescent()
    ledger = from_simulation(sim)
    # w2's later stamp dropped w1 at both regions before w3 ran, so w3 saw w1 but could not
    # restore it: w1 stays silently lost even though a later write "saw" it.
    assert ledger.verdicts() == {"w1": "silently-lost", "w2": "superseded", "w3": "kept",
                                 "w4": "rejected"}
    assert ledger["w1"].where == "b" and ledger["w1"].time == 30


def test_a_write_held_somewhere_that_never_reached_a_replica_is_unreplicated():
    """With ground truth of who had received what by the end, a write still missing only where
    it never arrived is not lost: the run ended before it got there."""
    h = History("item-lww", replicas=("a", "b", "c"))
    h.write("w1", "a", x="only at a and b")
    h.sync("b", "a")
    final = {r: {"k": item} for r, item in h.items.items()}
    reached = {r: {"k": seen} for r, seen in h.seen.items()}
    entry = judge(h.records, final, h.losses, reached=reached)["w1"]
    assert entry.verdict == "unreplicated" and "before it reached c" in entry.why


def test_a_loss_in_the_history_counts_even_after_a_later_overwrite():
    """w1 lost to the concurrent w2 at both replicas; then w3, having seen everything,
    overwrote x. Judged by the final state alone w1 would look superseded."""
    h = History("item-lww")
    h.write("w1", "a", x="A")
    h.write("w2", "b", y="B")
    h.everyone_syncs()
    h.write("w3", "b", x="C")
    h.everyone_syncs()
    entry = h.ledger()["w1"]
    assert entry.verdict == "silently-lost" and entry.by == ("w2",)
    assert "w2 had not seen w1" in entry.why and "later, w3 overwrote it having seen it" in entry.why
