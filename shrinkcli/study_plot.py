"""Pictures of a Monte Carlo study (PNG bytes): the distribution of each estimate against its
truth, and by-cluster vs mixed RMSE per scenario. matplotlib without pyplot or global state."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .theme import BY_CLUSTER, MIXED, MUTED, TEXT, figure_png, font

if TYPE_CHECKING:
    from .study import StudyResult

#: Estimates shown in the distribution grid, with their labels.
ESTIMATES = (
    ("intercept", "intercept"),
    ("beta", "slope (beta)"),
    ("sd_int", "sd of intercepts"),
    ("sd_slope", "sd of slopes"),
    ("cor", "correlation"),
    ("sigma", "residual sd"),
)


def estimates_png(study: StudyResult) -> bytes:
    """Histograms of every estimate (rows: scenarios, columns: quantities), truth marked."""
    from matplotlib.figure import Figure

    scenarios = study.scenarios
    table = study.replications
    rows, cols = len(scenarios), len(ESTIMATES)
    fig = Figure(figsize=(2.1 * cols + 1.6, 1.55 * rows + 0.9), dpi=100)
    regular, bold = font(), font(bold=True)
    fig.suptitle(
        "Estimates over replications (histograms) against the truth (black line)",
        fontproperties=bold,
        fontsize=12,
        color=TEXT,
    )
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, s in enumerate(scenarios):
        t = table[table["scenario"] == s.name]
        for j, (q, label) in enumerate(ESTIMATES):
            ax = axes[i][j]
            v = t[q].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size:
                ax.hist(v, bins=30, color=MIXED, alpha=0.75, linewidth=0)
            truth = study.truth(s.name, q)
            if math.isfinite(truth):
                ax.axvline(truth, color="black", linewidth=1.4)
            ax.set_yticks([])
            for tick in ax.get_xticklabels():
                tick.set_fontproperties(regular)
                tick.set_fontsize(7)
            ax.tick_params(axis="x", labelsize=7, colors=MUTED)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
            if i == 0:
                ax.set_title(label, fontproperties=bold, fontsize=9, color=TEXT)
            if j == 0:
                ax.set_ylabel(s.name, fontproperties=regular, fontsize=8, color=TEXT)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.75 / fig.get_figheight(), bottom=0.04,
                        hspace=0.55, wspace=0.12)
    return figure_png(fig)


def rmse_png(study: StudyResult) -> bytes:
    """Mean RMSE of the cluster coefficients against the truth, by-cluster OLS vs mixed model,
    one row per scenario (means over replications)."""
    from matplotlib.figure import Figure

    summary = study.summary
    names = [s.name for s in study.scenarios]
    fig = Figure(figsize=(7.5, 0.55 * len(names) + 1.6), dpi=100)
    regular, bold = font(), font(bold=True)
    ax = fig.add_subplot(1, 1, 1)
    ypos = np.arange(len(names))[::-1]
    xmax = 0.0
    for y, name in zip(ypos, names, strict=True):
        means = summary[summary["scenario"] == name].set_index("quantity")["mean"]
        ols = float(means.to_dict().get("cluster_rmse_ols", math.nan))
        mix = float(means.to_dict().get("cluster_rmse_mixed", math.nan))
        if math.isfinite(ols) and math.isfinite(mix):
            ax.annotate(
                "",
                xy=(mix, y),
                xytext=(ols, y),
                arrowprops={"arrowstyle": "-|>", "color": "#9A9A9A", "linewidth": 1.2},
            )
        outward = 1 if not math.isfinite(mix) or ols >= mix else -1
        for value, color, sign in ((ols, BY_CLUSTER, outward), (mix, MIXED, -outward)):
            if math.isfinite(value):
                ax.plot([value], [y], "o", color=color, markersize=9)
                ax.annotate(f"{value:.3f}", (value, y), xytext=(9 * sign, 0),
                            textcoords="offset points", va="center",
                            ha="left" if sign > 0 else "right",
                            fontproperties=regular, fontsize=8, color=color)
                xmax = max(xmax, value)
    ax.set_yticks(ypos)
    ax.set_yticklabels(names, fontproperties=regular, fontsize=10, color=TEXT)
    for tick in ax.get_xticklabels():
        tick.set_fontproperties(regular)
    ax.set_xlim(-0.16 * xmax if xmax > 0 else 0, xmax * 1.15 if xmax > 0 else 1)
    ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= xmax * 1.15])
    ax.axvline(0, color="#BBBBBB", linewidth=0.8)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel("RMSE of the cluster intercepts and slopes against the truth "
                  "(mean over replications)", fontproperties=regular, fontsize=9, color=MUTED)
    ax.set_title("Mixed-model estimates (blue) vs by-cluster OLS (orange)",
                 fontproperties=bold, fontsize=12, color=TEXT)
    ax.grid(axis="x", color="#E5E5E5")
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return figure_png(fig)
