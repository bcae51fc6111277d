"""Pictures of a Monte Carlo study (PNG bytes): the distribution of each estimate against its
truth, by-cluster vs mixed RMSE per scenario, and the coverage of the clusters' intervals by
cluster size. matplotlib without pyplot or global state."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from .theme import BY_CLUSTER, MIXED, MUTED, TEXT, figure_png, font, load_matplotlib

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..scenario import Scenario


class Study(Protocol):
    """What the pictures read of a study (`studies.StudyResult`), named here so that the
    pictures do not import the studies that draw them."""

    @property
    def scenarios(self) -> Sequence[Scenario]: ...
    @property
    def replications(self) -> pd.DataFrame: ...
    @property
    def summary(self) -> pd.DataFrame: ...
    @property
    def cluster_coverage(self) -> pd.DataFrame | None: ...
    def truth(self, scenario: str, quantity: str) -> float: ...


#: Estimates shown in the distribution grid, with their labels.
ESTIMATES = (
    ("intercept", "intercept"),
    ("beta", "slope (beta)"),
    ("sd_int", "sd of intercepts"),
    ("sd_slope", "sd of slopes"),
    ("cor", "correlation"),
    ("sigma", "residual sd"),
)


def estimates_png(study: Study) -> bytes:
    """Histograms of every estimate (rows: scenarios, columns: quantities), truth marked."""
    return figure_png(estimates_figure(study))


def estimates_figure(study: Study) -> Figure:
    """The figure of `estimates_png`, undrawn, so that its layout can be inspected."""
    load_matplotlib()
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
    # Margins in inches, not in fractions of the height: a fraction that suits many rows leaves
    # a one-row figure no room below its axes, and the x tick labels fall off the picture.
    height = fig.get_figheight()
    fig.subplots_adjust(
        left=0.07, right=0.98, top=1 - 0.75 / height, bottom=0.3 / height, hspace=0.55, wspace=0.12
    )
    return fig


def rmse_png(study: Study) -> bytes:
    """Mean RMSE of the cluster coefficients against the truth, by-cluster OLS vs mixed model,
    one row per scenario (means over replications), each row on its own scale."""
    return figure_png(rmse_figure(study))


def rmse_figure(study: Study) -> Figure:
    """The figure of `rmse_png`, undrawn. Each scenario has its own axis from 0 to a little past
    its larger RMSE: scenarios' RMSEs can differ by orders of magnitude (reaction times in ms
    against a simulated unit scale), and on one shared axis the smaller would be a dot at 0."""
    load_matplotlib()
    from matplotlib.figure import Figure

    summary = study.summary
    names = [s.name for s in study.scenarios]
    fig = Figure(figsize=(7.5, 0.75 * len(names) + 1.4), dpi=100)
    regular, bold = font(), font(bold=True)
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        means = summary[summary["scenario"] == name].set_index("quantity")["mean"]
        ols = float(means.to_dict().get("cluster_rmse_ols", math.nan))
        mix = float(means.to_dict().get("cluster_rmse_mixed", math.nan))
        xmax = max((v for v in (ols, mix) if math.isfinite(v)), default=0.0)
        if math.isfinite(ols) and math.isfinite(mix):
            ax.annotate(
                "",
                xy=(mix, 0),
                xytext=(ols, 0),
                arrowprops={"arrowstyle": "-|>", "color": "#9A9A9A", "linewidth": 1.2},
            )
        outward = 1 if not math.isfinite(mix) or ols >= mix else -1
        for value, color, sign in ((ols, BY_CLUSTER, outward), (mix, MIXED, -outward)):
            if math.isfinite(value):
                ax.plot([value], [0], "o", color=color, markersize=9)
                ax.annotate(
                    f"{value:.3g}",
                    (value, 0),
                    xytext=(9 * sign, 0),
                    textcoords="offset points",
                    va="center",
                    ha="left" if sign > 0 else "right",
                    fontproperties=regular,
                    fontsize=8,
                    color=color,
                )
        ax.set_yticks([0])
        ax.set_yticklabels([name], fontproperties=regular, fontsize=10, color=TEXT)
        ax.set_xlim(-0.16 * xmax if xmax > 0 else 0, xmax * 1.15 if xmax > 0 else 1)
        ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= (xmax * 1.15 if xmax > 0 else 1)])
        for tick in ax.get_xticklabels():
            tick.set_fontproperties(regular)
            tick.set_fontsize(8)
        ax.tick_params(axis="x", colors=MUTED)
        ax.axvline(0, color="#BBBBBB", linewidth=0.8)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.6, 0.6)
        ax.grid(axis="x", color="#E5E5E5")
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlabel(
        "RMSE of the cluster intercepts and slopes against the truth "
        "\n(mean over replications; each scenario on its own scale)",
        fontproperties=regular,
        fontsize=9,
        color=MUTED,
    )
    fig.suptitle(
        "Mixed-model estimates (blue) vs by-cluster OLS (orange)",
        fontproperties=bold,
        fontsize=12,
        color=TEXT,
    )
    fig.tight_layout()
    return fig


#: The four kinds of cluster interval drawn in the coverage picture: column, colour, marker,
#: line style, label.
COVERAGE_SERIES: tuple[tuple[str, str, str, Literal["-", "--"], str], ...] = (
    ("ols_intercept", BY_CLUSTER, "o", "-", "by-cluster, intercept"),
    ("ols_slope", BY_CLUSTER, "s", "--", "by-cluster, slope"),
    ("mixed_intercept", MIXED, "o", "-", "mixed, intercept"),
    ("mixed_slope", MIXED, "s", "--", "mixed, slope"),
)


def coverage_png(study: Study) -> bytes:
    """How often the clusters' 95% intervals held the truth, by cluster size, one panel per
    scenario; the grey band is what chance alone gives around 95% with that many intervals
    (±2 Monte Carlo standard errors)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    table = study.cluster_coverage
    assert table is not None
    names = [s.name for s in study.scenarios]
    titles = {s.name: s.title or s.name for s in study.scenarios}
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(max(3.3 * cols + 0.6, 10.6), 2.5 * rows + 1.3), dpi=100)
    regular, bold = font(), font(bold=True)
    fig.suptitle(
        "How often the clusters' 95% intervals held the true coefficient, by cluster size",
        fontproperties=bold,
        fontsize=12,
        color=TEXT,
    )
    axes = fig.subplots(rows, cols, squeeze=False)
    values = table[[c for c, *_ in COVERAGE_SERIES]].to_numpy(float)
    low = float(np.nanmin(values)) if np.isfinite(values).any() else math.nan
    bottom = min(0.85, math.floor((low - 0.03) * 20) / 20) if math.isfinite(low) else 0.85
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        part = table[table["scenario"] == names[k]]
        ax.set_title(titles[names[k]], fontproperties=bold, fontsize=9, color=TEXT)
        if part.empty:
            ax.text(
                0.5,
                0.5,
                "no replication\ncould be fitted",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontproperties=regular,
                fontsize=9,
                color=MUTED,
            )
            ax.set_axis_off()
            continue
        n = part["n"].to_numpy(float)
        count = part["clusters"].to_numpy(float)
        band = 2 * np.sqrt(0.95 * 0.05 / np.maximum(count, 1))
        if len(n) > 1:
            ax.fill_between(
                n, 0.95 - band, np.minimum(0.95 + band, 1.0), color="#E3E3E3", linewidth=0
            )
        else:
            ax.errorbar(n, [0.95], yerr=[band], color="#C8C8C8", linewidth=6, capsize=0)
        ax.axhline(0.95, color="#7A7A7A", linewidth=0.9, linestyle=":")
        for column, color, marker, style, _ in COVERAGE_SERIES:
            v = part[column].to_numpy(float)
            ok = np.isfinite(v)
            if ok.any():
                ax.plot(
                    n[ok],
                    v[ok],
                    color=color,
                    marker=marker,
                    linestyle=style,
                    markersize=4,
                    linewidth=1.2,
                    alpha=0.9,
                )
        ax.set_ylim(bottom, 1.0)
        if len(n) == 1:
            ax.set_xlim(n[0] - 1, n[0] + 1)
            ax.set_xticks([n[0]])
        ax.yaxis.set_major_formatter(_percent)
        for tick in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            tick.set_fontproperties(regular)
            tick.set_fontsize(7.5)
        ax.tick_params(colors=MUTED, length=3)
        ax.grid(axis="y", color="#EEEEEE")
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if k // cols == rows - 1:
            ax.set_xlabel(
                "observations in the cluster", fontproperties=regular, fontsize=8, color=MUTED
            )
    handles = [
        Line2D([], [], color=c, marker=m, linestyle=ls, markersize=4, linewidth=1.2)
        for _, c, m, ls, _ in COVERAGE_SERIES
    ]
    labels = [label for *_, label in COVERAGE_SERIES]
    handles.append(Line2D([], [], color="#E3E3E3", linewidth=6))
    labels.append("95% ± chance (2 Monte Carlo SE)")
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=5,
        frameon=False,
        prop=regular,
        fontsize=8,
        labelcolor=TEXT,
    )
    fig.subplots_adjust(
        left=0.07,
        right=0.98,
        top=1 - 0.62 / fig.get_figheight(),
        bottom=0.72 / fig.get_figheight(),
        hspace=0.55,
        wspace=0.22,
    )
    return figure_png(fig)


def _percent(value: float, _: object) -> str:
    return f"{100 * value:.0f}%"
