"""The picture of a design sweep (PNG bytes): when does pooling pay?

One varied key: each quantity against it with ±1.96 MCSE bands — the clusters' RMSE by-cluster
and mixed, the coverage of their 95% intervals against the nominal line, the share of singular
fits. Two varied keys: heatmaps over the grid of the RMSE gain of the mixed estimates over the
by-cluster ones (1 − RMSE mixed / RMSE by-cluster) and of the singular share, each cell labelled
with its number. matplotlib without pyplot or global state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..lmm.uncertainty import Z_95
from .theme import BY_CLUSTER, MIXED, MUTED, TEXT, figure_png, font

if TYPE_CHECKING:
    import pandas as pd


def _tick(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def sweep_png(summary: pd.DataFrame, keys: Sequence[str], name: str, reps: int) -> bytes:
    """The sweep picture of one scenario's summary rows (`SweepResult.summary`), over its one
    or two varied `keys`."""
    if len(keys) == 1:
        return _lines(summary, keys[0], name, reps)
    return _heatmaps(summary, keys[0], keys[1], name, reps)


def _style(ax: Any, regular: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8, colors=MUTED)
    for tick in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        tick.set_fontproperties(regular)
        tick.set_fontsize(8)


def _series(summary: pd.DataFrame, key: str, quantity: str) -> tuple[list, np.ndarray, np.ndarray]:
    rows = summary[summary["quantity"] == quantity]
    return (rows[key].tolist(), rows["mean"].to_numpy(float), rows["mcse"].to_numpy(float))


def _lines(summary: pd.DataFrame, key: str, name: str, reps: int) -> bytes:
    from matplotlib.figure import Figure

    regular, bold = font(), font(bold=True)
    fig = Figure(figsize=(12, 4.3), dpi=100)
    fig.suptitle(f"When does pooling pay? {name}", fontproperties=bold, fontsize=12, color=TEXT)
    fig.text(
        0.5,
        0.905,
        f"over {key}, {reps:,} replications per design; bands: ±1.96 Monte Carlo SE",
        ha="center",
        va="top",
        fontproperties=regular,
        fontsize=9,
        color=MUTED,
    )
    axes = fig.subplots(1, 3)
    values, _, _ = _series(summary, key, "cluster_rmse_ols")
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    pos = np.array(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    log = numeric and len(pos) > 2 and pos.min() > 0 and pos.max() / pos.min() >= 10

    def draw(ax: Any, quantity: str, color: str, label: str, scale: float = 1.0) -> None:
        _, m, se = _series(summary, key, quantity)
        ax.plot(pos, m * scale, color=color, marker="o", markersize=4, linewidth=1.8, label=label)
        ok = np.isfinite(se)
        ax.fill_between(
            pos[ok],
            (m - Z_95 * se)[ok] * scale,
            (m + Z_95 * se)[ok] * scale,
            color=color,
            alpha=0.2,
            linewidth=0,
        )

    ax = axes[0]
    draw(ax, "cluster_rmse_ols", BY_CLUSTER, "by-cluster")
    draw(ax, "cluster_rmse_mixed", MIXED, "mixed")
    ax.set_title(
        "clusters' coefficients: RMSE vs truth\n(lower is better)",
        fontproperties=regular,
        fontsize=10,
        color=TEXT,
    )
    ax.set_ylim(bottom=0)
    ax = axes[1]
    draw(ax, "cluster_coverage_ols", BY_CLUSTER, "by-cluster", 100.0)
    draw(ax, "cluster_coverage_mixed", MIXED, "mixed", 100.0)
    ax.axhline(95.0, color="black", linewidth=1, linestyle="--", label="nominal 95%")
    ax.set_title(
        "clusters' 95% intervals: % that held the truth",
        fontproperties=regular,
        fontsize=10,
        color=TEXT,
    )
    ax = axes[2]
    draw(ax, "singular_share", TEXT, "singular fits", 100.0)
    ax.set_title(
        "singular fits (% of replications)\n(a variance estimated as 0)",
        fontproperties=regular,
        fontsize=10,
        color=TEXT,
    )
    ax.set_ylim(bottom=0)
    for ax in axes:
        if log:
            ax.set_xscale("log")
        ax.set_xticks(pos, [_tick(v) for v in values])
        ax.minorticks_off()
        ax.set_xlabel(key, fontproperties=regular, fontsize=9, color=MUTED)
        _style(ax, regular)
    for ax in axes[:2]:
        legend = ax.legend(frameon=False, prop=regular, fontsize=8)
        for text in legend.get_texts():
            text.set_fontsize(8)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.14, top=0.74, wspace=0.22)
    return figure_png(fig)


def _grid(
    summary: pd.DataFrame, row: str, col: str, quantity: str
) -> tuple[list, list, np.ndarray]:
    part = summary[summary["quantity"] == quantity]
    rows = list(dict.fromkeys(part[row].tolist()))
    cols = list(dict.fromkeys(part[col].tolist()))
    out = np.full((len(rows), len(cols)), np.nan)
    for _, r in part.iterrows():
        out[rows.index(r[row]), cols.index(r[col])] = float(r["mean"])
    return rows, cols, out


def _heatmaps(summary: pd.DataFrame, row: str, col: str, name: str, reps: int) -> bytes:
    from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
    from matplotlib.figure import Figure

    regular, bold = font(), font(bold=True)
    rows, cols, ols = _grid(summary, row, col, "cluster_rmse_ols")
    _, _, mixed = _grid(summary, row, col, "cluster_rmse_mixed")
    _, _, singular = _grid(summary, row, col, "singular_share")
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = 100.0 * (1.0 - mixed / ols)
    width = max(10.0, 2 * (1.6 + 0.85 * len(cols)) + 1.0)
    fig = Figure(figsize=(width, 2.5 + 0.55 * len(rows)), dpi=100)
    fig.suptitle(
        f"When does pooling pay? {name} ({reps:,} replications per cell)",
        fontproperties=bold,
        fontsize=12,
        color=TEXT,
    )
    fig.text(
        0.5,
        1.0 - 0.5 / fig.get_figheight(),
        "darker blue: pooling pays more (orange: it costs); darker grey: more fits with a "
        "variance estimated at 0",
        ha="center",
        va="top",
        fontproperties=regular,
        fontsize=9,
        color=MUTED,
    )
    axes = fig.subplots(1, 2)
    gains = LinearSegmentedColormap.from_list("gain", [BY_CLUSTER, "#FFFFFF", MIXED])
    top = float(np.nanmax(np.abs(gain))) if np.isfinite(gain).any() else 1.0
    top = max(top, 1.0)
    panels = (
        (
            axes[0],
            gain,
            gains,
            TwoSlopeNorm(0.0, -top, top),
            "RMSE gain of mixed over by-cluster\n(% lower error of the clusters' coefficients)",
            "{:.0f}%",
        ),
        (
            axes[1],
            100.0 * singular,
            LinearSegmentedColormap.from_list("sing", ["#FFFFFF", "#595959"]),
            None,
            "singular fits (% of replications)",
            "{:.0f}%",
        ),
    )
    for ax, values, cmap, norm, title, fmt in panels:
        kwargs: dict[str, Any] = {"norm": norm} if norm is not None else {"vmin": 0, "vmax": 100}
        ax.imshow(values, cmap=cmap, aspect="auto", **kwargs)
        for i in range(len(rows)):
            for j in range(len(cols)):
                v = values[i, j]
                if not math.isfinite(v):
                    continue
                shade = abs(v) / top if norm is not None else v / 100.0
                ax.text(
                    j,
                    i,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=9,
                    fontproperties=regular,
                    color="white" if shade > 0.6 else TEXT,
                )
        ax.set_xticks(range(len(cols)), [_tick(v) for v in cols])
        ax.set_yticks(range(len(rows)), [_tick(v) for v in rows])
        ax.set_xlabel(col, fontproperties=regular, fontsize=9, color=MUTED)
        ax.set_ylabel(row, fontproperties=regular, fontsize=9, color=MUTED)
        ax.set_title(title, fontproperties=regular, fontsize=10, color=TEXT)
        _style(ax, regular)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
    height = fig.get_figheight()
    fig.subplots_adjust(
        left=0.08, right=0.99, bottom=0.62 / height, top=1.0 - 1.25 / height, wspace=0.25
    )
    return figure_png(fig)
