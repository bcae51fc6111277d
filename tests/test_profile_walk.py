"""The profile's walk from the estimate (`Profiler.interval`) ends at the FIRST crossing of
ζ = ±z, as a brute-force profile read outward from the estimate does, also where ζ is not
monotone: here ζ is a given function (a slow rise with a bump above z on one side), so the
first crossing is known in closed form."""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from shrinkcli.lmm import prepare_data, sufficient_stats
from shrinkcli.lmm.profile import Profiler
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import parse_scenario
from shrinkcli.simulate import simulate

Z = 1.959963984540054


@pytest.mark.parametrize(("centre", "height"), [(8.0, 2.5), (12.0, 3.0), (20.0, 3.0)])
def test_a_non_monotone_profile_ends_at_its_first_crossing(centre: float, height: float) -> None:
    table = simulate(parse_scenario("name: s\nseed: 3\n")).table
    prep = prepare_data(table)
    prof = Profiler(
        sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups),
        ModelSpec("intercept-slope", "ml"),
    )
    est = prof.estimate("sd_int")
    # ζ's unit in sd_int: the bump lies beyond the walk's first point and is wider than z/8
    unit = 0.02 * est

    def zeta(d: float) -> float:  # d = (v − est)/unit; rises slowly, a bump above z at centre
        return 0.08 * d + (height * math.exp(-((d - centre) ** 2)) if d > 0 else 0.0)

    prof.zeta = lambda parameter, v, e: zeta((v - e) / unit)  # type: ignore[method-assign]
    first = brentq(lambda d: zeta(d) - Z, 0.0, centre)  # ζ < z before the bump: the first
    assert zeta(centre) > Z and zeta(centre + 3.0) < Z  # the bump goes above z and back
    got = prof.interval("sd_int").upper
    assert not got.at_bound
    assert got.value == pytest.approx(est + first * unit, abs=1e-3 * unit)
