"""The penalized least squares at θ and lme4's profiled criterion as a pure function of θ.

The model and the criterion are lme4's (Bates, Mächler, Bolker & Walker 2015, "Fitting linear
mixed-effects models using lme4", JSS 67(1)); the computation exploits that there is one grouping
factor and one covariate, so that everything reduces to closed-form 2×2 algebra per cluster,
vectorized over clusters. Every quantity is formed as a sum of non-negative terms or in
coordinates where x is centred, so that a covariate far from 0 (years, incomes: x̄ ≫ sd(x)) costs
no accuracy.

Model
-----
For cluster i with nᵢ rows, Xᵢ = [1, xᵢ] and Zᵢ = Xᵢ (random intercept and slope) or Zᵢ = 1
(random intercept only):

    yᵢ = Xᵢβ + Zᵢbᵢ + εᵢ,   bᵢ = Λuᵢ,   uᵢ ~ N(0, σ²I),   εᵢ ~ N(0, σ²I),

so that Var(bᵢ) = σ²ΛΛᵀ. Here Λ is always written as the 2×2 lower triangle
[[a, 0], [b, c]]; the model's `ModelSpec` says which entries θ holds: all three in lme4's order
for (x | cluster), (a, c) for the uncorrelated (x || cluster), and a alone for (1 | cluster),
where b = c = 0 make the slope's random effect vanish (ZᵢΛ = XᵢΛ = [a, 0]).

Sufficient statistics
---------------------
One O(N) pass (np.bincount with weights) gives, per cluster, nᵢ, the sums s = Σx, q = Σx²,
t = Σy, w = Σxy, and the sums around the cluster means Sxx = Σ(x − x̄ᵢ)², Sxy, Syy (two-pass);
y is centred at its overall mean first (only the intercept changes; it is shifted back) and
x̄ᵢ − m is kept around the overall mean m of x (`x_centre`). Dᵢ = det Gᵢ = nᵢSxxᵢ, with
Gᵢ = XᵢᵀXᵢ.

Centred coordinates
-------------------
With x' = x − m, X = X'T for T = [[1, m], [0, 1]], so Xβ = X'β' and ZΛu = X'Lu for β' = Tβ and
L = TΛ = [[a + mb, mc], [b, c]] (a full 2×2 matrix: for (x || cluster) it is not diagonal, and the
model is not the same as the one fitted to centred data; for (x | cluster) and (1 | cluster) it
is an equivalent parametrisation). Since det T = 1, the criterion below is the same number in
both coordinates; it is evaluated in the centred ones, where Gᵢ = nᵢ(1, x̄ᵢ)(1, x̄ᵢ)ᵀ + Sxxᵢe₂e₂ᵀ
(x̄ᵢ now centred) has no large entries, and β = T⁻¹β', Cov(β) = T⁻¹Cov(β')T⁻ᵀ are mapped back.
Below, every formula is in the centred coordinates, with Σ = LLᵀ (σ² factored out) and
adj(A) = tr(A)I − A the 2×2 adjugate.

Penalized least squares
-----------------------
For fixed θ, (β, u) minimise ‖y − Xβ − ZLu‖² + ‖u‖²; its minimum over u at a given β is the
generalized residual sum of squares Σᵢ eᵢᵀVᵢ⁻¹eᵢ, eᵢ = yᵢ − Xᵢβ, Vᵢ = I + XᵢΣXᵢᵀ. With

    Mᵢ = LᵀGᵢL + I,   det Mᵢ = det(I + GᵢΣ) = 1 + tr(GᵢΣ) + Dᵢ det Σ   (det Σ = (ac)²),

(tr(GᵢΣ) = Σⱼ nᵢ(L₀ⱼ + x̄ᵢL₁ⱼ)² + SxxᵢL₁ⱼ², non-negative terms), Woodbury and the 2×2 adjugate give
the fixed-effects information of a cluster as a sum of positive semi-definite terms,

    Wᵢ = XᵢᵀVᵢ⁻¹Xᵢ = Gᵢ(I + ΣGᵢ)⁻¹ = (Gᵢ + Dᵢ adj(Σ)) / det Mᵢ,

and S = Σᵢ Wᵢ = RₓᵀRₓ (lme4's). Its determinant, with ωᵢ = 1/det Mᵢ, is again a sum of
non-negative terms: det(A + δ adj Σ) = det A + δ tr(AΣ) + δ² det Σ for A = Σᵢ ωᵢGᵢ, δ = Σᵢ ωᵢDᵢ, and
det A = Nω (Σᵢ ωᵢSxxᵢ + Σᵢ ωᵢnᵢ(x̄ᵢ − x̄ω)²) with Nω = Σᵢ ωᵢnᵢ, x̄ω = Σᵢ ωᵢnᵢx̄ᵢ / Nω. The normal
equations S β = r have

    r = Σᵢ XᵢᵀVᵢ⁻¹yᵢ = Σᵢ (gᵢ + adj(Σ) adj(Gᵢ) gᵢ) / det Mᵢ,   gᵢ = Xᵢᵀyᵢ,

with adj(Gᵢ)gᵢ = Dᵢĉᵢ = (Sxxᵢtᵢ − nᵢx̄ᵢSxyᵢ, nᵢSxyᵢ) (ĉᵢ the cluster's OLS coefficients; 0 when
Dᵢ = 0). At any β, with vᵢ = Gᵢ(ĉᵢ − β) = Xᵢᵀeᵢ, i.e. v₀ = tᵢ − nᵢ(β₀ + x̄ᵢβ₁), ρ₁ = Sxyᵢ − Sxxᵢβ₁,
v₁ = x̄ᵢv₀ + ρ₁, and Dᵢ(ĉᵢ − β) = adj(Gᵢ)vᵢ = (Sxxᵢv₀ − nᵢx̄ᵢρ₁, nᵢρ₁):

    zᵢ = XᵢᵀVᵢ⁻¹eᵢ = (vᵢ + adj(Σ) adj(Gᵢ)vᵢ) / det Mᵢ,
    eᵢᵀVᵢ⁻¹eᵢ = RSSᵢ + (ĉᵢ − β)ᵀWᵢ(ĉᵢ − β)
             = RSSᵢ + (v₀²/nᵢ + ρ₁²/Sxxᵢ + ‖adj(L) adj(Gᵢ)vᵢ‖²/Dᵢ) / det Mᵢ

(the last two terms only where Dᵢ > 0; RSSᵢ = Syyᵢ − Sxyᵢ²/Sxxᵢ, or Syyᵢ, is the cluster's own
OLS residual sum of squares). The minimum over β is the PWRSS ρ², a sum of non-negative terms,
where the textbook yᵀy − Σ gᵀHg − rᵀβ cancels most of its digits when x̄ is far from 0. The
conditional modes are uᵢ = Lᵀzᵢ (and bᵢ = Λuᵢ in the original coordinates: Mᵢ and uᵢ do not
depend on the coordinates).

Profiled criteria (lme4's, eqs. 34 and 41 of the paper), with p = 2 fixed effects:

    ML deviance:      Σᵢ log det Mᵢ + N (1 + log(2π ρ² / N))
    REML criterion:   Σᵢ log det Mᵢ + log det S + (N − p)(1 + log(2π ρ² / (N − p)))

Gradient
--------
With respect to the full L (d log det M = tr(M⁻¹dM), dVᵢ⁻¹ = −Vᵢ⁻¹ dVᵢ Vᵢ⁻¹ and the push-through
identity GᵢLMᵢ⁻¹ = WᵢL):

    ∂ Σ log det Mᵢ / ∂L = 2 Σᵢ GᵢLMᵢ⁻¹ = 2 S L
    ∂ ρ² / ∂L         = −2 Σᵢ zᵢzᵢᵀ L            (envelope theorem: β at its minimum)
    ∂ log det S / ∂L  = −2 Σᵢ Wᵢ S⁻¹ Wᵢ L

and ∂ (k log ρ²) = k ∂ρ² / ρ². Back to Λ = T⁻¹L: ∂f/∂Λ = Tᵀ ∂f/∂L, of which the gradient
with respect to θ is the part θ holds (`ModelSpec.theta_of`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FitError
from ..model import N_FIXED, ModelSpec

#: log 2π, of the Gaussian likelihood in the criterion (here and in `batch.py`).
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class SufficientStats:
    """Per-cluster sums (one O(N) pass) from which every evaluation is computed.

    y is centred at its overall mean `y_shift` first (only the intercept changes, and it is
    shifted back); `sxx_c`, `sxy_c` are taken around the cluster means, and `xbar_c` holds the
    cluster means of x around its overall mean `x_centre` (the centred coordinates).
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
    x_centre: float = 0.0  # m, the overall mean of x
    xbar_c: np.ndarray | None = None  # x̄ᵢ − m (None: s/n, i.e. m = 0)


def sufficient_stats(
    y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int
) -> SufficientStats:
    """The per-cluster sums, in one O(N) pass of np.bincount (two, around the cluster means), of
    prepared data (`prepare.py`: codes in 0..n_groups−1, no cluster empty)."""
    k = int(n_groups)
    n = np.bincount(codes, minlength=k).astype(np.float64)
    y_shift = float(np.mean(y))
    yc = y - y_shift
    x_centre = float(np.mean(x))
    xc = x - x_centre
    s = np.bincount(codes, weights=x, minlength=k)
    t = np.bincount(codes, weights=yc, minlength=k)
    xbar_c = np.bincount(codes, weights=xc, minlength=k) / n
    xbar = s / n
    ybar = t / n
    dx = xc - xbar_c[codes]  # around the cluster means without forming x̄ᵢ from large x
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
        x_centre=x_centre,
        xbar_c=xbar_c,
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
    # Hᵢ = ΛMᵢ⁻¹Λᵀ per cluster as (h11, h12, h22), where computed with the solution
    conditional: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


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
        np.log1p(dm1),
        m11,
        m12,
        m22,
        p11,
        p12,
        p21,
        p22,
        h11,
        h12,
        h22,
        k11,
        k12,
        k21,
        k22,
        k11 * n + k12 * s,
        k11 * s + k12 * q,
        k21 * s + k22 * q,
    )


@dataclass
class _Evaluation:
    """The penalized least squares at one Λ in the centred coordinates (module docstring):
    L = TΛ, per-cluster det Mᵢ and Wᵢ, S with its determinant and inverse, and β' = S⁻¹r."""

    lam: tuple[float, float, float, float]  # L = [[l00, l01], [l10, l11]]
    sig: tuple[float, float, float]  # Σ = LLᵀ: (Σ00, Σ01, Σ11)
    a00: np.ndarray  # A = LᵀGL per cluster
    a01: np.ndarray
    a11: np.ndarray
    det_m: np.ndarray
    logdet_m: float
    w00: np.ndarray  # W = (G + D adj Σ) / det M
    w01: np.ndarray
    w11: np.ndarray
    s_mat: np.ndarray  # S = Σ W, 2×2
    det_s: float
    s_inv: np.ndarray  # S⁻¹, 2×2
    beta: np.ndarray  # β' = S⁻¹ r


def _xbar(st: SufficientStats) -> np.ndarray:
    """The cluster means of x in the centred coordinates."""
    return st.xbar_c if st.xbar_c is not None else st.s / st.n


def _evaluate(a: float, b: float, c: float, st: SufficientStats) -> _Evaluation:
    """det Mᵢ, Wᵢ, S, det S and β' at Λ = [[a, 0], [b, c]], in the centred coordinates."""
    m = st.x_centre
    n, sxx, sxy, t, d = st.n, st.sxx_c, st.sxy_c, st.t, st.det_g
    xb = _xbar(st)
    l00, l01, l10, l11 = a + m * b, m * c, b, c
    det_sig = (a * c) ** 2
    sig00 = l00 * l00 + l01 * l01
    sig01 = l00 * l10 + l01 * l11
    sig11 = l10 * l10 + l11 * l11
    f0 = l00 + xb * l10  # (1, x̄ᵢ)·L's columns
    f1 = l01 + xb * l11
    a00 = n * f0 * f0 + sxx * (l10 * l10)
    a01 = n * f0 * f1 + sxx * (l10 * l11)
    a11 = n * f1 * f1 + sxx * (l11 * l11)
    tr_gs = a00 + a11  # tr(GΣ) = tr(LᵀGL)
    dm1 = tr_gs + d * det_sig
    om = 1.0 / (1.0 + dm1)
    w00 = (n + d * sig11) * om
    w01 = (n * xb - d * sig01) * om
    w11 = (sxx + n * xb * xb + d * sig00) * om
    s00, s01, s11 = float(w00.sum()), float(w01.sum()), float(w11.sum())
    nw = float(np.dot(om, n))
    delta = float(np.dot(om, d))
    det_s = 0.0
    if nw > 0.0:
        xw = float(np.dot(om * n, xb)) / nw
        det_a = nw * (float(np.dot(om, sxx)) + float(np.dot(om * n, (xb - xw) ** 2)))
        det_s = det_a + delta * float(np.dot(om, tr_gs)) + delta * delta * det_sig
    if not det_s > 0.0:
        raise FitError(
            "the fixed effects cannot be separated from the random effects (the cluster "
            "effects absorb the data); use more observations per cluster or fewer random effects"
        )
    # r = Σ (g + adj(Σ) adj(G) g) / det M
    g1 = sxy + xb * t
    dc0 = sxx * t - n * xb * sxy
    dc1 = n * sxy
    r0 = float(np.dot(om, t + sig11 * dc0 - sig01 * dc1))
    r1 = float(np.dot(om, g1 - sig01 * dc0 + sig00 * dc1))
    s_inv = np.array([[s11, -s01], [-s01, s00]]) / det_s
    beta = s_inv @ np.array([r0, r1])
    return _Evaluation(
        lam=(l00, l01, l10, l11),
        sig=(sig00, sig01, sig11),
        a00=a00,
        a01=a01,
        a11=a11,
        det_m=1.0 + dm1,
        logdet_m=float(np.log1p(dm1).sum()),
        w00=w00,
        w01=w01,
        w11=w11,
        s_mat=np.array([[s00, s01], [s01, s11]]),
        det_s=det_s,
        s_inv=s_inv,
        beta=beta,
    )


@dataclass
class _Residuals:
    """At a β' (centred coordinates): zᵢ = XᵢᵀVᵢ⁻¹eᵢ per cluster and r²(θ, β) = Σ eᵢᵀVᵢ⁻¹eᵢ."""

    z0: np.ndarray
    z1: np.ndarray
    r2: float


def _residuals(ev: _Evaluation, st: SufficientStats, beta: np.ndarray) -> _Residuals:
    """zᵢ and the generalized residual sum of squares at β' (module docstring), from sums of
    non-negative terms."""
    n, sxx, sxy, syy, t, d = st.n, st.sxx_c, st.sxy_c, st.syy_c, st.t, st.det_g
    xb = _xbar(st)
    l00, l01, l10, l11 = ev.lam
    sig00, sig01, sig11 = ev.sig
    b0, b1 = float(beta[0]), float(beta[1])
    v0 = t - n * (b0 + xb * b1)
    rho1 = sxy - sxx * b1
    v1 = xb * v0 + rho1
    dd0 = sxx * v0 - n * xb * rho1  # adj(G) v = D (ĉ − β)
    dd1 = n * rho1
    z0 = (v0 + sig11 * dd0 - sig01 * dd1) / ev.det_m
    z1 = (v1 - sig01 * dd0 + sig00 * dd1) / ev.det_m
    own = sxx > 0.0
    sxx_safe = np.where(own, sxx, 1.0)
    d_safe = np.where(own, d, 1.0)
    rss = np.where(own, np.maximum(syy - sxy * sxy / sxx_safe, 0.0), syy)
    e0 = l11 * dd0 - l01 * dd1  # adj(L) D(ĉ − β)
    e1 = l00 * dd1 - l10 * dd0
    between = v0 * v0 / n + np.where(
        own, rho1 * rho1 / sxx_safe + (e0 * e0 + e1 * e1) / d_safe, 0.0
    )
    r2 = float(rss.sum()) + float(np.dot(between, 1.0 / ev.det_m))
    return _Residuals(z0, z1, r2)


def _times_l(mat: tuple[float, float, float], lam: tuple[float, float, float, float]) -> np.ndarray:
    """A symmetric 2×2 matrix (m00, m01, m11) times L, as a 2×2 array."""
    m00, m01, m11 = mat
    l00, l01, l10, l11 = lam
    return np.array(
        [
            [m00 * l00 + m01 * l10, m00 * l01 + m01 * l11],
            [m01 * l00 + m11 * l10, m01 * l01 + m11 * l11],
        ]
    )


def _to_abc(grad_l: np.ndarray, m: float) -> np.ndarray:
    """∂f/∂(a, b, c) of Λ from ∂f/∂L, L = TΛ: the lower triangle of Tᵀ ∂f/∂L."""
    return np.array(
        [grad_l[0, 0], m * grad_l[0, 0] + grad_l[1, 0], m * grad_l[0, 1] + grad_l[1, 1]]
    )


def _zz(res: _Residuals) -> tuple[float, float, float]:
    """Σᵢ zᵢzᵢᵀ as (00, 01, 11)."""
    return (
        float(np.dot(res.z0, res.z0)),
        float(np.dot(res.z0, res.z1)),
        float(np.dot(res.z1, res.z1)),
    )


def _raw_beta(beta_c: np.ndarray, m: float) -> np.ndarray:
    """β = T⁻¹β' (the intercept back at x = 0)."""
    return np.array([float(beta_c[0]) - m * float(beta_c[1]), float(beta_c[1])])


def _raw_cov(cov: np.ndarray, m: float) -> np.ndarray:
    """T⁻¹ C T⁻ᵀ for a symmetric 2×2 C in the centred coordinates."""
    c00, c01, c11 = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    return np.array([[c00 - 2.0 * m * c01 + m * m * c11, c01 - m * c11], [c01 - m * c11, c11]])


def _modes(
    a: float, b: float, c: float, ev: _Evaluation, res: _Residuals
) -> tuple[np.ndarray, np.ndarray]:
    """bᵢ = Λuᵢ with uᵢ = Lᵀzᵢ (uᵢ, unlike bᵢ's entries, is the same in both coordinates)."""
    l00, l01, l10, l11 = ev.lam
    u0 = l00 * res.z0 + l10 * res.z1
    u1 = l01 * res.z0 + l11 * res.z1
    return a * u0, b * u0 + c * u1


def solve_lambda(
    a: float, b: float, c: float, st: SufficientStats, reml: bool, grad: bool, modes: bool
) -> Solution:
    """Profiled criterion at Λ = [[a, 0], [b, c]] (b = c = 0: random intercept only), with its
    gradient with respect to (a, b, c) and the conditional modes when asked for."""
    ev = _evaluate(a, b, c, st)
    res = _residuals(ev, st, ev.beta)
    rho2 = res.r2
    dof = st.n_obs - N_FIXED if reml else st.n_obs
    if not rho2 > 0.0:
        rho2 = max(rho2, 0.0)
        crit = -math.inf
    else:
        crit = ev.logdet_m + dof * (1.0 + LOG_2PI + math.log(rho2 / dof))
        if reml:
            crit += math.log(ev.det_s)
    gradient = None
    if grad:
        sm = ev.s_mat
        scale = dof / rho2 if rho2 > 0.0 else 0.0
        zz = _zz(res)
        total = (
            float(sm[0, 0]) - scale * zz[0],
            float(sm[0, 1]) - scale * zz[1],
            float(sm[1, 1]) - scale * zz[2],
        )
        if reml:  # − Σ W S⁻¹ W
            si = ev.s_inv
            p00 = ev.w00 * si[0, 0] + ev.w01 * si[0, 1]
            p01 = ev.w00 * si[0, 1] + ev.w01 * si[1, 1]
            p10 = ev.w01 * si[0, 0] + ev.w11 * si[0, 1]
            p11 = ev.w01 * si[0, 1] + ev.w11 * si[1, 1]
            total = (
                total[0] - float(np.dot(p00, ev.w00) + np.dot(p01, ev.w01)),
                total[1] - float(np.dot(p00, ev.w01) + np.dot(p01, ev.w11)),
                total[2] - float(np.dot(p10, ev.w01) + np.dot(p11, ev.w11)),
            )
        gradient = _to_abc(2.0 * _times_l(total, ev.lam), st.x_centre)
    return Solution(
        criterion=crit,
        gradient=gradient,
        beta=_raw_beta(ev.beta, st.x_centre),
        s_inv=_raw_cov(ev.s_inv, st.x_centre),
        rho2=rho2,
        ranef=_modes(a, b, c, ev, res) if (grad or modes) else None,
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
    component moves it by (S⁻¹)_kj / (S⁻¹)_jj (v − β̂_j); r² is then evaluated at that β as
    Σᵢ eᵢᵀVᵢ⁻¹eᵢ (module docstring) and the gradients follow from the envelope theorem (u and
    the free β component are at their minimum): ∂r²/∂L = −2 Σᵢ zᵢzᵢᵀL at that β.
    ML deviances follow: logdet + r²/σ² + N log(2πσ²), or with σ² = r²/N profiled out,
    logdet + N(1 + log(2π r²/N)). Used by profiling (`profile.py`).
    """
    m = st.x_centre
    ev = _evaluate(a, b, c, st)
    si = _raw_cov(ev.s_inv, m)
    beta_hat = _raw_beta(ev.beta, m)
    beta = beta_hat.copy()
    if fixed is not None:
        j, v = fixed
        k = 1 - j
        beta[j] = v
        beta[k] = beta_hat[k] + si[k, j] / si[j, j] * (v - beta_hat[j])
    res = _residuals(ev, st, np.array([beta[0] + m * beta[1], beta[1]]))
    sm = ev.s_mat
    zz = _zz(res)
    return PenalizedResiduals(
        logdet_m=ev.logdet_m,
        logdet_gradient=_to_abc(
            2.0 * _times_l((float(sm[0, 0]), float(sm[0, 1]), float(sm[1, 1])), ev.lam), m
        ),
        pwrss=res.r2,
        pwrss_gradient=_to_abc(-2.0 * _times_l(zz, ev.lam), m),
        beta=beta,
    )


def conditional_blocks(
    theta: Any, stats: SufficientStats, spec: ModelSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hᵢ = ΛMᵢ⁻¹Λᵀ per cluster, as its entries (h11, h12, h22): σ²Hᵢ is the conditional
    covariance of cluster i's random effects given the data at θ and β̂ (lme4's condVar).
    Mᵢ is the same in both coordinates; Mᵢ⁻¹ = adj(Mᵢ)/det Mᵢ."""
    a, b, c = spec.lambda_entries(theta)
    ev = _evaluate(a, b, c, stats)
    m11 = (1.0 + ev.a11) / ev.det_m
    m12 = -ev.a01 / ev.det_m
    m22 = (1.0 + ev.a00) / ev.det_m
    p21 = b * m11 + c * m12
    p22 = b * m12 + c * m22
    return a * a * m11, a * p21, b * p21 + c * p22


def solve(
    theta: Any, stats: SufficientStats, spec: ModelSpec, *, grad: bool = False, modes: bool = False
) -> Solution:
    """The penalized least squares at θ for `spec`: criterion, β, and on request the gradient
    with respect to θ and the conditional modes."""
    a, b, c = spec.lambda_entries(theta)
    sol = solve_lambda(a, b, c, stats, spec.reml, grad, modes)
    if sol.gradient is not None:
        sol.gradient = spec.theta_of(sol.gradient)
    return sol


def criterion(theta: Any, stats: SufficientStats, spec: ModelSpec | None = None) -> float:
    """lme4's profiled REML criterion (or ML deviance, by `spec.method`) at θ."""
    spec = spec if spec is not None else ModelSpec()
    return solve(theta, stats, spec).criterion


def rescaled(stats: SufficientStats, centre: float, scale: float) -> SufficientStats:
    """The sufficient statistics of the same data with x replaced by (x − centre) / scale,
    formed from the centred sums (no sum of large x is differenced). With `scale` a power of
    two the division is exact."""
    n = stats.n
    xbar_c = _xbar(stats) / scale
    x_centre = (stats.x_centre - centre) / scale
    xbar = xbar_c + x_centre
    ybar = stats.t / n
    sxx_c = stats.sxx_c / (scale * scale)
    sxy_c = stats.sxy_c / scale
    s = n * xbar
    q = sxx_c + n * xbar * xbar
    w = sxy_c + n * xbar * ybar
    sum_s = float(s.sum())
    return SufficientStats(
        n=n,
        s=s,
        q=q,
        t=stats.t,
        w=w,
        det_g=n * sxx_c,
        sxx_c=sxx_c,
        sxy_c=sxy_c,
        syy_c=stats.syy_c,
        xtx=np.array([[float(n.sum()), sum_s], [sum_s, float(q.sum())]]),
        xty=np.array([float(stats.t.sum()), float(w.sum())]),
        yty=stats.yty,
        n_obs=stats.n_obs,
        y_shift=stats.y_shift,
        x_centre=x_centre,
        xbar_c=xbar_c,
    )


def criterion_back(criterion: float, scale: float, reml: bool) -> float:
    """The criterion at θ_w for x_w = (x − centre) / scale said for x, at θ = `lambda_back`(θ_w):
    the ML deviance is the same, REML's gains 2 log(scale) (log det S, see `solution_back`)."""
    return criterion + 2.0 * math.log(scale) if reml else criterion


def solution_back(
    sol: Solution,
    centre: float,
    scale: float,
    reml: bool,
    conditional: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Solution:
    """A solution for x_w = (x − centre) / scale said for x: β = T⁻¹β_w, S⁻¹ = T⁻¹S_w⁻¹T⁻ᵀ and
    each cluster's modes b = T⁻¹b_w (T = [[1, centre], [0, scale]]); ρ² and log det M are the
    same in both, and S = TᵀS_wT, so REML's log det S gains 2 log(scale) (exact for a power of
    two). `conditional`, the working Hᵢ, goes back as T⁻¹HᵢT⁻ᵀ. The gradient (with respect to
    the working θ) is dropped."""
    h = centre / scale
    beta = np.array([float(sol.beta[0]) - h * float(sol.beta[1]), float(sol.beta[1]) / scale])
    c00, c01, c11 = float(sol.s_inv[0, 0]), float(sol.s_inv[0, 1]), float(sol.s_inv[1, 1])
    c01s, c11s = c01 / scale, c11 / (scale * scale)
    s_inv = np.array(
        [
            [c00 - 2.0 * h * c01 + h * h * c11, c01s - h * scale * c11s],
            [c01s - h * scale * c11s, c11s],
        ]
    )
    ranef = None
    if sol.ranef is not None:
        b0, b1 = sol.ranef
        ranef = (b0 - h * b1, b1 / scale)
    h_back = None
    if conditional is not None:
        h11, h12, h22 = conditional
        h_back = (h11 - 2.0 * h * h12 + h * h * h22, (h12 - h * h22) / scale, h22 / (scale * scale))
    crit = criterion_back(sol.criterion, scale, reml)
    return Solution(
        criterion=crit,
        gradient=None,
        beta=beta,
        s_inv=s_inv,
        rho2=sol.rho2,
        ranef=ranef,
        conditional=h_back,
    )


def lambda_back(
    abc: tuple[float, float, float], centre: float, scale: float
) -> tuple[float, float, float]:
    """Λ's (a, b, c) for x from Λ's for x_w = (x − centre) / scale: the lower-triangular factor
    of T⁻¹Λ_wΛ_wᵀT⁻ᵀ, T = [[1, centre], [0, scale]] (X = X_w T, so ZΛ = Z_wΛ_w for Λ_w = TΛ),
    taken by a rotation of the rows of L = T⁻¹Λ_w: a = ‖L's first row‖, b = (row₁·row₂)/a,
    c = det L / a = a_w c_w / (scale a)."""
    aw, bw, cw = abc
    h = centre / scale
    p, r = aw - h * bw, -h * cw  # first row of L
    u, v = bw / scale, cw / scale  # second row
    a = math.hypot(p, r)
    if a == 0.0:  # no intercept variance: Σ = [[0, 0], [0, u² + v²]], its factor's c (b = 0,
        # which (x || cluster) requires and leaves (x | cluster) the same Σ)
        return 0.0, 0.0, math.hypot(u, v)
    return a, (p * u + r * v) / a, (aw * cw / scale) / a
