"""Linear mixed model y ~ x + (x | cluster) (or (1 | cluster)) and the by-cluster OLS fits.

The model and the criterion are lme4's (Bates, Mächler, Bolker & Walker 2015, "Fitting linear
mixed-effects models using lme4", JSS 67(1)); the computation exploits that there is one grouping
factor and one covariate, so that everything reduces to closed-form 2×2 algebra per cluster,
vectorized over clusters.

Model
-----
For cluster i with nᵢ rows, Xᵢ = [1, xᵢ] and Zᵢ = Xᵢ (random intercept and slope) or Zᵢ = 1
(random intercept only):

    yᵢ = Xᵢβ + Zᵢbᵢ + εᵢ,   bᵢ = Λuᵢ,   uᵢ ~ N(0, σ²I),   εᵢ ~ N(0, σ²I),

so that Var(bᵢ) = Σ = σ²ΛΛᵀ, with Λ = [[θ₁, 0], [θ₂, θ₃]] (lme4's θ order) or Λ = [θ₁].

Sufficient statistics
---------------------
One O(N) pass (np.bincount with weights) gives, per cluster, Gᵢ = XᵢᵀXᵢ = [[nᵢ, sᵢ], [sᵢ, qᵢ]]
(s = Σx, q = Σx²), gᵢ = Xᵢᵀyᵢ = (tᵢ, wᵢ) (t = Σy, w = Σxy) and yᵀy. The sums are taken around
the cluster means (two-pass), and y is centred at its overall mean first; this changes only the
intercept, which is shifted back at the end, and keeps the cancellations small.
Dᵢ = det Gᵢ = nᵢ·Σ(x − x̄ᵢ)² is kept separately for accuracy.

Penalized least squares
-----------------------
For fixed θ, (β, u) minimise the penalized residual sum of squares
‖y − Xβ − ZΛu‖² + ‖u‖². Its normal equations are block-diagonal in u: with

    Mᵢ = ΛᵀGᵢΛ + I       (2×2; lme4's L_Z blocks are chol(Mᵢ)),
    Hᵢ = ΛMᵢ⁻¹Λᵀ,

eliminating uᵢ = Mᵢ⁻¹Λᵀ(gᵢ − Gᵢβ) leaves the 2×2 system

    S β = r,   S = XᵀX − Σᵢ GᵢHᵢGᵢ = RₓᵀRₓ,   r = Xᵀy − Σᵢ GᵢHᵢgᵢ,

and the minimum (PWRSS) is  ρ² = yᵀy − Σᵢ gᵢᵀHᵢgᵢ − rᵀβ.  The conditional modes are
bᵢ = Λuᵢ = Hᵢ(gᵢ − Gᵢβ). det Mᵢ = 1 + tr(ΛᵀGᵢΛ) + (θ₁θ₃)²Dᵢ ≥ 1 is taken in closed form
(log1p), as are Mᵢ⁻¹ (the adjugate over the determinant) and everything else: a few dozen
vectorized numpy operations on arrays of length n_clusters per evaluation.

Profiled criteria (lme4's, eqs. 34 and 41 of the paper), with p = 2 fixed effects:

    ML deviance:      Σᵢ log det Mᵢ + N (1 + log(2π ρ² / N))
    REML criterion:   Σᵢ log det Mᵢ + log det S + (N − p)(1 + log(2π ρ² / (N − p)))

Gradient
--------
The criteria are differentiated with respect to the lower-triangular entries of Λ (= θ):

    ∂ Σ log det Mᵢ / ∂Λ = 2 Σᵢ GᵢΛMᵢ⁻¹
    ∂ ρ² / ∂Λ         = −2 Σᵢ Xᵢᵀeᵢ uᵢᵀ      (envelope theorem; Xᵢᵀeᵢ = gᵢ − Gᵢ(β + bᵢ))
    ∂ log det S / ∂Λ  = −2 Σᵢ (Gᵢ − GᵢHᵢGᵢ) S⁻¹ GᵢΛMᵢ⁻¹

and ∂ (k log ρ²) = k ∂ρ² / ρ².

Optimizer
---------
L-BFGS-B on the analytic gradient from lme4's start θ = (1, 0, 1) (or (1)) with lme4's bounds
(diagonal of Λ ≥ 0). Because the criterion depends on Λ only through ΛΛᵀ it is even in θ₃, so
∂/∂θ₃ vanishes on θ₃ = 0 and a gradient method can stall on that boundary at a saddle point;
similarly (0, θ₂, θ₃) ≡ (0, ±√(θ₂²+θ₃²), 0). After convergence, every diagonal element below
1e-4 is probed: points moved off the boundary (several step sizes, and the equivalent
representations for θ₁ = 0) are evaluated and, if one lowers the criterion, the optimizer
restarts from the best of them. `singular` follows lme4's rule (a diagonal θ below 1e-4).

Results
-------
σ² = ρ²/(N − p) (REML) or ρ²/N (ML); fixed-effect standard errors sqrt(diag(σ²S⁻¹)), as lme4;
Σ̂ = σ²ΛΛᵀ; scaled residuals (y − Xβ − Zb)/σ with quantiles by R's type 7.

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

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from shrinkcli.errors import DataError, FitError

Method = Literal["reml", "ml"]
Random = Literal["intercept-slope", "intercept"]
#: Columns of `Fit.clusters`, in this order.
CLUSTER_COLUMNS = (
    "cluster",
    "n",
    "ols_intercept",
    "ols_slope",
    "mixed_intercept",
    "mixed_slope",
    "ranef_intercept",
    "ranef_slope",
    "shrinkage",
    "true_intercept",
    "true_slope",
)

#: Columns of the per-cluster CSV (`Fit.to_frame`), before the truth.
TABLE_COLUMNS = (
    "cluster",
    "n",
    "ols_intercept",
    "ols_slope",
    "mixed_intercept",
    "mixed_slope",
    "shrinkage",
)


@dataclass(frozen=True)
class FixedEffect:
    """One row of lme4's fixed-effects table."""

    term: str  # "(Intercept)" or the x column's name, as lme4 prints it
    estimate: float
    std_error: float
    t_value: float


@dataclass(frozen=True)
class RandomEffects:
    """Variance components of the cluster random effects (slope fields are None without a
    random slope)."""

    intercept_var: float
    slope_var: float | None
    intercept_sd: float
    slope_sd: float | None
    corr: float | None

    def covariance(self) -> np.ndarray:
        """Σ̂, the 2×2 covariance matrix of (random intercept, random slope); zeros for the
        slope without a random slope."""
        sv = self.slope_var or 0.0
        c = (self.corr or 0.0) * self.intercept_sd * (self.slope_sd or 0.0)
        return np.array([[self.intercept_var, c], [c, sv]])


@dataclass(frozen=True)
class OptSummary:
    """How the optimizer went (after MixedModels.jl's OptSummary)."""

    optimizer: str
    evaluations: int
    converged: bool
    message: str
    theta_start: tuple[float, ...]
    theta: tuple[float, ...]
    restarts: int = 0


@dataclass(frozen=True)
class Fit:
    """Everything known about one fit: the mixed model, the by-cluster OLS fits, the truth.

    `clusters` is a data frame with `CLUSTER_COLUMNS`, one row per cluster in the order lme4
    reports them (sorted cluster levels); `ols_slope` is NaN where a cluster has no slope (one
    observation or constant x), `true_*` are NaN when the truth is unknown, `ranef_slope` and
    `mixed_slope` equal 0 / the fixed slope without a random slope.
    """

    method: Method
    random: Random
    criterion: float  # REML criterion (method "reml") or deviance (method "ml")
    loglik: float
    n_obs: int
    n_groups: int
    theta: tuple[float, ...]
    singular: bool
    converged: bool
    fixed_effects: tuple[FixedEffect, ...]
    random_effects: RandomEffects
    residual_variance: float
    residual_sd: float
    scaled_residual_quantiles: tuple[float, float, float, float, float]
    clusters: pd.DataFrame
    optimizer: OptSummary
    names: dict[str, str] = field(
        default_factory=lambda: {"y": "y", "x": "x", "cluster": "cluster"}
    )
    engine: str = "native"
    warnings: tuple[str, ...] = ()

    @property
    def beta(self) -> np.ndarray:
        """Fixed effects (intercept, slope) as an array."""
        return np.array([fe.estimate for fe in self.fixed_effects])

    @property
    def has_truth(self) -> bool:
        return bool(self.clusters["true_intercept"].notna().any())

    @property
    def sigma(self) -> float:
        """Residual standard deviation σ̂ (lme4's `sigma()`)."""
        return self.residual_sd

    def to_frame(self) -> pd.DataFrame:
        """The per-cluster table (the CSV output): `TABLE_COLUMNS`, plus the true coefficients
        when they are known; NaN where undefined. (`clusters` has every column.)"""
        cols = list(TABLE_COLUMNS)
        if self.has_truth:
            cols += ["true_intercept", "true_slope"]
        return self.clusters.loc[:, cols].copy()

    def to_dict(self) -> dict[str, Any]:
        """The whole fit as JSON-ready values, with the keys of lme4.json's `reml` object
        (NaN becomes None), plus the engine, the model and how the optimizer went."""
        re = self.random_effects
        frame = self.clusters.loc[:, list(CLUSTER_COLUMNS)]
        clusters = [
            {col: _json_value(val) for col, val in zip(CLUSTER_COLUMNS, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        opt = self.optimizer
        return {
            "method": "REML" if self.method == "reml" else "ML",
            "random": self.random,
            "engine": self.engine,
            "names": dict(self.names),
            "criterion": _json_value(self.criterion),
            "loglik": _json_value(self.loglik),
            "n_obs": int(self.n_obs),
            "n_groups": int(self.n_groups),
            "theta": [_json_value(t) for t in self.theta],
            "singular": bool(self.singular),
            "converged": bool(self.converged),
            "fixed_effects": [
                {
                    "term": fe.term,
                    "estimate": _json_value(fe.estimate),
                    "std_error": _json_value(fe.std_error),
                    "t_value": _json_value(fe.t_value),
                }
                for fe in self.fixed_effects
            ],
            "random_effects": {
                "intercept_var": _json_value(re.intercept_var),
                "slope_var": _json_value(re.slope_var),
                "intercept_sd": _json_value(re.intercept_sd),
                "slope_sd": _json_value(re.slope_sd),
                "corr": _json_value(re.corr),
            },
            "residual": {
                "variance": _json_value(self.residual_variance),
                "sd": _json_value(self.residual_sd),
            },
            "scaled_residual_quantiles": [_json_value(q) for q in self.scaled_residual_quantiles],
            "optimizer": {
                "optimizer": opt.optimizer,
                "evaluations": int(opt.evaluations),
                "converged": bool(opt.converged),
                "message": opt.message,
                "theta_start": [_json_value(t) for t in opt.theta_start],
                "theta": [_json_value(t) for t in opt.theta],
                "restarts": int(opt.restarts),
            },
            "warnings": list(self.warnings),
            "clusters": clusters,
        }


def _json_value(value: Any) -> Any:
    """A Python scalar for JSON: numpy scalars unwrapped, NaN/inf and missing as None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


#: lme4's tolerance for `isSingular()`: a diagonal element of Λ below it is on the boundary.
SINGULAR_TOL = 1e-4
#: Number of fixed effects (intercept and slope).
_P = 2
#: Step sizes tried off a boundary θ before declaring the boundary optimum genuine.
_PROBE_STEPS = (1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0, 3.0, 10.0, 100.0)
_MAX_RESTARTS = 6
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class SufficientStats:
    """Per-cluster sums (one O(N) pass) from which every evaluation is computed.

    y is centred at its overall mean `y_shift` first (only the intercept changes, and it is
    shifted back); `sxx_c`, `sxy_c` are taken around the cluster means.
    """

    n: np.ndarray  # rows per cluster (float)
    s: np.ndarray  # Σx
    q: np.ndarray  # Σx²
    t: np.ndarray  # Σy
    w: np.ndarray  # Σxy
    det_g: np.ndarray  # det XᵢᵀXᵢ = n·Σ(x − x̄ᵢ)²
    sxx_c: np.ndarray  # Σ(x − x̄ᵢ)²
    sxy_c: np.ndarray  # Σ(x − x̄ᵢ)(y − ȳᵢ)
    xtx: np.ndarray  # XᵀX, 2×2
    xty: np.ndarray  # Xᵀy, 2
    yty: float
    n_obs: int
    y_shift: float


@dataclass(frozen=True)
class ArrayFit:
    """The mixed model fitted by `fit_arrays`: light, no data frames (for Monte Carlo loops).

    `ranef` holds the conditional modes (n_groups × 2; the slope column is 0 without a random
    slope); `cov_re` is Σ̂; `scaled_residual_quantiles` is None when not asked for.
    """

    method: Method
    random: Random
    criterion: float
    loglik: float
    n_obs: int
    n_groups: int
    theta: tuple[float, ...]
    beta: np.ndarray
    std_errors: np.ndarray
    sigma2: float
    cov_re: np.ndarray
    ranef: np.ndarray
    singular: bool
    converged: bool
    optimizer: OptSummary
    scaled_residual_quantiles: tuple[float, float, float, float, float] | None

    @property
    def sigma(self) -> float:
        return math.sqrt(self.sigma2)

    @property
    def coef(self) -> np.ndarray:
        """Mixed-model coefficients per cluster: fixed effects + conditional modes."""
        return self.ranef + self.beta[None, :]


def sufficient_stats(
    y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int
) -> SufficientStats:
    """The per-cluster sums, in one O(N) pass of np.bincount (two, around the cluster means)."""
    k = int(n_groups)
    n = np.bincount(codes, minlength=k).astype(np.float64)
    if n.shape[0] != k:
        raise DataError(f"cluster codes go up to {n.shape[0] - 1}, but n_groups is {k}")
    if not np.all(n > 0):
        raise DataError("every cluster needs at least one row (a cluster code has none)")
    y_shift = float(np.mean(y))
    yc = y - y_shift
    s = np.bincount(codes, weights=x, minlength=k)
    t = np.bincount(codes, weights=yc, minlength=k)
    xbar = s / n
    ybar = t / n
    dx = x - xbar[codes]
    dy = yc - ybar[codes]
    sxx_c = np.bincount(codes, weights=dx * dx, minlength=k)
    sxy_c = np.bincount(codes, weights=dx * dy, minlength=k)
    syy_c = np.bincount(codes, weights=dy * dy, minlength=k)
    q = sxx_c + n * xbar * xbar
    w = sxy_c + n * xbar * ybar
    sum_s = float(s.sum())
    xtx = np.array([[float(n.sum()), sum_s], [sum_s, float(q.sum())]])
    xty = np.array([float(t.sum()), float(w.sum())])
    yty = float(syy_c.sum() + np.dot(n * ybar, ybar))
    return SufficientStats(
        n=n,
        s=s,
        q=q,
        t=t,
        w=w,
        det_g=n * sxx_c,
        sxx_c=sxx_c,
        sxy_c=sxy_c,
        xtx=xtx,
        xty=xty,
        yty=yty,
        n_obs=int(y.shape[0]),
        y_shift=y_shift,
    )


@dataclass
class _Solution:
    """Everything the penalized least squares gives at one θ."""

    criterion: float
    gradient: np.ndarray | None
    beta: np.ndarray
    s_inv: np.ndarray
    rho2: float
    ranef: tuple[np.ndarray, np.ndarray] | None


def _solve(
    a: float, b: float, c: float, st: SufficientStats, reml: bool, grad: bool, modes: bool
) -> _Solution:
    """Profiled criterion at Λ = [[a, 0], [b, c]] (b = c = 0: random intercept only), with its
    gradient with respect to (a, b, c) and the conditional modes when asked for."""
    n, s, q, t, w = st.n, st.s, st.q, st.t, st.w
    # A = ΛᵀGΛ, M = A + I
    gl0 = n * a + s * b  # (GΛ)₀₀
    gl1 = s * a + q * b  # (GΛ)₁₀
    a11 = a * gl0 + b * gl1
    a12 = c * gl1
    a22 = (c * c) * q
    dm1 = a11 + a22 + ((a * c) ** 2) * st.det_g  # det M − 1
    logdet_m = float(np.log1p(dm1).sum())
    inv = 1.0 / (1.0 + dm1)
    m11 = (1.0 + a22) * inv
    m12 = -a12 * inv
    m22 = (1.0 + a11) * inv
    # P = ΛM⁻¹, H = PΛᵀ
    p11 = a * m11
    p12 = a * m12
    p21 = b * m11 + c * m12
    p22 = b * m12 + c * m22
    h11 = a * p11
    h12 = b * p11 + c * p12
    h22 = b * p21 + c * p22
    # K = GH; GHG and GHg
    k11 = n * h11 + s * h12
    k12 = n * h12 + s * h22
    k21 = s * h11 + q * h12
    k22 = s * h12 + q * h22
    ghg00 = k11 * n + k12 * s
    ghg01 = k11 * s + k12 * q
    ghg11 = k21 * s + k22 * q
    s00 = st.xtx[0, 0] - float(ghg00.sum())
    s01 = st.xtx[0, 1] - float(ghg01.sum())
    s11 = st.xtx[1, 1] - float(ghg11.sum())
    r0 = st.xty[0] - float(np.dot(k11, t) + np.dot(k12, w))
    r1 = st.xty[1] - float(np.dot(k21, t) + np.dot(k22, w))
    ht0 = h11 * t + h12 * w
    ht1 = h12 * t + h22 * w
    ghg_y = float(np.dot(t, ht0) + np.dot(w, ht1))
    det_s = s00 * s11 - s01 * s01
    if not det_s > 0.0:
        raise FitError(
            "the fixed effects cannot be separated from the random effects (the cluster "
            "effects absorb the data); use more observations per cluster or fewer random effects"
        )
    i00 = s11 / det_s
    i01 = -s01 / det_s
    i11 = s00 / det_s
    beta0 = i00 * r0 + i01 * r1
    beta1 = i01 * r0 + i11 * r1
    rho2 = st.yty - ghg_y - (r0 * beta0 + r1 * beta1)
    dof = st.n_obs - _P if reml else st.n_obs
    if not rho2 > 0.0:
        rho2 = max(rho2, 0.0)
        crit = -math.inf
    else:
        crit = logdet_m + dof * (1.0 + _LOG_2PI + math.log(rho2 / dof))
        if reml:
            crit += math.log(det_s)
    gradient = None
    ranef = None
    if grad or modes:
        v0 = t - n * beta0 - s * beta1  # g − Gβ
        v1 = w - s * beta0 - q * beta1
        lv0 = a * v0 + b * v1  # Λᵀv
        lv1 = c * v1
        u0 = m11 * lv0 + m12 * lv1
        u1 = m12 * lv0 + m22 * lv1
        b0 = a * u0
        b1 = b * u0 + c * u1
        ranef = (b0, b1)
        if grad:
            e0 = v0 - n * b0 - s * b1  # Xᵀe
            e1 = v1 - s * b0 - q * b1
            scale = -2.0 * dof / rho2 if rho2 > 0.0 else 0.0
            v00 = n * p11 + s * p21  # V = GΛM⁻¹
            v10 = s * p11 + q * p21
            v11 = s * p12 + q * p22
            g = np.array(
                [
                    2.0 * float(v00.sum()) + scale * float(np.dot(e0, u0)),
                    2.0 * float(v10.sum()) + scale * float(np.dot(e1, u0)),
                    2.0 * float(v11.sum()) + scale * float(np.dot(e1, u1)),
                ]
            )
            if reml:
                v01 = n * p12 + s * p22
                wm = np.stack((n - ghg00, s - ghg01, q - ghg11))  # W = G − GHG
                vm = np.stack((v00, v01, v10, v11))
                cm = wm @ vm.T  # cm[W_jm, V_nl] = Σᵢ W_jm V_nl
                si = ((i00, i01), (i01, i11))
                widx = ((0, 1), (1, 2))
                for out, (j, col) in enumerate(((0, 0), (1, 0), (1, 1))):
                    tot = 0.0
                    for m in (0, 1):
                        for nn in (0, 1):
                            tot += si[m][nn] * cm[widx[j][m], 2 * nn + col]
                    g[out] -= 2.0 * tot
            gradient = g
    return _Solution(
        criterion=crit,
        gradient=gradient,
        beta=np.array([beta0, beta1]),
        s_inv=np.array([[i00, i01], [i01, i11]]),
        rho2=rho2,
        ranef=ranef,
    )


def _lambda(theta: np.ndarray | tuple[float, ...]) -> tuple[float, float, float]:
    if len(theta) == 1:
        return float(theta[0]), 0.0, 0.0
    return float(theta[0]), float(theta[1]), float(theta[2])


def _check_identifiable(n_obs: int, n_groups: int, random: Random) -> None:
    if n_groups < 2:
        raise FitError(f"only {n_groups} cluster: a mixed model needs at least two clusters")
    n_re = n_groups * (2 if random == "intercept-slope" else 1)
    if n_obs <= n_re:
        if random == "intercept-slope":
            raise FitError(
                f"number of observations ({n_obs}) <= number of random effects ({n_re}) for "
                f"(x | cluster): the model is not identifiable; use --random intercept or more "
                f"observations per cluster"
            )
        raise FitError(
            f"number of observations ({n_obs}) <= number of random effects ({n_re}) for "
            f"(1 | cluster): the model is not identifiable; it needs more than one observation "
            f"per cluster on average"
        )
    if random == "intercept" and n_obs <= n_groups + 1:
        # cluster intercepts and a common slope interpolate the data: the criterion is unbounded
        raise FitError(
            f"number of observations ({n_obs}) <= number of clusters + 1 ({n_groups + 1}) for "
            f"(1 | cluster): the data can be fitted exactly and the model is not identifiable"
        )


def criterion(
    theta: np.ndarray | tuple[float, ...] | list[float],
    stats: SufficientStats,
    *,
    method: Method = "reml",
) -> float:
    """lme4's profiled REML criterion (or ML deviance) at θ: 3 values (Λ₁₁, Λ₂₁, Λ₂₂) for a
    random intercept and slope, 1 for a random intercept only."""
    a, b, c = _lambda(tuple(theta))
    return _solve(a, b, c, stats, method == "reml", False, False).criterion


def _canonical(theta: np.ndarray) -> np.ndarray:
    """The representative of θ with a non-negative diagonal (lme4's bounds)."""
    theta = theta.copy()
    if theta[0] < 0.0:
        theta[0] = -theta[0]
        if theta.shape[0] == 3:
            theta[1] = -theta[1]
    if theta.shape[0] == 3 and theta[2] < 0.0:
        theta[2] = -theta[2]
    return theta


def _boundary_candidates(theta: np.ndarray) -> list[np.ndarray]:
    """Points just off the boundary (and the equivalent representations of θ₁ = 0) that a
    gradient method cannot see from a boundary saddle."""
    cands: list[np.ndarray] = []
    if theta.shape[0] == 1:
        if theta[0] < SINGULAR_TOL:
            cands += [np.array([d]) for d in _PROBE_STEPS]
        else:  # a stationary point away from the boundary: is the boundary lower?
            cands.append(np.array([0.0]))
        return cands
    a, b, c = theta
    if min(a, c) >= SINGULAR_TOL:
        r = math.hypot(b, c)
        cands += [np.array([a, b, 0.0]), np.array([0.0, 0.0, r]), np.array([0.0, 0.0, 0.0])]
    if c < SINGULAR_TOL:
        cands += [np.array([a, b, d]) for d in _PROBE_STEPS]
        cands += [np.array([a, b * (1 - f), d]) for d in _PROBE_STEPS for f in (0.5,)]
    if a < SINGULAR_TOL:
        r = math.hypot(b, c)
        for d in _PROBE_STEPS:
            cands += [
                np.array([d, r, 0.0]),
                np.array([d, -r, 0.0]),
                np.array([d, b, c]),
                np.array([d, 0.0, r]),
            ]
    return cands


def _optimize(
    st: SufficientStats, reml: bool, random: Random
) -> tuple[np.ndarray, _Solution, OptSummary]:
    """Minimise the profiled criterion from lme4's start, escaping boundary saddles."""
    from scipy.optimize import minimize

    slope = random == "intercept-slope"
    start = np.array([1.0, 0.0, 1.0]) if slope else np.array([1.0])
    # The criterion depends on Λ only through ΛΛᵀ, which is unchanged when a column of Λ changes
    # sign: (θ₁, θ₂, θ₃) ≡ (−θ₁, −θ₂, θ₃) ≡ (θ₁, θ₂, −θ₃). So lme4's bounds (diagonal ≥ 0) cost
    # nothing to drop: the search runs unbounded (a bounded search's first long step tends to land
    # on θ₃ = 0, where ∂/∂θ₃ vanishes) and the signs are folded back afterwards.
    evaluations = 0

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        a, b, c = _lambda(th)
        sol = _solve(a, b, c, st, reml, True, False)
        assert sol.gradient is not None
        if not math.isfinite(sol.criterion):
            return math.inf, np.zeros_like(th)
        return sol.criterion, sol.gradient[: th.shape[0]]

    def value(th: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        a, b, c = _lambda(th)
        return _solve(a, b, c, st, reml, False, False).criterion

    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-8 * max(1.0, st.n_obs / 1000.0)}
    theta = start
    converged = True
    messages: list[str] = []
    restarts = 0
    best_f = math.inf
    while True:
        res = minimize(fun, theta, jac=True, method="L-BFGS-B", options=options)
        theta_new = _canonical(np.asarray(res.x, dtype=float))
        f_new = float(res.fun)
        if f_new <= best_f:
            theta, best_f = theta_new, f_new
        ok = bool(res.success) or "ABNORMAL" in str(res.message).upper()
        converged = converged and ok
        messages.append(str(res.message))
        cands = _boundary_candidates(theta)
        if not cands or restarts >= _MAX_RESTARTS:
            break
        vals = [value(cand) for cand in cands]
        i = int(np.argmin(vals))
        if not vals[i] < best_f - 1e-10 * max(1.0, abs(best_f)):
            break
        theta = cands[i]
        best_f_probe = vals[i]
        restarts += 1
        if best_f_probe < best_f:
            best_f = best_f_probe
    a, b, c = _lambda(theta)
    sol = _solve(a, b, c, st, reml, False, True)
    if not math.isfinite(sol.criterion):
        raise FitError("the fit failed: the residual sum of squares is zero (y fits exactly)")
    summary = OptSummary(
        optimizer="L-BFGS-B (analytic gradient) + boundary probes",
        evaluations=evaluations,
        converged=converged,
        message="; ".join(dict.fromkeys(messages)),
        theta_start=tuple(float(v) for v in start),
        theta=tuple(float(v) for v in theta),
        restarts=restarts,
    )
    return theta, sol, summary


def _fit_stats(
    st: SufficientStats,
    y: np.ndarray | None,
    x: np.ndarray | None,
    codes: np.ndarray | None,
    n_groups: int,
    method: Method,
    random: Random,
) -> ArrayFit:
    if method not in ("reml", "ml"):
        raise FitError(f"unknown method {method!r}: use 'reml' or 'ml'")
    if random not in ("intercept-slope", "intercept"):
        raise FitError(f"unknown random effects {random!r}: use 'intercept-slope' or 'intercept'")
    _check_identifiable(st.n_obs, n_groups, random)
    reml = method == "reml"
    theta, sol, summary = _optimize(st, reml, random)
    a, b, c = _lambda(theta)
    dof = st.n_obs - _P if reml else st.n_obs
    sigma2 = sol.rho2 / dof
    beta = sol.beta.copy()
    se = np.sqrt(np.maximum(np.diag(sigma2 * sol.s_inv), 0.0))
    beta[0] += st.y_shift
    lam = np.array([[a, 0.0], [b, c]])
    cov_re = sigma2 * (lam @ lam.T)
    assert sol.ranef is not None
    ranef = np.column_stack(sol.ranef)
    quants: tuple[float, float, float, float, float] | None = None
    if y is not None and x is not None and codes is not None:
        fitted = (beta[0] + ranef[:, 0])[codes] + (beta[1] + ranef[:, 1])[codes] * x
        res = (y - fitted) / math.sqrt(sigma2)
        qv = np.quantile(res, [0.0, 0.25, 0.5, 0.75, 1.0])
        quants = (float(qv[0]), float(qv[1]), float(qv[2]), float(qv[3]), float(qv[4]))
    diag = (theta[0], theta[2]) if theta.shape[0] == 3 else (theta[0],)
    return ArrayFit(
        method=method,
        random=random,
        criterion=sol.criterion,
        loglik=-0.5 * sol.criterion,
        n_obs=st.n_obs,
        n_groups=n_groups,
        theta=tuple(float(v) for v in theta),
        beta=beta,
        std_errors=se,
        sigma2=sigma2,
        cov_re=cov_re,
        ranef=ranef,
        singular=bool(min(diag) < SINGULAR_TOL),
        converged=summary.converged,
        optimizer=summary,
        scaled_residual_quantiles=quants,
    )


def fit_arrays(
    y: np.ndarray,
    x: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    method: Method = "reml",
    random: Random = "intercept-slope",
    residual_quantiles: bool = True,
) -> ArrayFit:
    """Fit the mixed model to clean arrays: y and x finite floats, `codes` cluster indices in
    0..n_groups−1, every cluster non-empty. No checks on values beyond that, no data frames:
    the fast path for simulation loops. `residual_quantiles=False` skips the last O(N) pass."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        codes = codes.astype(np.intp)
    if not (y.shape == x.shape == codes.shape) or y.ndim != 1:
        raise DataError("y, x and codes must be 1-d arrays of the same length")
    if y.shape[0] == 0:
        raise DataError("the data set is empty")
    st = sufficient_stats(y, x, codes, n_groups)
    if residual_quantiles:
        return _fit_stats(st, y, x, codes, n_groups, method, random)
    return _fit_stats(st, None, None, None, n_groups, method, random)


def _numeric_column(data: pd.DataFrame, name: str) -> np.ndarray:
    """Column `name` as float64 (missing values as NaN); one-line DataError on anything else."""
    col = data[name]
    if col.dtype.kind in "biuf":
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        coerced = pd.to_numeric(col, errors="coerce")
        bad = coerced.isna().to_numpy() & col.notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"column '{name}' must be numeric, but row {i + 1} holds {col.iloc[i]!r}"
            )
        values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    inf = np.isinf(values)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise DataError(f"column '{name}' has an infinite value in row {i + 1}")
    return values


def _cluster_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..K−1 and the K cluster ids in lme4's level order (numbers numerically, strings
    as strings), the ids kept as given."""
    if col.dtype.kind in "biuf":
        codes, uniques = pd.factorize(col, sort=True)
        return codes, np.asarray(uniques)
    codes, uniques = pd.factorize(col, sort=False)
    ids = np.asarray(uniques, dtype=object)
    try:
        order = np.argsort(ids, kind="stable")
    except TypeError:  # mixed types: compare as strings
        order = np.argsort(np.array([str(v) for v in ids], dtype=object), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return rank[codes], ids[order]


def _line_distance(d0: np.ndarray, d1: np.ndarray, x_mean: float, x_var: float) -> np.ndarray:
    """Root-mean-square vertical distance between lines differing by (d0, d1), over x."""
    return np.sqrt((d0 + d1 * x_mean) ** 2 + d1 * d1 * x_var)


@dataclass(frozen=True)
class PreparedData:
    """Validated model data: finite float arrays, cluster codes 0..K−1 and the K cluster ids in
    lme4's level order, and the warnings raised on the way (dropped rows)."""

    y: np.ndarray
    x: np.ndarray
    codes: np.ndarray
    ids: np.ndarray
    warnings: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return int(self.ids.shape[0])


def prepare_data(
    data: pd.DataFrame,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    method: Method = "reml",
    random: Random = "intercept-slope",
) -> PreparedData:
    """Check `data` and turn it into arrays, dropping rows with missing values (lme4's na.omit).

    Raises DataError for unusable data and FitError for a model that cannot be fitted to it, each
    with a one-line message naming the column where there is one.
    """
    if method not in ("reml", "ml"):
        raise FitError(f"unknown method {method!r}: use 'reml' or 'ml'")
    if random not in ("intercept-slope", "intercept"):
        raise FitError(f"unknown random effects {random!r}: use 'intercept-slope' or 'intercept'")
    missing = [c for c in (y, x, cluster) if c not in data.columns]
    if missing:
        present = ", ".join(str(c) for c in data.columns) or "none"
        which = "column" if len(missing) == 1 else "columns"
        raise DataError(
            f"{which} {', '.join(repr(c) for c in missing)} not found; columns present: {present}"
        )
    if len(data) == 0:
        raise DataError("the data set is empty (no rows)")
    yv = _numeric_column(data, y)
    xv = _numeric_column(data, x)
    cl = data[cluster]
    keep = ~(np.isnan(yv) | np.isnan(xv) | cl.isna().to_numpy())
    warnings: list[str] = []
    n_dropped = int(keep.shape[0] - keep.sum())
    if n_dropped:
        warnings.append(
            f"dropped {n_dropped} row{'s' if n_dropped != 1 else ''} with missing values"
        )
        if n_dropped == keep.shape[0]:
            raise DataError(f"no rows left after dropping {n_dropped} rows with missing values")
        yv, xv, cl = yv[keep], xv[keep], cl[keep]
    codes, ids = _cluster_codes(cl)
    n_groups = int(ids.shape[0])
    if n_groups < 2:
        raise FitError(
            f"column '{cluster}' has a single cluster ({ids[0]!r}): a mixed model needs at least "
            f"two clusters"
        )
    if np.ptp(xv) == 0.0:
        raise DataError(f"column '{x}' is constant ({xv[0]:g}): its slope cannot be estimated")
    if np.ptp(yv) == 0.0:
        raise DataError(f"column '{y}' is constant ({yv[0]:g}): there is nothing to fit")
    _check_identifiable(int(yv.shape[0]), n_groups, random)
    return PreparedData(yv, xv, np.ascontiguousarray(codes), ids, tuple(warnings))


def clusters_frame(
    prep: PreparedData,
    st: SufficientStats,
    beta: np.ndarray,
    ranef: np.ndarray,
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The per-cluster table (`CLUSTER_COLUMNS`): by-cluster OLS (lmList), mixed coefficients
    beta + ranef, conditional modes, shrinkage (module docstring) and the truth if given."""
    n = st.n
    xbar = st.s / n
    ybar = st.t / n + st.y_shift
    has_slope = (n >= 2) & (st.sxx_c > 1e-14 * st.q) & (st.sxx_c > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ols_slope = np.where(has_slope, st.sxy_c / st.sxx_c, np.nan)
    ols_intercept = np.where(has_slope, ybar - np.nan_to_num(ols_slope) * xbar, ybar)
    mixed = ranef + beta[None, :]
    x_mean = float(np.mean(prep.x))
    x_var = float(np.var(prep.x))
    d_ols = _line_distance(ols_intercept - beta[0], ols_slope - beta[1], x_mean, x_var)
    d_mix = _line_distance(mixed[:, 0] - beta[0], mixed[:, 1] - beta[1], x_mean, x_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrinkage = np.where(d_ols > 0.0, 1.0 - d_mix / d_ols, np.nan)
    k = prep.n_groups
    true_int = np.full(k, np.nan)
    true_slope = np.full(k, np.nan)
    if truth is not None:
        true_int, true_slope = _match_truth(truth, prep.ids)
    ids = prep.ids
    return pd.DataFrame(
        {
            "cluster": ids.tolist() if ids.dtype == object else ids,
            "n": n.astype(np.int64),
            "ols_intercept": ols_intercept,
            "ols_slope": ols_slope,
            "mixed_intercept": mixed[:, 0],
            "mixed_slope": mixed[:, 1],
            "ranef_intercept": ranef[:, 0],
            "ranef_slope": ranef[:, 1],
            "shrinkage": shrinkage,
            "true_intercept": true_int,
            "true_slope": true_slope,
        },
        columns=list(CLUSTER_COLUMNS),
    )


def fit(
    data: pd.DataFrame,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    method: Method = "reml",
    random: Random = "intercept-slope",
    truth: pd.DataFrame | None = None,
) -> Fit:
    """Fit the mixed model y ~ x + (x | cluster) (or (1 | cluster)) by REML or ML, as lme4 does,
    and the by-cluster OLS regressions, to `data`.

    Rows with a missing y, x or cluster are dropped (lme4's na.omit) and counted in
    `Fit.warnings`. Raises DataError for unusable data and FitError for a model that cannot be
    fitted, each with a one-line message. `truth` (cluster, true_intercept, true_slope) fills the
    `true_*` columns.
    """
    prep = prepare_data(data, y=y, x=x, cluster=cluster, method=method, random=random)
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    res = _fit_stats(st, prep.y, prep.x, prep.codes, prep.n_groups, method, random)
    clusters = clusters_frame(prep, st, res.beta, res.ranef, truth)
    return _to_fit(
        res,
        clusters,
        names={"y": y, "x": x, "cluster": cluster},
        warnings=prep.warnings,
        x_name=x,
    )


def _match_truth(truth: pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """true_intercept and true_slope per cluster id (NaN for ids the truth does not list)."""
    need = ["cluster", "true_intercept", "true_slope"]
    missing = [c for c in need if c not in truth.columns]
    if missing:
        raise DataError(
            f"truth: column {missing[0]!r} not found; columns present: "
            f"{', '.join(str(c) for c in truth.columns)}"
        )
    t = truth.drop_duplicates("cluster").set_index("cluster")
    keys: list[Any] = ids.tolist()
    if (t.index.dtype == object) != (ids.dtype == object):
        t.index = t.index.astype(str)
        keys = [str(k) for k in keys]
    sub = t.reindex(keys)
    return (
        sub["true_intercept"].to_numpy(dtype=np.float64, na_value=np.nan),
        sub["true_slope"].to_numpy(dtype=np.float64, na_value=np.nan),
    )


def _to_fit(
    res: ArrayFit,
    clusters: pd.DataFrame,
    *,
    names: dict[str, str],
    warnings: tuple[str, ...],
    x_name: str,
    engine: str = "native",
) -> Fit:
    """The full result from the engine's light one and the per-cluster table."""
    se = res.std_errors
    fixed = tuple(
        FixedEffect(term=term, estimate=float(est), std_error=float(s), t_value=float(est / s))
        for term, est, s in zip(("(Intercept)", x_name), res.beta, se, strict=True)
    )
    cov = res.cov_re
    slope = res.random == "intercept-slope"
    iv = float(cov[0, 0])
    if slope:
        sv = float(cov[1, 1])
        denom = math.sqrt(iv * sv)
        corr = float(cov[0, 1] / denom) if denom > 0.0 else math.nan
        re = RandomEffects(iv, sv, math.sqrt(iv), math.sqrt(sv), corr)
    else:
        re = RandomEffects(iv, None, math.sqrt(iv), None, None)
    quants = res.scaled_residual_quantiles or (math.nan,) * 5
    return Fit(
        method=res.method,
        random=res.random,
        criterion=res.criterion,
        loglik=res.loglik,
        n_obs=res.n_obs,
        n_groups=res.n_groups,
        theta=res.theta,
        singular=res.singular,
        converged=res.converged,
        fixed_effects=fixed,
        random_effects=re,
        residual_variance=res.sigma2,
        residual_sd=math.sqrt(res.sigma2),
        scaled_residual_quantiles=quants,
        clusters=clusters,
        optimizer=res.optimizer,
        names=dict(names),
        engine=engine,
        warnings=warnings,
    )
