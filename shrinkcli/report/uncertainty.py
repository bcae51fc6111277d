"""A scenario's uncertainty for its page: the profile intervals of every parameter beside the
truth, the caterpillar plot and the pooling path's picture, and sentences that read them (which
clusters' intervals are widest and why, how the mixed intervals compare with the by-cluster ones,
how many held the truth in this data set, how the paths bend).

`measure_uncertainty` computes the numbers (pure: no files); `uncertainty_reading` words them;
`uncertainty_files` draws the two pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io import jsonable

if TYPE_CHECKING:
    from ..lmm import Fit, Intervals
    from ..pictures.scene import Scene
    from ..scenario import AnimationOptions, Scenario

#: The scenario folder's files this part adds.
CATERPILLAR = "caterpillar.png"
POOLING = "pooling.png"
INTERVALS = "intervals.csv"
#: Most clusters the report's caterpillar plots draw (more are thinned, and the caption says so).
REPORT_ROWS = 60
#: Relative difference below which two widths count as alike.
ALIKE = 0.05


@dataclass(frozen=True)
class ClusterWidth:
    """A cluster's interval half-widths (±) and why they are what they are."""

    cluster: str
    n: int
    x_sd: float  # the spread of its own x values
    mixed: float  # ± of the mixed slope (intercept without a random slope)
    ols: float  # ± of its own least-squares slope (NaN without one)


@dataclass(frozen=True)
class Uncertainty:
    """What a scenario page shows about uncertainty."""

    intervals: list[dict[str, Any]]  # name, estimate, lower, upper, truth, at bounds
    coefficient: str  # "slope" or "intercept": the coefficient the widths are about
    widest: ClusterWidth | None
    narrowest: ClusterWidth | None
    mixed_width: float  # mean ± of the mixed intervals of `coefficient`
    ols_width: float  # mean ± of the by-cluster intervals (clusters with a line)
    held_mixed: int | None  # clusters whose mixed interval of `coefficient` held the truth
    held_ols: int | None
    compared: int  # clusters with both intervals and a truth
    away: int | None  # clusters moving away from the population value on the pooling path
    moving: int  # clusters on the path
    own_lines: bool  # the path starts at each cluster's own line
    reading: list[str] = field(default_factory=list)


def measure_uncertainty(
    fit: Fit, intervals: Intervals | None, scenario: Scenario | None, scene: Scene | None
) -> Uncertainty:
    """The numbers of the uncertainty part of a page (`scene`: the pooling path's, or None)."""
    from ..lmm.uncertainty import t_quantile, z_quantile
    from ..pictures.caterpillar import ols_degrees_of_freedom

    c = fit.table
    coef = "slope" if fit.spec.has_random_slope else "intercept"
    z = z_quantile(0.95)
    df = ols_degrees_of_freedom(fit)
    q = t_quantile(0.975, df)
    mixed = z * np.asarray(c.array(f"mixed_{coef}_se"), dtype=float)
    ols = q * np.asarray(c.array(f"ols_{coef}_se"), dtype=float)
    has_line = np.isfinite(np.asarray(c.array("ols_slope"), dtype=float))
    ols = np.where(has_line, ols, np.nan)
    x_sd = _x_spread(fit)
    widths = [
        ClusterWidth(str(cl), int(n), float(sd), float(m), float(o))
        for cl, n, sd, m, o in zip(
            c.array("cluster").tolist(), c.array("n").tolist(), x_sd, mixed, ols, strict=True
        )
    ]
    ok = [w for w in widths if math.isfinite(w.mixed)]
    widest = max(ok, key=lambda w: w.mixed) if ok else None
    narrowest = min(ok, key=lambda w: w.mixed) if ok else None
    held_mixed = held_ols = None
    compared = 0
    if fit.has_truth:
        truth = np.asarray(c.array(f"true_{coef}"), dtype=float)
        both = has_line & np.isfinite(truth) & np.isfinite(mixed)
        compared = int(both.sum())
        est_m = np.asarray(c.array(f"mixed_{coef}"), dtype=float)
        est_o = np.asarray(c.array(f"ols_{coef}"), dtype=float)
        held_mixed = int((np.abs(est_m - truth) <= mixed)[both].sum())
        held_ols = int((np.abs(est_o - truth) <= ols)[both].sum())
    away, moving, own = None, 0, True
    if scene is not None and scene.track is not None:
        points = scene.track.points
        dist = np.abs(points - np.asarray(fit.model.beta)[None, None, :])
        # farther from the population value somewhere on the way than at both ends
        grew = dist.max(axis=0) > np.maximum(dist[0], dist[-1]) + 1e-3 * dist[0].max()
        away = int(grew.any(axis=1).sum())
        moving = int(points.shape[1])
        own = scene.track.path.reaches_own_lines
    return Uncertainty(
        intervals=_interval_rows(fit, intervals, scenario),
        coefficient=coef,
        widest=widest,
        narrowest=narrowest,
        mixed_width=float(np.nanmean(mixed)) if np.isfinite(mixed).any() else math.nan,
        ols_width=float(np.nanmean(ols)) if np.isfinite(ols).any() else math.nan,
        held_mixed=held_mixed,
        held_ols=held_ols,
        compared=compared,
        away=away,
        moving=moving,
        own_lines=own,
    )


def _x_spread(fit: Fit) -> np.ndarray:
    """Each cluster's standard deviation of x (divisor n), from the fit's sums."""
    st = fit.stats
    if st is None:
        return np.full(len(fit.table), np.nan)
    return np.sqrt(st.sxx_c / st.n)


def _interval_rows(
    fit: Fit, intervals: Intervals | None, scenario: Scenario | None
) -> list[dict[str, Any]]:
    """The intervals for the page's table, each with the value it was simulated with."""
    if intervals is None:
        return []
    truth: dict[str, float] = {}
    if scenario is not None:
        truth = {
            "sd_int": scenario.sd_int,
            "cor": scenario.cor,
            "sd_slope": scenario.sd_slope,
            "sigma": scenario.sigma,
            "intercept": scenario.intercept,
            "beta": scenario.beta,
        }
    labels = {
        "sd_int": "SD of the intercepts",
        "cor": "their correlation",
        "sd_slope": "SD of the slopes",
        "sigma": "residual SD σ",
        "intercept": "intercept",
        "beta": f"slope of {fit.names.get('x', 'x')}",
    }
    rows = []
    for r in intervals.rows:
        t = truth.get(r.parameter)
        rows.append(
            {
                "parameter": r.parameter,
                "name": r.name,
                "label": labels[r.parameter],
                "estimate": jsonable(r.estimate),
                "lower": jsonable(r.lower),
                "upper": jsonable(r.upper),
                "lower_at_bound": r.lower_at_bound,
                "upper_at_bound": r.upper_at_bound,
                "truth": t,
                "holds": None if t is None else bool(r.lower <= t <= r.upper),
            }
        )
    return rows


# -- words ---------------------------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:.3g}".replace("-", "−")


def uncertainty_reading(u: Uncertainty) -> list[str]:
    """Sentences that read a scenario's uncertainty for a student."""
    out: list[str] = []
    out += _bounds(u.intervals)
    held = [r for r in u.intervals if r["holds"] is not None]
    missed = [r for r in held if not r["holds"]]
    if held and not missed:
        out.append(
            f"All {len(held)} profile intervals contain the value the data were simulated with."
        )
    for r in missed:
        out.append(
            f"The interval of the {r['label']} ({_num(r['lower'])} to "
            f"{_num(r['upper'])}) misses the value the data were simulated with "
            f"({r['truth']:g}); one in twenty 95% intervals does."
        )
    out += _widths(u)
    if u.held_mixed is not None and u.held_ols is not None and u.compared:
        out.append(
            f"In this data set the mixed model's intervals held the true {u.coefficient} of "
            f"{u.held_mixed} of {u.compared} clusters, the by-cluster ones of {u.held_ols}."
        )
    out += _path(u)
    return out


def _bounds(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        if r["parameter"] == "cor" and r["lower_at_bound"] and r["upper_at_bound"]:
            out.append(
                "The correlation's profile interval is the whole range from −1 to 1: "
                "these data say nothing about it."
            )
        elif r["parameter"].startswith("sd_") and r["lower_at_bound"]:
            what = "slope" if r["parameter"] == "sd_slope" else "intercept"
            out.append(
                f"The profile interval of the {r['label']} starts at 0 (up to "
                f"{_num(r['upper'])}): the data cannot rule out that every cluster has "
                f"the same {what}."
            )
    return out


def _widths(u: Uncertainty) -> list[str]:
    """Which cluster's interval is widest and why; mixed against by-cluster widths."""
    out = []
    w, n = u.widest, u.narrowest
    if w is not None and n is not None and w.cluster != n.cluster:
        text = (
            f"The mixed model's interval of the {u.coefficient} is widest for cluster "
            f"{w.cluster} (±{w.mixed:.2f}) and narrowest for cluster {n.cluster} "
            f"(±{n.mixed:.2f})"
        )
        if w.n < n.n:
            text += (
                f": {w.n} observation{'s' if w.n != 1 else ''} against {n.n}. The less a "
                "cluster's own data say, the more its estimate rests on the population, "
                "and the wider its interval."
            )
        elif w.n == n.n and u.coefficient == "slope" and w.x_sd < n.x_sd * (1 - ALIKE):
            text += (
                f": both have {w.n} observations, but the x values of cluster {w.cluster} "
                f"spread less (SD {w.x_sd:.2f} against {n.x_sd:.2f}), and a slope is "
                "only as well determined as the spread of x it is measured over."
            )
        else:
            text += "."
        out.append(text)
    if math.isfinite(u.mixed_width) and math.isfinite(u.ols_width) and u.ols_width > 0:
        ratio = u.mixed_width / u.ols_width
        if ratio < 1 - ALIKE:
            out.append(
                f"On average the mixed intervals of the {u.coefficient} are "
                f"{100 * (1 - ratio):.0f}% narrower than the clusters' own (±"
                f"{u.mixed_width:.2f} against ±{u.ols_width:.2f}): borrowing strength "
                "narrows them, though they take the estimated variances as known."
            )
        elif ratio > 1 + ALIKE:
            out.append(
                f"Here the mixed intervals of the {u.coefficient} are wider than the "
                f"clusters' own (±{u.mixed_width:.2f} against ±{u.ols_width:.2f})."
            )
        else:
            out.append(
                f"The mixed and the by-cluster intervals of the {u.coefficient} are "
                f"about as wide (±{u.mixed_width:.2f} and ±{u.ols_width:.2f}): each "
                "cluster's own data say nearly all there is to say."
            )
    return out


def _path(u: Uncertainty) -> list[str]:
    if u.away is None:
        return []
    if not u.own_lines:
        return [
            "On the pooling path the clusters start at the model's no-pooling limit, not "
            "at their own lines: this model cannot let each cluster keep its own line."
        ]
    if u.away:
        return [
            f"On the path pooling really takes, {u.away} of {u.moving} clusters move away "
            "from the population value in the intercept or the slope before they settle: "
            "the two are pooled at different rates, so the paths curve."
        ]
    return [
        "On the path pooling really takes, every cluster moves steadily toward the "
        "population value in both the intercept and the slope."
    ]


# -- files ---------------------------------------------------------------------------------------


def uncertainty_files(
    fit: Fit,
    intervals: Intervals | None,
    options: AnimationOptions,
    *,
    title: str,
    subtitle: str,
) -> tuple[dict[str, bytes | str], Scene]:
    """The caterpillar plot, the pooling path's picture and the intervals' table, by file name,
    and the pooling path's scene."""
    from ..io import table_text
    from ..pictures.caterpillar import caterpillar_png
    from ..pictures.figure import ShrinkageFigure
    from ..pictures.scene import build_scene

    path_options = options.model_copy(update={"path": "pooling"})
    scene = build_scene(fit, path_options)
    picture = ShrinkageFigure(
        scene, width=options.width, height=options.height, title=title, subtitle=subtitle
    ).png()
    files: dict[str, bytes | str] = {
        CATERPILLAR: caterpillar_png(fit, title=title, subtitle=subtitle, max_rows=REPORT_ROWS),
        POOLING: picture,
    }
    if intervals is not None:
        files[INTERVALS] = table_text(intervals.to_table(), "csv")
    return files, scene
