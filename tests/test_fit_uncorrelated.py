"""The uncorrelated random intercept and slope, lme4's y ~ x + (x || cluster), against lme4 1.1-31
on the six scenarios of the post (tests/data/lme4-uncorrelated, REML and ML).

The data are simulated here (they equal R's to ~1e-15, see test_simulate). lme4's default
optimizer stops slightly short of the optimum, so the numbers that follow θ (standard errors,
variances, the clusters' coefficients) are compared exactly at lme4's own θ, and at this engine's
optimum against lme4 run to convergence (tests/data/lme4-uncorrelated-tight) at the target
tolerances of the other lme4 tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, SCENARIO_DIR

from shrinkcli.lmm import Fit, FitControl, fit
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import load_scenario
from shrinkcli.simulate import simulate
from shrinkcli.summary import format_summary

DATA = Path(__file__).resolve().parent / "data"
METHODS = ("reml", "ml")
TOL_CRITERION = 1e-4
TOL_FIXED = 1e-5
TOL_VARIANCE = 1e-4
TOL_MIXED = 1e-5


@cache
def _data(scenario: str) -> pd.DataFrame:
    return simulate(load_scenario(SCENARIO_DIR / f"{scenario}.yaml")).data


def _reference(scenario: str, method: str, folder: str = "lme4-uncorrelated") -> dict[str, Any]:
    path = DATA / folder / f"{scenario}.json"
    if not path.exists():
        pytest.skip(f"{path} not made (tests/r/make_lme4_uncorrelated.R)")
    return json.loads(path.read_text())[method]


@cache
def _fitted(scenario: str, method: str, theta: tuple[float, ...] | None = None) -> Fit:
    return fit(_data(scenario), ModelSpec("uncorrelated", method), control=FitControl(theta=theta))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def _mixed_gap(res: Fit, ref: dict[str, Any]) -> float:
    ours = res.clusters.assign(cluster=res.clusters["cluster"].astype(str)).set_index("cluster")
    theirs = pd.DataFrame(ref["clusters"]).set_index("cluster")
    assert len(ours) == len(theirs)
    gaps = [
        np.max(np.abs(ours.loc[theirs.index, col].to_numpy() - theirs[col].to_numpy(float)))
        for col in ("mixed_intercept", "mixed_slope")
    ]
    return float(max(gaps))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_optimum_against_lme4(scenario: str, method: str) -> None:
    res, ref = _fitted(scenario, method), _reference(scenario, method)
    m = res.model
    assert m.converged, m.optimizer.reason
    assert m.singular == ref["singular"]
    assert len(m.theta) == 2
    assert abs(m.criterion - ref["criterion"]) < TOL_CRITERION
    assert m.criterion <= ref["criterion"] + 1e-7  # never above lme4's optimum
    assert np.allclose(m.theta, ref["theta"], rtol=0, atol=1e-4)
    for mine, theirs in zip(res.fixed_effects, ref["fixed_effects"], strict=True):
        assert mine.term == theirs["term"]
        assert _rel(mine.estimate, theirs["estimate"]) < TOL_FIXED
    assert m.variance.corr is None  # no correlation in this model
    assert m.covariance[0, 1] == 0.0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_exact_at_lme4_theta(scenario: str, method: str) -> None:
    """At lme4's own θ every number is lme4's to rounding."""
    ref = _reference(scenario, method)
    res = _fitted(scenario, method, tuple(ref["theta"]))
    m = res.model
    assert abs(m.criterion - ref["criterion"]) < 1e-8
    assert _rel(m.sigma2, ref["residual"]["variance"]) < 1e-9
    for mine, theirs in zip(res.fixed_effects, ref["fixed_effects"], strict=True):
        assert _rel(mine.estimate, theirs["estimate"]) < 1e-9
        assert _rel(mine.std_error, theirs["std_error"]) < 1e-9
    assert _rel(m.variance.intercept_var, ref["random_effects"]["intercept_var"]) < 1e-9
    assert m.variance.slope_var is not None
    assert _rel(m.variance.slope_var, ref["random_effects"]["slope_var"]) < 1e-9
    assert _mixed_gap(res, ref) < 1e-9


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_against_lme4_run_to_convergence(scenario: str, method: str) -> None:
    res = _fitted(scenario, method)
    ref = _reference(scenario, method, "lme4-uncorrelated-tight")
    m = res.model
    assert abs(m.criterion - ref["criterion"]) < TOL_CRITERION
    for mine, theirs in zip(res.fixed_effects, ref["fixed_effects"], strict=True):
        assert _rel(mine.estimate, theirs["estimate"]) < TOL_FIXED
        assert _rel(mine.std_error, theirs["std_error"]) < TOL_FIXED
    assert _rel(m.variance.intercept_var, ref["random_effects"]["intercept_var"]) < TOL_VARIANCE
    assert m.variance.slope_var is not None
    assert _rel(m.variance.slope_var, ref["random_effects"]["slope_var"]) < TOL_VARIANCE
    assert _mixed_gap(res, ref) < TOL_MIXED


@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_summary_text_is_lme4s(scenario: str) -> None:
    """lme4 expands the double bar and prints the slope as its own group, 'cluster.1'."""
    ref = _reference(scenario, "reml")
    expected = (DATA / "lme4-uncorrelated" / f"{scenario}-summary.txt").read_text()
    assert "cluster.1" in expected and "(0 + x | cluster)" in expected
    res = _fitted(scenario, "reml", tuple(ref["theta"]))
    assert format_summary(res, data_name="df") == expected


def test_the_three_structures_nest() -> None:
    """(1 | g) ⊂ (x || g) ⊂ (x | g): each larger model's optimum is at least as good."""
    data = _data("baseline")
    crit = {
        r: fit(data, ModelSpec(r, "ml")).model.criterion
        for r in ("intercept", "uncorrelated", "intercept-slope")
    }
    assert crit["intercept-slope"] <= crit["uncorrelated"] + 1e-8
    assert crit["uncorrelated"] <= crit["intercept"] + 1e-8
