"""Many data sets fitted as one array program: the replications of a Monte Carlo design.

The profiled criterion of `pls.py` is closed-form 2×2 algebra per cluster, vectorised over the
clusters; here the same algebra runs on (R, K) arrays — R data sets of K clusters — so that one
evaluation serves every replication at once. The optimizer is a batched BFGS (each data set its
own inverse-Hessian approximation and its own backtracking line search, so no data set's path
depends on the others in its batch) on the analytic gradient, polished by Newton steps on the
Hessian that lme4's convergence check computes anyway (central differences of the gradient, as
`optimize._hessian`).

The single-fit engine (`optimize.py`) is the reference: a data set's batched estimate is
accepted only where it is a clear interior minimum — finite criterion, every diagonal entry of Λ
at least `INTERIOR` (far from lme4's singular boundary), the convergence check passed with a
well-conditioned Hessian, and none of the single fit's boundary probes lower. Everything else
(`BatchFit.accepted` false: singular or nearly singular fits, failed or unconverged searches,
data the model cannot be fitted to) is left to the single fit, so the batch never answers where
the two might disagree. Pure numpy; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import N_FIXED, ModelSpec
from .optimize import GRADIENT_TOL, HESSIAN_TOL
from .pls import LOG_2PI, SufficientStats, cluster_blocks, lambda_back

#: Smallest diagonal entry of Λ for which a batched estimate is accepted (lme4's singular
#: tolerance is 1e-4; the single fit probes the boundary below it).
INTERIOR = 1e-3
#: Smallest Hessian eigenvalue for which a batched estimate is accepted (the single fit notes a
#: numerically singular Hessian below `HESSIAN_TOL`).
MIN_CURVATURE = 1e3 * HESSIAN_TOL
_MAX_ITER = 200
_NEWTON_STEPS = 1
#: Where the BFGS search hands over to the Newton steps (gradient, per 1,000 rows).
_BFGS_GTOL = 1e-4


@dataclass(frozen=True)
class BatchStats:
    """`SufficientStats` of R data sets with K clusters each: per-cluster sums as (R, K) arrays
    (a cluster a data set lacks has zero sums), model-level sums as (R,) arrays."""

    n: np.ndarray
    s: np.ndarray
    q: np.ndarray
    t: np.ndarray
    w: np.ndarray
    det_g: np.ndarray
    sxx_c: np.ndarray
    sxy_c: np.ndarray
    syy_c: np.ndarray
    xtx00: np.ndarray
    xtx01: np.ndarray
    xtx11: np.ndarray
    xty0: np.ndarray
    xty1: np.ndarray
    yty: np.ndarray
    n_obs: np.ndarray  # rows per data set (float)
    y_shift: np.ndarray
    x_centre: np.ndarray  # m, each data set's mean of x
    xbar_c: np.ndarray  # x̄ᵢ − m, from the sums of x − m (0 where a cluster is empty)

    @property
    def size(self) -> int:
        return int(self.n.shape[0])

    def take(self, rows: np.ndarray) -> BatchStats:
        """The data sets `rows` (indices) as a batch of their own."""
        return BatchStats(*(getattr(self, f)[rows] for f in _FIELDS))

    def single(self, r: int) -> SufficientStats:
        """Data set r as the single-fit engine's `SufficientStats` (its non-empty clusters)."""
        has = self.n[r] > 0
        return SufficientStats(
            n=self.n[r][has],
            s=self.s[r][has],
            q=self.q[r][has],
            t=self.t[r][has],
            w=self.w[r][has],
            det_g=self.det_g[r][has],
            sxx_c=self.sxx_c[r][has],
            sxy_c=self.sxy_c[r][has],
            syy_c=self.syy_c[r][has],
            xtx=np.array([[self.xtx00[r], self.xtx01[r]], [self.xtx01[r], self.xtx11[r]]]),
            xty=np.array([self.xty0[r], self.xty1[r]]),
            yty=float(self.yty[r]),
            n_obs=int(self.n_obs[r]),
            y_shift=float(self.y_shift[r]),
            x_centre=float(self.x_centre[r]),
            xbar_c=self.xbar_c[r][has],
        )

    def centred(self) -> BatchStats:
        """The same data sets with x replaced by x − m (m each data set's mean of x), formed
        from the centred sums: the coordinates in which `pls.py` evaluates the criterion, where
        no sum of large x is differenced."""
        n, xb = self.n, self.xbar_c
        with np.errstate(divide="ignore", invalid="ignore"):
            ybar = np.where(n > 0, self.t / n, 0.0)
        s = n * xb
        q = self.sxx_c + n * xb * xb
        w = self.sxy_c + n * xb * ybar
        return BatchStats(
            n=n,
            s=s,
            q=q,
            t=self.t,
            w=w,
            det_g=self.det_g,
            sxx_c=self.sxx_c,
            sxy_c=self.sxy_c,
            syy_c=self.syy_c,
            xtx00=self.xtx00,
            xtx01=s.sum(axis=1),
            xtx11=q.sum(axis=1),
            xty0=self.xty0,
            xty1=w.sum(axis=1),
            yty=self.yty,
            n_obs=self.n_obs,
            y_shift=self.y_shift,
            x_centre=np.zeros_like(self.x_centre),
            xbar_c=xb,
        )


_FIELDS = tuple(BatchStats.__dataclass_fields__)


def batch_stats(y: np.ndarray, x: np.ndarray, codes: np.ndarray, k: int) -> BatchStats:
    """The per-cluster sums of R data sets of equal length: y and x (R, N), `codes` (N,) shared
    or (R, N), in 0..k−1 — the same two-pass formulas as `pls.sufficient_stats`."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    r_, n_rows = y.shape
    codes = np.broadcast_to(np.asarray(codes, dtype=np.int64), (r_, n_rows))
    flat = (codes + (np.arange(r_, dtype=np.int64) * k)[:, None]).ravel()
    size = r_ * k

    def sums(v: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=v.ravel(), minlength=size).reshape(r_, k)

    n = np.bincount(flat, minlength=size).reshape(r_, k).astype(np.float64)
    y_shift = y.mean(axis=1)
    yc = y - y_shift[:, None]
    x_centre = x.mean(axis=1)
    xc = x - x_centre[:, None]
    s = sums(x)
    t = sums(yc)
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar_c = np.where(n > 0, sums(xc) / n, 0.0)
        xbar = np.where(n > 0, s / n, 0.0)
        ybar = np.where(n > 0, t / n, 0.0)
    dx = xc - np.take_along_axis(xbar_c, codes, axis=1)
    dy = yc - np.take_along_axis(ybar, codes, axis=1)
    sxx_c = sums(dx * dx)
    sxy_c = sums(dx * dy)
    syy_c = sums(dy * dy)
    q = sxx_c + n * xbar * xbar
    w = sxy_c + n * xbar * ybar
    return BatchStats(
        n=n,
        s=s,
        q=q,
        t=t,
        w=w,
        det_g=n * sxx_c,
        sxx_c=sxx_c,
        sxy_c=sxy_c,
        syy_c=syy_c,
        xtx00=n.sum(axis=1),
        xtx01=s.sum(axis=1),
        xtx11=q.sum(axis=1),
        xty0=t.sum(axis=1),
        xty1=w.sum(axis=1),
        yty=syy_c.sum(axis=1) + (n * ybar * ybar).sum(axis=1),
        n_obs=np.full(r_, float(n_rows)),
        y_shift=y_shift,
        x_centre=x_centre,
        xbar_c=xbar_c,
    )


@dataclass(frozen=True)
class BatchSolution:
    """The penalized least squares of every data set at its own Λ: the criterion (NaN where it
    is not defined), the gradient with respect to (a, b, c) (R, 3) when asked for, β on the
    centred y (R, 2), S⁻¹ entries, ρ², and the conditional modes (R, K) each when asked for."""

    criterion: np.ndarray
    gradient: np.ndarray | None
    beta0: np.ndarray
    beta1: np.ndarray
    i00: np.ndarray
    i01: np.ndarray
    i11: np.ndarray
    rho2: np.ndarray
    ranef: tuple[np.ndarray, np.ndarray] | None
    h: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # H = ΛM⁻¹Λᵀ entries, (R, K) each


def solve_batch(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    st: BatchStats,
    reml: bool,
    *,
    grad: bool = False,
    modes: bool = False,
) -> BatchSolution:
    """`pls.solve_lambda` for every data set at once: Λ = [[a, 0], [b, c]] with a, b, c (R,)."""
    n, s, q, t, w = st.n, st.s, st.q, st.t, st.w
    a_, b_, c_ = a[:, None], b[:, None], c[:, None]
    cb = cluster_blocks(a_, b_, c_, n, s, q, st.det_g)
    logdet_m = cb.log_det_m.sum(axis=1)
    m11, m12, m22 = cb.m11, cb.m12, cb.m22
    p11, p12, p21, p22 = cb.p11, cb.p12, cb.p21, cb.p22
    h11, h12, h22 = cb.h11, cb.h12, cb.h22
    k11, k12, k21, k22 = cb.k11, cb.k12, cb.k21, cb.k22
    ghg00, ghg01, ghg11 = cb.ghg00, cb.ghg01, cb.ghg11
    s00 = st.xtx00 - ghg00.sum(axis=1)
    s01 = st.xtx01 - ghg01.sum(axis=1)
    s11 = st.xtx11 - ghg11.sum(axis=1)
    r0 = st.xty0 - ((k11 * t).sum(axis=1) + (k12 * w).sum(axis=1))
    r1 = st.xty1 - ((k21 * t).sum(axis=1) + (k22 * w).sum(axis=1))
    ghg_y = (t * (h11 * t + h12 * w)).sum(axis=1) + (w * (h12 * t + h22 * w)).sum(axis=1)
    det_s = s00 * s11 - s01 * s01
    ok = det_s > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        i00 = s11 / det_s
        i01 = -s01 / det_s
        i11 = s00 / det_s
        beta0 = i00 * r0 + i01 * r1
        beta1 = i01 * r0 + i11 * r1
        rho2 = st.yty - ghg_y - (r0 * beta0 + r1 * beta1)
        dof = st.n_obs - N_FIXED if reml else st.n_obs
        ok &= rho2 > 0.0
        crit = logdet_m + dof * (1.0 + LOG_2PI + np.log(np.where(ok, rho2, 1.0) / dof))
        if reml:
            crit = crit + np.log(np.where(ok, det_s, 1.0))
    crit = np.where(ok, crit, np.nan)
    gradient = None
    ranef = None
    if grad or modes:
        v0 = t - n * beta0[:, None] - s * beta1[:, None]
        v1 = w - s * beta0[:, None] - q * beta1[:, None]
        lv0 = a_ * v0 + b_ * v1
        lv1 = c_ * v1
        u0 = m11 * lv0 + m12 * lv1
        u1 = m12 * lv0 + m22 * lv1
        b0 = a_ * u0
        b1 = b_ * u0 + c_ * u1
        ranef = (b0, b1)
        if grad:
            e0 = v0 - n * b0 - s * b1
            e1 = v1 - s * b0 - q * b1
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(ok, -2.0 * dof / rho2, 0.0)
            v00 = n * p11 + s * p21
            v10 = s * p11 + q * p21
            v11 = s * p12 + q * p22
            g = np.stack(
                [
                    2.0 * v00.sum(axis=1) + scale * (e0 * u0).sum(axis=1),
                    2.0 * v10.sum(axis=1) + scale * (e1 * u0).sum(axis=1),
                    2.0 * v11.sum(axis=1) + scale * (e1 * u1).sum(axis=1),
                ],
                axis=1,
            )
            if reml:
                v01 = n * p12 + s * p22
                wm = (n - ghg00, s - ghg01, q - ghg11)
                vm = (v00, v01, v10, v11)
                si = ((i00, i01), (i01, i11))
                widx = ((0, 1), (1, 2))
                for out, (j, col) in enumerate(((0, 0), (1, 0), (1, 1))):
                    tot = np.zeros_like(i00)
                    for m in (0, 1):
                        for nn in (0, 1):
                            cm = (wm[widx[j][m]] * vm[2 * nn + col]).sum(axis=1)
                            tot = tot + si[m][nn] * cm
                    g[:, out] -= 2.0 * tot
            gradient = np.where(ok[:, None], g, np.nan)
    return BatchSolution(crit, gradient, beta0, beta1, i00, i01, i11, rho2, ranef, (h11, h12, h22))


def lambda_entries(spec: ModelSpec, theta: np.ndarray) -> tuple[np.ndarray, ...]:
    """(a, b, c) of every data set's Λ from θ (R, n_theta); zeros where θ holds none."""
    zero = np.zeros(theta.shape[0])
    abc = [zero, zero, zero]
    for k, i in enumerate(spec.free):
        abc[i] = theta[:, k]
    return tuple(abc)


def _evaluate(
    spec: ModelSpec, st: BatchStats, theta: np.ndarray, grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    a, b, c = lambda_entries(spec, theta)
    sol = solve_batch(a, b, c, st, spec.reml, grad=grad)
    g = None if sol.gradient is None else sol.gradient[:, list(spec.free)]
    return sol.criterion, g


def _canonical(spec: ModelSpec, theta: np.ndarray) -> np.ndarray:
    """`ModelSpec.canonical` for every row: a non-negative diagonal of Λ."""
    a, b, c = lambda_entries(spec, theta)
    flip = a < 0.0
    abc = [np.where(flip, -a, a), np.where(flip, -b, b), np.abs(c)]
    return np.column_stack([abc[i] for i in spec.free])


def _hessian(spec: ModelSpec, st: BatchStats, theta: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised (`optimize._hessian`)."""
    r_, p = theta.shape
    hess = np.empty((r_, p, p))
    for j in range(p):
        h = 1e-4 * np.maximum(1.0, np.abs(theta[:, j]))
        up, down = theta.copy(), theta.copy()
        up[:, j] += h
        down[:, j] -= h
        g_up = _evaluate(spec, st, up)[1]
        g_down = _evaluate(spec, st, down)[1]
        assert g_up is not None and g_down is not None
        hess[:, :, j] = (g_up - g_down) / (2.0 * h[:, None])
    return 0.5 * (hess + np.swapaxes(hess, 1, 2))


def _bfgs(spec: ModelSpec, st: BatchStats, gtol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched BFGS from lme4's start; θ (R, p) and whether each search converged."""
    r_, p = st.size, spec.n_theta
    theta = np.tile(np.array(spec.theta_start, dtype=float), (r_, 1))
    f, g = _evaluate(spec, st, theta)
    assert g is not None
    hinv = np.tile(np.eye(p), (r_, 1, 1))
    active = np.isfinite(f) & np.all(np.isfinite(g), axis=1)
    failed = ~active
    converged = np.zeros(r_, dtype=bool)
    first = True
    for _ in range(_MAX_ITER):
        done = active & (np.max(np.abs(g), axis=1) < gtol)
        converged |= done
        active &= ~done
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        sub = st.take(idx)
        th, fi, gi, hi = theta[idx], f[idx], g[idx], hinv[idx]
        d = -np.einsum("rij,rj->ri", hi, gi)
        slope = np.einsum("ri,ri->r", d, gi)
        bad = ~(slope < 0.0)
        if bad.any():  # not a descent direction: restart from steepest descent
            hi[bad] = np.eye(p)
            d[bad] = -gi[bad]
            slope[bad] = -np.einsum("ri,ri->r", gi[bad], gi[bad])
        step = np.ones(idx.size)
        if first:
            # a first step of at most 0.3 in θ: a unit step from lme4's start can land on 0
            step = np.minimum(1.0, 0.3 / np.maximum(np.max(np.abs(gi), axis=1), 1e-300))
            first = False
        f_new = np.full(idx.size, np.nan)
        g_new = np.full((idx.size, p), np.nan)
        todo = np.arange(idx.size)
        for _ls in range(40):
            cand = th[todo] + step[todo, None] * d[todo]
            fc, gc = _evaluate(spec, sub.take(todo), cand)
            assert gc is not None
            good = np.isfinite(fc) & (fc <= fi[todo] + 1e-4 * step[todo] * slope[todo])
            f_new[todo[good]] = fc[good]
            g_new[todo[good]] = gc[good]
            todo = todo[~good]
            if todo.size == 0:
                break
            step[todo] *= 0.5
        stuck = np.zeros(idx.size, dtype=bool)
        stuck[todo] = True
        moved = ~stuck
        s_k = step[:, None] * d
        y_k = g_new - gi
        sy = np.einsum("ri,ri->r", s_k, y_k)
        upd = moved & (sy > 1e-12 * np.linalg.norm(s_k, axis=1) * np.linalg.norm(y_k, axis=1))
        if upd.any():
            hs = hi[upd]
            sv, yv, rho = s_k[upd], y_k[upd], 1.0 / sy[upd]
            eye = np.eye(p)[None]
            left = eye - rho[:, None, None] * sv[:, :, None] * yv[:, None, :]
            right = eye - rho[:, None, None] * yv[:, :, None] * sv[:, None, :]
            hi[upd] = left @ hs @ right + rho[:, None, None] * sv[:, :, None] * sv[:, None, :]
        th = np.where(moved[:, None], th + s_k, th)
        theta[idx] = th
        f[idx] = np.where(moved, f_new, fi)
        g[idx] = np.where(moved[:, None], g_new, gi)
        hinv[idx] = hi
        # a line search that found no lower point: stop there (judged by the checks below)
        active[idx[stuck]] = False
        failed[idx[stuck]] = True
    return theta, converged & ~failed


@dataclass(frozen=True)
class BatchFit:
    """The batched fits of R data sets: θ̂ (R, p), the criterion, the solution there, and which
    estimates are accepted (the rest must be fitted one by one)."""

    spec: ModelSpec
    theta: np.ndarray
    criterion: np.ndarray
    accepted: np.ndarray
    solution: BatchSolution
    sigma2: np.ndarray
    beta: np.ndarray  # (R, 2), the intercept back on y's scale
    std_errors: np.ndarray  # (R, 2)


def fit_batch(st: BatchStats, spec: ModelSpec) -> BatchFit:
    """Minimise every data set's profiled criterion together (module docstring), and say which
    estimates the single-fit engine would reach too.

    For (x | cluster) and (1 | cluster) a shift of x is a reparametrisation (`pls.py`, centred
    coordinates: Λ' = TΛ, β' = Tβ, T = [[1, m], [0, 1]], the criterion unchanged), so the search
    runs on the centred sums, where nothing cancels when x̄ ≫ sd(x), and θ, β, S⁻¹, the modes
    and H are mapped back (`pls.lambda_back`; b₀ = b₀' − m b₁, H = T⁻¹H'T⁻ᵀ). For (x || cluster)
    a shift changes the model, and the sums stay x's own."""
    if spec.has_random_slope and not spec.correlated:
        return _fit(st, spec)
    return _uncentred(_fit(st.centred(), spec), st)


def _uncentred(fit: BatchFit, st: BatchStats) -> BatchFit:
    """A fit to the centred data sets (`BatchStats.centred`) in x's own coordinates."""
    spec, m = fit.spec, st.x_centre
    a, b, c = lambda_entries(spec, fit.theta)
    back = np.array(
        [
            lambda_back((float(a[r]), float(b[r]), float(c[r])), float(m[r]), 1.0)
            for r in range(st.size)
        ]
    ).reshape(st.size, 3)
    theta = _canonical(spec, back[:, list(spec.free)])
    sol = fit.solution
    assert sol.ranef is not None and sol.h is not None
    mc = m[:, None]
    h11, h12, h22 = sol.h
    i00 = sol.i00 - 2.0 * m * sol.i01 + m * m * sol.i11
    i01 = sol.i01 - m * sol.i11
    solution = BatchSolution(
        sol.criterion,
        None,
        sol.beta0 - m * sol.beta1,
        sol.beta1,
        i00,
        i01,
        sol.i11,
        sol.rho2,
        (sol.ranef[0] - mc * sol.ranef[1], sol.ranef[1]),
        (h11 - 2.0 * mc * h12 + mc * mc * h22, h12 - mc * h22, h22),
    )
    beta = np.column_stack([fit.beta[:, 0] - m * fit.beta[:, 1], fit.beta[:, 1]])
    se = np.sqrt(np.maximum(np.column_stack([fit.sigma2 * i00, fit.sigma2 * sol.i11]), 0.0))
    return BatchFit(spec, theta, fit.criterion, fit.accepted, solution, fit.sigma2, beta, se)


def _fit(st: BatchStats, spec: ModelSpec) -> BatchFit:
    """`fit_batch` in the coordinates of `st`."""
    theta, ok = _bfgs(spec, st, _BFGS_GTOL * np.maximum(1.0, st.n_obs / 1000.0))
    theta = _canonical(spec, theta)
    diag = list(spec.diagonal)
    ok &= np.all(theta[:, diag] >= INTERIOR, axis=1)
    hess = np.full((st.size, spec.n_theta, spec.n_theta), np.nan)
    idx = np.flatnonzero(ok)
    if idx.size:
        sub = st.take(idx)
        th = theta[idx]
        for _ in range(_NEWTON_STEPS):  # quadratic convergence from where BFGS stopped
            hs = _hessian(spec, sub, th)
            _, g = _evaluate(spec, sub, th)
            assert g is not None
            good = np.all(np.isfinite(hs), axis=(1, 2)) & np.all(np.isfinite(g), axis=1)
            eig = np.full((idx.size, spec.n_theta), -np.inf)
            eig[good] = np.linalg.eigvalsh(hs[good])
            good &= eig[:, 0] > MIN_CURVATURE
            stepv = np.zeros_like(th)
            if good.any():
                stepv[good] = np.linalg.solve(hs[good], g[good][:, :, None])[:, :, 0]
            th = th - stepv
        theta[idx] = th
        hess[idx] = _hessian(spec, sub, th)
    crit, g = _evaluate(spec, st, theta)
    assert g is not None
    finite = (
        np.isfinite(crit) & np.all(np.isfinite(g), axis=1) & np.all(np.isfinite(hess), axis=(1, 2))
    )
    ok &= finite
    ok &= np.all(theta[:, diag] >= INTERIOR, axis=1)
    eig = np.full((st.size, spec.n_theta), -np.inf)
    eig[finite] = np.linalg.eigvalsh(hess[finite])
    ok &= eig[:, 0] > MIN_CURVATURE
    # lme4's scaled gradient, solve(chol(H), g), as the single fit's convergence check
    scaled = np.full(st.size, np.inf)
    pd_ = ok & finite
    if pd_.any():
        chol = np.linalg.cholesky(hess[pd_])
        scaled[pd_] = np.max(np.abs(np.linalg.solve(chol, g[pd_][:, :, None])[:, :, 0]), axis=1)
    ok &= scaled < GRADIENT_TOL
    ok &= ~_lower_probe(spec, st, theta, crit)
    a, b, c = lambda_entries(spec, theta)
    sol = solve_batch(a, b, c, st, spec.reml, modes=True)
    dof = st.n_obs - N_FIXED if spec.reml else st.n_obs
    sigma2 = sol.rho2 / dof
    beta = np.column_stack([sol.beta0 + st.y_shift, sol.beta1])
    se = np.sqrt(np.maximum(np.column_stack([sigma2 * sol.i00, sigma2 * sol.i11]), 0.0))
    return BatchFit(
        spec, theta, sol.criterion, ok & np.isfinite(sol.criterion), sol, sigma2, beta, se
    )


def _lower_probe(
    spec: ModelSpec, st: BatchStats, theta: np.ndarray, crit: np.ndarray
) -> np.ndarray:
    """Whether any of the points the single fit probes after an interior optimum (the other
    representations on the boundary, `optimize._boundary_candidates`) is lower: there the
    single fit would restart, so the batched estimate is not taken."""
    a, b, c = lambda_entries(spec, theta)
    zero = np.zeros_like(a)
    if spec.n_theta == 1:
        probes = [(zero, zero, zero)]
    else:
        r = np.hypot(b, c)
        probes = [(a, b, zero), (zero, zero, r), (zero, zero, zero)]
    lower = np.zeros(st.size, dtype=bool)
    tol = 1e-10 * np.maximum(1.0, np.abs(crit))
    for pa, pb, pc in probes:
        th = np.column_stack([(pa, pb, pc)[i] for i in spec.free])
        val, _ = _evaluate(spec, st, th, grad=False)
        lower |= np.isfinite(val) & (val < crit - tol)
    return lower
