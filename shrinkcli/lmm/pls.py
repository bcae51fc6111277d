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


def solve_lambda(
    a: float, b: float, c: float, st: SufficientStats, reml: bool, grad: bool, modes: bool
) -> Solution:
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
    dof = st.n_obs - N_FIXED if reml else st.n_obs
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
    return Solution(
        criterion=crit,
        gradient=gradient,
        beta=np.array([beta0, beta1]),
        s_inv=np.array([[i00, i01], [i01, i11]]),
        rho2=rho2,
        ranef=ranef,
    )


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
