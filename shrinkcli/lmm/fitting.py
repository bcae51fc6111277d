"""The engine's entry points: `fit` (a table in, a `Fit` out) and `fit_arrays` (clean arrays in,
a `ModelFit` out: the fast path for simulation loops). Each is prepare → sufficient statistics →
optimize → results; nothing here validates (prepare.py does) or computes (pls.py does)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FitError
from ..model import N_FIXED, ModelSpec
from ..table import Table
from .optimize import FitControl, optimize
from .pls import SufficientStats, sufficient_stats
from .prepare import PreparedData, prepare_arrays, prepare_data
from .results import CLUSTER_COLUMNS, Fit, ModelFit, match_truth, singular_note
from .shrinkage import ols_by_cluster, shrinkage
from .uncertainty import conditional_covariances, ols_standard_errors

if TYPE_CHECKING:
    import pandas as pd


def fit(
    data: Table | pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    truth: Table | pd.DataFrame | None = None,
    control: FitControl | None = None,
    intervals: str | None = None,
    level: float = 0.95,
) -> Fit:
    """Fit the mixed model `spec` (default: y ~ x + (x | cluster) by REML) as lme4 does, and the
    by-cluster OLS regressions, to `data` (a `Table` or a pandas data frame).

    Rows with a missing y, x or cluster are dropped (lme4's na.omit) and counted in
    `Fit.warnings`, as is a fit that fails the convergence check. Raises DataError for unusable
    data and FitError for a model that cannot be fitted, each with a one-line message. `truth`
    (cluster, true_intercept, true_slope) fills the `true_*` columns. `intervals` ('wald' or
    'profile') adds lme4's confidence intervals at `level` (`Fit.intervals`).
    """
    spec = spec or ModelSpec()
    prep = prepare_data(data, y=y, x=x, cluster=cluster, spec=spec)
    stats = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    result = model_fit(stats, prep, spec, control=control, residual_quantiles=True)
    warnings = prep.warnings
    if not result.converged:
        warnings += (f"the fit did not converge: {result.optimizer.reason}",)
    if result.optimizer.note:
        warnings += (result.optimizer.note,)
    singular = singular_note(result)
    if singular:
        warnings += (singular,)
    cis = None
    if intervals is not None:
        from .intervals import confidence_intervals

        cis = confidence_intervals(intervals, stats, result, level, x=x, cluster=cluster)
    return Fit(
        model=result,
        table=cluster_table(prep, stats, result, truth),
        names={"y": y, "x": x, "cluster": cluster},
        warnings=warnings,
        intervals=cis,
        stats=stats,
    )


def fit_arrays(
    y: np.ndarray,
    x: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    spec: ModelSpec | None = None,
    *,
    residual_quantiles: bool = True,
    control: FitControl | None = None,
) -> ModelFit:
    """Fit the mixed model to clean arrays: y and x finite floats, `codes` cluster indices in
    0..n_groups−1, every cluster non-empty. No checks on values beyond that, no data frames.
    `residual_quantiles=False` skips the last O(N) pass."""
    spec = spec or ModelSpec()
    prep = prepare_arrays(y, x, codes, n_groups, spec)
    stats = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    return model_fit(stats, prep, spec, control=control, residual_quantiles=residual_quantiles)


def model_fit(
    stats: SufficientStats,
    prep: PreparedData,
    spec: ModelSpec,
    *,
    control: FitControl | None = None,
    residual_quantiles: bool = True,
) -> ModelFit:
    """Optimize and assemble the model-level estimates from the sufficient statistics."""
    theta, sol, summary = optimize(stats, spec, control)
    if not math.isfinite(sol.criterion):
        raise FitError("the fit failed: the residual sum of squares is zero (y fits exactly)")
    dof = stats.n_obs - N_FIXED if spec.reml else stats.n_obs
    sigma2 = sol.rho2 / dof
    beta = sol.beta.copy()
    se = np.sqrt(np.maximum(np.diag(sigma2 * sol.s_inv), 0.0))
    beta[0] += stats.y_shift
    assert sol.ranef is not None
    ranef = np.column_stack(sol.ranef)
    quants: tuple[float, float, float, float, float] | None = None
    if residual_quantiles:
        codes = prep.codes
        fitted = (beta[0] + ranef[:, 0])[codes] + (beta[1] + ranef[:, 1])[codes] * prep.x
        res = (prep.y - fitted) / math.sqrt(sigma2)
        qv = quantiles(res, (0.0, 0.25, 0.5, 0.75, 1.0))
        quants = (float(qv[0]), float(qv[1]), float(qv[2]), float(qv[3]), float(qv[4]))
    return ModelFit(
        spec=spec,
        criterion=sol.criterion,
        n_obs=stats.n_obs,
        n_groups=prep.n_groups,
        theta=tuple(float(v) for v in theta),
        beta=beta,
        std_errors=se,
        sigma2=sigma2,
        ranef=ranef,
        optimizer=summary,
        scaled_residual_quantiles=quants,
        conditional=sol.conditional,
    )


def quantiles(values: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """R's type-7 quantiles, the same doubles as numpy's default `np.quantile` (its order
    statistics by partition and its interpolation), without the import of numpy.ma that
    `np.quantile` makes through `np.unique`."""
    arr = np.array(values, dtype=np.float64)
    n = arr.shape[0]
    index = (n - 1) * np.asarray(probs, dtype=np.float64)
    below = np.floor(index).astype(np.intp)
    above = below + 1
    last = index >= n - 1
    below[last] = n - 1
    above[last] = n - 1
    arr.partition(sorted({0, n - 1, *below.tolist(), *above.tolist()}))
    lo, hi = arr[below], arr[above]
    gamma = index - np.where(last, -1, below)  # numpy's: counted from index −1 at the top
    diff = hi - lo
    out = lo + diff * gamma
    high = gamma >= 0.5
    out[high] = (hi - diff * (1 - gamma))[high]
    return out


def cluster_table(
    prep: PreparedData,
    stats: SufficientStats,
    result: ModelFit,
    truth: Table | pd.DataFrame | None = None,
) -> Table:
    """The per-cluster table (`CLUSTER_COLUMNS`): by-cluster OLS (lmList), mixed coefficients
    β + conditional modes, the modes, shrinkage, the standard errors and conditional variances
    (`uncertainty.py`) and the truth if given."""
    ols_intercept, ols_slope = ols_by_cluster(stats)
    beta, ranef = result.beta, result.ranef
    mixed = ranef + beta[None, :]
    x_mean = float(np.mean(prep.x))
    x_var = float(np.var(prep.x))
    shrunk = shrinkage(np.column_stack((ols_intercept, ols_slope)), mixed, beta, x_mean, x_var)
    k = prep.n_groups
    true_int = np.full(k, np.nan)
    true_slope = np.full(k, np.nan)
    if truth is not None:
        true_int, true_slope = match_truth(truth, prep.ids)
    ols_se = ols_standard_errors(stats)
    cv_int, cv_cov, cv_slope = conditional_covariances(
        stats, result.spec, result.theta, result.sigma2, result.conditional
    )
    columns = {
        "cluster": prep.ids,
        "n": stats.n.astype(np.int64),
        "ols_intercept": ols_intercept,
        "ols_slope": ols_slope,
        "mixed_intercept": mixed[:, 0],
        "mixed_slope": mixed[:, 1],
        "ranef_intercept": ranef[:, 0],
        "ranef_slope": ranef[:, 1],
        "shrinkage": shrunk,
        "ols_intercept_se": ols_se.intercept_se,
        "ols_slope_se": ols_se.slope_se,
        "condvar_intercept": cv_int,
        "condcov": cv_cov,
        "condvar_slope": cv_slope,
        "mixed_intercept_se": np.sqrt(cv_int),
        "mixed_slope_se": np.sqrt(cv_slope),
        "true_intercept": true_int,
        "true_slope": true_slope,
    }
    return Table({name: columns[name] for name in CLUSTER_COLUMNS})
