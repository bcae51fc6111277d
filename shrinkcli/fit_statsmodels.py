"""The same model fitted by statsmodels' MixedLM (method "lbfgs"): an independent cross-check of
the native engine in `shrinkcli.fit`, with the same result type (`engine="statsmodels"`).

statsmodels parametrises the random-effects covariance relative to the residual variance, as
lme4 does, so θ is read off as the lower Cholesky factor of cov_re / scale. Its ConvergenceWarnings
are captured into `Fit.warnings` instead of being printed.
"""

from __future__ import annotations

import math
import warnings as _warnings

import numpy as np
import pandas as pd

from shrinkcli.errors import FitError
from shrinkcli.fit import (
    SINGULAR_TOL,
    ArrayFit,
    Fit,
    Method,
    OptSummary,
    Random,
    _solve,
    _to_fit,
    clusters_frame,
    prepare_data,
    sufficient_stats,
)


def _theta_from_cov(rel: np.ndarray, slope: bool) -> tuple[float, ...]:
    """Λ with ΛΛᵀ = rel (lower triangular, non-negative diagonal), also for a singular rel."""
    a = math.sqrt(max(float(rel[0, 0]), 0.0))
    if not slope:
        return (a,)
    b = float(rel[0, 1]) / a if a > 0.0 else 0.0
    c = math.sqrt(max(float(rel[1, 1]) - b * b, 0.0))
    if a == 0.0:
        c = math.sqrt(max(float(rel[1, 1]), 0.0))
    return (a, b, c)


def fit_statsmodels(
    data: pd.DataFrame,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    method: Method = "reml",
    random: Random = "intercept-slope",
    truth: pd.DataFrame | None = None,
) -> Fit:
    """Fit y ~ x + (x | cluster) (or (1 | cluster)) with statsmodels MixedLM, method "lbfgs".

    Same data checks and per-cluster table as `shrinkcli.fit.fit`; the criterion is −2 × its
    (REML) log-likelihood.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    prep = prepare_data(data, y=y, x=x, cluster=cluster, method=method, random=random)
    slope = random == "intercept-slope"
    n_obs = int(prep.y.shape[0])
    exog = np.column_stack((np.ones(n_obs), prep.x))
    exog_re = exog if slope else exog[:, :1]
    reml = method == "reml"
    fallback: list[str] = []
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        model = MixedLM(prep.y, exog, groups=prep.codes, exog_re=exog_re)
        res = None
        for optimizer in ("lbfgs", "bfgs", "powell"):
            try:
                res = model.fit(reml=reml, method=optimizer)
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
    theta = _theta_from_cov(cov_re / scale, slope)
    q = 2 if slope else 1
    full_cov = np.zeros((2, 2))
    full_cov[:q, :q] = cov_re
    beta = np.asarray(res.fe_params, dtype=float)
    se = np.asarray(res.bse_fe, dtype=float)
    messages = list(prep.warnings) + fallback
    for w in caught:
        text = " ".join(str(w.message).split())
        messages.append(f"statsmodels: {w.category.__name__}: {text}")
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    ranef = np.zeros((prep.n_groups, 2))
    try:
        for code, values in res.random_effects.items():
            ranef[int(code), :q] = np.asarray(values, dtype=float)[:q]
    except (np.linalg.LinAlgError, ValueError):
        # statsmodels refuses a singular covariance; the modes at its θ in closed form instead
        a, b, c = (*theta, 0.0, 0.0)[:3]
        modes = _solve(a, b, c, st, reml, False, True).ranef
        assert modes is not None
        ranef = np.column_stack(modes)
        messages.append("statsmodels: conditional modes computed from its θ (singular fit)")
    crit = -2.0 * float(res.llf)
    fitted = (beta[0] + ranef[:, 0])[prep.codes] + (beta[1] + ranef[:, 1])[prep.codes] * prep.x
    qv = np.quantile((prep.y - fitted) / math.sqrt(scale), [0.0, 0.25, 0.5, 0.75, 1.0])
    diag = (theta[0], theta[2]) if slope else (theta[0],)
    converged = bool(getattr(res, "converged", True))
    summary = OptSummary(
        optimizer=f"statsmodels MixedLM {optimizer}",
        evaluations=-1,
        converged=converged,
        message="converged" if converged else "not converged",
        theta_start=(),
        theta=theta,
    )
    light = ArrayFit(
        method=method,
        random=random,
        criterion=crit,
        loglik=float(res.llf),
        n_obs=n_obs,
        n_groups=prep.n_groups,
        theta=theta,
        beta=beta,
        std_errors=se[:2],
        sigma2=scale,
        cov_re=full_cov,
        ranef=ranef,
        singular=bool(min(diag) < SINGULAR_TOL),
        converged=converged,
        optimizer=summary,
        scaled_residual_quantiles=(
            float(qv[0]),
            float(qv[1]),
            float(qv[2]),
            float(qv[3]),
            float(qv[4]),
        ),
    )
    clusters = clusters_frame(prep, st, beta, ranef, truth)
    return _to_fit(
        light,
        clusters,
        names={"y": y, "x": x, "cluster": cluster},
        warnings=tuple(messages),
        x_name=x,
        engine="statsmodels",
    )
