"""Per-cluster measures of pooling: each cluster's own (no pooling) OLS line, and how far its
mixed-model line moved from it toward the population line.

By-cluster OLS (lme4's lmList): slope Σ(x − x̄ᵢ)(y − ȳᵢ)/Σ(x − x̄ᵢ)² and intercept ȳᵢ − slope·x̄ᵢ;
a cluster with one row or constant x (Σ(x − x̄ᵢ)² ≤ 1e-14·Σx², R's lm rank tolerance 1e-7 on the
column norm) has no slope (NaN) and its intercept is ȳᵢ.

Shrinkage
---------
For each cluster, how far its line moved from its own OLS line toward the population line, as a
fraction of the distance between the two:

    shrinkage = 1 − d(mixed, fixed) / d(ols, fixed),

where the distance between two lines (α, β) and (α', β') is their root-mean-square vertical
distance over the observed x values of the whole data set,

    d² = mean over all x of ((α − α') + (β − β')x)² = (Δα + Δβ·x̄)² + Δβ²·var(x)

(var with divisor N). This is Euclidean distance on coefficients standardised by the
distribution of x, and it does not depend on where x = 0 is. 1 means the cluster sits on the
population line (complete pooling), 0 that it kept its OLS line (no pooling); values outside
[0, 1] can occur, since the mixed line need not move along the straight path to the population
line (two random effects, or a random intercept only while the OLS line has its own slope). It is
NaN where the cluster has no OLS slope or its OLS line is the population line.
"""

from __future__ import annotations

import numpy as np

from .pls import SufficientStats


def has_ols_slope(stats: SufficientStats) -> np.ndarray:
    """Which clusters have a slope of their own: two rows or more and x not constant (R's lm
    rank tolerance)."""
    return (stats.n >= 2) & (stats.sxx_c > 1e-14 * stats.q) & (stats.sxx_c > 0.0)


def ols_by_cluster(stats: SufficientStats) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster's own OLS intercept and slope (NaN slope where it has none)."""
    n = stats.n
    xbar = stats.s / n
    ybar = stats.t / n + stats.y_shift
    has_slope = has_ols_slope(stats)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(has_slope, stats.sxy_c / stats.sxx_c, np.nan)
    intercept = np.where(has_slope, ybar - np.nan_to_num(slope) * xbar, ybar)
    return intercept, slope


def line_distance(d0: np.ndarray, d1: np.ndarray, x_mean: float, x_var: float) -> np.ndarray:
    """Root-mean-square vertical distance between lines differing by (d0, d1), over x with
    mean `x_mean` and variance `x_var` (divisor N)."""
    return np.sqrt((d0 + d1 * x_mean) ** 2 + d1 * d1 * x_var)


def shrinkage(
    ols: np.ndarray, mixed: np.ndarray, beta: np.ndarray, x_mean: float, x_var: float
) -> np.ndarray:
    """1 − d(mixed, population) / d(ols, population) per cluster (see the module docstring);
    `ols` and `mixed` are (K, 2) coefficient arrays, `beta` the population line."""
    d_ols = line_distance(ols[:, 0] - beta[0], ols[:, 1] - beta[1], x_mean, x_var)
    d_mix = line_distance(mixed[:, 0] - beta[0], mixed[:, 1] - beta[1], x_mean, x_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d_ols > 0.0, 1.0 - d_mix / d_ols, np.nan)
