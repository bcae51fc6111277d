"""Cluster-level coverage: in every replication, whether each cluster's 95% intervals of its
intercept and slope held its true coefficients — the by-cluster t intervals (pooled residual SD)
and the mixed model's ±1.96 conditional SD (lme4's condVar) — counted by cluster size in each
row (under `columns.BY_SIZE`), then tallied over the replications: by cluster size
(`coverage_by_size`) and per replication and coefficient (`coefficient_coverage`). A model
without a random slope gives the slope no mixed interval."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..scenario import Scenario
from ..table import Table
from .columns import BY_SIZE, COEFFICIENT_COVERAGE_COLUMNS, COVERAGE_COLUMNS, LEVEL


def cluster_coverage(
    clusters: Table,
    true_int: np.ndarray,
    true_slope: np.ndarray,
    df: int,
    level: float = LEVEL,
) -> dict[str, np.ndarray]:
    """Per cluster and coefficient (K × 2: intercept, slope), whether each kind of interval
    held the truth: 1.0 or 0.0, NaN where there is no interval (no by-cluster slope; no random
    slope for the mixed one). `df`: the by-cluster fits' pooled residual degrees of freedom."""
    from ..lmm.uncertainty import t_quantile, z_quantile

    z = z_quantile(level)

    q = t_quantile(0.5 + level / 2.0, df)
    truth = np.column_stack([true_int, true_slope])
    has_line = np.isfinite(np.asarray(clusters.array("ols_slope"), dtype=float))
    out = {}
    for kind, mult in (("ols", q), ("mixed", z)):
        est = np.column_stack(
            [np.asarray(clusters.array(f"{kind}_{c}"), dtype=float) for c in ("intercept", "slope")]
        )
        se = np.column_stack(
            [
                np.asarray(clusters.array(f"{kind}_{c}_se"), dtype=float)
                for c in ("intercept", "slope")
            ]
        )
        if kind == "ols":  # a cluster without a slope has a mean, not an intercept
            est[~has_line] = np.nan
        with np.errstate(invalid="ignore"):
            hit = (np.abs(est - truth) <= mult * se).astype(float)
        hit[~(np.isfinite(est) & np.isfinite(se) & np.isfinite(truth))] = np.nan
        out[kind] = hit
    return out


def held_share(hits: np.ndarray) -> float:
    """The share of intervals (non-NaN entries) that held the truth."""
    ok = np.isfinite(hits)
    return float(hits[ok].mean()) if ok.any() else math.nan


#: The counts `counts_by_size` keeps per cluster size: for each kind and coefficient, how many
#: intervals there were and how many held the truth.
COUNTS = tuple(
    f"{kind}_{coef}_{what}"
    for kind in ("ols", "mixed")
    for coef in ("intercept", "slope")
    for what in ("intervals", "held")
)


def counts_by_size(n: np.ndarray, covered: dict[str, np.ndarray]) -> list[tuple[float, ...]]:
    """Coverage counts by cluster size: (n, clusters, then `COUNTS`)."""
    rows = []
    for size in np.unique(n):
        pick = n == size
        row: list[float] = [float(size), float(pick.sum())]
        for kind in ("ols", "mixed"):
            hits = covered[kind][pick]
            for j in (0, 1):
                row += [float(np.isfinite(hits[:, j]).sum()), float(np.nansum(hits[:, j]))]
        rows.append(tuple(row))
    return rows


def coefficient_coverage(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """`COEFFICIENT_COVERAGE_COLUMNS` from the replication rows' counts by cluster size
    (`counts_by_size`): the mixed intervals' coverage of the intercept and of the slope, each on
    its own, where `cluster_coverage_mixed` is the share of both together."""
    at = {name: 2 + i for i, name in enumerate(COUNTS)}
    out = []
    for r in rows:
        counts = np.asarray(r.get(BY_SIZE) or [], dtype=float).reshape(-1, 2 + len(COUNTS))
        row: dict[str, Any] = {"scenario": r["scenario"], "replication": r["replication"]}
        for coef in ("intercept", "slope"):
            many = counts[:, at[f"mixed_{coef}_intervals"]].sum()
            held = counts[:, at[f"mixed_{coef}_held"]].sum()
            row[f"mixed_{coef}"] = float(held / many) if many > 0 else math.nan
        out.append(row)
    return pd.DataFrame(out, columns=list(COEFFICIENT_COVERAGE_COLUMNS))


def coverage_by_size(
    counts: Sequence[tuple[str, tuple[float, ...]]], scenarios: Sequence[Scenario]
) -> pd.DataFrame:
    """`COVERAGE_COLUMNS` from every replication's counts by cluster size (`counts_by_size`)."""
    raw = pd.DataFrame(
        [(name, *c) for name, c in counts], columns=["scenario", "n", "clusters", *COUNTS]
    )
    total = raw.groupby(["scenario", "n"], sort=True).sum()
    order = [s.name for s in scenarios]
    total = total.reindex(sorted(total.index, key=lambda key: (order.index(key[0]), key[1])))
    total = total.reset_index()
    out = pd.DataFrame(
        {
            "scenario": total["scenario"],
            "n": total["n"].astype(np.int64),
            "clusters": total["clusters"].astype(np.int64),
            "ols_clusters": total["ols_intercept_intervals"].astype(np.int64),
        }
    )
    for kind in ("ols", "mixed"):
        for coef in ("intercept", "slope"):
            many = total[f"{kind}_{coef}_intervals"].to_numpy(float)
            held = total[f"{kind}_{coef}_held"].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{kind}_{coef}"] = np.where(many > 0, held / many, np.nan)
    return out.loc[:, list(COVERAGE_COLUMNS)]
