"""Minimising the profiled criterion over θ, and checking that the minimum is one.

Optimizer
---------
L-BFGS-B on the analytic gradient from lme4's start (1 on the diagonal of Λ, 0 below it). The
criterion depends on Λ only through ΛΛᵀ, so it is unchanged when a column of Λ changes sign:
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
from dataclasses import dataclass

import numpy as np

from ..model import SINGULAR_TOL, ModelSpec
from .pls import Solution, SufficientStats, solve

#: Step sizes tried off a boundary θ before declaring the boundary optimum genuine.
_PROBE_STEPS = (1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0, 3.0, 10.0, 100.0)
_MAX_RESTARTS = 6
#: lme4's tolerance on the scaled gradient (`check.conv.grad`).
GRADIENT_TOL = 2e-3
#: lme4's tolerance on the Hessian's eigenvalues (`check.conv.hess`).
HESSIAN_TOL = 1e-6


@dataclass(frozen=True)
class FitControl:
    """Settings of the optimizer: `max_evaluations` limits the criterion evaluations of the
    search (None: no limit beyond the optimizer's own), for experiments with convergence;
    `theta` skips the search and evaluates the model at that θ (e.g. at lme4's own)."""

    max_evaluations: int | None = None
    theta: tuple[float, ...] | None = None


@dataclass(frozen=True)
class OptSummary:
    """How the optimizer went (after MixedModels.jl's OptSummary), and the convergence check:
    `converged` is true only when the check passed; `reason` says why not."""

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


class _EvaluationLimit(Exception):
    """Raised inside the search when `FitControl.max_evaluations` is used up."""


def _boundary_candidates(model: ModelSpec, theta: np.ndarray) -> list[np.ndarray]:
    """Points just off the boundary (and the equivalent representations of a = 0) that a
    gradient method cannot see from a boundary saddle."""
    if model.n_theta == 1:
        if theta[0] < SINGULAR_TOL:
            return [np.array([d]) for d in _PROBE_STEPS]
        return [np.array([0.0])]  # a stationary point away from the boundary: is it lower?
    a, b, c = model.lambda_entries(theta)
    lam: list[tuple[float, float, float]] = []
    if min(a, c) >= SINGULAR_TOL:
        r = math.hypot(b, c)
        lam += [(a, b, 0.0), (0.0, 0.0, r), (0.0, 0.0, 0.0)]
    if c < SINGULAR_TOL:
        lam += [(a, b, d) for d in _PROBE_STEPS]
        if model.correlated:
            lam += [(a, b * 0.5, d) for d in _PROBE_STEPS]
    if a < SINGULAR_TOL:
        r = math.hypot(b, c)
        for d in _PROBE_STEPS:
            if model.correlated:
                lam += [(d, r, 0.0), (d, -r, 0.0), (d, b, c), (d, 0.0, r)]
            else:
                lam.append((d, 0.0, c))
    return [model.theta_of(v) for v in lam]


def optimize(
    stats: SufficientStats, model: ModelSpec, control: FitControl | None = None
) -> tuple[np.ndarray, Solution, OptSummary]:
    """Minimise the profiled criterion from lme4's start, escaping boundary saddles, and check
    the result; returns θ̂, the solution there (with conditional modes) and the summary."""
    from scipy.optimize import minimize

    ctl = control or FitControl()
    if ctl.theta is not None:
        return _at(stats, model, ctl.theta)
    start = np.array(model.theta_start)
    evaluations = 0
    limit = ctl.max_evaluations
    seen: list[tuple[float, np.ndarray]] = []  # the best point evaluated, for a stopped search

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        if limit is not None and evaluations >= limit:
            raise _EvaluationLimit
        evaluations += 1
        sol = solve(th, stats, model, grad=True)
        assert sol.gradient is not None
        if not math.isfinite(sol.criterion):
            return math.inf, np.zeros_like(th)
        if not seen or sol.criterion < seen[0][0]:
            seen[:] = [(sol.criterion, th.copy())]
        return sol.criterion, sol.gradient

    def value(th: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        return solve(th, stats, model).criterion

    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-8 * max(1.0, stats.n_obs / 1000.0)}
    theta = start
    stopped_early: list[str] = []
    messages: list[str] = []
    restarts = 0
    best_f = math.inf
    while True:
        try:
            res = minimize(fun, theta, jac=True, method="L-BFGS-B", options=options)
        except _EvaluationLimit:
            message = f"evaluation limit ({limit}) reached"
            messages.append(message)
            stopped_early.append(message)
            if seen and seen[0][0] <= best_f:
                theta = model.canonical(seen[0][1])
            break
        theta_new = model.canonical(np.asarray(res.x, dtype=float))
        f_new = float(res.fun)
        if f_new <= best_f:
            theta, best_f = theta_new, f_new
        messages.append(str(res.message))
        if not res.success:
            stopped_early.append(str(res.message))
        cands = _boundary_candidates(model, theta)
        if not cands or restarts >= _MAX_RESTARTS:
            break
        if limit is not None and evaluations + len(cands) > limit:
            stopped_early.append(f"evaluation limit ({limit}) reached before the boundary probes")
            break
        vals = [value(cand) for cand in cands]
        i = int(np.argmin(vals))
        if not vals[i] < best_f - 1e-10 * max(1.0, abs(best_f)):
            break
        theta = cands[i]
        restarts += 1
        best_f = min(best_f, vals[i])
    sol = solve(theta, stats, model, modes=True)
    check = check_convergence(stats, model, theta)
    reason = check.reason
    if reason and stopped_early:
        reason = f"{reason} (the optimizer stopped: {stopped_early[-1]})"
    summary = OptSummary(
        optimizer="L-BFGS-B (analytic gradient) + boundary probes",
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
    )
    return theta, sol, summary


def _at(
    stats: SufficientStats, model: ModelSpec, theta: tuple[float, ...]
) -> tuple[np.ndarray, Solution, OptSummary]:
    """No search: the solution and the convergence check at a given θ."""
    if len(theta) != model.n_theta:
        raise ValueError(f"θ needs {model.n_theta} values for {model.random}, got {len(theta)}")
    th = model.canonical(np.array(theta, dtype=float))
    check = check_convergence(stats, model, th)
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
    )
    return th, solve(th, stats, model, modes=True), summary


@dataclass(frozen=True)
class ConvergenceCheck:
    """The outcome of `check_convergence`: an empty `reason` means it passed."""

    reason: str
    max_scaled_gradient: float
    hessian_min_eigenvalue: float | None
    note: str = ""  # a minimum, but something to know about it


def check_convergence(
    stats: SufficientStats, model: ModelSpec, theta: np.ndarray
) -> ConvergenceCheck:
    """lme4's checks at θ: a positive-definite Hessian and a small scaled gradient, over the
    components of θ that are not on the boundary."""
    theta = np.asarray(theta, dtype=float)
    boundary = {k for k in model.diagonal if theta[k] < SINGULAR_TOL}
    if model.correlated and 0 in boundary:
        boundary.add(1)  # a = 0: only b² + c² matters, so b is not determined on its own
    interior = [k for k in range(model.n_theta) if k not in boundary]
    sol = solve(theta, stats, model, grad=True)
    if not math.isfinite(sol.criterion) or sol.gradient is None:
        return ConvergenceCheck("the criterion is not finite at the estimate", math.nan, None)
    g = sol.gradient[interior]
    if not interior:
        return ConvergenceCheck("", 0.0, None)
    hess = _hessian(stats, model, theta, interior)
    if not np.all(np.isfinite(hess)):
        return ConvergenceCheck("the Hessian at the estimate is not finite", math.nan, None)
    eig = np.linalg.eigvalsh(hess)
    grad = float(np.max(np.abs(g)))
    negative = int(np.sum(eig < -HESSIAN_TOL))
    if negative:
        return ConvergenceCheck(
            f"the Hessian at the estimate has {negative} negative eigenvalue"
            f"{'s' if negative > 1 else ''}: not a minimum", grad, float(eig[0]))
    note = ""
    if float(eig[0]) < HESSIAN_TOL:
        # flat in some direction: a minimum, but not a unique one; judge the raw gradient
        note = ("the Hessian at the optimum is numerically singular: the variance parameters "
                "are not uniquely determined")
        worst = grad
    else:
        worst = float(np.max(np.abs(np.linalg.solve(np.linalg.cholesky(hess), g))))
    if not worst < GRADIENT_TOL:
        return ConvergenceCheck(
            f"the scaled gradient at the estimate is {worst:.2g} (tolerance {GRADIENT_TOL:g}): "
            "not a minimum", worst, float(eig[0]), note)
    return ConvergenceCheck("", worst, float(eig[0]), note)


def _hessian(
    stats: SufficientStats, model: ModelSpec, theta: np.ndarray, comps: list[int]
) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised, over `comps`."""
    k = len(comps)
    hess = np.empty((k, k))
    for j, comp in enumerate(comps):
        h = 1e-4 * max(1.0, abs(float(theta[comp])))
        up, down = theta.copy(), theta.copy()
        up[comp] += h
        down[comp] -= h
        g_up = solve(up, stats, model, grad=True).gradient
        g_down = solve(down, stats, model, grad=True).gradient
        assert g_up is not None and g_down is not None
        hess[:, j] = (g_up[comps] - g_down[comps]) / (2.0 * h)
    return 0.5 * (hess + hess.T)
