"""ModelSpec: the one description of the model that the engine, the summary, the study and the
CLI ask."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shrinkcli.model import METHODS, RANDOM_STRUCTURES, ModelSpec


def test_choices_and_refusals() -> None:
    assert RANDOM_STRUCTURES == ("intercept-slope", "uncorrelated", "intercept")
    assert METHODS == ("reml", "ml")
    with pytest.raises(ValueError, match="'intercept-slope', 'uncorrelated' or 'intercept'"):
        ModelSpec("slope")
    with pytest.raises(ValueError, match="'reml' or 'ml'"):
        ModelSpec(method="REML")


@pytest.mark.parametrize(
    ("random", "n_theta", "start", "diagonal"),
    [
        ("intercept-slope", 3, (1.0, 0.0, 1.0), (0, 2)),
        ("uncorrelated", 2, (1.0, 1.0), (0, 1)),
        ("intercept", 1, (1.0,), (0,)),
    ],
)
def test_theta_layout_is_lme4s(
    random: str, n_theta: int, start: tuple[float, ...], diagonal: tuple[int, ...]
) -> None:
    spec = ModelSpec(random)
    assert spec.n_theta == n_theta and spec.theta_start == start and spec.diagonal == diagonal
    theta = np.arange(1.0, n_theta + 1.0)
    assert np.array_equal(spec.theta_of(spec.lambda_entries(theta)), theta)
    lam = spec.lambda_matrix(theta)
    assert lam[0, 1] == 0.0
    if random == "uncorrelated":
        assert lam[1, 0] == 0.0 and lam[1, 1] == 2.0
    if random == "intercept":
        assert not lam[1].any()


def test_canonical_keeps_lambda_lambda_t() -> None:
    spec = ModelSpec()
    theta = np.array([-0.5, 0.3, -0.2])
    canon = spec.canonical(theta)
    assert canon[0] > 0 and canon[2] > 0
    a, c = spec.lambda_matrix(theta), spec.lambda_matrix(canon)
    assert np.allclose(a @ a.T, c @ c.T)


def test_variance_components_follow_sigma2_lambda_lambda_t() -> None:
    vc = ModelSpec().variance_components((0.5, 0.1, 0.2), 4.0)
    assert math.isclose(vc.intercept_var, 4.0 * 0.25)
    assert math.isclose(vc.slope_var or 0.0, 4.0 * (0.01 + 0.04))
    cov = 4.0 * 0.5 * 0.1
    assert math.isclose(vc.corr or 0.0, cov / math.sqrt(1.0 * 0.2))
    assert np.allclose(vc.covariance(), [[1.0, cov], [cov, 0.2]])
    unc = ModelSpec("uncorrelated").variance_components((0.5, 0.2), 4.0)
    assert unc.corr is None and math.isclose(unc.slope_sd or 0.0, 0.4)
    assert unc.covariance()[0, 1] == 0.0
    only = ModelSpec("intercept").variance_components((0.5,), 4.0)
    assert only.slope_var is None and only.corr is None
    # a singular correlated fit: the correlation is undefined
    assert math.isnan(ModelSpec().variance_components((0.0, 0.0, 0.3), 1.0).corr or 0.0)


def test_singularity_is_a_diagonal_entry_near_zero() -> None:
    spec = ModelSpec()
    assert spec.is_singular((0.5, 0.3, 5e-5)) and spec.is_singular((5e-5, 0.3, 0.5))
    assert not spec.is_singular((0.5, 1e-9, 0.5))  # the off-diagonal may be 0
    assert ModelSpec("uncorrelated").is_singular((0.5, 0.0))


def test_formulas_and_summary_rows() -> None:
    assert ModelSpec().formula() == "y ~ x + (x | cluster)"
    assert ModelSpec("uncorrelated").formula("r", "d", "s") == "r ~ d + (d || s)"
    assert ModelSpec("uncorrelated").lme4_formula() == (
        "y ~ x + ((1 | cluster) + (0 + x | cluster))"
    )
    assert ModelSpec("intercept").random_term() == "(1 | cluster)"
    assert ModelSpec("uncorrelated").variance_rows() == (
        ("cluster", "(Intercept)"),
        ("cluster.1", "x"),
    )
    assert ModelSpec().variance_rows() == (("cluster", "(Intercept)"), ("", "x"))
    assert ModelSpec().reml and not ModelSpec(method="ml").reml
