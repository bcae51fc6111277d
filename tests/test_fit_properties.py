"""Properties of the native engine on random data (hypothesis) and its refusals of bad data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkcli.errors import DataError, FitError
from shrinkcli.lmm import (
    CLUSTER_COLUMNS,
    criterion,
    fit,
    fit_arrays,
    sufficient_stats,
)
from shrinkcli.model import ModelSpec


def _data(
    seed: int, k: int, m: int, sd_int: float, sd_slope: float, sigma: float, balanced: bool
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = np.full(k, m) if balanced else rng.integers(1, 2 * m, size=k)
    cluster = np.repeat(np.arange(k), sizes)
    n = int(sizes.sum())
    x = rng.normal(size=n) * rng.uniform(0.2, 3.0) + rng.normal() * 2
    b0 = rng.normal(size=k) * sd_int
    b1 = rng.normal(size=k) * sd_slope
    y = 1.0 + b0[cluster] + (0.5 + b1[cluster]) * x + rng.normal(size=n) * sigma
    return pd.DataFrame({"y": y, "x": x, "cluster": cluster})


data_sets = st.builds(
    _data,
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 25),
    m=st.integers(2, 12),
    sd_int=st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0, 3.0]),
    sd_slope=st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0]),
    sigma=st.sampled_from([0.1, 1.0, 5.0]),
    balanced=st.booleans(),
)


def _stats(data: pd.DataFrame):  # type: ignore[no-untyped-def]
    codes, uniques = pd.factorize(data["cluster"], sort=True)
    return sufficient_stats(data["y"].to_numpy(), data["x"].to_numpy(), codes, len(uniques))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=data_sets, method=st.sampled_from(["reml", "ml"]), seed=st.integers(0, 1000))
def test_optimum_is_a_minimum(data: pd.DataFrame, method: str, seed: int) -> None:
    k = data["cluster"].nunique()
    if len(data) <= 2 * k:
        # the hint offers a random intercept only where that model can be fitted itself
        hint = "model.random: intercept" if len(data) > k + 1 else "per cluster$"
        with pytest.raises(FitError, match=hint):
            fit(data, ModelSpec(method=method))
        return
    res = fit(data, ModelSpec(method=method))
    assert res.model.converged
    stats = _stats(data)
    best = res.model.criterion
    assert math.isfinite(best)
    spec = ModelSpec(method=method)
    assert abs(criterion(res.model.theta, stats, spec) - best) < 1e-9 * max(1, abs(best))
    tol = 1e-7 * max(1.0, abs(best))
    assert best <= criterion((1.0, 0.0, 1.0), stats, ModelSpec(method=method)) + tol
    rng = np.random.default_rng(seed)
    theta = np.array(res.model.theta)
    for scale in (1e-3, 1e-2, 0.1, 1.0):
        for _ in range(5):
            near = theta + rng.normal(size=3) * scale
            near[[0, 2]] = np.abs(near[[0, 2]])
            assert best <= criterion(near, stats, ModelSpec(method=method)) + tol
    # boundary: a diagonal element at 0 must be a genuine minimum along it
    assert res.model.singular == (min(theta[0], theta[2]) < 1e-4)
    frame = res.clusters
    assert list(frame.columns) == list(CLUSTER_COLUMNS)
    assert len(frame) == k
    assert frame["n"].sum() == len(data)
    q = res.model.scaled_residual_quantiles
    assert all(a <= b for a, b in zip(q, q[1:], strict=False))
    json.dumps(res.to_dict(), allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(data=data_sets, method=st.sampled_from(["reml", "ml"]))
def test_intercept_only_is_a_minimum(data: pd.DataFrame, method: str) -> None:
    k = data["cluster"].nunique()
    if len(data) <= k + 1:
        with pytest.raises(FitError):
            fit(data, spec=ModelSpec("intercept", method))
        return
    res = fit(data, spec=ModelSpec("intercept", method))
    stats = _stats(data)
    tol = 1e-7 * max(1.0, abs(res.model.criterion))
    assert len(res.model.theta) == 1
    for t in (0.0, 1e-3, 0.1, 1.0, 10.0, res.model.theta[0] * 1.01, res.model.theta[0] * 0.99):
        assert res.model.criterion <= criterion((t,), stats, ModelSpec("intercept", method)) + tol
    frame = res.clusters
    assert np.allclose(frame["ranef_slope"], 0.0)
    assert np.allclose(frame["mixed_slope"], res.model.beta[1])
    assert res.model.variance.slope_var is None


def test_fit_arrays_matches_fit() -> None:
    data = _data(1, 30, 8, 0.5, 0.3, 1.0, False)
    res = fit(data)
    codes, uniques = pd.factorize(data["cluster"], sort=True)
    light = fit_arrays(
        data["y"].to_numpy(), data["x"].to_numpy(), codes, len(uniques), residual_quantiles=False
    )
    assert light.criterion == pytest.approx(res.model.criterion, abs=1e-9)
    assert np.allclose(light.coef[:, 0], res.clusters["mixed_intercept"])
    assert light.scaled_residual_quantiles is None


def test_singletons_and_constant_x_have_no_ols_slope() -> None:
    data = _data(2, 20, 6, 0.5, 0.3, 1.0, True)
    extra = pd.DataFrame({"y": [3.0, 1.0, 2.0], "x": [0.5, 2.0, 2.0], "cluster": [100, 101, 101]})
    res = fit(pd.concat([data, extra], ignore_index=True))
    frame = res.clusters.set_index("cluster")
    assert math.isnan(frame.loc[100, "ols_slope"])
    assert frame.loc[100, "ols_intercept"] == 3.0
    assert math.isnan(frame.loc[101, "ols_slope"])
    assert frame.loc[101, "ols_intercept"] == pytest.approx(1.5)
    assert math.isnan(frame.loc[100, "shrinkage"])
    assert np.isfinite(frame.loc[100, "mixed_slope"])
    out = res.to_dict()
    row = next(c for c in out["clusters"] if c["cluster"] == 100)
    assert row["ols_slope"] is None
    csv = res.clusters.to_csv(index=False)
    assert "\n100,1,3.0,," in csv


@pytest.mark.parametrize("random", ["intercept-slope", "intercept"])
def test_shrinkage_definition(random: str) -> None:
    """1 − d(mixed, fixed) / d(ols, fixed), d the RMS vertical distance over all x."""
    data = _data(3, 15, 6, 0.7, 0.3, 1.0, False)
    res = fit(data, ModelSpec(random))
    frame = res.clusters
    b0, b1 = res.model.beta
    xs = data["x"].to_numpy()

    def dist(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(((a - b0) + (b - b1) * xs) ** 2)))

    for row in frame.itertuples():
        if math.isnan(row.ols_slope):
            assert math.isnan(row.shrinkage)
            continue
        expected = 1 - dist(row.mixed_intercept, row.mixed_slope) / dist(
            row.ols_intercept, row.ols_slope
        )
        assert row.shrinkage == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_cluster_ids_sorted_like_lme4_and_kept() -> None:
    base = _data(4, 12, 6, 0.5, 0.3, 1.0, True)
    ints = base.assign(cluster=base["cluster"] * 7 + 3)
    frame = fit(ints).to_frame()
    assert frame["cluster"].tolist() == sorted(ints["cluster"].unique().tolist())
    assert isinstance(fit(ints).to_dict()["clusters"][0]["cluster"], int)
    strs = base.assign(cluster="c" + (base["cluster"] + 1).astype(str))
    frame = fit(strs).to_frame()
    assert frame["cluster"].tolist() == sorted(strs["cluster"].unique())
    assert frame["cluster"].tolist()[:3] == ["c1", "c10", "c11"]


def test_truth_is_matched_by_id() -> None:
    data = _data(5, 10, 6, 0.5, 0.3, 1.0, True)
    truth = pd.DataFrame(
        {"cluster": list(range(10))[::-1], "true_intercept": range(10), "true_slope": 0.5}
    )
    frame = fit(data, truth=truth).to_frame()
    assert frame["true_intercept"].tolist() == list(range(10))[::-1]
    assert frame["true_slope"].eq(0.5).all()


def test_missing_values_are_dropped_with_a_warning() -> None:
    data = _data(6, 10, 6, 0.5, 0.3, 1.0, True)
    data.loc[[0, 5], "y"] = np.nan
    data["cluster"] = data["cluster"].astype(object)
    data.loc[7, "cluster"] = None
    res = fit(data)
    assert res.warnings == ("dropped 3 rows with missing values",)
    assert res.model.n_obs == len(data) - 3


def _one_line(err: pytest.ExceptionInfo) -> str:  # type: ignore[type-arg]
    text = str(err.value)
    assert text and "\n" not in text
    return text


def test_bad_data_raise_one_line_errors() -> None:
    good = _data(7, 10, 6, 0.5, 0.3, 1.0, True)
    with pytest.raises(DataError) as err:
        fit(good.rename(columns={"x": "dose"}))
    assert "'x'" in _one_line(err) and "dose" in str(err.value)
    with pytest.raises(DataError) as err:
        fit(good.iloc[:0])
    assert "empty" in _one_line(err)
    bad = good.astype({"x": object})
    bad.loc[4, "x"] = "abc"
    with pytest.raises(DataError) as err:
        fit(bad)
    assert "'x'" in _one_line(err) and "row 5" in str(err.value) and "abc" in str(err.value)
    bad = good.copy()
    bad.loc[2, "y"] = np.inf
    with pytest.raises(DataError) as err:
        fit(bad)
    assert "'y'" in _one_line(err) and "infinite" in str(err.value)
    with pytest.raises(FitError) as err:
        fit(good.assign(cluster=1))
    assert "cluster" in _one_line(err)
    with pytest.raises(DataError) as err:
        fit(good.assign(x=2.0))
    assert "'x'" in _one_line(err) and "constant" in str(err.value)
    two = good.groupby("cluster").head(2)
    with pytest.raises(FitError) as err:
        fit(two)
    assert err.value.hint == ("model.random", "intercept")
    fit(two, ModelSpec("intercept"))
    one = good.groupby("cluster").head(1)
    with pytest.raises(FitError) as err:
        fit(one, ModelSpec("intercept"))
    _one_line(err)
    all_na = good.assign(y=np.nan)
    with pytest.raises(DataError) as err:
        fit(all_na)
    _one_line(err)
