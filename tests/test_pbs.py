"""PBS (Bailis et al., VLDB 2012): the measured chance of missing a fresh write against the closed form.

Tolerance, derived: each trial is an independent 0/1 outcome (one key written and read once,
on links whose draws are independent), so by Hoeffding's inequality the measured mean of
T trials is further than ε = sqrt(ln(2/δ) / 2T) from the true probability with probability
at most δ. With T = 4000 and δ = 10^-6, ε ≈ 0.0426; the slow/fast link setup adds a bias
below 10^-4 (see replicalab.scenarios.pbs). The seeds are fixed, so the test is not flaky:
δ bounds the chance that *these* seeds were unlucky, and it is tiny.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from replicalab.errors import ConfigError
from replicalab.scenarios import pbs
from replicalab.sim.network import Exponential, Uniform
from replicalab.viz.visibility import visibility_chart

TRIALS = 4000
EPSILON = pbs.hoeffding_tolerance(TRIALS, 1e-6) + 1e-4


def test_the_closed_form_is_the_textbook_number() -> None:
    assert pbs.closed_form(3, 1, 1) == Fraction(2, 3)
    assert pbs.closed_form(3, 2, 2) == 0  # R + W > N: every read quorum meets the write quorum
    assert pbs.closed_form(5, 2, 2) == Fraction(3, 10)  # C(3,2)/C(5,2)
    assert 0.042 < pbs.hoeffding_tolerance(4000, 1e-6) < 0.043


@pytest.mark.parametrize("n, r, w", [(3, 1, 1), (3, 1, 2), (3, 2, 1), (5, 1, 1), (5, 2, 2)])
def test_the_cluster_misses_a_fresh_write_as_often_as_the_closed_form_says(n: int, r: int, w: int) -> None:
    measured = pbs.measure_fresh_read_miss(n, r, w, trials=TRIALS, seed=n * 100 + r * 10 + w)
    assert abs(measured.measured - float(measured.expected)) < EPSILON, measured


def test_strict_quorums_never_miss_even_a_fresh_write() -> None:
    assert pbs.measure_fresh_read_miss(3, 2, 2, trials=500).misses == 0


def test_wars_at_t0_with_instant_acks_and_reads_is_the_closed_form_too() -> None:
    """An independent route to the same number: the WARS Monte Carlo, with acks and read
    requests taking no time and writes spread widely (ties between replicas are rare)."""
    zero = Uniform(0, 0)
    for n, r, w in [(3, 1, 1), (5, 1, 2), (5, 2, 1), (4, 2, 1)]:
        (_, p), = pbs.t_visibility(n, r, w, [0], trials=TRIALS, seed=7, write=Exponential(10**6),
                                   ack=zero, read=zero, response=Exponential(10))
        assert abs((1 - p) - float(pbs.closed_form(n, r, w))) < EPSILON


def test_t_visibility_rises_to_one_and_is_one_for_strict_quorums() -> None:
    times = [0, 5, 10, 20, 50, 200]
    weak = pbs.t_visibility(3, 1, 1, times, trials=3000)
    probabilities = [p for _, p in weak]
    assert probabilities == sorted(probabilities) and probabilities[0] < 0.9 and probabilities[-1] == 1.0
    assert all(p == 1.0 for _, p in pbs.t_visibility(3, 2, 2, times, trials=1000))


def test_the_chart_draws_one_line_per_curve_and_refuses_bad_points() -> None:
    curves = {f"N=3 R={r} W={w}": pbs.t_visibility(3, r, w, [0, 10, 50], trials=500) for r, w in
              [(1, 1), (1, 2), (2, 2)]}
    svg = visibility_chart(curves)
    assert svg.count("<polyline") == 3 and all(label in svg for label in curves)
    with pytest.raises(ConfigError, match="probability"):
        visibility_chart({"x": [(0, 1.5)]})
    with pytest.raises(ConfigError, match="labels"):
        visibility_chart({})


@pytest.mark.parametrize("call, says", [
    (lambda: pbs.closed_form(3, 4, 1), "at most n=3"),
    (lambda: pbs.closed_form(0, 1, 1), "n must be an integer"),
    (lambda: pbs.measure_fresh_read_miss(3, 1, 1, trials=0), "trials"),
    (lambda: pbs.t_visibility(3, 1, 1, []), "times"),
    (lambda: pbs.t_visibility(3, 1, 1, [0], write="fast"), "write must be a latency"),
    (lambda: pbs.hoeffding_tolerance(10, 2.0), "failure"),
])
def test_bad_input_says_what_would_be_valid(call, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert says in str(info.value)
