"""A client's ``on_reply`` runs once, for the first answer it gets, and is then let go.

A client stops listening to a request once it has its answer, as a client connection does.
So a replica that (wrongly) answers one request twice has both answers recorded in
``sim.replies`` (and traced), but the client's callback runs for the first only; a request
refused because its replica is down is answered once too. Letting the callback go matters for
speed: a workload makes one closure per request (B12: 20,000), and kept to the end of the run
they made Python's full garbage collections walk all of them, again and again.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from replicalab.replica.base import Replica, Request, Response
from replicalab.sim import Link, Simulation, Uniform
from replicalab.sim.faults import Crash


class _Twice(Replica):
    """Answers every request twice: at once, and again after a timer."""

    def on_message(self, ctx, src, msg):
        ctx.reply(src, Response(msg.op, message="first"))
        ctx.set_timer(3, msg.op)

    def on_timer(self, ctx, timer):
        ctx.reply("client", Response(timer, message="second"))


def _callback(calls: list) -> object:
    def on_reply(sim: Simulation, reply) -> None:
        calls.append((sim.now, reply.response.op, reply.response.message))
    return on_reply


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("via", [None, "b"])
def test_a_second_answer_is_recorded_but_the_callback_runs_once(trace: bool, via: str | None) -> None:
    sim = Simulation([_Twice("a"), _Twice("b")], link=Link(Uniform(1, 4)), seed=3, trace=trace)
    calls: list = []
    sim.client_request(0, "a", Request("op1"), via=via, on_reply=_callback(calls))
    sim.client_request(1, "a", Request("op2"), via=via, on_reply=_callback(calls))
    sim.run_until_quiescent()
    assert sorted((r.response.op, r.response.message) for r in sim.replies) == [
        ("op1", "first"), ("op1", "second"), ("op2", "first"), ("op2", "second")]
    assert [(op, message) for _, op, message in calls] == [("op1", "first"), ("op2", "first")]


def test_a_refused_request_answers_its_callback_once() -> None:
    sim = Simulation([_Twice("a"), _Twice("b")], seed=1)
    sim.add_faults([Crash(0, "a")])
    calls: list = []
    sim.client_request(1, "a", Request("op1"), on_reply=_callback(calls))
    sim.run_until_quiescent()
    assert [(op, message) for _, op, message in calls] == [("op1", "a is down")]
    assert [r.response.error for r in sim.replies] == ["RegionUnreachable"]


def test_the_callback_is_let_go_once_it_ran() -> None:
    sim = Simulation([_Twice("a"), _Twice("b")], seed=1, trace=False)
    calls: list = []
    callback = _callback(calls)
    alive = weakref.ref(callback)
    sim.client_request(0, "a", Request("op1"), on_reply=callback)
    del callback
    sim.run(until=0)  # the first answer: at once, next to its replica
    gc.collect()
    assert len(calls) == 1 and alive() is None
    sim.run_until_quiescent()
    assert len(calls) == 1 and len(sim.replies) == 2
