"""The caterpillar plot: every cluster's intercept and slope — the coefficients, not deviations
from the mean — as its own least-squares estimate with its interval beside the mixed model's with
its interval, sorted, the population value as a line and the truth marked when known.

`caterpillar_panels` computes what is drawn (pure numpy: which clusters, in which order, the
intervals, the range, what is left out); `caterpillar_png` draws it with the theme's palette and
fonts. The intervals are those of the fit's standard errors: by-cluster t intervals on the pooled
residual SD (lmList's), mixed ±z·conditional SD (lme4's condVar, given β̂ and θ̂).

With many clusters the rows are thinned to an even sample of ranks (the extremes kept), and the
caption says how many are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .theme import BY_CLUSTER, MIXED, MUTED, TEXT, TRUTH, figure_png, font

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontProperties

    from ..lmm import Fit

#: Most rows a panel shows; more clusters are thinned to this many.
MAX_ROWS = 100
#: How far beyond the mixed intervals (in their span) a by-cluster estimate may lie in view.
OLS_REACH = 1.0


@dataclass(frozen=True)
class Panel:
    """One coefficient's panel: the shown clusters bottom to top (sorted by the mixed estimate),
    their estimates and interval ends (NaN where there is none), the population value, the
    range of the axis, and what was left out."""

    coefficient: str  # "intercept" or "slope"
    label: str
    ids: tuple[str, ...]
    mixed: np.ndarray
    mixed_lo: np.ndarray
    mixed_hi: np.ndarray
    ols: np.ndarray
    ols_lo: np.ndarray
    ols_hi: np.ndarray
    truth: np.ndarray | None
    population: float
    xlim: tuple[float, float]
    n_clusters: int
    n_clipped: int  # by-cluster estimates or interval ends beyond the axis
    n_without_ols: int  # clusters without a by-cluster estimate of this coefficient
    mixed_has_intervals: bool  # False: the coefficient is not random (no conditional variance)

    @property
    def thinned(self) -> bool:
        return len(self.ids) < self.n_clusters


def ols_degrees_of_freedom(fit: Fit) -> int:
    """Residual degrees of freedom of the by-cluster fits with the pooled SD: Σ nᵢ − pᵢ."""
    from ..lmm.uncertainty import pooled_degrees_of_freedom

    c = fit.table
    return pooled_degrees_of_freedom(
        np.asarray(c.array("n")), np.isfinite(np.asarray(c.array("ols_slope"), dtype=float))
    )


def caterpillar_panels(
    fit: Fit, *, level: float = 0.95, max_rows: int = MAX_ROWS, truth: bool = True
) -> tuple[Panel, Panel]:
    """The intercept and slope panels of `fit`'s clusters (see the module docstring)."""
    from ..lmm.uncertainty import t_quantile, z_quantile

    if max_rows < 2:
        raise ValueError(f"max_rows must be at least 2 (got {max_rows})")
    c = fit.table
    z = z_quantile(level)
    df = ols_degrees_of_freedom(fit)
    q = t_quantile(0.5 + level / 2.0, df)
    x_name = fit.names.get("x", "x")
    ids = np.array([str(v) for v in c.array("cluster").tolist()], dtype=object)
    panels = []
    for coef, label in (("intercept", "Intercept"), ("slope", f"Slope for {x_name}")):
        mixed = np.asarray(c.array(f"mixed_{coef}"), dtype=float)
        mse = np.asarray(c.array(f"mixed_{coef}_se"), dtype=float)
        ols = np.asarray(c.array(f"ols_{coef}"), dtype=float)
        ose = np.asarray(c.array(f"ols_{coef}_se"), dtype=float)
        if coef == "intercept":  # a cluster without a slope has a mean, not an intercept
            ols = np.where(np.isfinite(np.asarray(c.array("ols_slope"), dtype=float)), ols, np.nan)
        tru = np.asarray(c.array(f"true_{coef}"), dtype=float) if truth and fit.has_truth else None
        order = np.lexsort((np.nan_to_num(ols, nan=np.inf), mixed))  # ties: by own estimate
        rows = _thin(order, max_rows)
        pick = order if rows is None else rows
        m, ms = mixed[pick], mse[pick]
        o, os_ = ols[pick], ose[pick]
        t_ = tru[pick] if tru is not None else None
        pop = float(fit.model.beta[0 if coef == "intercept" else 1])
        m_lo, m_hi = m - z * ms, m + z * ms
        o_lo, o_hi = o - q * os_, o + q * os_
        random = bool(np.isfinite(mse).any())
        xlim = _range(m_lo, m_hi, m, t_, pop, o, o_lo, o_hi, whole_ols=not random)
        inside = np.isnan(o) | ((o >= xlim[0]) & (o <= xlim[1]))
        ends = (np.isnan(o_lo) | (o_lo >= xlim[0])) & (np.isnan(o_hi) | (o_hi <= xlim[1]))
        panels.append(
            Panel(
                coefficient=coef,
                label=label,
                ids=tuple(ids[pick]),
                mixed=m,
                mixed_lo=m_lo,
                mixed_hi=m_hi,
                ols=o,
                ols_lo=o_lo,
                ols_hi=o_hi,
                truth=t_,
                population=pop,
                xlim=xlim,
                n_clusters=len(c),
                n_clipped=int(np.sum(~(inside & ends))),
                n_without_ols=int(np.sum(np.isnan(ols))),
                mixed_has_intervals=random,
            )
        )
    return panels[0], panels[1]


def _thin(order: np.ndarray, max_rows: int) -> np.ndarray | None:
    """An even sample of `max_rows` ranks, the first and last included; None: keep all."""
    k = len(order)
    if k <= max_rows:
        return None
    ranks = np.unique(np.round(np.linspace(0, k - 1, max_rows)).astype(int))
    return order[ranks]


def _range(
    lo: np.ndarray,
    hi: np.ndarray,
    mixed: np.ndarray,
    truth: np.ndarray | None,
    pop: float,
    ols: np.ndarray,
    ols_lo: np.ndarray,
    ols_hi: np.ndarray,
    *,
    whole_ols: bool = False,
) -> tuple[float, float]:
    """The axis: every mixed interval, the truth and the population value, and the by-cluster
    estimates and interval ends within `OLS_REACH` spans of them (`whole_ols`: every by-cluster
    estimate, when the mixed ones do not spread); a margin of 4%."""
    parts = [v[np.isfinite(v)] for v in (lo, hi, mixed, *((ols,) if whole_ols else ()))]
    if truth is not None:
        parts.append(truth[np.isfinite(truth)])
    core = np.concatenate([*parts, [pop]])
    a, b = float(core.min()), float(core.max())
    span = b - a if b > a else max(abs(pop), 1.0)
    o = np.concatenate([v[np.isfinite(v)] for v in (ols, ols_lo, ols_hi)])
    o = o[(o >= a - OLS_REACH * span) & (o <= b + OLS_REACH * span)]
    if o.size:
        a, b = min(a, float(o.min())), max(b, float(o.max()))
    pad = 0.04 * (b - a)
    return a - pad, b + pad


# -- drawing ---------------------------------------------------------------------------------------

#: Pixels per row (fewer rows get more room), and the space around the rows, at 100 dpi.
ROW_PX = (18.0, 11.5)
TOP_PX = 124.0
BOTTOM_PX = 70.0
WIDTH_PX = 920.0
#: Characters of a caption line.
CAPTION_WIDTH = 150


def captions(panels: tuple[Panel, Panel], model_has_slope: bool) -> list[str]:
    """What the picture leaves out or how to read it, said under it."""
    first = panels[0]
    notes = ["each panel sorted by the mixed estimate"]
    if first.thinned:
        step = first.n_clusters / len(first.ids)
        notes.append(
            f"{len(first.ids)} of {first.n_clusters:,} clusters shown, evenly spaced "
            f"in rank (about 1 in {step:.0f}, the extremes included)"
        )
    clipped = sum(p.n_clipped for p in panels)
    if clipped:
        notes.append(
            f"{clipped} by-cluster estimate{'s' if clipped != 1 else ''} or interval"
            f"{'s' if clipped != 1 else ''} run past the edge (arrows)"
        )
    if panels[1].n_without_ols:
        k = panels[1].n_without_ols
        whose = "its" if k == 1 else "their"
        notes.append(
            f"{k} cluster{'s' if k != 1 else ''} without a slope of {whose} own: no "
            "by-cluster estimate"
        )
    if not model_has_slope:
        notes.append("the slope is not random: every cluster's mixed slope is the population slope")
    return notes


def caterpillar_png(
    fit: Fit,
    *,
    title: str,
    subtitle: str = "",
    level: float = 0.95,
    max_rows: int = MAX_ROWS,
    truth: bool = True,
) -> bytes:
    """The caterpillar plot of `fit` as PNG bytes (920 pixels wide, as tall as its rows)."""
    import textwrap

    from matplotlib.figure import Figure

    from ..lmm.uncertainty import z_quantile

    panels = caterpillar_panels(fit, level=level, max_rows=max_rows, truth=truth)
    rows = len(panels[0].ids)
    notes = textwrap.wrap(" · ".join(captions(panels, fit.spec.has_random_slope)), CAPTION_WIDTH)
    bottom = BOTTOM_PX + 12.0 * (len(notes) - 1)
    height = TOP_PX + (ROW_PX[0] if rows <= 30 else ROW_PX[1]) * max(rows, 6) + bottom
    dpi = 100.0
    fig = Figure(figsize=(WIDTH_PX / dpi, height / dpi), dpi=dpi)
    fig.patch.set_facecolor("white")
    words = (*panels[0].ids, title, subtitle)  # ids may be CJK or emoji: a font that has them
    regular, bold = font(text=words), font(bold=True, text=words)
    fig.text(
        12 / WIDTH_PX,
        1 - 10 / height,
        title,
        fontproperties=bold,
        fontsize=12.5,
        color=TEXT,
        va="top",
    )
    if subtitle:
        fig.text(
            12 / WIDTH_PX,
            1 - 32 / height,
            subtitle,
            fontproperties=regular,
            fontsize=8.5,
            color=MUTED,
            va="top",
        )
    pct = f"{100 * level:g}%"
    df = ols_degrees_of_freedom(fit)
    z = z_quantile(level)
    fig.text(
        12 / WIDTH_PX,
        1 - 50 / height,
        f"{pct} intervals. By-cluster: its least-squares line, t on the residual SD pooled "
        f"over clusters ({df:,} df).\nMixed: ±{z:.2f} conditional SD of the random effects "
        "(lme4's condVar), given the estimated fixed effects and variances.",
        fontproperties=regular,
        fontsize=8,
        color=MUTED,
        va="top",
        linespacing=1.4,
    )
    label_px = max(len(i) for p in panels for i in p.ids) * 6.2 + 14
    gap = 36.0
    left = 14.0 + label_px
    width = (WIDTH_PX - left - gap - label_px - 16.0) / 2
    for k, panel in enumerate(panels):
        x0 = left + k * (width + gap + label_px)
        ax = fig.add_axes(
            (x0 / WIDTH_PX, bottom / height, width / WIDTH_PX, (height - TOP_PX - bottom) / height)
        )
        _draw_panel(ax, panel, regular, bold, show_ids=rows <= MAX_ROWS)
    _legend(fig, panels, regular, height)
    fig.text(
        12 / WIDTH_PX,
        8 / height,
        "\n".join(notes),
        fontproperties=regular,
        fontsize=8,
        color=MUTED,
        va="bottom",
        linespacing=1.4,
    )
    return figure_png(fig)


def _draw_panel(
    ax: Axes, p: Panel, regular: FontProperties, bold: FontProperties, *, show_ids: bool
) -> None:
    """One panel: the rows, their intervals, the population line, the truth."""
    n = len(p.ids)
    y = np.arange(n, dtype=float)
    off = 0.17 if n <= 30 else 0.14
    lw = 1.6 if n <= 30 else 1.1
    size = 22 if n <= 30 else 12
    ax.set_xlim(*p.xlim)
    ax.set_ylim(-0.8, n - 0.2)
    ax.axvline(p.population, color="#7A7A7A", linewidth=1.0, linestyle="--", zorder=1)
    lo_x, hi_x = p.xlim
    # by-cluster: orange, just above the row's centre
    o_lo = np.clip(p.ols_lo, lo_x, hi_x)
    o_hi = np.clip(p.ols_hi, lo_x, hi_x)
    ok = np.isfinite(p.ols)
    ax.hlines(y[ok] + off, o_lo[ok], o_hi[ok], color=BY_CLUSTER, linewidth=lw, alpha=0.75, zorder=2)
    inside = ok & (p.ols >= lo_x) & (p.ols <= hi_x)
    ax.scatter(p.ols[inside], y[inside] + off, s=size, color=BY_CLUSTER, zorder=3, linewidths=0)
    for end, edge, marker in ((p.ols_lo, lo_x, "<"), (p.ols_hi, hi_x, ">")):
        past = ok & np.isfinite(end) & ((end < lo_x) if marker == "<" else (end > hi_x))
        if past.any():
            ax.scatter(
                np.full(int(past.sum()), edge),
                y[past] + off,
                s=size * 0.9,
                marker=marker,
                color=BY_CLUSTER,
                zorder=3,
                linewidths=0,
                clip_on=False,
            )
    # mixed: blue, just below
    if p.mixed_has_intervals:
        ax.hlines(y - off, p.mixed_lo, p.mixed_hi, color=MIXED, linewidth=lw, zorder=2)
    ax.scatter(p.mixed, y - off, s=size, color=MIXED, zorder=3, linewidths=0)
    if p.truth is not None:
        ok_t = np.isfinite(p.truth)
        ax.scatter(
            p.truth[ok_t], y[ok_t], s=size * 1.3, marker="|", color=TRUTH, linewidths=1.3, zorder=4
        )
    # The title where matplotlib would place it (nothing above the panel); said outright, it is
    # not placed by measuring every tick label again.
    ax.set_title(p.label, fontproperties=bold, fontsize=10, color=TEXT, loc="left", y=1.0)
    ax.set_yticks([])
    ax.tick_params(axis="x", colors=MUTED, labelsize=8, length=3, width=0.6)
    for label in ax.get_xticklabels():
        label.set_fontproperties(regular)
        label.set_fontsize(8)
    ax.grid(axis="x", color="#EBEBEB", linewidth=0.6)
    ax.set_axisbelow(True)
    if show_ids:
        _row_labels(ax, y, p.ids, regular, size=7 if n > 30 else 8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#9E9E9E")
    # The axes have no labels: fixed places spare measuring the tick labels to place them.
    ax.xaxis.set_label_coords(0.5, 0.0)
    ax.yaxis.set_label_coords(0.0, 0.5)


def _row_labels(
    ax: Axes, y: np.ndarray, ids: tuple[str, ...], regular: FontProperties, *, size: float
) -> None:
    """The clusters' names left of the rows, as the y axis's tick labels would be drawn (3
    points from the axis, right-aligned, centered on the row): plain texts, without the tick
    machinery matplotlib would build for every row."""
    from matplotlib.text import Text

    transform, va, ha = ax.get_yaxis_text1_transform(3.0)
    for row, name in zip(y, ids, strict=True):
        ax.add_artist(
            Text(
                0.0,
                float(row),
                name,
                fontproperties=regular,
                fontsize=size,
                color=MUTED,
                va=va,
                ha=ha,
                transform=transform,
                clip_on=False,
                zorder=ax.yaxis.get_zorder(),
            )
        )  # the axis's layer


def _legend(fig: object, panels: tuple[Panel, Panel], regular: object, height: float) -> None:
    """What the marks mean, above the panels."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=BY_CLUSTER, marker="o", markersize=4.5, linewidth=1.6),
        Line2D([], [], color=MIXED, marker="o", markersize=4.5, linewidth=1.6),
        Line2D([], [], color="#7A7A7A", linestyle="--", linewidth=1.0),
    ]
    labels = ["by-cluster (OLS) and interval", "mixed model and interval", "population value"]
    if panels[0].truth is not None:
        handles.append(
            Line2D(
                [], [], color=TRUTH, marker="|", markersize=8, linestyle="none", markeredgewidth=1.3
            )
        )
        labels.append("true value")
    fig.legend(  # type: ignore[attr-defined]
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(12 / WIDTH_PX, 1 - 84 / height),
        ncol=len(handles),
        frameon=False,
        prop=regular,
        fontsize=8.5,
        handlelength=2.2,
        columnspacing=1.6,
        borderaxespad=0,
        borderpad=0,
        labelcolor=TEXT,
    )
