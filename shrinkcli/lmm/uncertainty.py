"""How sure each cluster's estimates are: the conditional covariance of its random effects (lme4's
`ranef(mod, condVar = TRUE)`) and the standard errors of its own least-squares line.

Conditional variances
---------------------
Given the data, at the estimates θ̂ and β̂, cluster i's random effects bᵢ = Λuᵢ are normal with
covariance σ̂²ΛMᵢ⁻¹Λᵀ = σ̂²Hᵢ (Mᵢ = ΛᵀGᵢΛ + I, `pls.py`): lme4's `condVar`, for one grouping
factor the diagonal blocks of σ̂²Λ(LLᵀ)⁻¹Λᵀ, with σ̂ the fit's own (REML or ML). As in lme4 they
condition on β̂ and θ̂: the uncertainty of the fixed effects and of the variance parameters is left
out, so intervals b̂ᵢ ± 1.96·SE are somewhat too narrow, most where the variance parameters are
poorly determined. For (x || cluster), lme4 1.1-31's `ranef()` attaches only the two variances;
the covariance reported here is the off-diagonal of the same block (lme4's `condVar()` matrix).
Without a random slope only the intercept has one (the slope's entries are NaN).

By-cluster standard errors
--------------------------
As lme4's `lmList` summaries (`pool = TRUE`): each cluster's OLS line with the residual standard
deviation pooled over all clusters, s² = Σᵢ RSSᵢ / Σᵢ (nᵢ − pᵢ), SE(slope) = s/√Sxxᵢ and
SE(intercept) = s·√(1/nᵢ + x̄ᵢ²/Sxxᵢ), with t intervals on Σᵢ (nᵢ − pᵢ) degrees of freedom. pᵢ is
the number of coefficients the cluster can estimate (1 without a slope of its own, where the
intercept is ȳᵢ with SE s/√nᵢ; lme4's `pooledSD` counts 2 there). No I/O.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import ModelSpec
from .pls import SufficientStats, conditional_blocks
from .shrinkage import has_ols_slope


def conditional_covariances(
    stats: SufficientStats,
    spec: ModelSpec,
    theta: Any,
    sigma2: float,
    blocks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cluster, the conditional variance of the random intercept, the covariance of the
    random intercept and slope, and the variance of the random slope (NaN without a random
    slope): σ²ΛMᵢ⁻¹Λᵀ, lme4's `condVar`. `blocks`, the Hᵢ the fit computed (`ModelFit.
    conditional`), are used where given; otherwise they are computed at θ."""
    h11, h12, h22 = blocks if blocks is not None else conditional_blocks(theta, stats, spec)
    var_int = sigma2 * h11
    if not spec.has_random_slope:
        nan = np.full_like(var_int, np.nan)
        return var_int, nan, nan.copy()
    return var_int, sigma2 * h12, sigma2 * h22


@dataclass(frozen=True)
class OlsErrors:
    """Standard errors of the by-cluster OLS lines, with the pooled residual SD and its
    degrees of freedom (NaN SEs where a cluster has no slope; all NaN with no degrees of
    freedom left)."""

    intercept_se: np.ndarray
    slope_se: np.ndarray
    sigma: float
    df: int


#: R's qnorm(0.975), correctly rounded: the z of the study's coverage of β and of the sweep's
#: bands. `z_quantile(0.95)` (Python's NormalDist) is one unit in the last place below it.
Z_95 = 1.959963984540054


def z_quantile(level: float) -> float:
    """The standard normal quantile of a two-sided confidence `level`, Φ⁻¹(½ + level/2) (1.96
    at 0.95): the one z of Wald intervals, the profile's cut-off, the clusters' intervals and
    coverage."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2.0)


@functools.lru_cache(maxsize=64)
def t_quantile(p: float, df: int) -> float:
    """Student's t quantile at probability p with df degrees of freedom (NaN for none), from
    scipy.special (what scipy.stats' t.ppf computes, without importing scipy.stats)."""
    if df <= 0:
        return math.nan
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def pooled_degrees_of_freedom(n: np.ndarray, has_slope: np.ndarray) -> int:
    """Residual degrees of freedom of the by-cluster fits together: Σᵢ nᵢ − pᵢ."""
    return int(np.sum(np.asarray(n, dtype=float) - np.where(has_slope, 2.0, 1.0)))


def ols_standard_errors(stats: SufficientStats) -> OlsErrors:
    """lmList's pooled standard errors of each cluster's own intercept and slope."""
    n = stats.n
    slope = has_ols_slope(stats)
    with np.errstate(divide="ignore", invalid="ignore"):
        rss = np.where(slope, stats.syy_c - stats.sxy_c**2 / stats.sxx_c, stats.syy_c)
        df = pooled_degrees_of_freedom(n, slope)
        s = math.sqrt(max(float(rss.sum()), 0.0) / df) if df > 0 else math.nan
        xbar = stats.s / n
        slope_se = np.where(slope, s / np.sqrt(stats.sxx_c), np.nan)
        intercept_se = np.where(slope, s * np.sqrt(1.0 / n + xbar**2 / stats.sxx_c), s / np.sqrt(n))
    return OlsErrors(intercept_se, slope_se, s, df)
