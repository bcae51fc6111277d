"""`OptSummary` describes the search on its own (as MixedModels.jl's): θ and the criterion at
the start and at the end, in x's own coordinates also where the search ran in working ones; the
tolerances in force; and, asked for with `FitControl(trace=True)`, every evaluation."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_DIR

from shrinkcli.lmm import FitControl, criterion, fit, prepare_data, sufficient_stats
from shrinkcli.lmm.optimize import FTOL, GRADIENT_TOL, HESSIAN_TOL, PROBE_GAIN
from shrinkcli.model import RANDOM_STRUCTURES, SINGULAR_TOL, ModelSpec
from shrinkcli.scenario import load_scenario
from shrinkcli.simulate import simulate


@cache
def _data(x_shift: float = 0.0, x_scale: float = 1.0) -> pd.DataFrame:
    data = simulate(load_scenario(SCENARIO_DIR / "baseline.yaml")).data.copy()
    data["x"] = data["x"] * x_scale + x_shift
    return data


def _criterion_at(data: pd.DataFrame, spec: ModelSpec, theta: tuple[float, ...]) -> float:
    prep = prepare_data(data, spec=spec)
    stats = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    return criterion(np.array(theta), stats, spec)


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("random", RANDOM_STRUCTURES)
@pytest.mark.parametrize(("shift", "scale"), [(0.0, 1.0), (1e3, 1.0), (0.0, 1e3)])
def test_start_and_end_are_in_xs_own_coordinates(
    random: str, method: str, shift: float, scale: float
) -> None:
    data = _data(shift, scale)
    spec = ModelSpec(random, method)
    res = fit(data, spec)
    opt = res.model.optimizer
    assert opt.criterion == res.model.criterion
    assert opt.criterion_start == pytest.approx(
        _criterion_at(data, spec, opt.theta_start), rel=1e-10
    )
    assert opt.criterion_start > opt.criterion
    assert opt.fitlog is None


def test_the_tolerances_in_force_are_kept() -> None:
    opt = fit(_data(), ModelSpec()).model.optimizer
    assert opt.gtol == 1e-8  # 1,000 rows: 1e-8 · max(1, N / 1000)
    assert (opt.ftol, opt.probe_gain) == (FTOL, PROBE_GAIN)
    assert (opt.singular_tol, opt.gradient_tol, opt.hessian_tol) == (
        SINGULAR_TOL,
        GRADIENT_TOL,
        HESSIAN_TOL,
    )
    assert opt.max_evaluations is None
    limited = fit(_data(), ModelSpec(), control=FitControl(max_evaluations=0)).model.optimizer
    assert limited.max_evaluations == 0 and math.isfinite(limited.criterion_start)


@pytest.mark.parametrize("random", RANDOM_STRUCTURES)
def test_the_trace_logs_every_evaluation_in_xs_own_coordinates(random: str) -> None:
    data = _data(1e3, 1.0)
    spec = ModelSpec(random)
    plain = fit(data, spec).model.optimizer
    traced = fit(data, spec, control=FitControl(trace=True)).model.optimizer
    assert traced.fitlog is not None and len(traced.fitlog) == traced.evaluations
    assert traced.theta == plain.theta and traced.evaluations == plain.evaluations
    theta0, crit0 = traced.fitlog[0]
    assert theta0 == pytest.approx(traced.theta_start, rel=1e-12, abs=1e-12)
    assert crit0 == traced.criterion_start
    for theta, crit in traced.fitlog[:: max(1, len(traced.fitlog) // 5)]:
        assert crit == pytest.approx(_criterion_at(data, spec, theta), rel=1e-9)
    assert min(c for _, c in traced.fitlog) == pytest.approx(traced.criterion, rel=1e-12)


def test_a_given_theta_starts_and_ends_there() -> None:
    theta = (0.5, 0.07, 0.23)
    res = fit(_data(), ModelSpec(), control=FitControl(theta=theta))
    opt = res.model.optimizer
    assert opt.evaluations == 0 and opt.theta_start == opt.theta
    assert opt.criterion_start == opt.criterion == res.model.criterion
    assert math.isnan(opt.gtol) and math.isnan(opt.ftol) and math.isnan(opt.probe_gain)


def test_the_json_optimizer_block_has_the_record() -> None:
    block = fit(_data(), ModelSpec(), control=FitControl(trace=True)).to_dict()["optimizer"]
    added = [
        "criterion_start",
        "criterion",
        "gtol",
        "ftol",
        "probe_gain",
        "singular_tol",
        "gradient_tol",
        "hessian_tol",
        "max_evaluations",
        "fitlog",
    ]
    assert list(block)[-len(added) :] == added
    assert len(block["fitlog"]) == block["evaluations"]
    assert set(block["fitlog"][0]) == {"theta", "criterion"}
    assert fit(_data(), ModelSpec()).to_dict()["optimizer"]["fitlog"] is None
