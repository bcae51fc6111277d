"""Monte Carlo studies: many data sets per scenario, each fitted, to measure what shrinkage buys.

Replication k (1, 2, …, N) of a scenario uses the scenario's own generator with seed
``seed + k − 1`` (wrapped into R's seed range), so replication 1 is exactly the scenario's own
data set, and any replication can be redrawn in R with ``set.seed(seed + k - 1)``. The work is
split into chunks that worker processes fit independently; results are put back in
(scenario, replication) order, so the output does not depend on the number of processes.

No I/O, no printing: `run_study` returns frames, and `StudyResult.files()` the files they make;
the CLI and the report write them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import parallel
from .errors import ShrinkError
from .scenario import Scenario

#: Per-replication columns, in order.
REPLICATION_COLUMNS = (
    "scenario",
    "replication",
    "seed",
    "intercept",
    "intercept_se",
    "beta",
    "beta_se",
    "sd_int",
    "sd_slope",
    "cor",
    "sigma",
    "singular",
    "converged",
    "mean_shrinkage",
    "cluster_rmse_ols",
    "cluster_rmse_mixed",
    "error",
)
#: Summary quantities, in order.
QUANTITIES = (
    "intercept",
    "beta",
    "sd_int",
    "sd_slope",
    "cor",
    "sigma",
    "cluster_rmse_ols",
    "cluster_rmse_mixed",
    "mean_shrinkage",
    "singular_share",
    "failed_share",
)
SUMMARY_COLUMNS = ("scenario", "quantity", "truth", "mean", "sd", "bias", "rmse", "coverage")

#: The file that marks a folder as a study's output; JSON with the list of files written.
MARKER = ".shrink-study"

_SEED_SPAN = 2**32 - 1  # R accepts seeds -(2^31 - 1) .. 2^31 - 1
_Z975 = 1.959963984540054  # qnorm(0.975)

Progress = Callable[[str, int], None]


def replication_seed(seed: int, k: int) -> int:
    """Seed of replication k (1-based): seed + k − 1, wrapped into R's integer range."""
    low = -(2**31 - 1)
    return (seed + k - 1 - low) % _SEED_SPAN + low


def replicate(scenario: Scenario, k: int) -> dict[str, Any]:
    """Simulate and fit replication k of `scenario`; one row of the per-replication table."""
    from .lmm import clusters_frame, match_truth, model_fit, prepare_arrays, sufficient_stats
    from .simulate import simulate

    seed = replication_seed(scenario.seed, k)
    sim = simulate(scenario.model_copy(update={"seed": seed}))  # a valid seed: no re-validation
    data = sim.data
    ids, codes = np.unique(data["cluster"].to_numpy(), return_inverse=True)
    y = data["y"].to_numpy()
    x = data["x"].to_numpy()
    spec = scenario.model.spec
    try:
        prep = prepare_arrays(y, x, codes, int(ids.shape[0]), spec)
        st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
        res = model_fit(st, prep, spec, residual_quantiles=False)
    except ShrinkError as exc:  # a draw the model cannot be fitted to: recorded, not fatal
        row: dict[str, Any] = dict.fromkeys(REPLICATION_COLUMNS, math.nan)
        row.update(scenario=scenario.name, replication=k, seed=seed, singular=False,
                   converged=False, error=str(exc))
        return row
    cl = clusters_frame(prep, st, res)
    true_i, true_s = match_truth(sim.truth, ids)
    ols_i, ols_s, mix_i, mix_s = (
        cl[c].to_numpy() for c in ("ols_intercept", "ols_slope", "mixed_intercept", "mixed_slope")
    )
    has = np.isfinite(ols_s)  # compare both on the clusters that have a by-cluster line
    rmse_ols = _joint_rmse(ols_i[has] - true_i[has], ols_s[has] - true_s[has])
    rmse_mix = _joint_rmse(mix_i[has] - true_i[has], mix_s[has] - true_s[has])
    shrink = cl["shrinkage"].to_numpy()
    vc = res.variance
    nan = math.nan
    sd_slope = vc.slope_sd if vc.slope_sd is not None else nan
    cor = vc.corr if vc.corr is not None else nan
    return {
        "scenario": scenario.name,
        "replication": k,
        "seed": seed,
        "intercept": float(res.beta[0]),
        "intercept_se": float(res.std_errors[0]),
        "beta": float(res.beta[1]),
        "beta_se": float(res.std_errors[1]),
        "sd_int": vc.intercept_sd,
        "sd_slope": sd_slope,
        "cor": cor,
        "sigma": res.sigma,
        "singular": bool(res.singular),
        "converged": bool(res.converged),
        "mean_shrinkage": float(np.nanmean(shrink)) if np.isfinite(shrink).any() else math.nan,
        "cluster_rmse_ols": rmse_ols,
        "cluster_rmse_mixed": rmse_mix,
        "error": "",
    }


def _joint_rmse(d_int: np.ndarray, d_slope: np.ndarray) -> float:
    """Root mean square error over clusters and both coefficients."""
    if d_int.shape[0] == 0:
        return math.nan
    return float(np.sqrt((np.mean(d_int**2) + np.mean(d_slope**2)) / 2.0))


def _run_chunk(task: tuple[Scenario, int, int]) -> list[dict[str, Any]]:
    scenario, first, last = task
    return [replicate(scenario, k) for k in range(first, last + 1)]


def _chunks(scenarios: Sequence[Scenario], reps: int, size: int) -> list[tuple[Scenario, int, int]]:
    tasks = []
    for s in scenarios:
        for first in range(1, reps + 1, size):
            tasks.append((s, first, min(reps, first + size - 1)))
    return tasks


@dataclass(frozen=True)
class StudyResult:
    """Per-replication rows and the per-scenario summary."""

    replications: pd.DataFrame
    summary: pd.DataFrame
    scenarios: tuple[Scenario, ...]

    def files(self) -> dict[str, bytes | str]:
        """The study's files by name: its two tables (CSV) and two pictures (PNG)."""
        from .io import table_text
        from .study_plot import estimates_png, rmse_png

        return {
            "summary.csv": table_text(self.summary, "csv"),
            "replications.csv": table_text(self.replications, "csv"),
            "estimates.png": estimates_png(self),
            "rmse.png": rmse_png(self),
        }


def run_study(
    scenarios: Sequence[Scenario],
    reps: int,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> StudyResult:
    """Fit `reps` replications of every scenario, over `jobs` processes (default: the cores),
    or on `executor` when one is given (any `concurrent.futures.Executor`).

    `seed` replaces every scenario's base seed. `progress(scenario_name, done)` is called in
    the calling process as chunks of replications finish. Raises, before any work, for two
    scenarios with the same name or one this machine has not the memory for.
    """
    if reps < 1:
        raise ValueError("reps must be at least 1")
    from .scenario import check_memory, check_names, with_overrides

    check_names(scenarios)
    for s in scenarios:
        check_memory(s)
    if seed is not None:
        scenarios = [with_overrides(s, seed=seed) for s in scenarios]
    scenarios = tuple(scenarios)
    jobs = jobs or parallel.cores()
    size = max(1, min(50, math.ceil(reps / (4 * jobs))))
    tasks = _chunks(scenarios, reps, size)

    def done(i: int, chunk: list[dict[str, Any]]) -> None:
        if progress:
            progress(tasks[i][0].name, len(chunk))

    workers = min(jobs, len(tasks))
    with (
        contextlib.nullcontext(executor) if executor is not None else parallel.pool(workers)
    ) as ex:
        rows = parallel.ordered_map(_run_chunk, tasks, executor=ex, on_result=done)
    flat = [r for chunk in rows for r in chunk]
    table = pd.DataFrame(flat, columns=list(REPLICATION_COLUMNS))
    return StudyResult(table, summarize(table, scenarios), scenarios)


def summarize(table: pd.DataFrame, scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """One row per scenario and quantity: truth, mean, sd, bias, rmse and (for the fixed
    effects) the coverage of 95% Wald intervals."""
    out: list[dict[str, Any]] = []
    for s in scenarios:
        mine = table[table["scenario"] == s.name]
        failed = (mine["error"] != "").to_numpy(dtype=float)
        t = mine[mine["error"] == ""]  # the fits that succeeded
        spec = s.model.spec
        truths = {
            "intercept": s.intercept,
            "beta": s.beta,
            "sd_int": s.sd_int,
            "sd_slope": s.sd_slope if spec.has_random_slope else math.nan,
            "cor": s.cor if spec.correlated else math.nan,
            "sigma": s.sigma,
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
            truth = truths.get(q, math.nan)
            row["truth"] = truth
            row["mean"] = float(v.mean()) if v.size else math.nan
            row["sd"] = float(v.std(ddof=1)) if v.size > 1 else math.nan
            if math.isfinite(truth) and v.size:
                row["bias"] = row["mean"] - truth
                row["rmse"] = float(np.sqrt(np.mean((v - truth) ** 2)))
            else:
                row["bias"] = row["rmse"] = math.nan
            if q in ("intercept", "beta"):
                est = t[q].to_numpy(dtype=float)
                se = t[f"{q}_se"].to_numpy(dtype=float)
                ok = np.isfinite(est) & np.isfinite(se)
                inside = np.abs(est[ok] - truth) <= _Z975 * se[ok]
                row["coverage"] = float(inside.mean()) if ok.any() else math.nan
            else:
                row["coverage"] = math.nan
            out.append(row)
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as an aligned text table for a terminal: a block per scenario, numbers
    rounded to four decimals (coverage and shares as percentages), blanks where undefined."""
    percent = {"coverage"}
    header = ("quantity", "truth", "mean", "sd", "bias", "rmse", "coverage")
    lines: list[str] = []
    for name, block in summary.groupby("scenario", sort=False):
        rows: list[tuple[str, ...]] = [header]
        for _, r in block.iterrows():
            cells = [str(r["quantity"])]
            for col in header[1:]:
                v = float(r[col])
                if not math.isfinite(v) or (r["quantity"].endswith("_share") and col == "sd"):
                    cells.append("")
                elif col in percent or (r["quantity"].endswith("_share") and col == "mean"):
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
