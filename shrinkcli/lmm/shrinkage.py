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
from .pls import SufficientStats, lambda_back, rescaled


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
#: Largest start tried when the clusters are not yet at the no-pooling limit at a smaller one.
MAX_NO_POOLING_SCALE = 1e16
#: How close (relative to 1 + |coefficient|) a cluster must be to its no-pooling limit at the
#: start.
NO_POOLING_TOL = 1e-7


def path_coefficients(stats: SufficientStats, lam: np.ndarray, s: float) -> np.ndarray:
    """Every cluster's (intercept, slope) = β(s) + bᵢ(s) at Λ = s·`lam` (s > 0, or math.inf for
    the no-pooling limit), in the stable form of the module docstring ("Computing the path").
    Intercepts are of the data's y (the centring `y_shift` added back)."""
    s = float(s)
    if not s > 0.0:
        raise ValueError(f"the scale of the random effects must be > 0 (got {s})")
    a, b, c = float(lam[0, 0]), float(lam[1, 0]), float(lam[1, 1])
    m = stats.x_centre
    if m == 0.0:
        return _path_coefficients(stats, a, b, c, s)
    # in the centred coordinates x' = x − m (Λ' = TΛ, T = [[1, m], [0, 1]], as `pls.py`): the
    # sums Σx², Σxy there have no large terms to cancel; the intercepts are moved back to x = 0
    a, b, c = lambda_back((a, b, c), -m, 1.0)
    coef = _path_coefficients(rescaled(stats, m, 1.0), a, b, c, s)
    coef[:, 0] -= m * coef[:, 1]
    return coef


def _path_coefficients(
    stats: SufficientStats, a: float, b: float, c: float, s: float
) -> np.ndarray:
    """`path_coefficients` at Λ = [[a, 0], [b, c]] in the coordinates of `stats`."""
    s00, s01, s11 = a * a, a * b, b * b + c * c  # Σ₀ = ΛΛᵀ
    det0 = (a * c) ** 2
    tau = 0.0 if math.isinf(s) else 1.0 / (s * s)
    if s00 == 0.0 and s11 == 0.0:  # Λ̂ = 0: no random effects at any scale
        tau = 1.0
    n, sx, q, t, w = stats.n, stats.s, stats.q, stats.t, stats.w
    has = has_ols_slope(stats)
    dg = np.where(has, stats.det_g, 0.0)  # Dᵢ; 0 where the cluster has no line of its own
    dc0 = np.where(has, stats.sxx_c * t - stats.sxy_c * sx, 0.0)  # adj(Gᵢ)gᵢ = Dᵢĉᵢ
    dc1 = np.where(has, n * stats.sxy_c, 0.0)
    xbar = sx / n
    tr = n * (a + b * xbar) ** 2 + b * b * stats.sxx_c + c * c * q  # tr(GᵢΣ₀) = ‖XᵢΛ̂‖² ≥ 0
    # adj(Σ₀)·(Dᵢĉᵢ) and Σ₀gᵢ
    ad0, ad1 = s11 * dc0 - s01 * dc1, s00 * dc1 - s01 * dc0
    sg0, sg1 = s00 * t + s01 * w, s01 * t + s11 * w
    full = det0 > 0.0
    if full:
        own = dg > 0.0  # Dᵢ·det Σ₀ > 0
        d = tau * tau + tau * tr + dg * det0
        den = np.where(own, d, tau + tr)  # a cluster without a line: d/τ
        inv = 1.0 / den
        # Wᵢ/τ and rᵢ/τ: (τGᵢ + Dᵢ adj Σ₀)/dᵢ, or Gᵢ/(τ + tr) where Dᵢ = 0
        wt = np.where(own, tau, 1.0) * inv
        w00 = (wt * n + dg * s11 * inv).sum()
        w01 = (wt * sx - dg * s01 * inv).sum()
        w11 = (wt * q + dg * s00 * inv).sum()
        r0 = (wt * t + ad0 * inv).sum()
        r1 = (wt * w + ad1 * inv).sum()
        basis = np.eye(2)
    else:  # Σ₀ = vvᵀ: every dᵢ = τ(τ + tr); solve in the basis (u, v), u ⊥ v
        den = tau + tr
        inv = np.divide(1.0, den, out=np.zeros_like(den), where=den > 0.0)
        w00 = (tau * n * inv + dg * s11 * inv).sum()
        w01 = (tau * sx * inv - dg * s01 * inv).sum()
        w11 = (tau * q * inv + dg * s00 * inv).sum()
        r0 = (tau * t * inv + ad0 * inv).sum()
        r1 = (tau * w * inv + ad1 * inv).sum()
        v = np.array([a, b]) if c == 0.0 else np.array([0.0, 1.0])
        v = v / math.hypot(*v) if v.any() else np.array([0.0, 1.0])
        basis = np.array([[-v[1], v[0]], [v[0], v[1]]]).T  # columns u, v
    # β from the 2×2 system in that basis (no cancellation in its determinant)
    wm = basis.T @ np.array([[w00, w01], [w01, w11]]) @ basis
    rv = basis.T @ np.array([r0, r1])
    det = wm[0, 0] * wm[1, 1] - wm[0, 1] * wm[1, 0]
    if det > 0.0 and math.isfinite(det):
        beta_b = (
            np.array([wm[1, 1] * rv[0] - wm[0, 1] * rv[1], wm[0, 0] * rv[1] - wm[1, 0] * rv[0]])
            / det
        )
    elif wm[0, 0] > 0.0:  # τ = 0 with a singular Σ₀: only β's u-part is identified, and only
        beta_b = np.array([rv[0] / wm[0, 0], 0.0])  # it moves the clusters there
    else:
        raise FitError(
            "the pooling path cannot be computed: the fixed effects are not "
            "identified at this scale"
        )
    beta = basis @ beta_b
    # adj(Gᵢ)adj(Σ₀)β
    m0 = (q * s11 + sx * s01) * beta[0] - (q * s01 + sx * s00) * beta[1]
    m1 = -(sx * s11 + n * s01) * beta[0] + (sx * s01 + n * s00) * beta[1]
    if full:
        sq = np.where(own, tau, 1.0)
        num0 = sq * (tau * beta[0] + m0 + sg0) + np.where(own, det0 * dc0, 0.0)
        num1 = sq * (tau * beta[1] + m1 + sg1) + np.where(own, det0 * dc1, 0.0)
    else:
        num0 = tau * beta[0] + m0 + sg0
        num1 = tau * beta[1] + m1 + sg1
    with np.errstate(divide="ignore", invalid="ignore"):
        c0 = np.where(den > 0.0, num0 / den, beta[0])
        c1 = np.where(den > 0.0, num1 / den, beta[1])
    return np.column_stack([c0 + stats.y_shift, c1])


@dataclass(frozen=True)
class PoolingPath:
    """The exact solutions along Λ = s·Λ̂ of one fit (see the module docstring): `at(s)` gives
    every cluster's coefficients (β(s) + bᵢ(s), K × 2) for 0 < s ≤ ∞ (math.inf: the no-pooling
    limit); `start` is the scale the path starts at, `reaches_own_lines` whether the start is
    each cluster's own OLS line (Λ̂ of full rank)."""

    stats: SufficientStats
    spec: ModelSpec
    theta: tuple[float, ...]
    start: float
    reaches_own_lines: bool

    def at(self, s: float) -> np.ndarray:
        """Every cluster's (intercept, slope) with the random effects scaled by s."""
        return path_coefficients(self.stats, self.spec.lambda_matrix(self.theta), s)


def pooling_path(stats: SufficientStats, spec: ModelSpec, theta: tuple[float, ...]) -> PoolingPath:
    """The pooling path of the fit at θ̂ = `theta`. Where Λ̂ has full rank (and the fit is not
    singular by lme4's tolerance), it starts at the smallest power of ten from
    `NO_POOLING_SCALE` up at which every cluster is within `NO_POOLING_TOL` of its no-pooling
    limit (its own OLS line, where it has one); otherwise it cannot reach those lines and starts
    at `NO_POOLING_SCALE`."""
    theta = tuple(float(v) for v in theta)
    own_lines = spec.has_random_slope and not spec.is_singular(theta)
    s = NO_POOLING_SCALE
    if own_lines:
        path = PoolingPath(stats, spec, theta, math.inf, True)
        limit = path.at(math.inf)
        while s < MAX_NO_POOLING_SCALE:
            gap = np.abs(path.at(s) - limit) / (1.0 + np.abs(limit))
            if not float(gap.max(initial=0.0)) > NO_POOLING_TOL:
                break
            s *= 10.0
    return PoolingPath(stats, spec, theta, s, own_lines)


def log_scales(start: float, end: float, points: int) -> np.ndarray:
    """`points` scales from `start` to `end`, evenly spaced in log s, the ends exact."""
    out = np.exp(np.linspace(math.log(start), math.log(end), points))
    out[0], out[-1] = start, end
    return out
