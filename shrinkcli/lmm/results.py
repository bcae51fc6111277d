"""The fit as values: `ModelFit` (the model-level numbers, what Monte Carlo loops keep), `Fit`
(a `ModelFit` with the per-cluster table, the column names and the warnings) and `Intervals`
(its confidence intervals, computed in `intervals.py`), with `to_frame` and `to_dict`.

σ² = ρ²/(N − p) (REML) or ρ²/N (ML); fixed-effect standard errors sqrt(diag(σ²S⁻¹)), as lme4;
Σ̂ = σ²ΛΛᵀ; scaled residuals (y − Xβ − Zb)/σ with quantiles by R's type 7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError
from ..model import ModelSpec, VarianceComponents
from ..table import Table
from .optimize import OptSummary
from .pls import SufficientStats

if TYPE_CHECKING:
    import pandas as pd

#: Columns of `Fit.table` (and `Fit.clusters`), in this order.
CLUSTER_COLUMNS = (
    "cluster",
    "n",
    "ols_intercept",
    "ols_slope",
    "mixed_intercept",
    "mixed_slope",
    "ranef_intercept",
    "ranef_slope",
    "shrinkage",
    "ols_intercept_se",
    "ols_slope_se",
    "condvar_intercept",
    "condcov",
    "condvar_slope",
    "mixed_intercept_se",
    "mixed_slope_se",
    "true_intercept",
    "true_slope",
)

#: Columns of the per-cluster CSV (`Fit.to_frame`), before the truth: the estimates, then their
#: standard errors (added after the original seven, so the first seven keep their places).
TABLE_COLUMNS = (
    "cluster",
    "n",
    "ols_intercept",
    "ols_slope",
    "mixed_intercept",
    "mixed_slope",
    "shrinkage",
    "ols_intercept_se",
    "ols_slope_se",
    "mixed_intercept_se",
    "mixed_slope_se",
)


@dataclass(frozen=True)
class FixedEffect:
    """One row of lme4's fixed-effects table."""

    term: str  # "(Intercept)" or the x column's name, as lme4 prints it
    estimate: float
    std_error: float
    t_value: float


@dataclass(frozen=True)
class ModelFit:
    """The mixed model's estimates: everything lme4 reports at the model level.

    `ranef` holds the conditional modes (n_groups × 2; the slope column is 0 without a random
    slope); `scaled_residual_quantiles` is None when not computed (the fast path).
    """

    spec: ModelSpec
    criterion: float  # REML criterion (method "reml") or deviance (method "ml")
    n_obs: int
    n_groups: int
    theta: tuple[float, ...]
    beta: np.ndarray
    std_errors: np.ndarray
    sigma2: float
    ranef: np.ndarray
    optimizer: OptSummary
    scaled_residual_quantiles: tuple[float, float, float, float, float] | None = None
    # Hᵢ = ΛMᵢ⁻¹Λᵀ per cluster (h11, h12, h22) where the optimizer computed them in its working
    # coordinates (`optimize.optimize`); None: computed from θ when asked for
    conditional: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def random(self) -> str:
        return self.spec.random

    @property
    def loglik(self) -> float:
        return -0.5 * self.criterion

    @property
    def sigma(self) -> float:
        """Residual standard deviation σ̂ (lme4's `sigma()`)."""
        return math.sqrt(self.sigma2)

    @property
    def singular(self) -> bool:
        return self.spec.is_singular(self.theta)

    @property
    def converged(self) -> bool:
        return self.optimizer.converged

    @property
    def covariance(self) -> np.ndarray:
        """Σ̂ = σ²ΛΛᵀ, the 2×2 covariance of the random intercept and slope."""
        lam = self.spec.lambda_matrix(self.theta)
        return self.sigma2 * (lam @ lam.T)

    @property
    def variance(self) -> VarianceComponents:
        """Σ̂ as variances, SDs and the correlation (lme4's VarCorr)."""
        return self.spec.variance_components(self.theta, self.sigma2)

    @property
    def coef(self) -> np.ndarray:
        """Mixed-model coefficients per cluster: fixed effects + conditional modes."""
        return self.ranef + self.beta[None, :]

    def fixed_effects(self, x_name: str = "x") -> tuple[FixedEffect, ...]:
        """lme4's fixed-effects table, the slope named after the x column."""
        terms = ("(Intercept)", x_name)
        return tuple(
            FixedEffect(term=term, estimate=float(est), std_error=float(s), t_value=float(est / s))
            for term, est, s in zip(terms, self.beta, self.std_errors, strict=True)
        )


@dataclass(frozen=True)
class Interval:
    """One parameter's interval: NaN ends where the method gives none; `*_at_bound` when an end
    is the parameter's bound (an SD's 0, a correlation's ±1) because the profile never reached
    the level before it."""

    parameter: str  # a `ModelSpec.parameters()` key
    name: str  # lme4's row name
    estimate: float
    lower: float
    upper: float
    lower_at_bound: bool = False
    upper_at_bound: bool = False

    @property
    def width(self) -> float:
        return self.upper - self.lower


@dataclass(frozen=True)
class Intervals:
    """Confidence intervals of one fit at one level; `evaluations` counts the criterion
    evaluations profiling took (0 for Wald)."""

    method: str
    level: float
    rows: tuple[Interval, ...]
    evaluations: int = 0

    def get(self, parameter: str) -> Interval:
        """The row of a `ModelSpec.parameters()` key."""
        for row in self.rows:
            if row.parameter == parameter:
                return row
        raise KeyError(parameter)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN stays NaN: `io.jsonable` makes it null)."""
        return {
            "method": self.method,
            "level": self.level,
            "evaluations": self.evaluations,
            "rows": [
                {
                    "parameter": r.name,
                    "key": r.parameter,
                    "estimate": r.estimate,
                    "lower": r.lower,
                    "upper": r.upper,
                    "lower_at_bound": r.lower_at_bound,
                    "upper_at_bound": r.upper_at_bound,
                }
                for r in self.rows
            ],
        }

    def to_table(self) -> Table:
        """One row per parameter: parameter (lme4's name), estimate, lower, upper."""
        names = np.empty(len(self.rows), dtype=object)
        names[:] = [r.name for r in self.rows]
        return Table(
            {
                "parameter": names,
                "estimate": np.array([r.estimate for r in self.rows], dtype=float),
                "lower": np.array([r.lower for r in self.rows], dtype=float),
                "upper": np.array([r.upper for r in self.rows], dtype=float),
            }
        )


@dataclass(frozen=True)
class Fit:
    """A fit with everything known per cluster: the model's estimates (`model`), the by-cluster
    OLS fits and shrinkage, the truth when known.

    `table` has `CLUSTER_COLUMNS`, one row per cluster in the order lme4 reports them (sorted
    cluster levels); `ols_slope` is NaN where a cluster has no slope (one observation or
    constant x), `true_*` are NaN when the truth is unknown, `ranef_slope` and `mixed_slope`
    equal 0 / the fixed slope without a random slope (and the slope's conditional variance,
    covariance and standard error are NaN). `condvar_*`/`condcov` are lme4's conditional
    (co)variances of the random effects, `mixed_*_se` their square roots, `ols_*_se` the
    by-cluster standard errors (`uncertainty.py`). `clusters` is the same as a data frame.
    `intervals` holds confidence intervals when they were asked for; `stats` the per-cluster
    sums the fit was computed from (for the pooling path and profiling; None for a fit built
    elsewhere).
    """

    model: ModelFit
    table: Table
    names: dict[str, str] = field(
        default_factory=lambda: {"y": "y", "x": "x", "cluster": "cluster"}
    )
    engine: str = "native"
    warnings: tuple[str, ...] = ()
    intervals: Intervals | None = None
    stats: SufficientStats | None = field(default=None, repr=False, compare=False)

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec

    @property
    def fixed_effects(self) -> tuple[FixedEffect, ...]:
        return self.model.fixed_effects(self.names["x"])

    @cached_property
    def clusters(self) -> pd.DataFrame:
        """The per-cluster table as a data frame (`CLUSTER_COLUMNS`)."""
        return self.table.to_pandas()

    @property
    def has_truth(self) -> bool:
        return bool(np.isfinite(np.asarray(self.table["true_intercept"], dtype=float)).any())

    def to_table(self) -> Table:
        """The per-cluster table of the CSV output: `TABLE_COLUMNS`, plus the true coefficients
        when they are known; NaN where undefined. (`table` has every column.)"""
        cols = list(TABLE_COLUMNS)
        if self.has_truth:
            cols += ["true_intercept", "true_slope"]
        return self.table.select(cols)

    def to_frame(self) -> pd.DataFrame:
        """`to_table()` as a data frame."""
        return self.to_table().to_pandas()

    def cluster_records(self) -> list[dict[str, Any]]:
        """The per-cluster table's rows as JSON-ready dicts (NaN as None)."""
        columns = [_plain(self.table.array(c)) for c in CLUSTER_COLUMNS]
        rows = zip(*columns, strict=True)
        return [dict(zip(CLUSTER_COLUMNS, row, strict=True)) for row in rows]

    def to_dict(self, *, clusters: bool = True) -> dict[str, Any]:
        """The whole fit as JSON-ready values, with the keys of lme4.json's `reml` object
        (NaN becomes None), plus the engine, the model, how the optimizer went, and the
        confidence intervals when there are any; the per-cluster rows last, under "clusters"
        (left out with `clusters=False`)."""
        from ..io import jsonable

        m = self.model
        re = m.variance
        opt = m.optimizer
        quants = m.scaled_residual_quantiles or (math.nan,) * 5
        out: dict[str, Any] = {
            "method": "REML" if m.spec.reml else "ML",
            "random": m.spec.random,
            "formula": m.spec.formula(self.names["y"], self.names["x"], self.names["cluster"]),
            "engine": self.engine,
            "names": dict(self.names),
            "criterion": m.criterion,
            "loglik": m.loglik,
            "n_obs": int(m.n_obs),
            "n_groups": int(m.n_groups),
            "theta": list(m.theta),
            "singular": bool(m.singular),
            "converged": bool(m.converged),
            "fixed_effects": [
                {
                    "term": fe.term,
                    "estimate": fe.estimate,
                    "std_error": fe.std_error,
                    "t_value": fe.t_value,
                }
                for fe in self.fixed_effects
            ],
            "random_effects": {
                "intercept_var": re.intercept_var,
                "slope_var": re.slope_var,
                "intercept_sd": re.intercept_sd,
                "slope_sd": re.slope_sd,
                "corr": re.corr,
            },
            "residual": {"variance": m.sigma2, "sd": m.sigma},
            "scaled_residual_quantiles": list(quants),
            "optimizer": {
                "optimizer": opt.optimizer,
                "evaluations": int(opt.evaluations),
                "converged": bool(opt.converged),
                "reason": opt.reason,
                "message": opt.message,
                "theta_start": list(opt.theta_start),
                "theta": list(opt.theta),
                "restarts": int(opt.restarts),
                "max_scaled_gradient": opt.max_scaled_gradient,
                "hessian_min_eigenvalue": opt.hessian_min_eigenvalue,
                "note": opt.note,
                "criterion_start": opt.criterion_start,
                "criterion": opt.criterion,
                "gtol": opt.gtol,
                "ftol": opt.ftol,
                "probe_gain": opt.probe_gain,
                "singular_tol": opt.singular_tol,
                "gradient_tol": opt.gradient_tol,
                "hessian_tol": opt.hessian_tol,
                "max_evaluations": opt.max_evaluations,
                "fitlog": None
                if opt.fitlog is None
                else [{"theta": list(th), "criterion": crit} for th, crit in opt.fitlog],
            },
            "warnings": list(self.warnings),
        }
        if self.intervals is not None:
            out["intervals"] = self.intervals.to_dict()
        out = jsonable(out)
        if clusters:
            out["clusters"] = self.cluster_records()  # plain values (jsonable would walk 10⁵)
        return out


def _plain(values: np.ndarray) -> list[Any]:
    """A column as plain Python values for JSON, NaN as None."""
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        if nan.any():
            out: list[Any] = values.tolist()
            for i in np.flatnonzero(nan).tolist():
                out[i] = None
            return out
    if values.dtype.kind == "O":
        return [None if isinstance(v, float) and v != v else v for v in values.tolist()]
    return values.tolist()


#: lme4's words for a fit on the boundary, which `singular_note` explains.
SINGULAR = "boundary (singular) fit"


def singular_note(model: ModelFit) -> str | None:
    """For a singular fit, lme4's warning in words a student understands: which variance was
    estimated as zero (or which correlation as ±1), and what that does to the clusters' lines.
    None for a fit inside the boundary."""
    if not model.singular:
        return None
    from ..model import SINGULAR_TOL

    a, b, c = model.spec.lambda_entries(model.theta)
    no_intercepts = a < SINGULAR_TOL
    no_slopes = model.spec.has_random_slope and math.hypot(b, c) < SINGULAR_TOL
    if not model.spec.has_random_slope or (no_intercepts and no_slopes):
        what = (
            "the variance between clusters is estimated as zero: every cluster gets the "
            "population line (complete pooling), whatever its own data say"
        )
    elif no_intercepts:
        what = (
            "the random intercepts' variance is estimated as zero: the clusters' lines "
            "differ only in slope, all passing through the population line at x = 0"
        )
    elif no_slopes:
        what = (
            "the random slopes' variance is estimated as zero: every cluster gets the "
            "population slope, and only the intercepts differ"
        )
    else:  # c = 0 with b ≠ 0: slope deviations proportional to intercept deviations
        sign = "+1" if b * a > 0 else "−1"
        what = (
            f"the random intercepts and slopes are estimated as perfectly correlated "
            f"({sign}): every cluster's line crosses the population line at the same x "
            f"(x = {-a / b:.3g})"
        ).replace("-", "−")
    return f"{SINGULAR}: {what}"


def match_truth(truth: Table | pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """true_intercept and true_slope per cluster id (NaN for ids the truth does not list)."""
    t = truth if isinstance(truth, Table) else Table.from_pandas(truth)
    need = ["cluster", "true_intercept", "true_slope"]
    missing = [c for c in need if c not in t]
    if missing:
        raise DataError(
            f"truth: column {missing[0]!r} not found; columns present: {', '.join(t.names)}"
        )
    keys: list[Any] = t.array("cluster").tolist()
    wanted: list[Any] = ids.tolist()
    if (np.asarray(t.array("cluster")).dtype == object) != (ids.dtype == object):
        keys = [str(k) for k in keys]
        wanted = [str(k) for k in wanted]
    row: dict[Any, int] = {}
    for i, k in enumerate(keys):
        row.setdefault(k, i)  # the first row of an id that is listed twice
    at = np.array([row.get(k, -1) for k in wanted], dtype=np.intp)
    found = at >= 0
    out = []
    for name in ("true_intercept", "true_slope"):
        values = np.asarray(t.array(name), dtype=np.float64)
        col = np.full(at.shape[0], np.nan)
        col[found] = values[at[found]]
        out.append(col)
    return out[0], out[1]
