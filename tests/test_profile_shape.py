"""Profiles of the correlation that are not a simple valley: a negative correlation, a profile
that goes flat where an SD reaches 0 (the correlation then stops mattering), and one whose
interior branch rises past the cut-off while the flat level stays below it. The ends are checked
against an independent brute-force profile: a grid over the correlation, at each value the ML
deviance (the engine's `criterion`) minimised over the other parameters by scipy from several
starts, the crossing refined by Brent's method."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from statistics import NormalDist

import pytest
from scipy.optimize import brentq, minimize
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.lmm import Fit, fit, prepare_data, profile_intervals, sufficient_stats
from shrinkcli.lmm.pls import SufficientStats, criterion
from shrinkcli.lmm.profile import Profiler
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import parse_scenario
from shrinkcli.simulate import simulate

ML = ModelSpec("intercept-slope", "ml")
Z2 = NormalDist().inv_cdf(0.975) ** 2


#: Data sets made by a test itself, by the (balanced, seed) key it gives them.
_case_override: dict[tuple[float, int], tuple[SufficientStats, Fit]] = {}


@cache
def _case(balanced: float, seed: int) -> tuple[SufficientStats, Fit]:
    """create_data(balanced, seed) of the post (R-identical), its statistics and ML fit."""
    if (balanced, seed) in _case_override:
        return _case_override[(balanced, seed)]
    table = simulate(parse_scenario(f"name: s\nbalanced: {balanced}\nseed: {seed}\n")).table
    prep = prepare_data(table)
    stats = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    return stats, fit(table, ML)


@cache
def _brute_deviance(balanced: float, seed: int, r: float) -> float:
    """The ML deviance with the correlation at r, minimised over Λ₁₁ ≥ 0 and the slope row's
    length ℓ ≥ 0 (σ profiled out by the criterion) by L-BFGS-B from several starts, the faces
    Λ₁₁ = 0 and ℓ = 0 included."""
    stats = _case(balanced, seed)[0]
    w = math.sqrt(max(0.0, 1.0 - r * r))

    def dev(x: list[float]) -> float:
        return criterion((x[0], r * x[1], w * x[1]), stats, ML)

    best = math.inf
    for start in ((0.4, 0.0), (0.4, 0.3), (1.0, 0.05), (0.05, 1.0)):
        res = minimize(
            dev,
            start,
            method="L-BFGS-B",
            bounds=[(0.0, 20.0), (0.0, 20.0)],
            options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 2000},
        )
        best = min(best, float(res.fun))
    return best


def _brute_interval(balanced: float, seed: int, estimate: float) -> tuple[float, float]:
    """The first crossing of ζ² = 1.96² on a grid outward from the estimate, refined; ±1 where
    the profile never reaches the cut-off."""
    base = _case(balanced, seed)[1].model.criterion
    ends = []
    for direction in (-1.0, 1.0):
        prev, end, k = estimate, direction, 1
        while True:
            r = estimate + direction * 0.05 * k
            r = direction if (r - direction) * direction >= 0 else r
            if _brute_deviance(balanced, seed, r) - base >= Z2:
                end = brentq(
                    lambda v: _brute_deviance(balanced, seed, v) - base - Z2, prev, r, xtol=1e-8
                )
                break
            if r == direction:
                break
            prev, k = r, k + 1
        ends.append(end)
    return ends[0], ends[1]


NEGATIVE = [(0.333, 13), (0.333, 29)]  # correlations of −1 and −0.50


@pytest.mark.parametrize(("balanced", "seed"), NEGATIVE)
def test_a_negative_correlation_is_profiled_from_itself(balanced: float, seed: int) -> None:
    """The profile starts at the ML estimate, sign included, and its interval holds it."""
    stats, result = _case(balanced, seed)
    estimate = result.model.variance.corr
    assert estimate is not None and estimate < -0.4
    assert Profiler(stats, ML).estimate("cor") == pytest.approx(estimate, abs=1e-5)
    row = profile_intervals(stats, result.model, parameters=("cor",)).get("cor")
    assert row.lower <= estimate <= row.upper and row.upper - row.lower > 0.3
    lower, upper = _brute_interval(balanced, seed, estimate)
    assert row.lower == pytest.approx(lower, abs=1e-4)
    assert row.upper == pytest.approx(upper, abs=1e-4)


FLAT = [(0.333, 4), (0.333, 23)]  # the profile levels off 3.61 and 3.01 above the minimum


@pytest.mark.parametrize(("balanced", "seed"), FLAT)
def test_a_profile_that_goes_flat_below_the_cut_off_ends_at_the_bounds(
    balanced: float, seed: int
) -> None:
    """Where an SD reaches 0 the correlation stops mattering: the profile is flat there, below
    1.96², so no correlation is excluded, as the brute-force profile says."""
    stats, result = _case(balanced, seed)
    estimate = result.model.variance.corr
    assert estimate is not None
    lower, upper = _brute_interval(balanced, seed, estimate)
    assert (lower, upper) == (-1.0, 1.0)
    row = profile_intervals(stats, result.model, parameters=("cor",)).get("cor")
    assert (row.lower, row.upper) == (-1.0, 1.0)
    assert row.lower_at_bound and row.upper_at_bound


def test_the_profile_is_capped_by_its_flat_level() -> None:
    """create_data(balanced = 0.333, seed = 4): the branch a warm-started search follows rises
    past 1.96² at r = 0.62, but the profile there is the flat level, 3.606 above the minimum
    (where the slope SD is 0), as the brute-force minimum says."""
    stats, result = _case(0.333, 4)
    profiler = Profiler(stats, ML)
    flat = profiler.flat_deviance() - profiler.base
    assert flat == pytest.approx(3.606, abs=1e-3) and flat < Z2
    for r in (0.62, 0.8, 1.0):
        rise = _brute_deviance(0.333, 4, r) - result.model.criterion
        assert rise == pytest.approx(flat, abs=1e-6)
        assert profiler.zeta("cor", r, profiler.estimate("cor")) ** 2 == pytest.approx(
            rise, abs=1e-6
        )


CROSSING = [(0.333, 5), (0.333, 12), (0.333, 27), (0.333, 28)]  # flat levels 4.7 to 13.8


@pytest.mark.parametrize(("balanced", "seed"), CROSSING)
def test_ends_where_the_profile_crosses_agree_with_brute_force(balanced: float, seed: int) -> None:
    """Profiles that reach 1.96² before they go flat (two with the estimate at +1): the ends are
    the brute-force crossings, the others at the bound."""
    stats, result = _case(balanced, seed)
    estimate = result.model.variance.corr
    assert estimate is not None
    row = profile_intervals(stats, result.model, parameters=("cor",)).get("cor")
    lower, upper = _brute_interval(balanced, seed, estimate)
    assert row.lower == pytest.approx(lower, abs=1e-4)
    assert row.upper == pytest.approx(upper, abs=1e-4)
    assert row.lower_at_bound == (lower == -1.0) and row.upper_at_bound == (upper == 1.0)
    assert row.lower <= estimate <= row.upper


def test_ends_at_the_bounds_are_printed_as_the_bounds(tmp_path: Path) -> None:
    """The issue's repro through `shrink fit`: the summary's matrix shows the correlation's ends
    as lme4 prints bounds (−1 and 1, its number format), fit.json flags both ends as bounds, and
    the intervals table (intervals.csv) holds the bounds themselves, the estimate inside."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nbalanced: 0.333\nseed: 4\n")
    runner = CliRunner()
    summary = runner.invoke(app, ["fit", str(scenario), "-f", "summary", "--ci", "profile"])
    assert summary.exit_code == 0, summary.stderr
    line = next(li for li in summary.stdout.splitlines() if li.startswith("cor_x.(Intercept)"))
    assert line.split()[1:] == ["-1.0000000", "1.0000000"]
    res = runner.invoke(app, ["fit", str(scenario), "-f", "json", "--ci", "profile"])
    assert res.exit_code == 0, res.stderr
    rows = {r["key"]: r for r in json.loads(res.stdout)["intervals"]["rows"]}
    cor = rows["cor"]
    assert (cor["lower"], cor["upper"]) == (-1.0, 1.0)
    assert cor["lower_at_bound"] and cor["upper_at_bound"] and -1.0 < cor["estimate"] < 0.0
    assert rows["sd_slope"]["lower"] == 0.0 and rows["sd_slope"]["lower_at_bound"]
    assert not any(r["upper_at_bound"] for k, r in rows.items() if k != "cor")
    stats, result = _case(0.333, 4)
    table = profile_intervals(stats, result.model).to_table()
    assert list(table["lower"])[1:3] == [-1.0, 0.0] and list(table["upper"])[1] == 1.0


SMALL_SD = [
    ("sd_slope: 0.03\nsigma: 0.5\n", 4),
    ("sd_int: 0.05\nsigma: 0.5\n", 2),
    ("sd_int: 0.05\nsigma: 0.5\n", 4),
]


@pytest.mark.parametrize(("keys", "seed"), SMALL_SD)
def test_small_sds_agree_with_brute_force(keys: str, seed: int) -> None:
    """A slope SD or an intercept SD near 0 (the flat level near the minimum): the ends are
    the brute-force ones, at ±1 where the profile does not cross."""
    table = simulate(parse_scenario(f"name: s\nseed: {seed}\n{keys}")).table
    prep = prepare_data(table)
    stats = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    result = fit(table, ML)
    key = (-1.0 - len(keys) / 1000.0, seed)  # a cache key no simulated case uses
    _case.cache_clear()
    _brute_deviance.cache_clear()
    _case_override[key] = (stats, result)
    try:
        estimate = result.model.variance.corr
        assert estimate is not None
        row = profile_intervals(stats, result.model, parameters=("cor",)).get("cor")
        lower, upper = _brute_interval(key[0], seed, estimate)
        assert row.lower == pytest.approx(lower, abs=1e-4)
        assert row.upper == pytest.approx(upper, abs=1e-4)
        assert row.lower <= estimate <= row.upper
    finally:
        del _case_override[key]
        _brute_deviance.cache_clear()
