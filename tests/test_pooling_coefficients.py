"""`shrinkage.path_coefficients` on its own, against independent computations: the mixed
fit's modes at s = 1, each cluster's least-squares line at s = ∞, continuity in s, a covariate
far from 0, and random one-row additions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

from shrinkcli import fit
from shrinkcli.lmm import solve, sufficient_stats
from shrinkcli.lmm.shrinkage import path_coefficients, pooling_path
from shrinkcli.model import ModelSpec

SETS = sorted(p.name for p in REFERENCE.iterdir() if (p / "data.csv").exists())


def _stats(data: pd.DataFrame):  # noqa: ANN202
    ids = sorted(data["cluster"].unique())
    codes = np.searchsorted(ids, data["cluster"].to_numpy())
    return sufficient_stats(
        data["y"].to_numpy(float), data["x"].to_numpy(float), codes, len(ids)
    ), codes


def test_there_are_six_reference_sets() -> None:
    assert len(SETS) == 6


@pytest.mark.parametrize("random", ["intercept-slope", "uncorrelated"])
@pytest.mark.parametrize("name", SETS)
def test_at_scale_one_the_path_is_the_mixed_fits_modes(name: str, random: str) -> None:
    data = pd.read_csv(REFERENCE / name / "data.csv")
    spec = ModelSpec(random)
    theta = fit(data, spec).model.theta
    st, _ = _stats(data)
    sol = solve(theta, st, spec, modes=True)
    assert sol.ranef is not None
    want = np.column_stack([sol.beta[0] + st.y_shift + sol.ranef[0], sol.beta[1] + sol.ranef[1]])
    got = path_coefficients(st, spec.lambda_matrix(theta), 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("name", SETS)
def test_at_infinity_every_cluster_is_its_own_least_squares_line(name: str) -> None:
    data = pd.read_csv(REFERENCE / name / "data.csv")
    st, codes = _stats(data)
    lam = np.array([[0.7, 0.0], [0.2, 0.4]])  # full rank
    got = path_coefficients(st, lam, math.inf)
    x, y = data["x"].to_numpy(float), data["y"].to_numpy(float)
    for i in range(len(st.n)):
        rows = codes == i
        design = np.column_stack([np.ones(rows.sum()), x[rows]])
        own = np.linalg.lstsq(design, y[rows], rcond=None)[0]
        np.testing.assert_allclose(got[i], own, rtol=1e-8, atol=1e-8)


def test_the_path_is_continuous_in_the_scale() -> None:
    data = pd.read_csv(REFERENCE / "unbalanced" / "data.csv")
    spec = ModelSpec()
    theta = fit(data, spec).model.theta
    st, _ = _stats(data)
    lam = spec.lambda_matrix(theta)
    for s in (0.01, 0.3, 1.0, 7.0, 1e3, 1e6):
        here = path_coefficients(st, lam, s)
        near = path_coefficients(st, lam, s * (1.0 + 1e-7))
        assert np.abs(near - here).max() < 1e-5 * (1.0 + np.abs(here).max())
    far = path_coefficients(st, lam, 1e12)
    np.testing.assert_allclose(far, path_coefficients(st, lam, math.inf), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shift", [2000.0, 1e6, 1e8])
@pytest.mark.parametrize("name", ["baseline", "unbalanced"])
def test_a_covariate_far_from_zero_gives_the_same_lines(name: str, shift: float) -> None:
    """x + m changes every intercept by −m·slope at the same Λ of the centred coordinates
    (Λ = T⁻¹Λ', T = [[1, m], [0, 1]]); compared at x̄ (the intercept plus m·slope)."""
    data = pd.read_csv(REFERENCE / name / "data.csv")
    st, _ = _stats(data)
    moved = data.assign(x=data["x"] + shift)
    st_m, _ = _stats(moved)
    lam = np.array([[0.8, 0.0], [0.3, 0.5]])
    # the same Σ for the shifted x: T⁻¹Λ = [[a − mb, −mc], [b, c]] turned lower-triangular by a
    # Givens rotation of its columns (a Cholesky factor of T⁻¹ΣT⁻ᵀ would cancel its digits)
    m = shift
    p, r = 0.8 - m * 0.3, -m * 0.5
    h = math.hypot(p, r)
    rot = np.array([[p / h, -r / h], [r / h, p / h]])
    lam_m = np.array([[p, r], [0.3, 0.5]]) @ rot
    assert abs(lam_m[0, 1]) < 1e-9 * h
    lam_m[0, 1] = 0.0
    for s in (0.5, 1.0, 100.0, math.inf):
        base = path_coefficients(st, lam, s)
        got = path_coefficients(st_m, lam_m, s)
        np.testing.assert_allclose(got[:, 1], base[:, 1], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got[:, 0] + shift * got[:, 1], base[:, 0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("name", ["few-observations", "unbalanced"])
def test_one_row_more_never_breaks_the_path(name: str, seed: int) -> None:
    data = pd.read_csv(REFERENCE / name / "data.csv")
    rng = np.random.default_rng(seed)
    extra = pd.DataFrame({"y": [rng.normal()], "x": [rng.uniform(0, 1)], "cluster": [10_000]})
    data = pd.concat([data, extra], ignore_index=True)
    spec = ModelSpec()
    result = fit(data, spec)
    st, _ = _stats(data)
    path = pooling_path(st, spec, result.model.theta)
    scales = np.exp(np.linspace(math.log(1.0), math.log(path.start), 15))
    points = np.stack([path.at(float(s)) for s in scales])
    assert np.all(np.isfinite(points))
    # at the start every cluster with a line of its own is on it (the no-pooling limit)
    limit = path.at(math.inf)
    assert np.all(np.isfinite(limit))
    gap = np.abs(points[-1] - limit) / (1.0 + np.abs(limit))
    assert gap.max() < 1e-3
