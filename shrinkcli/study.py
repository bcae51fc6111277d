"""Monte Carlo studies: many data sets per scenario, each fitted, to measure what shrinkage buys.

Replication k (1, 2, …, N) of a scenario uses the scenario's own generator with seed
``seed + k − 1`` (wrapped into R's seed range), so replication 1 is exactly the scenario's own
data set, and any replication can be redrawn in R with ``set.seed(seed + k - 1)``. The work is
split into chunks that worker processes fit independently; results are put back in
(scenario, replication) order, so the output does not depend on the number of processes.

A data scenario is studied by a parametric bootstrap (`Bootstrap`): its table is fitted once, and
every replication draws new responses from the fitted model at the data's own x values and
clusters, as lme4's ``simulate(mod, seed = seed + k - 1)`` does (with ``rng: r``, the same
numbers), then refits; the fitted values are the truth.

No printing, and no I/O but reading a data scenario's table (through `inputs`): `run_study`
returns frames, and `StudyResult.files()` the files they make; the CLI and the report write them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import parallel
from .errors import ShrinkError
from .model import ModelSpec
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


@dataclass(frozen=True)
class Bootstrap:
    """What a data scenario's parametric bootstrap draws from: the data's design (x values and
    cluster codes of the fitted rows) and the model fitted to it (β̂, θ̂, σ̂)."""

    x: np.ndarray
    codes: np.ndarray
    n_groups: int
    spec: ModelSpec
    beta: np.ndarray
    theta: tuple[float, ...]
    sigma: float

    @classmethod
    def from_data(
        cls, data: pd.DataFrame, spec: ModelSpec, *, y: str = "y", x: str = "x",
        cluster: str = "cluster",
    ) -> Bootstrap:
        """Fit `spec` to a table (rows with missing values dropped, as `fit` does)."""
        from .lmm import fit_arrays, prepare_data

        prep = prepare_data(data, y=y, x=x, cluster=cluster, model=spec)
        res = fit_arrays(prep.y, prep.x, prep.codes, prep.n_groups, spec,
                         residual_quantiles=False)
        return cls(prep.x, prep.codes, prep.n_groups, spec, np.array(res.beta, dtype=float),
                   tuple(res.theta), float(res.sigma))

    def truths(self) -> dict[str, float]:
        """The fitted values, the truth of every replication, by quantity."""
        vc = self.spec.variance_components(self.theta, self.sigma**2)
        nan = math.nan
        return {
            "intercept": float(self.beta[0]),
            "beta": float(self.beta[1]),
            "sd_int": vc.intercept_sd,
            "sd_slope": vc.slope_sd if vc.slope_sd is not None else nan,
            "cor": vc.corr if vc.corr is not None else nan,
            "sigma": self.sigma,
        }

    def draw(self, seed: int, rng: str) -> tuple[np.ndarray, np.ndarray]:
        """New responses and the cluster coefficients they were drawn with, (K, 2).

        As lme4's `simulate()`: u ~ N(0, I) for every random effect in lme4's order (cluster by
        cluster for a correlated term; all intercepts, then all slopes, for `(x || cluster)`),
        then residual noise; y = Xβ̂ + σ̂(ZΛ̂u + ε). With `rng` "r" the normals are R's after
        `set.seed(seed)`, else numpy's PCG64."""
        k, n = self.n_groups, self.x.shape[0]
        q = k * self.spec.random_per_cluster
        u: np.ndarray
        e: np.ndarray
        if rng == "r":
            from .rrng import RRandom

            r = RRandom(seed)
            u, e = r.rnorm(q), r.rnorm(n)
        else:
            g = np.random.Generator(np.random.PCG64(seed % 2**32))
            u, e = g.standard_normal((q,)), g.standard_normal((n,))
        a, b, c = self.spec.lambda_entries(self.theta)
        if not self.spec.has_random_slope:
            re = np.column_stack([a * u, np.zeros(k)])
        elif self.spec.correlated:
            pairs = u.reshape(k, 2)
            re = np.column_stack([a * pairs[:, 0], b * pairs[:, 0] + c * pairs[:, 1]])
        else:
            re = np.column_stack([a * u[:k], c * u[k:]])
        eta = self.beta[0] + self.beta[1] * self.x
        y = eta + self.sigma * ((re[self.codes, 0] + re[self.codes, 1] * self.x) + e)
        return y, self.beta[None, :] + self.sigma * re


def bootstrap_of(scenario: Scenario) -> Bootstrap:
    """A data scenario's bootstrap: its table read and fitted with its model."""
    from .inputs import data_input

    inp = data_input(scenario)
    return Bootstrap.from_data(inp.data, scenario.model.spec, **inp.names)


def replicate(scenario: Scenario, k: int, bootstrap: Bootstrap | None = None) -> dict[str, Any]:
    """Simulate (or, for a data scenario, draw from its `bootstrap`) and fit replication k of
    `scenario`; one row of the per-replication table."""
    seed = replication_seed(scenario.seed, k)
    if scenario.is_data:
        boot = bootstrap if bootstrap is not None else bootstrap_of(scenario)
        y, coef = boot.draw(seed, scenario.rng)
        return _fit_row(scenario, k, seed, y, boot.x, boot.codes, boot.n_groups,
                        coef[:, 0], coef[:, 1])
    from .lmm import match_truth
    from .simulate import simulate

    sim = simulate(scenario.model_copy(update={"seed": seed}))  # a valid seed: no re-validation
    data = sim.data
    ids, codes = np.unique(data["cluster"].to_numpy(), return_inverse=True)
    true_i, true_s = match_truth(sim.truth, ids)
    return _fit_row(scenario, k, seed, data["y"].to_numpy(), data["x"].to_numpy(), codes,
                    int(ids.shape[0]), true_i, true_s)


def _fit_row(
    scenario: Scenario,
    k: int,
    seed: int,
    y: np.ndarray,
    x: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    true_i: np.ndarray,
    true_s: np.ndarray,
) -> dict[str, Any]:
    """Fit one replication's data; its row, judged against the true cluster coefficients."""
    from .lmm import clusters_frame, model_fit, prepare_arrays, sufficient_stats

    spec = scenario.model.spec
    try:
        prep = prepare_arrays(y, x, codes, n_groups, spec)
        st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
        res = model_fit(st, prep, spec, residual_quantiles=False)
    except ShrinkError as exc:  # a draw the model cannot be fitted to: recorded, not fatal
        row: dict[str, Any] = dict.fromkeys(REPLICATION_COLUMNS, math.nan)
        row.update(scenario=scenario.name, replication=k, seed=seed, singular=False,
                   converged=False, error=str(exc))
        return row
    cl = clusters_frame(prep, st, res)
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


Task = tuple[Scenario, "Bootstrap | None", int, int]


def _run_chunk(task: Task) -> list[dict[str, Any]]:
    scenario, boot, first, last = task
    return [replicate(scenario, k, boot) for k in range(first, last + 1)]


def _chunks(
    scenarios: Sequence[Scenario], boots: dict[str, Bootstrap], reps: int, size: int
) -> list[Task]:
    tasks: list[Task] = []
    for s in scenarios:
        for first in range(1, reps + 1, size):
            tasks.append((s, boots.get(s.name), first, min(reps, first + size - 1)))
    return tasks


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
    """Per-replication rows and the per-scenario summary, and each scenario's true values."""

    replications: pd.DataFrame
    summary: pd.DataFrame
    scenarios: tuple[Scenario, ...]
    truths: dict[str, dict[str, float]] = field(default_factory=dict)

    def truth(self, scenario: str, quantity: str) -> float:
        """The true value of `quantity` in scenario `scenario` (NaN when there is none)."""
        return self.truths.get(scenario, {}).get(quantity, math.nan)

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
    bootstraps: Mapping[str, Bootstrap] | None = None,
) -> StudyResult:
    """Fit `reps` replications of every scenario, over `jobs` processes (default: the cores),
    or on `executor` when one is given (any `concurrent.futures.Executor`).

    `seed` replaces every scenario's base seed. `progress(scenario_name, done)` is called in
    the calling process as chunks of replications finish. A data scenario's table is read and
    fitted here, once, unless `bootstraps` holds it by name. Raises, before any work, for two
    scenarios with the same name, one this machine has not the memory for, or a data scenario
    whose table cannot be read or fitted.
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
    boots = {s.name: (bootstraps or {}).get(s.name) or bootstrap_of(s)
             for s in scenarios if s.is_data}
    jobs = jobs or parallel.cores()
    size = max(1, min(50, math.ceil(reps / (4 * jobs))))
    tasks = _chunks(scenarios, boots, reps, size)

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
    truths = {s.name: truths_of(s, boots.get(s.name)) for s in scenarios}
    return StudyResult(table, summarize(table, scenarios, truths), scenarios, truths)


def summarize(
    table: pd.DataFrame,
    scenarios: Sequence[Scenario],
    truths: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per scenario and quantity: truth, mean, sd, bias, rmse and (for the fixed
    effects) the coverage of 95% Wald intervals. `truths` by scenario name (default
    `truths_of`; a data scenario's are its fitted values)."""
    out: list[dict[str, Any]] = []
    for s in scenarios:
        mine = table[table["scenario"] == s.name]
        failed = (mine["error"] != "").to_numpy(dtype=float)
        t = mine[mine["error"] == ""]  # the fits that succeeded
        truths_s = (truths or {}).get(s.name) or truths_of(s)
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
