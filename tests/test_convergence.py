"""The convergence check (lme4's checkConv): it passes at the optimum, and fails — with a reason in
the fit, its JSON and its warnings — where the optimizer was stopped short or θ is not a minimum."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, SCENARIO_DIR

from shrinkcli.lmm import FitControl, check_convergence, fit, prepare_data, sufficient_stats
from shrinkcli.model import RANDOM_STRUCTURES, ModelSpec
from shrinkcli.scenario import load_scenario
from shrinkcli.simulate import simulate


@cache
def _data(scenario: str) -> pd.DataFrame:
    return simulate(load_scenario(SCENARIO_DIR / f"{scenario}.yaml")).data


@pytest.mark.parametrize("random", RANDOM_STRUCTURES)
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_the_optimum_passes(scenario: str, random: str) -> None:
    res = fit(_data(scenario), ModelSpec(random))
    opt = res.model.optimizer
    assert res.model.converged and opt.reason == ""
    assert opt.max_scaled_gradient < 2e-3
    assert opt.hessian_min_eigenvalue is not None and opt.hessian_min_eigenvalue > 0
    assert not [w for w in res.warnings if "converge" in w]
    assert res.to_dict()["converged"] is True


@pytest.mark.parametrize("random", RANDOM_STRUCTURES)
def test_an_evaluation_limit_of_one_fails_the_check(random: str) -> None:
    res = fit(_data("baseline"), ModelSpec(random), control=FitControl(max_evaluations=1))
    opt = res.model.optimizer
    assert not res.model.converged
    assert opt.evaluations == 1
    assert "not a minimum" in opt.reason and "evaluation limit (1) reached" in opt.reason
    assert opt.max_scaled_gradient > 2e-3
    assert any(w.startswith("the fit did not converge: ") for w in res.warnings)
    out = res.to_dict()
    assert out["converged"] is False and out["optimizer"]["converged"] is False
    assert out["optimizer"]["reason"] == opt.reason
    # the output is still whole: every cluster has its estimates
    assert res.clusters["mixed_intercept"].notna().all()


def test_lme4s_start_is_not_a_minimum() -> None:
    res = fit(_data("baseline"), ModelSpec(), control=FitControl(theta=(1.0, 0.0, 1.0)))
    assert not res.model.converged
    assert "not a minimum" in res.model.optimizer.reason


def test_boundary_components_are_left_out() -> None:
    """A singular fit (θ₃ = 0) is judged on the interior components only, as lme4 does."""
    data = _data("few-observations")
    spec = ModelSpec()
    res = fit(data, spec)
    prep = prepare_data(data, spec=spec)
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    theta = np.array(res.model.theta)
    check = check_convergence(st, spec, theta)
    assert check.reason == ""
    # the same θ with the boundary component moved inside is no longer a stationary point
    if res.model.singular:
        moved = theta.copy()
        moved[2] = 0.3
        assert check_convergence(st, spec, moved).reason != ""


def test_a_flat_optimum_is_noted_not_failed() -> None:
    """Two clusters of a few rows: the variance parameters are not determined, which is said."""
    rng = np.random.default_rng(468)
    data = pd.DataFrame(
        {"y": rng.normal(size=5), "x": [0.0, 1.0, 2.0, 0.5, 1.5], "cluster": [1, 1, 1, 2, 2]}
    )
    res = fit(data)
    opt = res.model.optimizer
    if opt.note:
        assert res.model.converged
        assert opt.note in res.warnings
