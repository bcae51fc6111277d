"""The native engine against statsmodels' MixedLM (lbfgs), an independent implementation."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from shrinkcli.lmm import CLUSTER_COLUMNS, criterion, fit, sufficient_stats
from shrinkcli.lmm.statsmodels_engine import fit_statsmodels
from shrinkcli.model import ModelSpec

# (seed, clusters, rows per cluster (max), sd_int, sd_slope, corr, sigma, balanced)
CASES = [
    (0, 20, 8, 0.5, 0.25, 0.0, 1.0, True),
    (1, 30, 6, 1.0, 1.0, 0.3, 1.0, True),
    (2, 15, 12, 0.25, 1.0, -0.5, 0.5, False),
    (3, 40, 4, 0.5, 0.0, 0.0, 1.0, True),  # no slope variance: boundary
    (4, 25, 5, 0.0, 0.5, 0.0, 1.0, True),  # no intercept variance: boundary
    (5, 10, 20, 2.0, 0.1, 0.9, 0.3, False),
    (6, 50, 3, 0.3, 0.3, 0.0, 1.0, True),
    (7, 12, 10, 0.01, 0.01, 0.0, 1.0, True),  # nearly no random effects
    (8, 35, 7, 1.5, 0.5, -0.8, 2.0, False),
    (9, 8, 30, 0.5, 0.5, 0.5, 0.1, True),
    (10, 60, 5, 0.2, 0.0, 0.0, 1.0, False),
    (11, 20, 15, 0.0, 0.0, 0.0, 1.0, True),  # no random effects at all
    (12, 45, 4, 1.0, 0.2, 0.99, 1.0, True),  # nearly perfect correlation
    (13, 30, 8, 0.7, 0.7, 0.0, 0.05, False),
    (14, 18, 9, 0.5, 0.25, 0.0, 3.0, True),
    (15, 22, 6, 0.1, 1.0, 0.0, 1.0, False),
    (16, 70, 4, 0.5, 0.5, -0.3, 1.0, True),
    (17, 9, 25, 1.0, 0.0, 0.0, 0.5, True),
    (18, 33, 5, 0.05, 0.4, 0.2, 1.0, False),
    (19, 16, 11, 0.8, 0.3, 0.6, 1.5, True),
]


def make_data(
    seed: int,
    k: int,
    m: int,
    sd_int: float,
    sd_slope: float,
    corr: float,
    sigma: float,
    balanced: bool,
) -> pd.DataFrame:
    """A data set from y = 1 + b0 + (0.5 + b1) x + e, clusters of size m (or 3..m)."""
    rng = np.random.default_rng(seed)
    sizes = np.full(k, m) if balanced else rng.integers(3, m + 1, size=k)
    cluster = np.repeat(np.arange(1, k + 1), sizes)
    n = int(sizes.sum())
    x = rng.normal(size=n) * rng.uniform(0.5, 2.0) + rng.normal()
    cov = np.array([[sd_int**2, corr * sd_int * sd_slope], [corr * sd_int * sd_slope, sd_slope**2]])
    re = rng.multivariate_normal([0.0, 0.0], cov, size=k, method="eigh")
    y = 1.0 + re[cluster - 1, 0] + (0.5 + re[cluster - 1, 1]) * x + rng.normal(size=n) * sigma
    return pd.DataFrame({"y": y, "x": x, "cluster": cluster})


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("case", CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_never_worse_than_statsmodels(case: tuple, method: str) -> None:
    data = make_data(*case)
    ours = fit(data, ModelSpec(method=method))
    theirs = fit_statsmodels(data, ModelSpec(method=method))
    assert theirs.engine == "statsmodels"
    assert all(isinstance(w, str) for w in theirs.warnings)
    # the same criterion: −2 × statsmodels' log-likelihood equals lme4's profiled criterion
    codes, uniques = pd.factorize(data["cluster"], sort=True)
    st = sufficient_stats(data["y"].to_numpy(), data["x"].to_numpy(), codes, len(uniques))
    at_theirs = criterion(theirs.model.theta, st, ModelSpec(method=method))
    if math.isfinite(theirs.model.criterion):
        assert ours.model.criterion <= theirs.model.criterion + 1e-6
        scale = max(1.0, abs(theirs.model.criterion))
        assert abs(at_theirs - theirs.model.criterion) < 1e-4 * scale
    assert ours.model.criterion <= at_theirs + 1e-6
    assert ours.model.converged


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("seed", [3, 5, 12])
def test_intercept_only_never_worse(seed: int, method: str) -> None:
    data = make_data(*CASES[seed])
    ours = fit(data, spec=ModelSpec("intercept", method))
    theirs = fit_statsmodels(data, spec=ModelSpec("intercept", method))
    assert ours.model.criterion <= theirs.model.criterion + 1e-6
    assert abs(ours.model.variance.intercept_var - theirs.model.variance.intercept_var) < 1e-3


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("seed", [0, 3, 7, 12, 15])
def test_uncorrelated_never_worse(seed: int, method: str) -> None:
    """(x || cluster) through statsmodels' diagonal-covariance constraint: the same criterion at
    its θ, never better than ours."""
    data = make_data(*CASES[seed])
    spec = ModelSpec("uncorrelated", method)
    ours = fit(data, spec)
    theirs = fit_statsmodels(data, spec)
    assert len(theirs.model.theta) == 2
    assert theirs.model.covariance[0, 1] == 0.0 and ours.model.covariance[0, 1] == 0.0
    codes, uniques = pd.factorize(data["cluster"], sort=True)
    st = sufficient_stats(data["y"].to_numpy(), data["x"].to_numpy(), codes, len(uniques))
    at_theirs = criterion(theirs.model.theta, st, spec)
    assert abs(at_theirs - theirs.model.criterion) < 1e-4 * max(1.0, abs(at_theirs))
    assert ours.model.criterion <= theirs.model.criterion + 1e-6
    assert ours.model.converged


def test_statsmodels_engine_on_reference() -> None:
    data = pd.read_csv(REFERENCE / "baseline" / "data.csv")
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())["reml"]
    res = fit_statsmodels(data)
    assert abs(res.model.criterion - ref["criterion"]) < 1e-5
    assert np.allclose(res.model.theta, ref["theta"], atol=1e-3)
    for mine, theirs in zip(res.fixed_effects, ref["fixed_effects"], strict=True):
        assert mine.estimate == pytest.approx(theirs["estimate"], rel=1e-4)
        assert mine.std_error == pytest.approx(theirs["std_error"], rel=1e-3)
    assert res.clusters.shape == (100, len(CLUSTER_COLUMNS))
    assert res.clusters["mixed_intercept_se"].gt(0).all()
    json.dumps(res.to_dict(), allow_nan=False)
