"""Linear mixed model y ~ x + (x | cluster) (or (1 | cluster)) and the by-cluster OLS fits.

The engine is being written; this module currently holds the result types that the rest of the
package builds on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Method = Literal["reml", "ml"]
Random = Literal["intercept-slope", "intercept"]

#: Columns of `Fit.clusters`, in this order.
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
    "true_intercept",
    "true_slope",
)


@dataclass(frozen=True)
class FixedEffect:
    """One row of lme4's fixed-effects table."""

    term: str  # "(Intercept)" or the x column's name, as lme4 prints it
    estimate: float
    std_error: float
    t_value: float


@dataclass(frozen=True)
class RandomEffects:
    """Variance components of the cluster random effects (slope fields are None without a
    random slope)."""

    intercept_var: float
    slope_var: float | None
    intercept_sd: float
    slope_sd: float | None
    corr: float | None

    def covariance(self) -> np.ndarray:
        """Σ̂, the 2×2 covariance matrix of (random intercept, random slope); zeros for the
        slope without a random slope."""
        sv = self.slope_var or 0.0
        c = (self.corr or 0.0) * self.intercept_sd * (self.slope_sd or 0.0)
        return np.array([[self.intercept_var, c], [c, sv]])


@dataclass(frozen=True)
class OptSummary:
    """How the optimizer went (after MixedModels.jl's OptSummary)."""

    optimizer: str
    evaluations: int
    converged: bool
    message: str
    theta_start: tuple[float, ...]
    theta: tuple[float, ...]
    restarts: int = 0


@dataclass(frozen=True)
class Fit:
    """Everything known about one fit: the mixed model, the by-cluster OLS fits, the truth.

    `clusters` is a data frame with `CLUSTER_COLUMNS`, one row per cluster in the order lme4
    reports them (sorted cluster levels); `ols_slope` is NaN where a cluster has no slope (one
    observation or constant x), `true_*` are NaN when the truth is unknown, `ranef_slope` and
    `mixed_slope` equal 0 / the fixed slope without a random slope.
    """

    method: Method
    random: Random
    criterion: float  # REML criterion (method "reml") or deviance (method "ml")
    loglik: float
    n_obs: int
    n_groups: int
    theta: tuple[float, ...]
    singular: bool
    converged: bool
    fixed_effects: tuple[FixedEffect, ...]
    random_effects: RandomEffects
    residual_variance: float
    residual_sd: float
    scaled_residual_quantiles: tuple[float, float, float, float, float]
    clusters: pd.DataFrame
    optimizer: OptSummary
    names: dict[str, str] = field(default_factory=lambda: {"y": "y", "x": "x", "cluster": "cluster"})
    engine: str = "native"
    warnings: tuple[str, ...] = ()

    @property
    def beta(self) -> np.ndarray:
        """Fixed effects (intercept, slope) as an array."""
        return np.array([fe.estimate for fe in self.fixed_effects])

    @property
    def has_truth(self) -> bool:
        return bool(self.clusters["true_intercept"].notna().any())

    def to_frame(self) -> pd.DataFrame:
        """The per-cluster table (the CSV output)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The whole fit as JSON-ready values, with the keys of lme4.json's `reml` object."""
        raise NotImplementedError


def fit(
    data: pd.DataFrame,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    method: Method = "reml",
    random: Random = "intercept-slope",
    truth: pd.DataFrame | None = None,
) -> Fit:
    """Fit the mixed model and the by-cluster OLS regressions to `data`."""
    raise NotImplementedError
