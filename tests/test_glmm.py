"""The Laplace fit of binomial and Poisson mixed models (shrinkcli/lmm/glmm.py) against glmer.

tests/r/make_glmer_reference.R wrote tests/data/glmer/: lme4's cbpp (period as a number) and data
simulated with the issue's create_glmm_data() (0/1, six trials, Poisson), each fitted with
glmer's defaults and run to convergence, with lme4's stage-2 deviance function evaluated at both
optima and at a point away from them. Independently of R, the Laplace deviance of a random
intercept model is rebuilt cluster by cluster from a scalar minimiser and the second derivative,
and compared with brute-force quadrature of each cluster's likelihood integral."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import optimize as sciopt
from scipy.special import expit, gammaln

from shrinkcli.errors import DataError, FitError
from shrinkcli.lmm.glmm import GlmmData, agq, fit_glmm, glmm_data, laplace
from shrinkcli.model import ModelSpec

GLMER = Path(__file__).resolve().parent / "data" / "glmer"

#: case → (data file, random structure, y ~ 1)
CASES = {
    "cbpp": ("cbpp", "intercept", False),
    "cbpp-intercept": ("cbpp", "intercept", True),
    "binary-intercept": ("binary", "intercept", False),
    "binary-slope": ("binary", "intercept-slope", False),
    "trials-slope": ("trials", "intercept-slope", False),
    "poisson-intercept": ("poisson", "intercept", False),
    "poisson-slope": ("poisson", "intercept-slope", False),
    "poisson-null": ("poisson", "intercept", True),
    "poisson-singular": ("poisson-boundary", "intercept", False),
    "binary-singular-slope": ("binary-boundary", "intercept-slope", False),
    "cbpp-agq9": ("cbpp", "intercept", False),
    "binary-agq25": ("binary", "intercept", False),
    "poisson-agq5": ("poisson", "intercept", False),
}


def _arrays(case: str) -> dict[str, Any]:
    table, random, intercept_only = CASES[case]
    df = pd.read_csv(GLMER / f"{table}.csv")
    levels, codes = np.unique(df["cluster"].to_numpy(), return_inverse=True)
    return {
        "y": df["y"].to_numpy(float),
        "x": df["period" if table == "cbpp" else "x"].to_numpy(float),
        "codes": codes,
        "n_groups": len(levels),
        "trials": df["trials"].to_numpy(float) if "trials" in df else None,
        "random": random,
        "intercept_only": intercept_only,
        "levels": levels,
    }


def _reference(case: str) -> dict[str, Any]:
    return json.loads((GLMER / f"{case}.json").read_text())  # type: ignore[no-any-return]


def _data(case: str) -> tuple[GlmmData, ModelSpec]:
    a, ref = _arrays(case), _reference(case)
    data = glmm_data(
        a["y"],
        a["x"],
        a["codes"],
        a["n_groups"],
        ref["family"],
        trials=a["trials"],
        intercept_only=a["intercept_only"],
    )
    return data, ModelSpec(random=a["random"], method="ml")


@pytest.fixture(scope="module", params=list(CASES))
def fitted(request: pytest.FixtureRequest) -> tuple[str, Any, dict[str, Any]]:
    case = request.param
    a, ref = _arrays(case), _reference(case)
    res = fit_glmm(
        a["y"],
        a["x"],
        a["codes"],
        a["n_groups"],
        ref["family"],
        a["random"],
        trials=a["trials"],
        intercept_only=a["intercept_only"],
        nagq=ref["nAGQ"],
    )
    assert res.nagq == ref["nAGQ"]
    assert [str(v) for v in a["levels"]] == ref["tight"]["clusters"]
    return case, res, ref


def test_deviance_at_least_as_low_as_glmer(fitted: tuple[str, Any, dict[str, Any]]) -> None:
    """−2 logLik never above glmer's defaults' (1e-8 relative) and within 1e-6 of glmer run to
    convergence."""
    _, res, ref = fitted
    assert res.deviance <= ref["default"]["deviance"] * (1 + 1e-8)
    assert abs(res.deviance - ref["tight"]["deviance"]) < 1e-6
    assert res.loglik == pytest.approx(-0.5 * ref["tight"]["deviance"], abs=1e-6)


def test_estimates_match_converged_glmer(fitted: tuple[str, Any, dict[str, Any]]) -> None:
    """θ and β within 1e-5 relative, summary()'s standard errors (from the Hessian over (θ, β))
    within 1e-4 relative, and vcov(use.hessian = FALSE)'s (from RX) too."""
    _, res, ref = fitted
    tight = ref["tight"]
    theta = np.atleast_1d(tight["theta"])
    boundary = np.abs(theta) < 1e-4  # a singular fit's entry: zero to lme4's tolerance
    np.testing.assert_allclose(res.theta[~boundary], theta[~boundary], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.theta[boundary], theta[boundary], atol=1e-6)
    np.testing.assert_allclose(res.beta, np.atleast_1d(tight["beta"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.std_errors, np.atleast_1d(tight["std_error"]), rtol=1e-4)
    np.testing.assert_allclose(res.std_errors_rx, np.atleast_1d(tight["std_error_rx"]), rtol=1e-4)
    assert res.singular == tight["singular"]
    assert res.converged
    assert res.family == ref["family"] and res.link == ref["link"]


def test_conditional_modes_and_variances(fitted: tuple[str, Any, dict[str, Any]]) -> None:
    """ranef(condVar = TRUE): every cluster's conditional mode and (co)variance within 1e-4."""
    _, res, ref = fitted
    modes = np.array(ref["tight"]["modes"], dtype=float).T  # (K, q)
    condvar = np.array(ref["tight"]["condvar"], dtype=float).transpose(2, 0, 1)  # (K, q, q)
    assert res.modes.shape == modes.shape and res.condvar.shape == condvar.shape
    np.testing.assert_allclose(res.modes, modes, atol=1e-4)
    np.testing.assert_allclose(res.condvar, condvar, atol=1e-4)


@pytest.mark.parametrize("case", list(CASES))
def test_deviance_equals_lme4_devfun(case: str) -> None:
    """The Laplace (or adaptive Gauss–Hermite) deviance at glmer's (θ, β) equals lme4's
    devfun(c(θ, β)) there: at the default and the converged optimum, and at a point away from
    both."""
    data, spec = _data(case)
    ref = _reference(case)
    nt, nodes = spec.n_theta, ref["nAGQ"]
    for key in ("default", "tight"):
        theta = np.atleast_1d(np.asarray(ref[key]["theta"], dtype=float))
        beta = np.atleast_1d(np.asarray(ref[key]["beta"], dtype=float))
        value = agq(data, spec, theta, beta, nodes).deviance
        assert value == pytest.approx(ref[key]["devfun_at_estimate"], abs=1e-6)
    at = np.asarray(ref["devfun_away"]["at"], dtype=float)
    away = agq(data, spec, at[:nt], at[nt:], nodes).deviance
    assert away == pytest.approx(ref["devfun_away"]["value"], abs=1e-6)


@pytest.mark.parametrize("case", ["binary-slope", "poisson-intercept"])
def test_deviance_even_in_lambda_columns(case: str) -> None:
    """Flipping the sign of a column of Λ (with u's component) leaves the deviance unchanged, as
    the unbounded search assumes."""
    data, spec = _data(case)
    theta = np.asarray(_reference(case)["tight"]["theta"], dtype=float).reshape(-1)
    beta = np.asarray(_reference(case)["tight"]["beta"], dtype=float).reshape(-1)
    flipped = -theta if spec.n_theta == 1 else theta * np.array([1.0, 1.0, -1.0])
    base = laplace(data, spec, theta, beta).deviance
    assert laplace(data, spec, flipped, beta).deviance == pytest.approx(base, abs=1e-9)
    if spec.n_theta == 3:
        assert laplace(data, spec, -theta * np.array([1, 1, -1]), beta).deviance == (
            pytest.approx(base, abs=1e-9)
        )


def _cluster_log_density(data: GlmmData, rows: np.ndarray, offset: np.ndarray, a: float) -> Any:
    """log p(yᵢ | u) φ(u) for one cluster of a random-intercept model, as a function of u."""
    y, m = data.y[rows], data.trials[rows]

    def log_joint(u: float) -> float:
        eta = offset + a * u
        if data.family == "binomial":
            p = expit(eta)
            ll = gammaln(m + 1) - gammaln(y + 1) - gammaln(m - y + 1)
            ll = ll + y * np.log(p) + (m - y) * np.log1p(-p)
        else:
            ll = y * eta - np.exp(eta) - gammaln(y + 1)
        return float(np.sum(ll)) - 0.5 * u * u - 0.5 * math.log(2 * math.pi)

    return log_joint


def _brute_force(data: GlmmData, theta: float, beta: np.ndarray) -> float:
    """−2 log-likelihood of a random-intercept model by adaptive quadrature (QUADPACK) of each
    cluster's integral over ±12 conditional SDs around its mode."""
    offset_all = data.design @ beta
    total = 0.0
    for i in range(data.n_groups):
        rows = np.flatnonzero(data.codes == i)
        log_joint = _cluster_log_density(data, rows, offset_all[rows], theta)
        opt = sciopt.minimize_scalar(lambda u, lj=log_joint: -lj(u), bracket=(-1.0, 1.0), tol=1e-12)
        mode, peak = float(opt.x), -float(opt.fun)
        eta = offset_all[rows] + theta * mode
        p = expit(eta)
        w = data.trials[rows] * p * (1 - p) if data.family == "binomial" else np.exp(eta)
        sd = 1.0 / math.sqrt(theta * theta * float(np.sum(w)) + 1.0)
        integral, _ = integrate.quad(
            lambda u, lj=log_joint, pk=peak: math.exp(lj(u) - pk),
            mode - 12 * sd,
            mode + 12 * sd,
            epsabs=0,
            epsrel=1e-13,
            limit=200,
        )
        total += -2 * (peak + math.log(integral))
    return total


@pytest.mark.parametrize("case", ["cbpp", "binary-intercept", "poisson-intercept"])
def test_laplace_against_quadrature(case: str) -> None:
    """For (1 | cluster): each cluster's Laplace term rebuilt from a scalar minimiser and a
    second derivative (adaptive Gauss–Hermite with one node) adds up to the
    engine's deviance; brute-force quadrature of each cluster's integral is close to it (the
    approximation's error, small for these cluster sizes) but not equal."""
    # the second derivative is the canonical link's working weights: Σⱼ a²wⱼ + 1
    data, spec = _data(case)
    ref = _reference(case)["tight"]
    theta = float(np.atleast_1d(ref["theta"])[0])
    beta = np.atleast_1d(np.asarray(ref["beta"], dtype=float))
    offset_all = data.design @ beta
    one_node = 0.0
    for i in range(data.n_groups):
        rows = np.flatnonzero(data.codes == i)
        log_joint = _cluster_log_density(data, rows, offset_all[rows], theta)
        opt = sciopt.minimize_scalar(lambda u, lj=log_joint: -lj(u), bracket=(-1.0, 1.0), tol=1e-12)
        mode = float(opt.x)
        eta = offset_all[rows] + theta * mode
        if data.family == "binomial":
            p = expit(eta)
            weight = data.trials[rows] * p * (1 - p)
        else:
            weight = np.exp(eta)
        second = theta * theta * float(np.sum(weight)) + 1.0  # −(log p(y|u)φ(u))'' at the mode
        log_laplace = log_joint(mode) + 0.5 * math.log(2 * math.pi / second)
        one_node += -2 * log_laplace
    exact = _brute_force(data, theta, beta)
    engine = laplace(data, spec, np.array([theta]), beta).deviance
    assert engine == pytest.approx(one_node, abs=1e-6)
    # the exact integral is larger here (a lower deviance), by far more than rounding
    assert 1e-3 < engine - exact < 0.05 * data.n_groups


def test_refusals() -> None:
    """Bad data are refused in one line naming the field."""
    codes = np.array([0, 0, 1, 1])
    x = np.array([0.0, 1.0, 0.0, 1.0])
    with pytest.raises(DataError, match="whole numbers") as err:
        fit_glmm(np.array([0, 1, 0.5, 1]), x, codes, 2, "poisson", "intercept")
    assert err.value.field == "y"
    with pytest.raises(DataError, match="at most the trials"):
        fit_glmm(np.array([0, 3, 1, 1]), x, codes, 2, "binomial", "intercept")
    with pytest.raises(DataError, match="binomial outcome only"):
        fit_glmm(np.array([0, 3, 1, 1]), x, codes, 2, "poisson", "intercept", trials=np.ones(4))
    with pytest.raises(FitError, match="unknown family") as ferr:
        fit_glmm(np.array([0, 1, 1, 1]), x, codes, 2, "gamma", "intercept")
    assert ferr.value.field == "model.family"
    with pytest.raises(FitError, match="random slope needs x"):
        fit_glmm(np.array([0, 1, 1, 1]), None, codes, 2, "binomial", "intercept-slope")


def test_quadrature_approaches_the_integral() -> None:
    """More nodes move the adaptive rule's full −2 log-likelihood from the Laplace value to the
    brute-force integral (test_laplace_against_quadrature's), and 25 nodes reach it."""
    data, spec = _data("binary-intercept")
    ref = _reference("binary-intercept")["tight"]
    theta, beta = np.atleast_1d(ref["theta"]), np.atleast_1d(ref["beta"])
    full = [
        agq(data, spec, theta, beta, n).deviance + (data.saturated if n > 1 else 0.0)
        for n in (1, 2, 5, 25)
    ]
    exact = _brute_force(data, float(theta[0]), beta)
    gaps = [abs(f - exact) for f in full]
    assert gaps[0] > 1e-2 and gaps[-1] < 1e-8
    assert gaps[2] < gaps[0]


def test_refuses_quadrature_it_cannot_do() -> None:
    codes = np.array([0, 0, 1, 1])
    x = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 1.0])
    with pytest.raises(FitError, match="scalar random intercept") as err:
        fit_glmm(y, x, codes, 2, "binomial", "intercept-slope", nagq=5)
    assert err.value.field == "model.nagq"
    for bad in (0, 26):
        with pytest.raises(FitError, match="from 1 to 25"):
            fit_glmm(y, x, codes, 2, "binomial", "intercept", nagq=bad)
