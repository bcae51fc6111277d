"""What the report can say about a data set of one's own, where no truth is known: the
intraclass correlation, how much each cluster's own data weigh against its size, the most and
least shrunk clusters with their data; and the sentences that read those numbers.

The ICC of a model with random slopes depends on x: at x it is v(x) / (v(x) + σ²), where
v(x) = Var(b₀ + b₁x) = Σ₁₁ + 2xΣ₁₂ + x²Σ₂₂ is the variance of the cluster lines at x. The page
gives it at the mean of x and at both ends of the observed x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..words import join_words
from .metrics import RHO, spearman

if TYPE_CHECKING:
    from ..lmm import Fit, PreparedData
    from ..pictures.clusters import Panel

#: ICC below LOW reads as "clusters differ little", above HIGH as "clusters differ a lot".
ICC_LOW, ICC_HIGH = 0.1, 0.5
#: A change of the ICC along x larger than this is worth a sentence.
ICC_CHANGE = 0.1
#: Clusters drawn at each end in the picture of the most and least shrunk clusters.
EXTREMES = 4
#: Largest number of clusters drawn one by one in the picture of every cluster.
EVERY = 60


@dataclass(frozen=True)
class DataMetrics:
    """A data scenario's numbers for its page: the column names, the shape of the data, the
    ICC, and how shrinkage goes with cluster size."""

    y: str
    x: str
    cluster: str
    n_obs: int
    n_groups: int
    size_min: int
    size_median: float
    size_max: int
    single: int  # clusters with a single row
    no_slope: int  # clusters without a by-cluster slope (a single row or a single x value)
    x_mean: float
    x_min: float
    x_max: float
    icc: float  # at the mean of x
    icc_at_min: float
    icc_at_max: float
    slopes: bool  # the model has random slopes (the ICC depends on x)
    rho: float  # Spearman correlation of size and shrinkage; NaN when sizes are all equal
    mean_shrinkage: float
    most: dict[str, Any]  # cluster, n, shrinkage of the most shrunk cluster
    least: dict[str, Any]  # ... and of the least shrunk

    @property
    def median_weight(self) -> float:
        """n·ICC / (1 + (n − 1)·ICC) at the median size: the weight a random-intercept model
        gives a cluster's own mean at the mean of x."""
        n, r = self.size_median, self.icc
        return n * r / (1 + (n - 1) * r) if math.isfinite(r) else math.nan


def icc_at(covariance: np.ndarray, sigma2: float, x: float) -> float:
    """v(x) / (v(x) + σ²) with v(x) the variance of the cluster lines at x."""
    v = float(covariance[0, 0] + 2 * x * covariance[0, 1] + x * x * covariance[1, 1])
    total = v + sigma2
    return v / total if total > 0 else math.nan


def _row(frame: Any, i: int) -> dict[str, Any]:
    """Cluster, size and shrinkage of row i of a clusters frame (columns read one by one, so
    that an integer id stays an integer)."""
    return {
        "cluster": str(frame["cluster"].iat[i]),
        "n": int(frame["n"].iat[i]),
        "shrinkage": float(frame["shrinkage"].iat[i]),
    }


def measure_data(fit: Fit, prep: PreparedData) -> DataMetrics:
    """The numbers of a data scenario's page, from its fit and the fitted rows."""
    c = fit.clusters
    n = c["n"].to_numpy(dtype=int)
    cov = np.asarray(fit.model.variance.covariance(), dtype=float)
    s2 = float(fit.model.sigma2)
    x = prep.x
    x_mean, x_min, x_max = float(np.mean(x)), float(np.min(x)), float(np.max(x))
    shrunk = c[c["shrinkage"].notna()]
    ordered = shrunk.sort_values("shrinkage", kind="stable")
    sizes = shrunk["n"].to_numpy(dtype=float)
    rho = spearman(sizes, shrunk["shrinkage"].to_numpy(dtype=float))
    nan = {"cluster": "", "n": 0, "shrinkage": math.nan}
    return DataMetrics(
        y=fit.names["y"],
        x=fit.names["x"],
        cluster=fit.names["cluster"],
        n_obs=int(fit.model.n_obs),
        n_groups=int(fit.model.n_groups),
        size_min=int(n.min()),
        size_median=float(np.median(n)),
        size_max=int(n.max()),
        single=int((n == 1).sum()),
        no_slope=int(c["ols_slope"].isna().sum()),
        x_mean=x_mean,
        x_min=x_min,
        x_max=x_max,
        icc=icc_at(cov, s2, x_mean),
        icc_at_min=icc_at(cov, s2, x_min),
        icc_at_max=icc_at(cov, s2, x_max),
        slopes=fit.spec.has_random_slope,
        rho=rho,
        mean_shrinkage=float(shrunk["shrinkage"].mean()) if len(shrunk) else math.nan,
        most=_row(ordered, len(ordered) - 1) if len(ordered) else nan,
        least=_row(ordered, 0) if len(ordered) else nan,
    )


# -- pictures --------------------------------------------------------------------------------


def panels(fit: Fit, prep: PreparedData, rows: list[int], cluster: str) -> list[Panel]:
    """One panel per row of `fit.clusters` in `rows`: the cluster's data and lines."""
    from ..pictures.clusters import Panel

    c = fit.clusters
    ids = c["cluster"].tolist()
    n = c["n"].to_numpy(dtype=int)
    ols_i, ols_s = (c[k].to_numpy(dtype=float) for k in ("ols_intercept", "ols_slope"))
    mix_i, mix_s = (c[k].to_numpy(dtype=float) for k in ("mixed_intercept", "mixed_slope"))
    shrinkage = c["shrinkage"].to_numpy(dtype=float)
    out = []
    for i in rows:
        mine = prep.codes == i
        ols = (float(ols_i[i]), float(ols_s[i])) if np.isfinite(ols_s[i]) else None
        s = shrinkage[i]
        shrink = f"shrinkage {s:.2f}".replace("-", "−") if np.isfinite(s) else "no own line"
        out.append(
            Panel(
                title=f"{cluster} {ids[i]}\nn = {n[i]} · {shrink}",
                x=prep.x[mine],
                y=prep.y[mine],
                ols=ols,
                mixed=(float(mix_i[i]), float(mix_s[i])),
            )
        )
    return out


def extreme_rows(fit: Fit, k: int = EXTREMES) -> tuple[list[int], list[int]]:
    """Rows of `fit.clusters` of the k most shrunk (most first) and the k least shrunk (least
    first) clusters, without overlap."""
    s = fit.clusters["shrinkage"].to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(s))
    order = ok[np.argsort(s[ok], kind="stable")]
    k = min(k, len(order) // 2) if len(order) > 1 else len(order)
    return [int(i) for i in order[::-1][:k]], [int(i) for i in order[:k]]


def pictures(fit: Fit, prep: PreparedData) -> dict[str, bytes]:
    """The data page's pictures by file name: shrinkage against size, the most and least
    shrunk clusters with their data, and (up to EVERY clusters) every cluster."""
    from ..natural import natural_order
    from ..pictures.clusters import clusters_png, shrinkage_png

    c = fit.clusters
    names = fit.names
    beta = (float(fit.model.beta[0]), float(fit.model.beta[1]))
    most, least = extreme_rows(fit)
    shrunk = np.flatnonzero(c["shrinkage"].notna().to_numpy())
    position = {int(r): j for j, r in enumerate(shrunk)}
    marked = [position[r] for r in (*most[:1], *least[:1])]
    labels = [f"{names['cluster']} {c['cluster'].iat[r]}" for r in (*most[:1], *least[:1])]
    files = {
        "shrinkage.png": shrinkage_png(
            c["n"].to_numpy()[shrunk],
            c["shrinkage"].to_numpy(dtype=float)[shrunk],
            labels=labels,
            marked=marked,
            cluster=names["cluster"],
        ),
    }
    if most:
        files["clusters.png"] = clusters_png(
            panels(fit, prep, most + least, names["cluster"]),
            beta,
            x_name=names["x"],
            y_name=names["y"],
            columns=len(most),
            row_titles=("Most shrunk", "Least shrunk"),
        )
    if len(c) <= EVERY:
        files["every-cluster.png"] = clusters_png(
            panels(fit, prep, natural_order(c["cluster"]), names["cluster"]),
            beta,
            x_name=names["x"],
            y_name=names["y"],
            columns=6,
            panel_size=(170.0, 150.0),
        )
    return files


# -- words ------------------------------------------------------------------------------------


def _g(v: float) -> str:
    """A number as a reader wants it: three significant digits, a true minus sign."""
    return f"{v:.3g}".replace("-", "−")


def _f(v: float) -> str:
    """A number with two decimals and a true minus sign."""
    return f"{v:.2f}".replace("-", "−")


def icc_reading(d: DataMetrics) -> list[str]:
    """Sentences on the intraclass correlation."""
    if not math.isfinite(d.icc):
        return []
    pct = round(100 * d.icc)
    where = f" at {d.x} = {_g(d.x_mean)} (its mean)" if d.slopes else ""
    out = [
        f"The intraclass correlation{where} is {d.icc:.2f}: of the variance of {d.y} around the "
        f"population line, {pct}% lies between clusters ({d.cluster}) and {100 - pct}% within "
        "them."
    ]
    if d.slopes and abs(d.icc_at_max - d.icc_at_min) >= ICC_CHANGE:
        out.append(
            f"Because the slopes differ between clusters, this share changes along {d.x}: "
            f"{d.icc_at_min:.2f} at {d.x} = {_g(d.x_min)} and {d.icc_at_max:.2f} at "
            f"{d.x} = {_g(d.x_max)}."
        )
    if d.icc < ICC_LOW:
        out.append(
            "Clusters differ little compared with the scatter within them, so the mixed model "
            "leans on the population: a cluster keeps a line of its own only where its data "
            "say so clearly."
        )
    elif d.icc > ICC_HIGH:
        out.append(
            "Clusters differ more than the observations within a cluster scatter, so the mixed "
            "model trusts each cluster's own data and shrinks less."
        )
    else:
        out.append(
            "Clusters differ, but not by much more than the scatter within them: each "
            "cluster's line is a real compromise between its own data and the population."
        )
    w = d.median_weight
    if math.isfinite(w):
        n = f"{d.size_median:g}"
        out.append(
            f"By the random-intercept formula n·ICC / (1 + (n − 1)·ICC), a cluster of the "
            f"median size ({n} rows) keeps {round(100 * w)}% of its own mean{where} and borrows "
            f"{100 - round(100 * w)}% from the population."
        )
    return out


def size_reading(d: DataMetrics) -> list[str]:
    """Sentences on shrinkage against cluster size."""
    out: list[str] = []
    if d.size_min == d.size_max:
        out.append(
            f"Every cluster has {d.size_min} rows, so size explains none of the differences in "
            "shrinkage: they come from each cluster's x values and from the direction in which "
            "its own line departs from the population line (intercepts and slopes are pulled "
            "by different amounts)."
        )
    elif math.isfinite(d.rho):
        r = f"{d.rho:+.2f}".replace("-", "−")
        if d.rho <= -RHO:
            out.append(
                f"Smaller clusters were shrunk more (Spearman correlation of size and "
                f"shrinkage {r}): the fewer rows a cluster has, the less its own line is "
                "trusted."
            )
        elif d.rho >= RHO:
            out.append(
                f"Here larger clusters were shrunk more (Spearman correlation of size and "
                f"shrinkage {r}): size is not all that counts; a cluster whose x values spread "
                "little, or whose line departs from the population mostly in its slope, is "
                "pulled further."
            )
        else:
            out.append(
                f"Cluster size has little to do with shrinkage here (Spearman correlation "
                f"{r}): how spread out a cluster's x values are, and how its line departs from "
                "the population line, matter as much as how many rows it has."
            )
    if d.no_slope:
        single = d.single
        other = d.no_slope - single
        parts = []
        if single:
            parts.append(
                f"{single} {'cluster has' if single == 1 else 'clusters have'} a single row"
            )
        if other:
            parts.append(
                f"{other} {'has' if other == 1 else 'have'} a single value of {d.x}"
                if single
                else f"{other} {'cluster has' if other == 1 else 'clusters have'} a single "
                f"value of {d.x}"
            )
        it = ("it", "its", "it") if d.no_slope == 1 else ("they", "their", "them")
        out.append(
            f"{join_words(parts)}: with no line of {it[1]} own {it[0]} "
            f"{'has' if d.no_slope == 1 else 'have'} no shrinkage to show here, yet the mixed "
            f"model gives {it[2]} a line, borrowed mostly from the population."
        )
    return out


def extremes_reading(d: DataMetrics) -> list[str]:
    """Sentences on the most and the least shrunk cluster."""
    most, least = d.most, d.least
    if not most["cluster"] or most["cluster"] == least["cluster"]:
        return []
    out = [
        f"{d.cluster} {most['cluster']} ({most['n']} rows) was pulled furthest toward the "
        f"population line: shrinkage {most['shrinkage']:.2f}."
    ]
    s = least["shrinkage"]
    if s < 0:
        out.append(
            f"{d.cluster} {least['cluster']} ({least['n']} rows) ended a little further from the "
            f"population line than its own line (shrinkage {_f(s)}): with two random effects "
            "the mixed line need not move straight toward the population line."
        )
    else:
        out.append(
            f"{d.cluster} {least['cluster']} ({least['n']} rows) kept most of its own line: "
            f"shrinkage {s:.2f}."
        )
    return out


def data_reading(d: DataMetrics) -> list[str]:
    """Every sentence of a data scenario's page, in the page's order."""
    return [*icc_reading(d), *size_reading(d), *extremes_reading(d)]
