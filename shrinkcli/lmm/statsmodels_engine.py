"""The same model fitted by statsmodels' MixedLM (method "lbfgs"): an independent cross-check of
the native engine in `shrinkcli.lmm`, with the same result type (`engine="statsmodels"`).

statsmodels parametrises the random-effects covariance relative to the residual variance, as
lme4 does, so θ is read off as the lower Cholesky factor of cov_re / scale. Its ConvergenceWarnings
are captured into `Fit.warnings` instead of being printed.
"""

from __future__ import annotations

import math
import warnings as _warnings
from typing import TYPE_CHECKING

import numpy as np

from shrinkcli.errors import FitError
from shrinkcli.lmm import (
    Fit,
    ModelFit,
    OptSummary,
    check_convergence,
    cluster_table,
    prepare_data,
    solve,
    sufficient_stats,
)
from shrinkcli.model import ModelSpec

if TYPE_CHECKING:
    import pandas as pd

    from shrinkcli.table import Table


def _theta_from_cov(rel: np.ndarray, spec: ModelSpec) -> tuple[float, ...]:
    """θ with ΛΛᵀ = rel (Λ lower triangular with a non-negative diagonal), also for a singular
    rel; the entries `spec` does not hold are dropped."""
    a = math.sqrt(max(float(rel[0, 0]), 0.0))
    if not spec.has_random_slope:
        return (a,)
    b = float(rel[0, 1]) / a if a > 0.0 else 0.0
    c = math.sqrt(max(float(rel[1, 1]) - b * b, 0.0))
    if a == 0.0:
        c = math.sqrt(max(float(rel[1, 1]), 0.0))
    return tuple(float(v) for v in spec.theta_of((a, b, c)))


def fit_statsmodels(
    data: Table | pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    truth: Table | pd.DataFrame | None = None,
) -> Fit:
    """Fit `spec` with statsmodels MixedLM, method "lbfgs" (an uncorrelated intercept and slope
    through a diagonal covariance constraint).

    Same data checks and per-cluster table as `shrinkcli.lmm.fit`; the criterion is −2 × its
    (REML) log-likelihood, and the convergence check is the native engine's at statsmodels' θ.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    spec = spec or ModelSpec()
    prep = prepare_data(data, y=y, x=x, cluster=cluster, spec=spec)
    slope = spec.has_random_slope
    n_obs = int(prep.y.shape[0])
    exog = np.column_stack((np.ones(n_obs), prep.x))
    exog_re = exog if slope else exog[:, :1]
    reml = spec.reml
    free = None
    if slope and not spec.correlated:
        free = MixedLMParams.from_components(np.ones(2), np.eye(2))
    fallback: list[str] = []
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        lm = MixedLM(prep.y, exog, groups=prep.codes, exog_re=exog_re)
        res = None
        for optimizer in ("lbfgs", "bfgs", "powell"):
            try:
                res = lm.fit(reml=reml, method=optimizer, free=free)
                if math.isfinite(float(res.llf)):
                    break
                fallback.append(f"statsmodels: method {optimizer!r} gave a non-finite likelihood")
                res = None
            except (np.linalg.LinAlgError, ValueError) as err:
                # statsmodels' lbfgs can step to a singular V (seen with a random intercept only)
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                fallback.append(f"statsmodels: method {optimizer!r} failed ({first})")
        if res is None:
            raise FitError("statsmodels MixedLM failed: " + "; ".join(fallback))
    scale = float(res.scale)
    cov_re = np.asarray(res.cov_re, dtype=float)
    theta = _theta_from_cov(cov_re / scale, spec)
    q = 2 if slope else 1
    beta = np.asarray(res.fe_params, dtype=float)
    se = np.asarray(res.bse_fe, dtype=float)
    # statsmodels' own notes (an optimizer it fell back from, its warnings) describe how it got
    # there, not a problem with the fit: they go with the optimizer's record. Real problems are
    # what the convergence check finds at its θ, and those are warnings.
    notes = list(
        dict.fromkeys(
            fallback
            + [f"{w.category.__name__}: {' '.join(str(w.message).split())}" for w in caught]
        )
    )
    messages = list(prep.warnings)
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    ranef = np.zeros((prep.n_groups, 2))
    try:
        for code, values in res.random_effects.items():
            ranef[int(code), :q] = np.asarray(values, dtype=float)[:q]
    except (np.linalg.LinAlgError, ValueError):
        # statsmodels refuses a singular covariance; the modes at its θ in closed form instead
        modes = solve(theta, st, spec, modes=True).ranef
        assert modes is not None
        ranef = np.column_stack(modes)
        notes.append("conditional modes computed from its θ (singular fit)")
    crit = -2.0 * float(res.llf)
    fitted = (beta[0] + ranef[:, 0])[prep.codes] + (beta[1] + ranef[:, 1])[prep.codes] * prep.x
    qv = np.quantile((prep.y - fitted) / math.sqrt(scale), [0.0, 0.25, 0.5, 0.75, 1.0])
    check = check_convergence(st, spec, np.array(theta))
    reported = bool(getattr(res, "converged", False))
    reason = check.reason or ("" if reported else "statsmodels reports no convergence")
    summary = OptSummary(
        optimizer=f"statsmodels MixedLM {optimizer}",
        evaluations=-1,
        converged=not reason,
        reason=reason,
        message="; ".join(["converged" if reported else "not converged", *notes]),
        theta_start=(),
        theta=theta,
        restarts=0,
        max_scaled_gradient=check.max_scaled_gradient,
        hessian_min_eigenvalue=check.hessian_min_eigenvalue,
        note=check.note,
        criterion=crit,
    )
    if reason:
        messages.append(f"the fit did not converge: {reason}")
    result = ModelFit(
        spec=spec,
        criterion=crit,
        n_obs=n_obs,
        n_groups=prep.n_groups,
        theta=theta,
        beta=beta,
        std_errors=se[:2],
        sigma2=scale,
        ranef=ranef,
        optimizer=summary,
        scaled_residual_quantiles=(
            float(qv[0]),
            float(qv[1]),
            float(qv[2]),
            float(qv[3]),
            float(qv[4]),
        ),
    )
    return Fit(
        model=result,
        table=cluster_table(prep, st, result, truth),
        names={"y": y, "x": x, "cluster": cluster},
        engine="statsmodels",
        warnings=tuple(messages),
    )
