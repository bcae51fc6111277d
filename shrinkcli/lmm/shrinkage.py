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

The pooling path
----------------
The straight line from a cluster's OLS estimate to its mixed estimate is not the way pooling goes.
Scaling the random effects' relative covariance factor, Λ = s·Λ̂, and solving the penalized least
squares exactly at each s (β re-solved too) gives the path every cluster really takes as the
model trusts the clusters less: for s → ∞ the penalty vanishes and each cluster keeps its own
line (no pooling), at s = 1 it is the fit, and for s → 0 every cluster is on the population line
(complete pooling). Since Λ is linear in θ, Λ = s·Λ̂ is θ = s·θ̂. Where Λ̂ has full rank the large-s
end is each cluster's own OLS line; where it has not (a singular fit, a random intercept alone)
it is the no-pooling limit of that model (e.g. free intercepts with a common slope), and a cluster
without a line of its own starts wherever that limit puts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import FitError
from ..model import ModelSpec
from .pls import SufficientStats, solve


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


#: The scale at which the pooling path starts, at least ("no pooling").
NO_POOLING_SCALE = 1e4
#: Largest start tried when the clusters are not yet on their own lines at a smaller one.
MAX_NO_POOLING_SCALE = 1e8
#: How close (relative to 1 + |coefficient|) a cluster must be to its own line at the start.
NO_POOLING_TOL = 1e-7


@dataclass(frozen=True)
class PoolingPath:
    """The exact solutions along Λ = s·Λ̂ of one fit (see the module docstring): `at(s)` gives
    every cluster's coefficients (β(s) + bᵢ(s), K × 2); `start` is the scale the path starts
    at, `reaches_own_lines` whether the start is each cluster's own OLS line (Λ̂ of full rank)."""

    stats: SufficientStats
    spec: ModelSpec
    theta: tuple[float, ...]
    start: float
    reaches_own_lines: bool

    def at(self, s: float) -> np.ndarray:
        """Every cluster's (intercept, slope) with the random effects scaled by s."""
        sol = solve(np.asarray(self.theta, dtype=float) * float(s), self.stats, self.spec,
                    modes=True)
        assert sol.ranef is not None
        beta = sol.beta.copy()
        beta[0] += self.stats.y_shift
        return np.column_stack(sol.ranef) + beta[None, :]


def pooling_path(stats: SufficientStats, model: ModelSpec, theta: tuple[float, ...]) -> PoolingPath:
    """The pooling path of the fit at θ̂ = `theta`, starting at the smallest power of ten from
    `NO_POOLING_SCALE` up at which every cluster with a line of its own is on it (to
    `NO_POOLING_TOL`). A singular fit (`ModelSpec.is_singular`) or one without a random slope
    cannot reach those lines: its path starts at `NO_POOLING_SCALE`, or lower where the fixed
    effects are no longer separable in floating point there."""
    theta = tuple(float(v) for v in theta)
    own_lines = model.has_random_slope and not model.is_singular(theta)
    candidates = [NO_POOLING_SCALE]
    if own_lines:
        while candidates[-1] < MAX_NO_POOLING_SCALE:
            candidates.append(candidates[-1] * 10.0)
    own = np.column_stack(ols_by_cluster(stats))
    has = np.isfinite(own).all(axis=1)
    best: PoolingPath | None = None
    for s in candidates:
        path = PoolingPath(stats, model, theta, s, own_lines)
        try:
            start = path.at(s)
        except FitError:  # the fixed effects no longer separable in floating point
            break
        best = path
        if not own_lines or not has.any():
            break
        gap = np.abs(start[has] - own[has]) / (1.0 + np.abs(own[has]))
        if float(gap.max()) <= NO_POOLING_TOL:
            break
    s = NO_POOLING_SCALE / 10.0
    while best is None and s >= 10.0:  # back off until the start can be solved
        try:
            PoolingPath(stats, model, theta, s, own_lines).at(s)
            best = PoolingPath(stats, model, theta, s, own_lines)
        except FitError:
            s /= 10.0
    if best is None:
        raise FitError("the pooling path cannot be computed: the fixed effects cannot be "
                       "separated from the random effects even at ten times their fitted size")
    return best


def log_scales(start: float, end: float, points: int) -> np.ndarray:
    """`points` scales from `start` to `end`, evenly spaced in log s, the ends exact."""
    out = np.exp(np.linspace(math.log(start), math.log(end), points))
    out[0], out[-1] = start, end
    return out
