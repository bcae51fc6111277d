"""Confidence intervals of the model's parameters, as lme4's `confint(mod, oldNames = FALSE)`:

- `wald`: the fixed effects' β̂ ± z·SE with the fit's own standard errors (lme4's
  `method = "Wald"`, which gives none for the variance parameters: their rows are NaN);
- `profile`: profile-likelihood intervals of every parameter (`profile.py`; as lme4's, they come
  from the ML deviance, also for a REML fit).

Rows are in lme4's order and carry lme4's names; `estimate` is the fit's own estimate (REML or
ML), shown beside the interval. No I/O.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

from .optimize import working_scale
from .pls import rescaled
from .profile import Profiler
from .results import Interval, Intervals
from .uncertainty import z_quantile

if TYPE_CHECKING:
    from .pls import SufficientStats
    from .results import ModelFit

IntervalMethod = Literal["wald", "profile"]
#: The methods, in the order help texts list them.
INTERVAL_METHODS: tuple[str, ...] = get_args(IntervalMethod)


def estimates(fit: ModelFit) -> dict[str, float]:
    """The fit's estimate of each of its parameters, by `ModelSpec.parameters()` key."""
    vc = fit.variance
    values = {
        "sd_int": vc.intercept_sd,
        "cor": math.nan if vc.corr is None else vc.corr,
        "sd_slope": math.nan if vc.slope_sd is None else vc.slope_sd,
        "sigma": fit.sigma,
        "intercept": float(fit.beta[0]),
        "beta": float(fit.beta[1]),
    }
    return {p: values[p] for p in fit.spec.parameters()}


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (got {level})")
    return level


def wald_intervals(
    fit: ModelFit, level: float = 0.95, *, x: str = "x", cluster: str = "cluster"
) -> Intervals:
    """lme4's `confint(mod, method = "Wald")`: β̂ ± z·SE; NaN for the variance parameters."""
    level = _check_level(level)
    z = z_quantile(level)
    est = estimates(fit)
    se = {"intercept": float(fit.std_errors[0]), "beta": float(fit.std_errors[1])}
    rows = []
    for p in fit.spec.parameters():
        lo = hi = math.nan
        if p in se:
            lo, hi = est[p] - z * se[p], est[p] + z * se[p]
        rows.append(Interval(p, fit.spec.parameter_name(p, x, cluster), est[p], lo, hi))
    return Intervals("wald", level, tuple(rows))


def profile_intervals(
    stats: SufficientStats,
    fit: ModelFit,
    level: float = 0.95,
    *,
    x: str = "x",
    cluster: str = "cluster",
    parameters: tuple[str, ...] | None = None,
) -> Intervals:
    """lme4's `confint(mod, method = "profile")` of every parameter (or of `parameters`) of the
    fit of `stats`, from the ML deviance (see `profile.py`)."""
    level = _check_level(level)
    # Profiled with x divided by a power of two near its spread (exact): the searches over θ
    # then mean the same for x in millions or millionths as for x around 1; the slope and its
    # SD are in units of x divided by it, and are multiplied back exactly.
    scale = working_scale(stats) if fit.spec.has_random_slope else 1.0
    profiler = Profiler(rescaled(stats, 0.0, scale) if scale != 1.0 else stats, fit.spec)
    est = estimates(fit)
    rows = []
    for p in parameters or fit.spec.parameters():
        prof = profiler.interval(p, level)
        back = 1.0 / scale if p in ("beta", "sd_slope") else 1.0
        rows.append(
            Interval(
                p,
                fit.spec.parameter_name(p, x, cluster),
                est[p],
                prof.lower.value * back,
                prof.upper.value * back,
                prof.lower.at_bound,
                prof.upper.at_bound,
            )
        )
    return Intervals("profile", level, tuple(rows), profiler.evaluations)


def confidence_intervals(
    method: str,
    stats: SufficientStats,
    fit: ModelFit,
    level: float = 0.95,
    *,
    x: str = "x",
    cluster: str = "cluster",
) -> Intervals:
    """The intervals of `method` ('wald' or 'profile')."""
    if method == "wald":
        return wald_intervals(fit, level, x=x, cluster=cluster)
    if method == "profile":
        return profile_intervals(stats, fit, level, x=x, cluster=cluster)
    raise ValueError(f"unknown interval method {method!r}: use 'wald' or 'profile'")
