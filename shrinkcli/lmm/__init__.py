"""The mixed-model engine: y ~ x + random effects of one grouping factor, fitted exactly as lme4
does, with the by-cluster OLS fits and shrinkage. One concept a module:

- `prepare`    the only place that validates data; arrays and cluster codes in lme4's order
- `pls`        the penalized least squares at θ; the profiled criterion as a pure function of θ
- `optimize`   the optimizer and its `OptSummary`, with lme4's convergence check
- `results`    the fit as values (`ModelFit`, `Fit`, `Intervals`), `to_frame`/`to_dict`
- `shrinkage`  per-cluster OLS lines, shrinkage measures and the pooling path
- `uncertainty` per-cluster conditional variances (lme4's condVar) and OLS standard errors
- `profile`    profiles of the ML deviance (lme4's `profile()`)
- `intervals`  confidence intervals of the parameters: Wald and profile (lme4's `confint()`)
- `fitting`    the entry points `fit` and `fit_arrays`
- `glmm`       binomial and Poisson mixed models by glmer's Laplace approximation (`fit_glmm`;
               imported as `shrinkcli.lmm.glmm`, not from here: it needs scipy)
- `quadrature` adaptive Gauss–Hermite quadrature of a scalar random effect (glmer's nAGQ > 1)

No I/O, no printing, no plotting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fitting import cluster_table, fit, fit_arrays, model_fit
from .optimize import FitControl, OptSummary, check_convergence
from .pls import SufficientStats, criterion, solve, sufficient_stats
from .prepare import PreparedData, prepare_arrays, prepare_data
from .results import (
    CLUSTER_COLUMNS,
    TABLE_COLUMNS,
    Fit,
    FixedEffect,
    Interval,
    Intervals,
    ModelFit,
    match_truth,
    singular_note,
)
from .shrinkage import PoolingPath, line_distance, ols_by_cluster, pooling_path, shrinkage
from .uncertainty import OlsErrors, conditional_covariances, ols_standard_errors

if TYPE_CHECKING:
    from .intervals import (
        INTERVAL_METHODS,
        confidence_intervals,
        profile_intervals,
        wald_intervals,
    )

#: Names imported from `intervals` (and with it `profile`) when first asked for: a plain fit
#: does not need them, and every command that fits starts faster without them.
_LAZY = {
    "INTERVAL_METHODS",
    "confidence_intervals",
    "profile_intervals",
    "wald_intervals",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import intervals

        return getattr(intervals, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CLUSTER_COLUMNS",
    "INTERVAL_METHODS",
    "Interval",
    "Intervals",
    "OlsErrors",
    "PoolingPath",
    "conditional_covariances",
    "confidence_intervals",
    "ols_standard_errors",
    "pooling_path",
    "profile_intervals",
    "wald_intervals",
    "TABLE_COLUMNS",
    "Fit",
    "FitControl",
    "FixedEffect",
    "ModelFit",
    "OptSummary",
    "PreparedData",
    "SufficientStats",
    "check_convergence",
    "cluster_table",
    "criterion",
    "fit",
    "fit_arrays",
    "line_distance",
    "match_truth",
    "model_fit",
    "ols_by_cluster",
    "prepare_arrays",
    "prepare_data",
    "shrinkage",
    "singular_note",
    "solve",
    "sufficient_stats",
]
