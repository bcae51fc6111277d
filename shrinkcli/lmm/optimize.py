"""Minimising the profiled criterion over θ, and checking that the minimum is one.

Optimizer
---------
BFGS on the analytic gradient from lme4's start (1 on the diagonal of Λ, 0 below it), with a
line search for the strong Wolfe conditions (Nocedal & Wright, *Numerical Optimization*,
algorithms 3.5 and 3.6, cubic interpolation). θ has one to three components and each
evaluation is a few vectorized passes over the clusters, so a dense quasi-Newton method in
plain numpy is all it takes, and it spares every command the import of a general optimization
library. It stops when the largest gradient component is below `gtol` (1e-8, scaled up with
the number of observations), when a step lowers the criterion by less than 1e-15 of its value,
or when the line search finds no lower point (reported, and judged by the convergence check).

The criterion depends on Λ only through ΛΛᵀ, so it is unchanged when a column of Λ changes sign:
lme4's bounds (diagonal of Λ ≥ 0) cost nothing to drop, the search runs unbounded (a bounded
search's first long step tends to land on a diagonal entry 0, where the derivative vanishes) and
the signs are folded back afterwards. Being even in each diagonal entry, the criterion also has
a vanishing derivative there, so a gradient method can stall on that boundary at a saddle point;
similarly (0, b, c) ≡ (0, ±√(b² + c²), 0). After convergence, every diagonal entry below 1e-4 is
probed: points moved off the boundary (several step sizes, and the equivalent representations for
a = 0) are evaluated and, if one lowers the criterion, the optimizer restarts from the best of
them. `singular` follows lme4's rule (a diagonal entry of Λ below 1e-4).

Convergence check
-----------------
As lme4's `checkConv`, at the estimate: the Hessian of the criterion over the interior components
of θ (central differences of the analytic gradient) must have no eigenvalue below −1e-6 (a
minimum, not a saddle), and the gradient scaled by it, solve(chol(H), g) — the size of the Newton
step in the criterion's own metric — must be below 2e-3 in absolute value. A numerically singular
Hessian (an eigenvalue within 1e-6 of 0: θ not uniquely determined) is noted, not failed, and the
raw gradient is judged instead. Components on the boundary (a singular fit) are left out, as lme4
does for singular fits. An optimizer that stops early (an evaluation limit, a failed line search)
is judged by the same check, and the reason is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..model import SINGULAR_TOL, ModelSpec
from .pls import (
    Solution,
    SufficientStats,
    conditional_blocks,
    criterion_back,
    lambda_back,
    rescaled,
    solution_back,
    solve,
)

#: Step sizes tried off a boundary θ before declaring the boundary optimum genuine.
_PROBE_STEPS = (1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0, 3.0, 10.0, 100.0)
_MAX_RESTARTS = 6
#: Relative decrease of the criterion at a probe that makes the search restart from it (far
#: above the rounding of the criterion, far below any difference that matters).
PROBE_GAIN = 1e-12
#: lme4's tolerance on the scaled gradient (`check.conv.grad`).
GRADIENT_TOL = 2e-3
#: lme4's tolerance on the Hessian's eigenvalues (`check.conv.hess`).
HESSIAN_TOL = 1e-6


@dataclass(frozen=True)
class FitControl:
    """Settings of the optimizer: `max_evaluations` limits the criterion evaluations of the
    search (None: no limit beyond the optimizer's own), for experiments with convergence;
    `theta` skips the search and evaluates the model at that θ (e.g. at lme4's own); `trace`
    keeps (θ, criterion) of every evaluation in `OptSummary.fitlog` (to show how the search
    went)."""

    max_evaluations: int | None = None
    theta: tuple[float, ...] | None = None
    trace: bool = False


#: One evaluation of the criterion: θ (canonical: diagonal of Λ ≥ 0) and the criterion there.
FitLogEntry = tuple[tuple[float, ...], float]


@dataclass(frozen=True)
class OptSummary:
    """How the optimizer went, settings in and record out (after MixedModels.jl's OptSummary),
    and the convergence check: `converged` is true only when the check passed; `reason` says
    why not.

    The record: θ and the criterion at the start and at the end (`theta_start`,
    `criterion_start`, `theta`, `criterion`, in x's own coordinates also when the search ran in
    working ones), the evaluations of the criterion and the restarts from boundary probes. The
    settings: BFGS's gradient tolerance `gtol` (on the largest component, in the coordinates
    searched), `ftol` (the relative decrease that counts as no progress), `probe_gain` (the
    relative decrease at a boundary probe that restarts the search), `singular_tol` (a diagonal
    entry of Λ below it is on the boundary), the check's `gradient_tol` and `hessian_tol`, and
    `max_evaluations`; NaN where no search ran (θ given, another engine). `fitlog`, when
    `FitControl.trace` asked for it, holds (θ, criterion) of each evaluation counted in
    `evaluations`, in order and in x's own coordinates."""

    optimizer: str
    evaluations: int
    converged: bool
    reason: str
    message: str
    theta_start: tuple[float, ...]
    theta: tuple[float, ...]
    restarts: int
    max_scaled_gradient: float
    hessian_min_eigenvalue: float | None  # over the interior of θ; None when all on the boundary
    note: str = ""  # e.g. a numerically singular Hessian (θ not uniquely determined)
    criterion_start: float = math.nan
    criterion: float = math.nan
    gtol: float = math.nan
    ftol: float = math.nan
    probe_gain: float = math.nan
    singular_tol: float = SINGULAR_TOL
    gradient_tol: float = GRADIENT_TOL
    hessian_tol: float = HESSIAN_TOL
    max_evaluations: int | None = None
    fitlog: tuple[FitLogEntry, ...] | None = None


class _EvaluationLimit(Exception):
    """Raised inside the search when `FitControl.max_evaluations` is used up."""


#: The optimizer, as named in `OptSummary.optimizer` and fit.json.
OPTIMIZER = "BFGS (analytic gradient, strong Wolfe line search) + boundary probes"
#: Relative decrease of the criterion below which a step counts as no progress.
FTOL = 1e-15
#: Iterations of BFGS, and criterion evaluations of one line search, at most.
MAX_ITERATIONS = 2000
_MAX_LINE_EVALUATIONS = 40
#: Sufficient decrease and curvature constants of the strong Wolfe conditions.
_C1, _C2 = 1e-4, 0.9

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class _Minimum:
    """Where BFGS stopped: θ, the criterion and gradient there, and why it stopped."""

    x: np.ndarray
    f: float
    g: np.ndarray
    success: bool
    message: str


def _cubic_min(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float:
    """The minimiser of the cubic matching value and slope at a and b (nan if it has none)."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if not disc >= 0.0:
        return math.nan
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = db - da + 2.0 * d2
    if denom == 0.0:
        return math.nan
    return b - (b - a) * (db + d2 - d1) / denom


def _line_search(
    fun: Objective, x: np.ndarray, p: np.ndarray, f0: float, d0: float, alpha: float
) -> tuple[float, float, np.ndarray] | None:
    """A step along p from the trial step `alpha` that meets the strong Wolfe conditions, the
    decrease condition allowing for rounding in f (a few ulps of f0, so that steps near the
    minimum, where differences of f are rounding, are still judged by the gradient); failing
    that, the lowest point found with sufficient decrease. None when there is none."""
    slack = 8.0 * np.finfo(float).eps * max(abs(f0), 1.0)
    tiny = 1e-14 * max(1.0, float(np.max(np.abs(x)))) / max(float(np.max(np.abs(p))), 1e-300)
    best: tuple[float, float, np.ndarray] | None = None

    def phi(step: float) -> tuple[float, float, np.ndarray]:
        nonlocal best
        f, g = fun(x + step * p)
        if not math.isfinite(f):
            return math.inf, math.nan, g
        if f <= f0 + _C1 * step * d0 + slack and (best is None or f < best[1]):
            best = (step, f, g)
        return f, float(g @ p), g

    def too_high(step: float, f: float) -> bool:
        return bool(f > f0 + _C1 * step * d0 + slack)

    def zoom(
        lo: float, f_lo: float, d_lo: float, hi: float, f_hi: float, d_hi: float, budget: int
    ) -> tuple[float, float, np.ndarray] | None:
        for _ in range(budget):
            width = hi - lo
            if abs(width) <= tiny:
                break
            trial = math.nan
            if math.isfinite(f_hi) and math.isfinite(d_hi):
                trial = _cubic_min(lo, f_lo, d_lo, hi, f_hi, d_hi)
            inner = min(lo, hi) + 0.1 * abs(width), max(lo, hi) - 0.1 * abs(width)
            if not (math.isfinite(trial) and inner[0] <= trial <= inner[1]):
                trial = lo + 0.5 * width
            f, d, g = phi(trial)
            if too_high(trial, f) or f > f_lo:
                hi, f_hi, d_hi = trial, f, d
            else:
                if abs(d) <= -_C2 * d0:
                    return trial, f, g
                if d * (hi - lo) >= 0.0:
                    hi, f_hi, d_hi = lo, f_lo, d_lo
                lo, f_lo, d_lo = trial, f, d
        return best

    prev, f_prev, d_prev = 0.0, f0, d0
    for i in range(_MAX_LINE_EVALUATIONS):
        f, d, g = phi(alpha)
        left = _MAX_LINE_EVALUATIONS - i - 1
        if too_high(alpha, f) or (i > 0 and f > f_prev):
            return zoom(prev, f_prev, d_prev, alpha, f, d, left)
        if abs(d) <= -_C2 * d0:
            return alpha, f, g
        if d >= 0.0:
            return zoom(alpha, f, d, prev, f_prev, d_prev, left)
        prev, f_prev, d_prev = alpha, f, d
        alpha *= 4.0
    return best


def minimize_bfgs(fun: Objective, x0: np.ndarray, *, gtol: float) -> _Minimum:
    """Minimise `fun` (θ → criterion, gradient) by BFGS from x0.

    The inverse Hessian starts as the identity, is scaled after the first step (Nocedal &
    Wright, eq. 6.20) and is reset to it whenever its direction is not one of descent or the
    line search fails along it."""
    x = np.array(x0, dtype=float)
    f, g = fun(x)
    if not math.isfinite(f):
        return _Minimum(x, f, g, False, "the criterion is not finite at the start")
    n = x.shape[0]
    eye = np.eye(n)
    inv_h = eye.copy()
    fresh = True  # inv_h is the identity
    for _ in range(MAX_ITERATIONS):
        if float(np.max(np.abs(g))) <= gtol:
            return _Minimum(x, f, g, True, "the gradient is below its tolerance")
        p = -(inv_h @ g)
        d0 = float(g @ p)
        if not d0 < 0.0:
            inv_h, fresh = eye.copy(), True
            p, d0 = -g, -float(g @ g)
        # an unscaled first step is at most 1 long (as L-BFGS-B's); later ones start at 1
        alpha = min(1.0, 1.0 / float(np.linalg.norm(p))) if fresh else 1.0
        step = _line_search(fun, x, p, f, d0, alpha)
        if step is None:
            if not fresh:
                inv_h, fresh = eye.copy(), True
                continue
            return _Minimum(x, f, g, False, "the line search found no lower point")
        alpha, f_new, g_new = step
        s = alpha * p
        yv = g_new - g
        decrease = f - f_new
        x, f, g = x + s, f_new, g_new
        if float(np.max(np.abs(g))) <= gtol:
            return _Minimum(x, f, g, True, "the gradient is below its tolerance")
        if decrease <= FTOL * max(abs(f), 1.0):
            return _Minimum(x, f, g, True, "the criterion decreased by less than 1e-15")
        sy = float(s @ yv)
        if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(yv)):
            if fresh:
                inv_h = eye * (sy / float(yv @ yv))
            rho = 1.0 / sy
            v = eye - rho * np.outer(s, yv)
            inv_h = v @ inv_h @ v.T + rho * np.outer(s, s)
            fresh = False
    return _Minimum(x, f, g, False, f"{MAX_ITERATIONS} iterations reached")


def _boundary_candidates(spec: ModelSpec, theta: np.ndarray) -> list[np.ndarray]:
    """Points just off the boundary (and the equivalent representations of a = 0) that a
    gradient method cannot see from a boundary saddle."""
    if spec.n_theta == 1:
        if theta[0] < SINGULAR_TOL:
            return [np.array([d]) for d in _PROBE_STEPS]
        return [np.array([0.0])]  # a stationary point away from the boundary: is it lower?
    a, b, c = spec.lambda_entries(theta)
    lam: list[tuple[float, float, float]] = []
    if min(a, c) >= SINGULAR_TOL:
        r = math.hypot(b, c)
        lam += [(a, b, 0.0), (0.0, 0.0, r), (0.0, 0.0, 0.0)]
    if c < SINGULAR_TOL:
        lam += [(a, b, d) for d in _PROBE_STEPS]
        if spec.correlated:
            lam += [(a, b * 0.5, d) for d in _PROBE_STEPS]
    if a < SINGULAR_TOL:
        r = math.hypot(b, c)
        for d in _PROBE_STEPS:
            if spec.correlated:
                lam += [(d, r, 0.0), (d, -r, 0.0), (d, b, c), (d, 0.0, r)]
            else:
                lam.append((d, 0.0, c))
    return [spec.theta_of(v) for v in lam]


def optimize(
    stats: SufficientStats, spec: ModelSpec, control: FitControl | None = None
) -> tuple[np.ndarray, Solution, OptSummary]:
    """Minimise the profiled criterion from lme4's start, escaping boundary saddles, and check
    the result; returns θ̂, the solution there (with conditional modes) and the summary.

    The search and the check run in working coordinates x_w = (x − centre) / scale, `scale` the
    power of two nearest to sd(x): for (x | cluster) centred at the mean of x, for (x || cluster)
    not centred (a shift changes that model) and for (1 | cluster) as x is (θ = a does not
    depend on x's coordinates). Each is an exact reparametrisation of the model (Λ_w = TΛ,
    `pls.lambda_back`), so the optimum is lme4's; but θ's components then have the scale of the
    data's own variation, and BFGS's start and tolerances mean the same for a covariate of
    years or of millions as for one around 0 (in x's own coordinates, θ of such data has
    components 10⁶ apart and the search stops far from the minimum). θ̂ is mapped back and the
    solution (β, S⁻¹, the modes, the conditional blocks Hᵢ) with it: re-solved at θ̂ in x's own
    coordinates, where Λ's entries of such data are 10¹³ apart, it loses digits to
    cancellation."""
    ctl = control or FitControl()
    if ctl.theta is not None:
        return _at(stats, spec, ctl.theta)
    if not spec.has_random_slope:
        return _search(stats, spec, ctl)
    scale = working_scale(stats)
    centre = stats.x_centre if spec.correlated else 0.0
    if scale == 1.0 and centre == 0.0:
        return _search(stats, spec, ctl)
    working = rescaled(stats, centre, scale)
    theta_w, sol_w, summary = _search(working, spec, ctl)

    def back(th: Any) -> np.ndarray:
        return spec.canonical(spec.theta_of(lambda_back(spec.lambda_entries(th), centre, scale)))

    theta = back(theta_w)
    sol = solution_back(sol_w, centre, scale, spec.reml, conditional_blocks(theta_w, working, spec))

    def entry(th: tuple[float, ...], crit: float) -> FitLogEntry:
        return tuple(float(v) for v in back(th)), criterion_back(crit, scale, spec.reml)

    summary = replace(
        summary,
        theta=tuple(float(v) for v in theta),
        theta_start=tuple(float(v) for v in back(summary.theta_start)),
        criterion_start=criterion_back(summary.criterion_start, scale, spec.reml),
        criterion=sol.criterion,
        fitlog=None if summary.fitlog is None else tuple(entry(*e) for e in summary.fitlog),
    )
    return theta, sol, summary


def working_scale(stats: SufficientStats) -> float:
    """The power of two nearest to x's spread about its mean (1 where there is none): dividing
    x by it is exact, and gives θ components of the data's own scale."""
    xbar = stats.xbar_c if stats.xbar_c is not None else stats.s / stats.n - stats.x_centre
    spread = math.sqrt(float(np.sum(stats.sxx_c + stats.n * xbar * xbar)) / stats.n_obs)
    return 2.0 ** round(math.log2(spread)) if spread > 0.0 and math.isfinite(spread) else 1.0


def _search(
    stats: SufficientStats, spec: ModelSpec, ctl: FitControl
) -> tuple[np.ndarray, Solution, OptSummary]:
    """`optimize` in the coordinates `stats` are in."""
    start = np.array(spec.theta_start)
    evaluations = 0
    limit = ctl.max_evaluations
    seen: list[tuple[float, np.ndarray]] = []  # the best point evaluated, for a stopped search
    first: list[float] = []  # the criterion at the start
    log: list[FitLogEntry] | None = [] if ctl.trace else None

    def record(th: np.ndarray, crit: float) -> None:
        if not first:
            first.append(crit)
        if log is not None:
            log.append((tuple(float(v) for v in spec.canonical(th)), float(crit)))

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        if limit is not None and evaluations >= limit:
            raise _EvaluationLimit
        evaluations += 1
        sol = solve(th, stats, spec, grad=True)
        assert sol.gradient is not None
        record(th, sol.criterion)
        if not math.isfinite(sol.criterion):
            return math.inf, np.zeros_like(th)
        if not seen or sol.criterion < seen[0][0]:
            seen[:] = [(sol.criterion, th.copy())]
        return sol.criterion, sol.gradient

    def value(th: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        crit = solve(th, stats, spec).criterion
        record(th, crit)
        return crit

    gtol = 1e-8 * max(1.0, stats.n_obs / 1000.0)
    theta = start
    stopped_early: list[str] = []
    messages: list[str] = []
    restarts = 0
    best_f = math.inf
    while True:
        try:
            res = minimize_bfgs(fun, theta, gtol=gtol)
        except _EvaluationLimit:
            message = f"evaluation limit ({limit}) reached"
            messages.append(message)
            stopped_early.append(message)
            if seen and seen[0][0] <= best_f:
                theta = spec.canonical(seen[0][1])
            break
        theta_new = spec.canonical(np.asarray(res.x, dtype=float))
        f_new = float(res.f)
        if f_new <= best_f:
            theta, best_f = theta_new, f_new
        messages.append(str(res.message))
        if not res.success:
            stopped_early.append(str(res.message))
        cands = _boundary_candidates(spec, theta)
        if not cands or restarts >= _MAX_RESTARTS:
            break
        if limit is not None and evaluations + len(cands) > limit:
            stopped_early.append(f"evaluation limit ({limit}) reached before the boundary probes")
            break
        vals = [value(cand) for cand in cands]
        i = int(np.argmin(vals))
        if not vals[i] < best_f - PROBE_GAIN * max(1.0, abs(best_f)):
            break
        theta = cands[i]
        restarts += 1
        best_f = min(best_f, vals[i])
    for k in spec.diagonal:
        # a diagonal entry that BFGS left a rounding error off the boundary (the criterion is
        # even in it, so its gradient there is of the size of the entry) goes onto it when the
        # criterion does not rise: the same optimum, said as lme4's boundary fits are
        if 0.0 < theta[k] < SINGULAR_TOL:
            cand = theta.copy()
            cand[k] = 0.0
            if value(cand) <= best_f:
                theta = cand
    sol = solve(theta, stats, spec, grad=True, modes=True)
    check = check_convergence(stats, spec, theta, at=sol)
    if check.newton is not None and (limit is None or evaluations < limit):
        # one Newton step on the check's Hessian: BFGS may stop (on a decrease below 1e-15)
        # where the criterion no longer tells points apart but its gradient still does; the
        # step is kept when the gradient shrinks and the criterion does not rise beyond rounding
        cand = theta.copy()
        cand[list(check.interior)] -= check.newton
        cand = spec.canonical(cand)
        evaluations += 1
        polished = solve(cand, stats, spec, grad=True, modes=True)
        record(cand, polished.criterion)
        noise = 1e-13 * max(1.0, abs(sol.criterion))  # the criterion's own rounding
        if (
            polished.gradient is not None
            and sol.gradient is not None
            and polished.criterion <= sol.criterion + noise
            and np.max(np.abs(polished.gradient)) < np.max(np.abs(sol.gradient))
        ):
            theta, sol = cand, polished
            check = check.regraded(polished.gradient)
    reason = check.reason
    if reason and stopped_early:
        reason = f"{reason} (the optimizer stopped: {stopped_early[-1]})"
    summary = OptSummary(
        optimizer=OPTIMIZER,
        evaluations=evaluations,
        converged=not reason,
        reason=reason,
        message="; ".join(dict.fromkeys(messages)),
        theta_start=tuple(float(v) for v in start),
        theta=tuple(float(v) for v in theta),
        restarts=restarts,
        max_scaled_gradient=check.max_scaled_gradient,
        hessian_min_eigenvalue=check.hessian_min_eigenvalue,
        note=check.note,
        # not evaluated when the limit allowed no evaluation: once more, uncounted
        criterion_start=first[0] if first else solve(start, stats, spec).criterion,
        criterion=sol.criterion,
        gtol=gtol,
        ftol=FTOL,
        probe_gain=PROBE_GAIN,
        max_evaluations=limit,
        fitlog=None if log is None else tuple(log),
    )
    return theta, sol, summary


def _at(
    stats: SufficientStats, spec: ModelSpec, theta: tuple[float, ...]
) -> tuple[np.ndarray, Solution, OptSummary]:
    """No search: the solution and the convergence check at a given θ."""
    if len(theta) != spec.n_theta:
        raise ValueError(f"θ needs {spec.n_theta} values for {spec.random}, got {len(theta)}")
    th = spec.canonical(np.array(theta, dtype=float))
    check = check_convergence(stats, spec, th)
    sol = solve(th, stats, spec, modes=True)
    summary = OptSummary(
        optimizer="none (θ given)",
        evaluations=0,
        converged=not check.reason,
        reason=check.reason,
        message="",
        theta_start=tuple(float(v) for v in th),
        theta=tuple(float(v) for v in th),
        restarts=0,
        max_scaled_gradient=check.max_scaled_gradient,
        hessian_min_eigenvalue=check.hessian_min_eigenvalue,
        note=check.note,
        criterion_start=sol.criterion,
        criterion=sol.criterion,
    )
    return th, sol, summary


@dataclass(frozen=True)
class ConvergenceCheck:
    """The outcome of `check_convergence`: an empty `reason` means it passed."""

    reason: str
    max_scaled_gradient: float
    hessian_min_eigenvalue: float | None
    note: str = ""  # a minimum, but something to know about it
    #: the components of θ checked, and for a positive-definite Hessian its Cholesky factor
    #: and the Newton step −H⁻¹g over them
    interior: tuple[int, ...] = ()
    cholesky: np.ndarray | None = field(default=None, repr=False, compare=False)
    newton: np.ndarray | None = field(default=None, repr=False, compare=False)

    def regraded(self, gradient: np.ndarray) -> ConvergenceCheck:
        """The check at a point a Newton step away: its gradient scaled by the same Hessian."""
        if self.cholesky is None or self.reason:
            return self
        g = gradient[list(self.interior)]
        worst = float(np.max(np.abs(np.linalg.solve(self.cholesky, g))))
        reason = (
            ""
            if worst < GRADIENT_TOL
            else (
                f"the scaled gradient at the estimate is {worst:.2g} (tolerance {GRADIENT_TOL:g}): "
                "not a minimum"
            )
        )
        return replace(self, reason=reason, max_scaled_gradient=worst, newton=None)


def check_convergence(
    stats: SufficientStats, spec: ModelSpec, theta: np.ndarray, *, at: Solution | None = None
) -> ConvergenceCheck:
    """lme4's checks at θ: a positive-definite Hessian and a small scaled gradient, over the
    components of θ that are not on the boundary (`at`: the solution at θ with its gradient,
    when already computed)."""
    theta = np.asarray(theta, dtype=float)
    boundary = {k for k in spec.diagonal if theta[k] < SINGULAR_TOL}
    if spec.correlated and 0 in boundary:
        boundary.add(1)  # a = 0: only b² + c² matters, so b is not determined on its own
    interior = [k for k in range(spec.n_theta) if k not in boundary]
    sol = at if at is not None and at.gradient is not None else solve(theta, stats, spec, grad=True)
    if not math.isfinite(sol.criterion) or sol.gradient is None:
        return ConvergenceCheck("the criterion is not finite at the estimate", math.nan, None)
    g = sol.gradient[interior]
    if not interior:
        return ConvergenceCheck("", 0.0, None)
    hess = _hessian(stats, spec, theta, interior)
    if not np.all(np.isfinite(hess)):
        return ConvergenceCheck("the Hessian at the estimate is not finite", math.nan, None)
    eig = np.linalg.eigvalsh(hess)
    grad = float(np.max(np.abs(g)))
    negative = int(np.sum(eig < -HESSIAN_TOL))
    if negative:
        return ConvergenceCheck(
            f"the Hessian at the estimate has {negative} negative eigenvalue"
            f"{'s' if negative > 1 else ''}: not a minimum",
            grad,
            float(eig[0]),
        )
    note = ""
    if float(eig[0]) < HESSIAN_TOL:
        # flat in some direction: a minimum, but not a unique one; judge the raw gradient
        note = (
            "the Hessian at the optimum is numerically singular: the variance parameters "
            "are not uniquely determined"
        )
        worst = grad
        chol = newton = None
    else:
        chol = np.linalg.cholesky(hess)
        worst = float(np.max(np.abs(np.linalg.solve(chol, g))))
        newton = np.linalg.solve(hess, g)
    inside = tuple(interior)
    if not worst < GRADIENT_TOL:
        return ConvergenceCheck(
            f"the scaled gradient at the estimate is {worst:.2g} (tolerance {GRADIENT_TOL:g}): "
            "not a minimum",
            worst,
            float(eig[0]),
            note,
            inside,
        )
    return ConvergenceCheck("", worst, float(eig[0]), note, inside, chol, newton)


def _hessian(
    stats: SufficientStats, spec: ModelSpec, theta: np.ndarray, comps: list[int]
) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised, over `comps`."""
    k = len(comps)
    hess = np.empty((k, k))
    for j, comp in enumerate(comps):
        h = 1e-4 * max(1.0, abs(float(theta[comp])))
        up, down = theta.copy(), theta.copy()
        up[comp] += h
        down[comp] -= h
        g_up = solve(up, stats, spec, grad=True).gradient
        g_down = solve(down, stats, spec, grad=True).gradient
        assert g_up is not None and g_down is not None
        hess[:, j] = (g_up[comps] - g_down[comps]) / (2.0 * h)
    return 0.5 * (hess + hess.T)
