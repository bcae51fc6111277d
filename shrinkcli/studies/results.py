"""What a study returns: `StudyResult` (the replication table, the summary, the truths and the
coverage tables), the summary over the replications (`summarize`: truth, mean, Monte Carlo
standard error, sd, bias, RMSE, coverage), its text for a terminal, and the truths a study is
measured against (`truths_of`). `StudyResult.files()` gives the tables (CSV) and pictures (PNG)
a study's folder holds; writing them is the caller's."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..lmm.uncertainty import Z_95
from ..scenario import Scenario
from .bootstrap import Bootstrap, bootstrap_of
from .columns import LEVEL, QUANTITIES, SHARES, SUMMARY_COLUMNS


def truths_of(scenario: Scenario, bootstrap: Bootstrap | None = None) -> dict[str, float]:
    """The true value of each estimated quantity: a simulated scenario's parameters, a data
    scenario's fitted values (its bootstrap's); NaN for what the model does not estimate."""
    if scenario.is_data:
        boot = bootstrap if bootstrap is not None else bootstrap_of(scenario)
        return boot.truths()
    spec = scenario.model.spec
    return {
        "intercept": scenario.intercept,
        "beta": scenario.beta,
        "sd_int": scenario.sd_int,
        "sd_slope": scenario.sd_slope if spec.has_random_slope else math.nan,
        "cor": scenario.cor if spec.correlated else math.nan,
        "sigma": scenario.sigma,
    }


@dataclass(frozen=True)
class StudyResult:
    """Per-replication rows, the per-scenario summary, each scenario's true values, and the
    coverage of the clusters' intervals by cluster size (`COVERAGE_COLUMNS`)."""

    replications: pd.DataFrame
    summary: pd.DataFrame
    scenarios: tuple[Scenario, ...]
    truths: dict[str, dict[str, float]] = field(default_factory=dict)
    cluster_coverage: pd.DataFrame | None = None
    #: Per replication, the share of the mixed intervals that held each coefficient on its
    #: own (`COEFFICIENT_COVERAGE_COLUMNS`); `cluster_coverage_mixed` pools both.
    coefficient_coverage: pd.DataFrame | None = None

    def truth(self, scenario: str, quantity: str) -> float:
        """The true value of `quantity` in scenario `scenario` (NaN when there is none)."""
        return self.truths.get(scenario, {}).get(quantity, math.nan)

    def files(self) -> dict[str, bytes | str]:
        """The study's files by name: its tables (CSV) and pictures (PNG)."""
        from ..io import table_text
        from ..pictures.study import coverage_png, estimates_png, rmse_png

        out: dict[str, bytes | str] = {
            "summary.csv": table_text(self.summary, "csv"),
            "replications.csv": table_text(self.replications, "csv"),
            "estimates.png": estimates_png(self),
            "rmse.png": rmse_png(self),
        }
        if self.cluster_coverage is not None:
            out["cluster_coverage.csv"] = table_text(self.cluster_coverage, "csv")
            out["coverage.png"] = coverage_png(self)
        return out


def summarize(
    table: pd.DataFrame,
    scenarios: Sequence[Scenario],
    truths: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per scenario and quantity: truth, mean, sd, bias, rmse and the coverage of 95%
    intervals: Wald of the fixed effects, profile of the variance components (when the table
    has their bounds), and the share of the clusters' intervals that held their truth
    (`cluster_coverage_*`: truth is the nominal 0.95, mean and coverage that share). `truths`
    by scenario name (default `truths_of`; a data scenario's are its fitted values)."""
    out: list[dict[str, Any]] = []
    for s in scenarios:
        mine = table[table["scenario"] == s.name]
        failed = (mine["error"] != "").to_numpy(dtype=float)
        t = mine[mine["error"] == ""]  # the fits that succeeded
        truths_s = {
            **((truths or {}).get(s.name) or truths_of(s)),
            "cluster_coverage_ols": LEVEL,
            "cluster_coverage_mixed": LEVEL,
        }
        for q in QUANTITIES:
            row: dict[str, Any] = {"scenario": s.name, "quantity": q}
            if q == "singular_share":
                v = t["singular"].to_numpy(dtype=float)
            elif q == "failed_share":
                v = failed
            else:
                v = t[q].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            truth = truths_s.get(q, math.nan)
            row["truth"] = truth
            n = int(v.size)
            row["n"] = n
            row["mean"] = float(v.mean()) if n else math.nan
            row["sd"] = float(v.std(ddof=1)) if n > 1 else math.nan
            if q in SHARES:
                row["mcse"] = math.sqrt(row["mean"] * (1.0 - row["mean"]) / n) if n else math.nan
            else:
                row["mcse"] = row["sd"] / math.sqrt(n) if n > 1 else math.nan
            row["coverage_se"] = math.nan
            if math.isfinite(truth) and v.size:
                row["bias"] = row["mean"] - truth
                row["rmse"] = float(np.sqrt(np.mean((v - truth) ** 2)))
            else:
                row["bias"] = row["rmse"] = math.nan
            if q in ("intercept", "beta"):
                est = t[q].to_numpy(dtype=float)
                se = t[f"{q}_se"].to_numpy(dtype=float)
                ok = np.isfinite(est) & np.isfinite(se)
                inside = np.abs(est[ok] - truth) <= Z_95 * se[ok]
                row["coverage"] = float(inside.mean()) if ok.any() else math.nan
                row["coverage_se"] = _binomial_se(row["coverage"], int(ok.sum()))
            elif q.startswith("cluster_coverage"):  # the share of intervals that held it
                row["coverage"] = row["mean"]  # a mean of per-replication shares: its mcse
                row["coverage_se"] = row["mcse"]
            elif f"{q}_lower" in t.columns and math.isfinite(truth):  # profile intervals
                lo = t[f"{q}_lower"].to_numpy(dtype=float)
                hi = t[f"{q}_upper"].to_numpy(dtype=float)
                ok = np.isfinite(lo) & np.isfinite(hi)
                inside = (lo[ok] <= truth) & (truth <= hi[ok])
                row["coverage"] = float(inside.mean()) if ok.any() else math.nan
                row["coverage_se"] = _binomial_se(row["coverage"], int(ok.sum()))
            else:
                row["coverage"] = math.nan
            out.append(row)
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def _binomial_se(p: float, n: int) -> float:
    """The standard error of a share p of n trials (NaN without any)."""
    return math.sqrt(p * (1.0 - p) / n) if n and math.isfinite(p) else math.nan


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as an aligned text table for a terminal: a block per scenario, numbers
    rounded to four decimals (coverage and shares as percentages), blanks where undefined."""
    percent = {"coverage", "coverage_se"}
    header = ("quantity", "truth", "mean", "mcse", "sd", "bias", "rmse", "coverage", "coverage_se")
    lines: list[str] = []
    for name, block in summary.groupby("scenario", sort=False):
        rows: list[tuple[str, ...]] = [header]
        for _, r in block.iterrows():
            cells = [str(r["quantity"])]
            for col in header[1:]:
                v = float(r[col])
                share = r["quantity"].endswith("_share")
                rate = r["quantity"].startswith("cluster_coverage")
                if not math.isfinite(v) or (share and col == "sd"):
                    cells.append("")
                elif col in percent or ((share or rate) and col in ("mean", "truth", "mcse")):
                    cells.append(f"{100 * v:.1f}%")
                else:
                    cells.append(f"{v:.4f}")
            rows.append(tuple(cells))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines.append(str(name))
        for row in rows:
            first = row[0].ljust(widths[0])
            rest = "  ".join(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))
            lines.append(f"  {first}  {rest}".rstrip())
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
