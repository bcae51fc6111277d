"""What the report measures in one fit: estimates against the truth, shrinkage, and the error of
the by-cluster and the mixed-model estimates; plus the sentences that read those numbers.

Errors are taken over the clusters that have a by-cluster (OLS) slope, so that both methods are
judged on the same clusters. The "line" error of an estimate is the root-mean-square vertical
distance between its line and the true line over the observed x values, the same distance that
defines `shrinkage` in `shrinkcli.lmm.shrinkage`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io import jsonable
from ..lmm import line_distance

if TYPE_CHECKING:
    from ..lmm import Fit

#: Relative change of RMSE below which the report calls two errors about equal.
SAME = 0.05
#: Spearman correlations of size and shrinkage beyond ±this are read as a relationship (by
#: every sentence on size and shrinkage, so that no two of them disagree).
RHO = 0.3


@dataclass(frozen=True)
class Errors:
    """RMSE of the by-cluster (OLS) and mixed estimates against the true cluster coefficients."""

    clusters: int  # clusters compared (those with an OLS slope and a known truth)
    left_out: int  # clusters without an OLS slope (or truth)
    ols_intercept: float
    mixed_intercept: float
    ols_slope: float
    mixed_slope: float
    ols_line: float
    mixed_line: float
    closer: int  # clusters whose mixed line is closer to the true line than their OLS line


@dataclass(frozen=True)
class Metrics:
    """One scenario's numbers for the overview, summary.csv and its page."""

    estimates: dict[str, float | None]  # est_intercept, est_intercept_se, est_beta, ...
    criterion: float
    singular: bool
    converged: bool
    mean_shrinkage: float
    errors: Errors | None  # None without a truth
    most_shrunk: list[dict[str, Any]] = field(default_factory=list)
    least_shrunk: list[dict[str, Any]] = field(default_factory=list)
    cluster_size: float = math.nan  # median observations per cluster
    own_intercept_se: float = math.nan  # about σ̂ / √(median size): one cluster's own intercept
    size_rho: float = math.nan  # Spearman correlation of cluster size and shrinkage


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either is constant."""
    import pandas as pd

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(pd.Series(a).rank().corr(pd.Series(b).rank()))


def compare(before: float, after: float) -> str:
    """The one rule by which the report calls an error 'better', 'worse' or 'same' (within
    `SAME`, relative): the table's colours, the headline's count and the sentences use it."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return "same"
    if after < (1 - SAME) * before:
        return "better"
    if after > (1 + SAME) * before:
        return "worse"
    return "same"


def _rmse(a: np.ndarray) -> float:
    return math.sqrt(float(np.mean(a * a))) if a.size else math.nan


def errors(fit: Fit, x: np.ndarray) -> Errors | None:
    """RMSE of OLS and mixed estimates against the truth, over clusters with an OLS slope."""
    if not fit.has_truth:
        return None

    def col(name: str) -> np.ndarray:
        return np.asarray(fit.table.array(name), dtype=float)

    ok = (
        ~np.isnan(col("ols_slope"))
        & ~np.isnan(col("true_intercept"))
        & ~np.isnan(col("true_slope"))
    )
    ti = col("true_intercept")[ok]
    ts = col("true_slope")[ok]
    oi = col("ols_intercept")[ok]
    os_ = col("ols_slope")[ok]
    mi = col("mixed_intercept")[ok]
    ms = col("mixed_slope")[ok]
    x_mean, x_var = float(np.mean(x)), float(np.var(x))
    d_ols = line_distance(oi - ti, os_ - ts, x_mean, x_var)
    d_mix = line_distance(mi - ti, ms - ts, x_mean, x_var)
    return Errors(
        clusters=int(ok.sum()),
        left_out=int((~ok).sum()),
        ols_intercept=_rmse(oi - ti),
        mixed_intercept=_rmse(mi - ti),
        ols_slope=_rmse(os_ - ts),
        mixed_slope=_rmse(ms - ts),
        ols_line=_rmse(d_ols),
        mixed_line=_rmse(d_mix),
        closer=int(np.sum(d_mix < d_ols)),
    )


def _value(v: Any) -> float | None:
    """A number for the pages: a Python float, None when missing or not finite."""
    return None if v is None else jsonable(float(v))


def estimates(fit: Fit) -> dict[str, float | None]:
    """Fixed effects with their standard errors and the variance components, named after the
    scenario keys they estimate (`est_beta` estimates `beta`)."""
    fe = fit.fixed_effects
    re = fit.model.variance
    return {
        "est_intercept": _value(fe[0].estimate),
        "est_intercept_se": _value(fe[0].std_error),
        "est_beta": _value(fe[1].estimate),
        "est_beta_se": _value(fe[1].std_error),
        "est_sd_int": _value(re.intercept_sd),
        "est_sd_slope": _value(re.slope_sd),
        "est_cor": _value(re.corr),
        "est_sigma": _value(fit.model.sigma),
    }


def _rows(fit: Fit, rows: np.ndarray) -> list[dict[str, Any]]:
    cols = [
        "cluster",
        "n",
        "ols_intercept",
        "ols_slope",
        "mixed_intercept",
        "mixed_slope",
        "true_intercept",
        "true_slope",
        "shrinkage",
    ]
    columns = [fit.table.array(c)[rows].tolist() for c in cols]
    out = []
    for row in zip(*columns, strict=True):
        rec = dict(zip(cols, row, strict=True))
        rec["cluster"] = str(rec["cluster"])
        rec["n"] = int(rec["n"])
        for k in cols[2:]:
            rec[k] = _value(rec[k])
        out.append(rec)
    return out


def measure(fit: Fit, x: np.ndarray, *, extremes: int = 5) -> Metrics:
    """Everything the report shows about one fit; `x` is the covariate of the fitted rows."""
    shrinkage = np.asarray(fit.table.array("shrinkage"), dtype=float)
    present = np.flatnonzero(~np.isnan(shrinkage))
    shrunk = present[np.argsort(shrinkage[present], kind="stable")]  # least shrunk first
    mean = float(np.mean(shrinkage[present])) if len(present) else math.nan
    sizes = np.asarray(fit.table.array("n"), dtype=float)
    size = float(np.median(sizes))
    return Metrics(
        size_rho=spearman(sizes[present], shrinkage[present]),
        cluster_size=size,
        own_intercept_se=fit.model.sigma / math.sqrt(size),
        estimates=estimates(fit),
        criterion=float(fit.model.criterion),
        singular=bool(fit.model.singular),
        converged=bool(fit.model.converged),
        mean_shrinkage=mean,
        errors=errors(fit, x),
        most_shrunk=_rows(fit, shrunk[::-1][:extremes]),
        least_shrunk=_rows(fit, shrunk[:extremes]),
    )


# -- words ------------------------------------------------------------------------------------


def _change(before: float, after: float) -> str:
    """'fell from 0.41 to 0.22', 'rose from …', or 'stayed at about …'."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return "could not be computed"
    if before > 0 and abs(after - before) / before < SAME:
        return f"stayed about the same ({before:.3f} by cluster, {after:.3f} mixed)"
    verb = "fell" if after < before else "rose"
    return f"{verb} from {before:.3f} to {after:.3f}"


def _why_about_equal(m: Metrics) -> str:
    """Why the by-cluster and mixed estimates were about equally good, from the numbers: little
    shrinkage because each cluster's own line is precise (many observations), or because the
    clusters differ much more than one cluster's own estimate is uncertain."""
    shrink = m.mean_shrinkage
    sd_int = m.estimates.get("est_sd_int")
    if math.isfinite(shrink) and shrink < 0.25:
        if m.cluster_size >= 30:
            return (
                f"With {m.cluster_size:.0f} observations per cluster, each cluster's own line is "
                f"already precise, so the model shrinks little (mean shrinkage {shrink:.2f}) "
                "and both sets of estimates are about equally good."
            )
        if sd_int is not None and math.isfinite(m.own_intercept_se):
            return (
                f"The clusters differ much more than one cluster's own estimate is uncertain "
                f"(the intercepts' SD between clusters is {sd_int:.2f}, one cluster's own "
                f"intercept has a standard error of about {m.own_intercept_se:.2f}), so the "
                f"model trusts each cluster's data, shrinks little (mean shrinkage "
                f"{shrink:.2f}), and both sets of estimates are about equally good."
            )
    return (
        "Here the bias that pooling adds and the noise it removes about cancel: both sets of "
        "estimates are about equally good."
    )


def reading(m: Metrics, n_clusters: int) -> list[str]:
    """Two or three sentences that read one scenario's numbers for a student."""
    out: list[str] = []
    if math.isfinite(m.mean_shrinkage):
        pct = round(100 * m.mean_shrinkage)
        out.append(
            f"On average a cluster's line moved {pct}% of the way from its own least-squares "
            f"line to the population line (mean shrinkage {m.mean_shrinkage:.2f})."
        )
    e = m.errors
    if e is not None and e.clusters:
        out.append(
            f"The mixed-model line was closer to the true line for {e.closer} of {e.clusters} "
            f"clusters; the RMSE of the intercepts {_change(e.ols_intercept, e.mixed_intercept)}"
            f", that of the slopes {_change(e.ols_slope, e.mixed_slope)}."
        )
        verdict = compare(e.ols_line, e.mixed_line)
        if verdict == "better":
            out.append(
                "Pulling every cluster toward the average adds a little bias but removes much "
                "more noise: the mixed estimates are, as a set, nearer the truth."
            )
            if e.closer * 2 < e.clusters:
                out.append(
                    "Fewer than half of the clusters moved closer, yet the error fell: the "
                    "clusters that were far off gained a lot, many that were close lost a little."
                )
        elif verdict == "worse":
            out.append(
                "Here the pull toward the average cost more than it saved: the clusters differ "
                "more than the model believed."
            )
        else:
            out.append(_why_about_equal(m))
        if e.left_out:
            out.append(
                f"{e.left_out} of {n_clusters} clusters have no by-cluster slope (a single "
                "observation or a constant x) and are left out of this comparison; the mixed "
                "model still gives them a line, borrowed mostly from the population."
            )
    most = [r["n"] for r in m.most_shrunk]
    least = [r["n"] for r in m.least_shrunk]
    if most and least and len(set(most + least)) > 1 and m.size_rho <= -RHO:
        a, b = sum(most) / len(most), sum(least) / len(least)
        if a < b:  # the extremes agree with the rank correlation over all clusters
            out.append(
                f"The {len(most)} most shrunk clusters have {a:.1f} observations on average, the "
                f"{len(least)} least shrunk {b:.1f}: the less a cluster's own data say, the "
                "further it is pulled."
            )
    if m.singular:
        out.append(
            "The fit is singular: a variance component was estimated at its boundary (zero, or "
            "a correlation of ±1), so some random effects are fully pooled."
        )
    return out
