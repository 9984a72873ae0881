"""The runtime's positional event constructors build exactly the events the classes build."""

from __future__ import annotations

import attrs
import pytest

from replicalab.errors import ConfigError
from replicalab.events import Delivered, Sent, delivered, sent
from replicalab.replica.base import Replica
from replicalab.sim import Constant, Link, Simulation


@pytest.mark.parametrize("msg", [None, 5, "hi", {"k": [1, 2]}])
def test_sent_builds_the_same_event_as_the_class(msg):
    fast = sent(3, 40, "a", 7, "b", msg, None if msg is None else 45, 11)
    slow = Sent(seq=3, time=40, replica="a", step=7, dst="b", msg=msg,
                due=None if msg is None else 45, id=11)
    assert type(fast) is Sent
    assert fast == slow and repr(fast) == repr(slow)
    if not isinstance(msg, dict):  # an event holding a dict is unhashable, as any attrs value
        assert hash(fast) == hash(slow)
    assert fast.to_plain() == slow.to_plain()


def test_delivered_builds_the_same_event_as_the_class():
    fast = delivered(4, 45, "b", 8, "a", ("x", 1), 11)
    slow = Delivered(seq=4, time=45, replica="b", step=8, src="a", msg=("x", 1), id=11)
    assert type(fast) is Delivered
    assert fast == slow and repr(fast) == repr(slow) and hash(fast) == hash(slow)
    assert fast.to_plain() == slow.to_plain()


def test_fast_events_are_as_frozen_as_the_others():
    event = sent(0, 0, "a", 0, "b", 1, 2, 3)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.due = 9  # type: ignore[misc]


def test_the_positional_constructors_take_every_field_in_class_order():
    """A field added to Sent or Delivered must be added to its constructor too (import fails)."""
    assert [f.name for f in attrs.fields(Sent)] == ["seq", "time", "replica", "step", "dst", "msg",
                                                     "due", "id"]
    assert [f.name for f in attrs.fields(Delivered)] == ["seq", "time", "replica", "step", "src",
                                                          "msg", "id"]


class _PingPong(Replica):
    def on_start(self, ctx):
        if self.id == "a":
            ctx.send("b", 0)

    def on_message(self, ctx, src, msg):
        ctx.send(src, msg + 1)


@pytest.mark.parametrize("cap", [3, 4, 5, 6, 7])
def test_the_trace_cap_holds_on_the_inlined_sent_and_delivered_paths(cap):
    """Whichever event reaches the cap (a Sent or a Delivered), the run stops with
    ConfigError and the trace holds exactly ``cap`` records."""
    sim = Simulation([_PingPong("a"), _PingPong("b")], link=Link(Constant(1)), seed=0,
                     max_trace_events=cap)
    with pytest.raises(ConfigError, match=f"max_trace_events={cap}"):
        sim.run()
    assert len(sim.trace) == cap
