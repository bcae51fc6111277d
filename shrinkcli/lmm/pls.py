"""The penalized least squares at θ and lme4's profiled criterion as a pure function of θ.

The model and the criterion are lme4's (Bates, Mächler, Bolker & Walker 2015, "Fitting linear
mixed-effects models using lme4", JSS 67(1)); the computation exploits that there is one grouping
factor and one covariate, so that everything reduces to closed-form 2×2 algebra per cluster,
vectorized over clusters.

Model
-----
For cluster i with nᵢ rows, Xᵢ = [1, xᵢ] and Zᵢ = Xᵢ (random intercept and slope) or Zᵢ = 1
(random intercept only):

    yᵢ = Xᵢβ + Zᵢbᵢ + εᵢ,   bᵢ = Λuᵢ,   uᵢ ~ N(0, σ²I),   εᵢ ~ N(0, σ²I),

so that Var(bᵢ) = Σ = σ²ΛΛᵀ. Here Λ is always written as the 2×2 lower triangle
[[a, 0], [b, c]]; the model's `ModelSpec` says which entries θ holds: all three in lme4's order
for (x | cluster), (a, c) for the uncorrelated (x || cluster), and a alone for (1 | cluster),
where b = c = 0 make the slope's random effect vanish (Zᵢ = 1 in effect).

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
bᵢ = Λuᵢ = Hᵢ(gᵢ − Gᵢβ). det Mᵢ = 1 + tr(ΛᵀGᵢΛ) + (ac)²Dᵢ ≥ 1 is taken in closed form
(log1p), as are Mᵢ⁻¹ (the adjugate over the determinant) and everything else: a few dozen
vectorized numpy operations on arrays of length n_clusters per evaluation.

Profiled criteria (lme4's, eqs. 34 and 41 of the paper), with p = 2 fixed effects:

    ML deviance:      Σᵢ log det Mᵢ + N (1 + log(2π ρ² / N))
    REML criterion:   Σᵢ log det Mᵢ + log det S + (N − p)(1 + log(2π ρ² / (N − p)))

Gradient
--------
The criteria are differentiated with respect to the lower-triangular entries (a, b, c) of Λ;
the gradient with respect to θ is the part θ holds (`ModelSpec.theta_of`):

    ∂ Σ log det Mᵢ / ∂Λ = 2 Σᵢ GᵢΛMᵢ⁻¹
    ∂ ρ² / ∂Λ         = −2 Σᵢ Xᵢᵀeᵢ uᵢᵀ      (envelope theorem; Xᵢᵀeᵢ = gᵢ − Gᵢ(β + bᵢ))
    ∂ log det S / ∂Λ  = −2 Σᵢ (Gᵢ − GᵢHᵢGᵢ) S⁻¹ GᵢΛMᵢ⁻¹

and ∂ (k log ρ²) = k ∂ρ² / ρ².
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FitError
from ..model import N_FIXED, ModelSpec

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
    syy_c: np.ndarray  # Σ(y − ȳᵢ)²
    xtx: np.ndarray  # XᵀX, 2×2
    xty: np.ndarray  # Xᵀy, 2
    yty: float
    n_obs: int
    y_shift: float


def sufficient_stats(
    y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int
) -> SufficientStats:
    """The per-cluster sums, in one O(N) pass of np.bincount (two, around the cluster means), of
    prepared data (`prepare.py`: codes in 0..n_groups−1, no cluster empty)."""
    k = int(n_groups)
    n = np.bincount(codes, minlength=k).astype(np.float64)
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
        syy_c=syy_c,
        xtx=xtx,
        xty=xty,
        yty=yty,
        n_obs=int(y.shape[0]),
        y_shift=y_shift,
    )


@dataclass
class Solution:
    """Everything the penalized least squares gives at one θ."""

    criterion: float
    gradient: np.ndarray | None
    beta: np.ndarray
    s_inv: np.ndarray
    rho2: float
    ranef: tuple[np.ndarray, np.ndarray] | None


@dataclass
class ClusterBlocks:
    """The per-cluster 2×2 blocks at Λ = [[a, 0], [b, c]] (module docstring), elementwise: with
    a, b, c numbers and the sums (K,) arrays for one data set, or with a, b, c (R, 1) columns
    and the sums (R, K) arrays for R data sets at once (`batch.py`)."""

    log_det_m: np.ndarray  # log det Mᵢ
    m11: np.ndarray  # M⁻¹ (symmetric)
    m12: np.ndarray
    m22: np.ndarray
    p11: np.ndarray  # P = ΛM⁻¹
    p12: np.ndarray
    p21: np.ndarray
    p22: np.ndarray
    h11: np.ndarray  # H = ΛM⁻¹Λᵀ (symmetric)
    h12: np.ndarray
    h22: np.ndarray
    k11: np.ndarray  # K = GH
    k12: np.ndarray
    k21: np.ndarray
    k22: np.ndarray
    ghg00: np.ndarray  # GHG (symmetric)
    ghg01: np.ndarray
    ghg11: np.ndarray


def cluster_blocks(
    a: Any, b: Any, c: Any, n: np.ndarray, s: np.ndarray, q: np.ndarray, det_g: np.ndarray
) -> ClusterBlocks:
    """Mᵢ⁻¹, Pᵢ, Hᵢ, Kᵢ and GᵢHᵢGᵢ of every cluster from its sums n, s = Σx, q = Σx² and
    det Gᵢ = nq − s²."""
    # A = ΛᵀGΛ, M = A + I
    gl0 = n * a + s * b  # (GΛ)₀₀
    gl1 = s * a + q * b  # (GΛ)₁₀
    a11 = a * gl0 + b * gl1
    a12 = c * gl1
    a22 = (c * c) * q
    dm1 = a11 + a22 + ((a * c) ** 2) * det_g  # det M − 1
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
    # K = GH; GHG
    k11 = n * h11 + s * h12
    k12 = n * h12 + s * h22
    k21 = s * h11 + q * h12
    k22 = s * h12 + q * h22
    return ClusterBlocks(
        np.log1p(dm1), m11, m12, m22, p11, p12, p21, p22, h11, h12, h22, k11, k12, k21, k22,
        k11 * n + k12 * s, k11 * s + k12 * q, k21 * s + k22 * q,
    )


@dataclass
class _Blocks(ClusterBlocks):
    """The per-cluster blocks at one Λ and the fixed-effects system they give."""

    logdet_m: float
    s00: float  # S = XᵀX − Σ GHG
    s01: float
    s11: float
    r0: float  # r = Xᵀy − Σ GHg
    r1: float
    ghg_y: float  # Σ gᵀHg
    det_s: float


def _blocks(a: float, b: float, c: float, st: SufficientStats) -> _Blocks:
    """Mᵢ, Hᵢ and the fixed-effects system S β = r at Λ = [[a, 0], [b, c]] (module docstring)."""
    t, w = st.t, st.w
    cb = cluster_blocks(a, b, c, st.n, st.s, st.q, st.det_g)
    s00 = st.xtx[0, 0] - float(cb.ghg00.sum())
    s01 = st.xtx[0, 1] - float(cb.ghg01.sum())
    s11 = st.xtx[1, 1] - float(cb.ghg11.sum())
    # GHg
    r0 = st.xty[0] - float(np.dot(cb.k11, t) + np.dot(cb.k12, w))
    r1 = st.xty[1] - float(np.dot(cb.k21, t) + np.dot(cb.k22, w))
    ht0 = cb.h11 * t + cb.h12 * w
    ht1 = cb.h12 * t + cb.h22 * w
    ghg_y = float(np.dot(t, ht0) + np.dot(w, ht1))
    det_s = s00 * s11 - s01 * s01
    if not det_s > 0.0:
        raise FitError(
            "the fixed effects cannot be separated from the random effects (the cluster "
            "effects absorb the data); use more observations per cluster or fewer random effects"
        )
    return _Blocks(**vars(cb), logdet_m=float(cb.log_det_m.sum()), s00=s00, s01=s01, s11=s11,
                   r0=r0, r1=r1, ghg_y=ghg_y, det_s=det_s)


def solve_lambda(
    a: float, b: float, c: float, st: SufficientStats, reml: bool, grad: bool, modes: bool
) -> Solution:
    """Profiled criterion at Λ = [[a, 0], [b, c]] (b = c = 0: random intercept only), with its
    gradient with respect to (a, b, c) and the conditional modes when asked for."""
    n, s, q, t, w = st.n, st.s, st.q, st.t, st.w
    bl = _blocks(a, b, c, st)
    m11, m12, m22 = bl.m11, bl.m12, bl.m22
    s00, s01, s11, det_s = bl.s00, bl.s01, bl.s11, bl.det_s
    r0, r1 = bl.r0, bl.r1
    i00 = s11 / det_s
    i01 = -s01 / det_s
    i11 = s00 / det_s
    beta0 = i00 * r0 + i01 * r1
    beta1 = i01 * r0 + i11 * r1
    rho2 = st.yty - bl.ghg_y - (r0 * beta0 + r1 * beta1)
    dof = st.n_obs - N_FIXED if reml else st.n_obs
    if not rho2 > 0.0:
        rho2 = max(rho2, 0.0)
        crit = -math.inf
    else:
        crit = bl.logdet_m + dof * (1.0 + _LOG_2PI + math.log(rho2 / dof))
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
            p11, p12, p21, p22 = bl.p11, bl.p12, bl.p21, bl.p22
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
                wm = np.stack((n - bl.ghg00, s - bl.ghg01, q - bl.ghg11))  # W = G − GHG
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
    return Solution(
        criterion=crit,
        gradient=gradient,
        beta=np.array([beta0, beta1]),
        s_inv=np.array([[i00, i01], [i01, i11]]),
        rho2=rho2,
        ranef=ranef,
    )


@dataclass(frozen=True)
class PenalizedResiduals:
    """The pieces of lme4's deviance at one Λ and a β (`penalized_residuals`): log det of the
    Mᵢ, the penalized residual sum of squares r²(θ, β) = ‖y − Xβ − ZΛu‖² + ‖u‖² minimised over
    u, and their gradients with respect to Λ's (a, b, c)."""

    logdet_m: float
    logdet_gradient: np.ndarray
    pwrss: float
    pwrss_gradient: np.ndarray
    beta: np.ndarray  # the β used (on the centred y: the intercept without `y_shift`)


def penalized_residuals(
    a: float, b: float, c: float, st: SufficientStats, fixed: tuple[int, float] | None = None
) -> PenalizedResiduals:
    """r²(θ, β) at β = β̂(θ), or with β's component j fixed at v (`fixed` = (j, v), on the
    centred y) and the other re-solved; with log det M and both gradients in (a, b, c).

    Since r²(θ, β) = ρ²(θ) + (β − β̂)ᵀS(β − β̂), fixing β_j and minimising over the other
    component adds (v − β̂_j)² / (S⁻¹)_jj; the gradients follow from the envelope theorem
    (u and the free β component are at their minimum): ∂r²/∂Λ = −2 Σᵢ Xᵢᵀeᵢuᵢᵀ at that β.
    ML deviances follow: logdet + r²/σ² + N log(2πσ²), or with σ² = r²/N profiled out,
    logdet + N(1 + log(2π r²/N)). Used by profiling (`profile.py`).
    """
    n, s, q, t, w = st.n, st.s, st.q, st.t, st.w
    bl = _blocks(a, b, c, st)
    det_s = bl.det_s
    si = np.array([[bl.s11 / det_s, -bl.s01 / det_s], [-bl.s01 / det_s, bl.s00 / det_s]])
    beta_hat = si @ np.array([bl.r0, bl.r1])
    rho2 = st.yty - bl.ghg_y - float(bl.r0 * beta_hat[0] + bl.r1 * beta_hat[1])
    beta = beta_hat.copy()
    r2 = rho2
    if fixed is not None:
        j, v = fixed
        k = 1 - j
        beta[j] = v
        beta[k] = beta_hat[k] + si[k, j] / si[j, j] * (v - beta_hat[j])
        r2 = rho2 + (v - beta_hat[j]) ** 2 / si[j, j]
    beta0, beta1 = float(beta[0]), float(beta[1])
    v0 = t - n * beta0 - s * beta1  # g − Gβ
    v1 = w - s * beta0 - q * beta1
    lv0 = a * v0 + b * v1  # Λᵀv
    lv1 = c * v1
    u0 = bl.m11 * lv0 + bl.m12 * lv1
    u1 = bl.m12 * lv0 + bl.m22 * lv1
    b0 = a * u0
    b1 = b * u0 + c * u1
    e0 = v0 - n * b0 - s * b1  # Xᵀe
    e1 = v1 - s * b0 - q * b1
    v00 = n * bl.p11 + s * bl.p21  # V = GΛM⁻¹
    v10 = s * bl.p11 + q * bl.p21
    v11 = s * bl.p12 + q * bl.p22
    return PenalizedResiduals(
        logdet_m=bl.logdet_m,
        logdet_gradient=2.0 * np.array([float(v00.sum()), float(v10.sum()), float(v11.sum())]),
        pwrss=float(r2),
        pwrss_gradient=-2.0
        * np.array([float(np.dot(e0, u0)), float(np.dot(e1, u0)), float(np.dot(e1, u1))]),
        beta=beta,
    )


def conditional_blocks(
    theta: Any, stats: SufficientStats, model: ModelSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hᵢ = ΛMᵢ⁻¹Λᵀ per cluster, as its entries (h11, h12, h22): σ²Hᵢ is the conditional
    covariance of cluster i's random effects given the data at θ and β̂ (lme4's condVar)."""
    a, b, c = model.lambda_entries(theta)
    bl = _blocks(a, b, c, stats)
    return bl.h11, bl.h12, bl.h22


def solve(
    theta: Any, stats: SufficientStats, model: ModelSpec, *, grad: bool = False, modes: bool = False
) -> Solution:
    """The penalized least squares at θ for `model`: criterion, β, and on request the gradient
    with respect to θ and the conditional modes."""
    a, b, c = model.lambda_entries(theta)
    sol = solve_lambda(a, b, c, stats, model.reml, grad, modes)
    if sol.gradient is not None:
        sol.gradient = model.theta_of(sol.gradient)
    return sol


def criterion(theta: Any, stats: SufficientStats, model: ModelSpec | None = None) -> float:
    """lme4's profiled REML criterion (or ML deviance, by `model.method`) at θ."""
    spec = model if model is not None else ModelSpec()
    return solve(theta, stats, spec).criterion
