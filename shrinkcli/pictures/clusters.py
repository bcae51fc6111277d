"""Pictures of single clusters (PNG bytes): each cluster's shrinkage against its size, and
clusters drawn with their data, their own line, their mixed-model line and the population line
(small multiples). matplotlib without pyplot or global state; the values come in, the bytes go
out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .theme import BY_CLUSTER, HOLE, MIXED, MUTED, TEXT, figure_png, font

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

#: Pixels per inch of these pictures.
DPI = 100


@dataclass(frozen=True)
class Panel:
    """One cluster drawn with its data: its rows, its own OLS line (None without one), its
    mixed-model line, and a title."""

    title: str
    x: np.ndarray
    y: np.ndarray
    ols: tuple[float, float] | None
    mixed: tuple[float, float]


def _style(ax: Axes, regular: FontProperties, size: float = 7.5) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9E9E9E")
    ax.tick_params(colors=MUTED, length=2.5, width=0.6, labelsize=size)
    for tick in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        tick.set_fontproperties(regular)
        tick.set_fontsize(size)
    ax.grid(True, color="#EBEBEB", linewidth=0.6)
    ax.set_axisbelow(True)


def shrinkage_png(
    n: np.ndarray,
    shrinkage: np.ndarray,
    *,
    labels: Sequence[str] = (),
    marked: Sequence[int] = (),
    cluster: str = "cluster",
    width: int = 640,
    height: int = 380,
) -> bytes:
    """Each cluster's shrinkage (0: kept its own line, 1: on the population line) against its
    number of rows; the clusters `marked` (indices) are labelled with `labels`. Clusters of
    equal size are spread a little sideways (a beeswarm), so that no point hides another."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

    n = np.asarray(n, dtype=float)
    s = np.asarray(shrinkage, dtype=float)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    fig.patch.set_facecolor("white")
    words = (*labels, cluster)  # ids may be CJK or emoji: a font that has them
    regular, bold = font(text=words), font(bold=True, text=words)
    ax = fig.add_axes((0.1, 0.15, 0.86, 0.72))
    log = len(n) > 0 and n.min() > 0 and n.max() / n.min() >= 8
    xpos = spread_ties(np.log(n) if log else n, s, 0.08 if log else 0.18 * _step(n))
    xpos = np.exp(xpos) if log else xpos
    ax.axhline(0.0, color="#9E9E9E", linewidth=0.8, zorder=1)
    ax.axhline(1.0, color="#9E9E9E", linewidth=0.8, linestyle="--", zorder=1)
    if len(s):
        ax.axhline(float(np.mean(s)), color=MIXED, linewidth=0.9, alpha=0.6, zorder=1)
    ax.scatter(xpos, s, s=26, color=MIXED, alpha=0.75, linewidths=0.5, edgecolors="white", zorder=3)
    labelled = list(zip(marked, labels, strict=False))
    for i, _ in labelled:
        ax.scatter(
            [xpos[i]], [s[i]], s=46, facecolors="none", edgecolors=TEXT, linewidths=1.0, zorder=4
        )
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(LogLocator(base=10, subs=()))
    else:
        sizes = np.unique(n)
        if len(sizes) <= 12:
            ax.set_xticks(list(sizes))
            ax.set_xticklabels([f"{v:g}" for v in sizes])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        lo, hi = (float(n.min()), float(n.max())) if len(n) else (0.0, 1.0)
        pad = max(0.6, 0.06 * (hi - lo))
        ax.set_xlim(lo - pad, hi + pad)
    low = min(0.0, float(np.min(s))) if len(s) else 0.0
    high = max(1.0, float(np.max(s))) if len(s) else 1.0
    ax.set_ylim(low - 0.06, high + 0.06)
    x_lo, x_hi = ax.get_xlim()
    for i, label in labelled:  # a label toward the middle of the plot, never off its edge
        where = (
            math.log(xpos[i] / x_lo) / math.log(x_hi / x_lo)
            if log
            else (xpos[i] - x_lo) / (x_hi - x_lo)
        )
        right = where > 0.6
        ax.annotate(
            label,
            (xpos[i], s[i]),
            xytext=(-7 if right else 7, 4),
            textcoords="offset points",
            ha="right" if right else "left",
            fontproperties=regular,
            fontsize=7.5,
            color=TEXT,
            zorder=5,
        )
    _style(ax, regular, 8)
    ax.set_xlabel(
        f"rows in the cluster ({cluster})", fontproperties=regular, fontsize=9, color=TEXT
    )
    ax.set_ylabel("shrinkage", fontproperties=regular, fontsize=9, color=TEXT)
    fig.text(
        0.1,
        0.95,
        "How far each cluster was pulled toward the population line",
        fontproperties=bold,
        fontsize=10.5,
        color=TEXT,
        va="top",
    )
    fig.text(
        0.1,
        0.895,
        "0: kept its own line · 1 (dashed): on the population line · blue line: the mean",
        fontproperties=regular,
        fontsize=8,
        color=MUTED,
        va="top",
    )
    return figure_png(fig)


def _step(n: np.ndarray) -> float:
    """The smallest gap between two distinct sizes (1 when there is none)."""
    u = np.unique(n)
    return float(np.min(np.diff(u))) if len(u) > 1 else 1.0


#: Sideways offsets (in units of the spread's width) of points that share a position, taken in
#: turn in the order of their values: neighbours in value land apart.
SWARM = (0.0, -0.5, 0.5, -1.0, 1.0, -0.25, 0.75, -0.75, 0.25)


def spread_ties(pos: np.ndarray, order_by: np.ndarray, width: float) -> np.ndarray:
    """Positions with the points that share one spread over ±width, in turn by the order of
    `order_by` (deterministic; points close in value are set apart)."""
    out = np.asarray(pos, dtype=float).copy()
    keys = np.round(out, 9)
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        if len(idx) < 2:
            continue
        idx = idx[np.argsort(order_by[idx], kind="stable")]
        offsets = np.array([SWARM[j % len(SWARM)] for j in range(len(idx))])
        out[idx] = key + width * offsets
    return out


def clusters_png(
    panels: Sequence[Panel],
    population: tuple[float, float],
    *,
    x_name: str,
    y_name: str,
    columns: int = 4,
    title: str = "",
    row_titles: Sequence[str] = (),
    panel_size: tuple[float, float] = (215.0, 165.0),
) -> bytes:
    """Small multiples, one panel per cluster: its rows (points), its own least-squares line
    (orange, over the cluster's own x values, where it was fitted), its mixed-model line (blue)
    and the population line (dashed) over the x range of all panels, on shared axes.
    `row_titles` label the rows of panels."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    k = len(panels)
    cols = max(1, min(columns, k))
    rows = max(1, math.ceil(k / cols))
    top_px, bottom_px, left_px = (48.0 if title else 16.0), 50.0, 52.0
    row_gap = 20.0 if row_titles else 0.0
    w = left_px + cols * panel_size[0] + 12
    h = top_px + bottom_px + rows * (panel_size[1] + row_gap)
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI)
    fig.patch.set_facecolor("white")
    words = (*(p.title for p in panels), title, *row_titles, x_name, y_name)
    regular, bold = font(text=words), font(bold=True, text=words)
    xs = np.concatenate([p.x for p in panels]) if panels else np.zeros(1)
    ys = np.concatenate([p.y for p in panels]) if panels else np.zeros(1)
    x0, x1 = float(np.min(xs)), float(np.max(xs))
    if x1 <= x0:
        x0, x1 = x0 - 1.0, x1 + 1.0
    grid = np.array([x0, x1])
    lines = [population[0] + population[1] * grid]
    for p in panels:
        lines.append(p.mixed[0] + p.mixed[1] * grid)
        if p.ols is not None:
            lines.append(p.ols[0] + p.ols[1] * _span(p.x))
    y_all = np.concatenate([ys, *lines])
    y0, y1 = float(np.min(y_all)), float(np.max(y_all))
    pad_y = 0.06 * (y1 - y0) if y1 > y0 else 1.0
    pad_x = 0.04 * (x1 - x0)
    for i, p in enumerate(panels):
        r, c = divmod(i, cols)
        left = (left_px + c * panel_size[0] + 6) / w
        bottom = 1 - (top_px + (r + 1) * (panel_size[1] + row_gap) - 22) / h
        ax = fig.add_axes((left, bottom, (panel_size[0] - 22) / w, (panel_size[1] - 50) / h))
        ax.plot(
            grid,
            population[0] + population[1] * grid,
            color=HOLE,
            linewidth=1.0,
            linestyle="--",
            alpha=0.7,
            zorder=2,
        )
        if p.ols is not None:  # over the cluster's own x values: a line fitted to them
            own = _span(p.x)
            ax.plot(own, p.ols[0] + p.ols[1] * own, color=BY_CLUSTER, linewidth=1.4, zorder=3)
        ax.plot(grid, p.mixed[0] + p.mixed[1] * grid, color=MIXED, linewidth=1.6, zorder=4)
        ax.scatter(p.x, p.y, s=11, color="#4D4D4D", alpha=0.8, linewidths=0, zorder=5)
        ax.set_xlim(x0 - pad_x, x1 + pad_x)
        ax.set_ylim(y0 - pad_y, y1 + pad_y)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        _style(ax, regular, 7)
        if c:
            ax.set_yticklabels([])
        if r < rows - 1 and i + cols < k:
            ax.set_xticklabels([])
        ax.set_title(
            p.title, fontproperties=regular, fontsize=7.5, color=TEXT, pad=3, linespacing=1.25
        )
    for r, text in enumerate(row_titles[:rows]):
        y = 1 - (top_px + r * (panel_size[1] + row_gap) + 4) / h
        fig.text(left_px / w, y, text, fontproperties=bold, fontsize=9, color=TEXT, va="top")
    if title:
        fig.text(
            left_px / w, 1 - 10 / h, title, fontproperties=bold, fontsize=10.5, color=TEXT, va="top"
        )
    legend = [
        ("own least-squares line", BY_CLUSTER, "-"),
        ("mixed model", MIXED, "-"),
        ("population", HOLE, "--"),
    ]
    _legend(fig, legend, regular, x=left_px / w, y=12 / h)
    fig.text(
        0.5,
        30 / h,
        x_name,
        fontproperties=regular,
        fontsize=9,
        color=TEXT,
        ha="center",
        va="bottom",
    )
    fig.text(
        12 / w,
        0.5,
        y_name,
        fontproperties=regular,
        fontsize=9,
        color=TEXT,
        va="center",
        rotation=90,
    )
    return figure_png(fig)


def _span(x: np.ndarray) -> np.ndarray:
    """The ends of the range of x."""
    return np.array([float(np.min(x)), float(np.max(x))])


def _legend(
    fig: Figure,
    entries: Sequence[tuple[str, str, str]],
    regular: FontProperties,
    *,
    x: float,
    y: float,
) -> None:
    """A one-line legend of line styles at figure fractions (x, y)."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=color, linewidth=1.5, linestyle=style)  # type: ignore[arg-type]
        for _, color, style in entries
    ]
    handles.append(Line2D([], [], marker="o", linestyle="none", markersize=4, color="#4D4D4D"))
    labels = [label for label, _, _ in entries] + ["the cluster's rows"]
    fig.legend(
        handles,
        labels,
        loc="lower left",
        bbox_to_anchor=(x, y),
        ncol=len(handles),
        frameon=False,
        prop=regular,
        fontsize=8,
        handlelength=1.8,
        columnspacing=1.2,
        borderaxespad=0,
        borderpad=0,
    )
