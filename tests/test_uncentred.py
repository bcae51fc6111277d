"""A covariate far from 0 or on any scale (years, incomes, x + 1e6, x · 1e±6) is fitted as
exactly as one around 0.

For (x | cluster) and (1 | cluster) a shift of x is a reparametrisation, so the criterion's
minimum is the centred data's; a scale k of x adds 2 log k to the REML criterion (det S scales
by k²) and nothing to the ML deviance. For (x || cluster) a shift changes the model, so the
engine's criterion is checked against an independent dense computation (Vᵢ = I + ZᵢΣZᵢᵀ per
cluster, numpy.linalg.slogdet and solve) at random θ and at the optimum.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_DIR

from shrinkcli.lmm import fit
from shrinkcli.lmm.pls import solve, sufficient_stats
from shrinkcli.lmm.prepare import prepare_data
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import load_scenario
from shrinkcli.simulate import simulate

TRANSFORMS = (("shift", 1e3), ("shift", 1e6), ("scale", 1e-6), ("scale", 1e6), ("year", 2000.0))


@cache
def _centred() -> pd.DataFrame:
    data = simulate(load_scenario(SCENARIO_DIR / "baseline.yaml")).data.copy()
    data["x"] = data["x"] - float(np.mean(data["x"]))
    return data


def _transformed(kind: str, v: float) -> pd.DataFrame:
    data = _centred().copy()
    data["x"] = data["x"] * v if kind == "scale" else data["x"] + v
    return data


@pytest.mark.parametrize("random", ["intercept-slope", "intercept"])
@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize(("kind", "v"), TRANSFORMS)
def test_a_shift_or_scale_of_x_leaves_the_minimum_where_it_is(
    random: str, method: str, kind: str, v: float
) -> None:
    spec = ModelSpec(random=random, method=method)
    ref = fit(_centred(), spec).model
    got = fit(_transformed(kind, v), spec).model
    assert got.converged, got.optimizer.reason
    expected = ref.criterion + (2.0 * math.log(v) if kind == "scale" and method == "reml" else 0.0)
    assert got.criterion == pytest.approx(expected, rel=1e-8)
    # the slope is the same number per unit of the new x
    assert got.beta[1] == pytest.approx(ref.beta[1] / (v if kind == "scale" else 1.0), rel=1e-6)


def _dense_criterion(data: pd.DataFrame, theta: np.ndarray, reml: bool) -> float:
    """lme4's profiled criterion of (x || cluster) as lme4 defines it, by a dense QR of the
    penalized least squares problem min ‖[y; 0] − [[ZΛ', X'], [I, 0]] (u, β')‖² (x centred at
    its mean, Λ' = TΛ: the same ZΛ): log det M and log det S from R's diagonal, ρ² the
    residual; no Vᵢ is formed (its entries can be 10¹² apart)."""
    x = data["x"].to_numpy()
    m = float(np.mean(x))
    lam = np.array([[1.0, m], [0.0, 1.0]]) @ np.diag([theta[0], theta[1]])
    codes, _ = pd.factorize(data["cluster"])
    n, k = len(data), int(codes.max()) + 1
    xc = np.column_stack((np.ones(n), x - m))
    zl = np.zeros((n, 2 * k))
    zl[np.arange(n), 2 * codes] = (xc @ lam)[:, 0]
    zl[np.arange(n), 2 * codes + 1] = (xc @ lam)[:, 1]
    a = np.block([[zl, xc], [np.eye(2 * k), np.zeros((2 * k, 2))]])
    b = np.concatenate((data["y"].to_numpy(), np.zeros(2 * k)))
    r_diag = np.abs(np.diag(np.linalg.qr(a, mode="r")))
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    rho2 = float(np.sum((b - a @ sol) ** 2))
    logdet_m = 2.0 * float(np.sum(np.log(r_diag[: 2 * k])))
    dof = n - 2 if reml else n
    crit = logdet_m + dof * (1.0 + math.log(2.0 * math.pi * rho2 / dof))
    return crit + (2.0 * float(np.sum(np.log(r_diag[2 * k :]))) if reml else 0.0)


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize(("kind", "v"), TRANSFORMS)
def test_the_uncorrelated_criterion_is_the_dense_one_and_its_fit_converges(
    method: str, kind: str, v: float
) -> None:
    data = _transformed(kind, v)
    spec = ModelSpec(random="uncorrelated", method=method)
    prep = prepare_data(data)
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    unit = v if kind == "scale" else 1.0  # θ's slope entry per unit of x
    rng = np.random.default_rng(7)
    for _ in range(3):
        theta = rng.uniform(0.05, 1.5, size=2) * np.array([1.0, 1.0 / unit])
        ours = solve(theta, st, spec).criterion
        assert ours == pytest.approx(_dense_criterion(data, theta, spec.reml), rel=1e-10)
    result = fit(data, spec).model
    assert result.converged, result.optimizer.reason
    theta = np.array(result.theta)
    assert result.criterion == pytest.approx(_dense_criterion(data, theta, spec.reml), rel=1e-10)
    for k in range(2):  # a minimum of the dense criterion too
        for step in (1e-3, -1e-3):
            moved = theta.copy()
            moved[k] *= 1.0 + step
            assert _dense_criterion(data, moved, spec.reml) >= result.criterion - 1e-9


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_a_fit_without_intercept_variance_keeps_its_slope_variance_on_any_scale(
    scale: float,
) -> None:
    """Where the intercept's SD is 0, the working coordinates' Λ maps back to Λ = [[0, 0],
    [0, c]] (not [[0, 0], [c, 0]], which (x || cluster) cannot hold and read as no variance at
    all): the REML criterion of x · k is the unscaled one + 2 log k, with the same slope SD."""
    data = pd.DataFrame(
        {
            "y": [1.202925, 1.014689, 0.445489, 1.657842, 1.372439],
            "x": [0.553142, 0.061960, -1.012598, 1.195915, 0.736934],
            "cluster": ["c0", "c0", "c1", "c1", "c1"],
        }
    )
    spec = ModelSpec(random="uncorrelated")
    plain = fit(data, spec)
    scaled = fit(data.assign(x=data["x"] * scale), spec)
    assert plain.model.theta[0] == 0.0 and plain.model.theta[1] > 1.0
    expected = plain.model.criterion + 2.0 * math.log(scale)
    assert scaled.model.criterion == pytest.approx(expected, rel=1e-8, abs=1e-8)
    assert scaled.model.theta[1] * scale == pytest.approx(plain.model.theta[1], rel=1e-5)


def test_conditional_variances_do_not_move_with_x_in_millionths_about_a_million() -> None:
    """lme4's condVar of the random slope is a variance per unit of x: a shift of x leaves it.
    With x = x₀·1e-6 + 1e6 (Λ's entries 10¹³ apart in x's own coordinates) it was computed at θ̂
    there and lost five digits to cancellation; the fit now keeps the optimizer's, computed in
    its working coordinates, and says them for x."""
    x0 = np.array(
        [-0.226137, -0.483972, 0.288555, -0.246968, -1.16838, -0.271116, 0.671289, 0.31437]
    )
    data = pd.DataFrame(
        {
            "y": [1.225789, 1.74771, 0.356625, 1.356766, 0.716737, 1.032144, 1.180051, 1.229182],
            "x": x0 * 1e-6 + 1e6,
            "cluster": ["a"] * 4 + ["b"] * 4,
        }
    )
    near_zero = data.assign(x=data["x"] - 1e6)  # exact (Sterbenz)
    spec = ModelSpec("intercept-slope", "reml")
    ref, got = fit(near_zero, spec), fit(data, spec)
    assert got.model.criterion == pytest.approx(ref.model.criterion, rel=1e-13)
    for column in ("condvar_slope", "mixed_slope_se", "ranef_slope"):
        np.testing.assert_allclose(
            np.asarray(got.table[column]), np.asarray(ref.table[column]), rtol=1e-11
        )
