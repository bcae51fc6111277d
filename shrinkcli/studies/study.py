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

Cluster-level coverage: in every replication each cluster's 95% intervals of its intercept and
slope are checked against its true coefficients — the by-cluster t intervals (pooled residual SD)
and the mixed model's ±1.96 conditional SD (lme4's condVar) — overall (`cluster_coverage_ols`,
`cluster_coverage_mixed`) and by cluster size (`StudyResult.cluster_coverage`). A model without
a random slope gives the slope no interval (left out of the mixed coverage). With
`ci="profile"`, the variance components' profile intervals are computed in every replication
too, and their coverage fills the `coverage` column of `sd_int`, `sd_slope`, `cor` and `sigma`.

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

from .. import parallel
from ..errors import DataError, FitError, ShrinkError
from ..lmm.uncertainty import Z_95
from ..model import ModelSpec
from ..rrng import SEED_MAX
from ..scenario import Scenario
from ..table import Table
from ..words import percent

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
    "cluster_coverage_ols",
    "cluster_coverage_mixed",
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
    "cluster_coverage_ols",
    "cluster_coverage_mixed",
    "mean_shrinkage",
    "singular_share",
    "failed_share",
)
#: Columns of the summary: a mean's Monte Carlo standard error (`mcse`: sd/√n; for a share the
#: binomial √(p(1 − p)/n)), a coverage's binomial standard error (`coverage_se`), and `n` the
#: replications a row is computed from.
SUMMARY_COLUMNS = (
    "scenario",
    "quantity",
    "truth",
    "mean",
    "mcse",
    "sd",
    "bias",
    "rmse",
    "coverage",
    "coverage_se",
    "n",
)
#: Quantities whose mean is a share of the replications (binomial standard error).
SHARES = ("singular_share", "failed_share")

#: The file that marks a folder as a study's output; JSON with the list of files written.
MARKER = ".shrink-study"

#: The variance components whose profile intervals `ci="profile"` adds, in the replication
#: table as NAME_lower, NAME_upper (after `error`).
PROFILED = ("sd_int", "sd_slope", "cor", "sigma")
#: Columns of `StudyResult.cluster_coverage`: per scenario and cluster size, how many cluster
#: fits there were (over the replications), how many of them had a line of their own (and so
#: by-cluster intervals), and the share of each kind of 95% interval that held the truth (NaN
#: where there was none: no by-cluster line, no random slope).
COVERAGE_COLUMNS = (
    "scenario",
    "n",
    "clusters",
    "ols_clusters",
    "ols_intercept",
    "ols_slope",
    "mixed_intercept",
    "mixed_slope",
)
#: Columns of `StudyResult.coefficient_coverage`: per replication, the share of the mixed
#: intervals that held the true intercept, and the true slope (NaN without any).
COEFFICIENT_COVERAGE_COLUMNS = ("scenario", "replication", "mixed_intercept", "mixed_slope")
#: The nominal level of the cluster intervals.
LEVEL = 0.95

#: The key under which a replication row carries its coverage counts by cluster size.
_BY_SIZE = "_by_size"
#: Replications fitted together in one batch (`replications.replicate_batch`); fixed, so that
#: which replications share a batch never depends on the processes or the executor.
BATCH = 100
_SEED_SPAN = 2 * SEED_MAX + 1  # R accepts seeds -SEED_MAX .. SEED_MAX

Progress = Callable[[str, int], None]


def replication_seed(seed: int, k: int) -> int:
    """Seed of replication k (1-based): seed + k − 1, wrapped into R's integer range."""
    low = -SEED_MAX
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
        cls,
        data: Table,
        spec: ModelSpec,
        *,
        y: str = "y",
        x: str = "x",
        cluster: str = "cluster",
    ) -> Bootstrap:
        """Fit `spec` to a table (rows with missing values dropped, as `fit` does)."""
        from ..lmm import fit_arrays, prepare_data

        prep = prepare_data(data, y=y, x=x, cluster=cluster, spec=spec)
        res = fit_arrays(prep.y, prep.x, prep.codes, prep.n_groups, spec, residual_quantiles=False)
        return cls(
            prep.x,
            prep.codes,
            prep.n_groups,
            spec,
            np.array(res.beta, dtype=float),
            tuple(res.theta),
            float(res.sigma),
        )

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
            from ..rrng import RRandom

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
    from ..inputs import data_input

    inp = data_input(scenario)
    try:
        return Bootstrap.from_data(inp.data, scenario.model.spec, **inp.names)
    except (DataError, FitError) as exc:  # about the table: say which, in its own terms
        if not exc.message.startswith(f"{inp.source}:"):
            exc.message = f"{inp.source}: {exc.message}"
        if not inp.source.endswith((".yaml", ".yml")):
            exc.hint = None  # a table given directly has no model.random to set here
        raise


def replicate(
    scenario: Scenario, k: int, bootstrap: Bootstrap | None = None, ci: str | None = None
) -> dict[str, Any]:
    """Simulate (or, for a data scenario, draw from its `bootstrap`) and fit replication k of
    `scenario`; one row of the per-replication table (with its coverage counts by cluster size
    under `_by_size`, and with `ci="profile"` the variance components' profile intervals)."""
    seed = replication_seed(scenario.seed, k)
    if scenario.is_data:
        boot = bootstrap if bootstrap is not None else bootstrap_of(scenario)
        y, coef = boot.draw(seed, scenario.rng)
        return _fit_row(
            scenario, k, seed, y, boot.x, boot.codes, boot.n_groups, coef[:, 0], coef[:, 1], ci
        )
    from ..lmm import match_truth
    from ..simulate import simulate

    sim = simulate(scenario.model_copy(update={"seed": seed}))  # a valid seed: no re-validation
    data = sim.table
    ids, codes = np.unique(data.array("cluster"), return_inverse=True)
    true_i, true_s = match_truth(sim.truth_table, ids)
    return _fit_row(
        scenario,
        k,
        seed,
        data.array("y"),
        data.array("x"),
        codes,
        int(ids.shape[0]),
        true_i,
        true_s,
        ci,
    )


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
    ci: str | None = None,
) -> dict[str, Any]:
    """Fit one replication's data; its row, judged against the true cluster coefficients."""
    from ..lmm import cluster_table, model_fit, prepare_arrays, sufficient_stats
    from ..lmm.uncertainty import pooled_degrees_of_freedom

    spec = scenario.model.spec
    try:
        prep = prepare_arrays(y, x, codes, n_groups, spec)
        st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
        res = model_fit(st, prep, spec, residual_quantiles=False)
    except ShrinkError as exc:  # a draw the model cannot be fitted to: recorded, not fatal
        row: dict[str, Any] = dict.fromkeys(REPLICATION_COLUMNS, math.nan)
        row.update(
            scenario=scenario.name,
            replication=k,
            seed=seed,
            singular=False,
            converged=False,
            error=str(exc),
        )
        if ci == "profile":
            row.update({f"{p}_{end}": math.nan for p in PROFILED for end in ("lower", "upper")})
        return row
    cl = cluster_table(prep, st, res)
    ols_i, ols_s, mix_i, mix_s = (
        cl.array(c) for c in ("ols_intercept", "ols_slope", "mixed_intercept", "mixed_slope")
    )
    has = np.isfinite(ols_s)  # compare both on the clusters that have a by-cluster line
    rmse_ols = _joint_rmse(ols_i[has] - true_i[has], ols_s[has] - true_s[has])
    rmse_mix = _joint_rmse(mix_i[has] - true_i[has], mix_s[has] - true_s[has])
    shrink = cl.array("shrinkage")
    vc = res.variance
    nan = math.nan
    sd_slope = vc.slope_sd if vc.slope_sd is not None else nan
    cor = vc.corr if vc.corr is not None else nan
    df = pooled_degrees_of_freedom(st.n, np.isfinite(ols_s))
    covered = cluster_coverage(cl, true_i, true_s, df)
    out = {
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
        "cluster_coverage_ols": _share(covered["ols"]),
        "cluster_coverage_mixed": _share(covered["mixed"]),
        "error": "",
        _BY_SIZE: _by_size(cl.array("n"), covered),
    }
    if ci == "profile":
        out.update(_profile_bounds(st, res))
    return out


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


def _share(hits: np.ndarray) -> float:
    """The share of intervals (non-NaN entries) that held the truth."""
    ok = np.isfinite(hits)
    return float(hits[ok].mean()) if ok.any() else math.nan


#: The counts `_by_size` keeps per cluster size: for each kind and coefficient, how many
#: intervals there were and how many held the truth.
_COUNTS = tuple(
    f"{kind}_{coef}_{what}"
    for kind in ("ols", "mixed")
    for coef in ("intercept", "slope")
    for what in ("intervals", "held")
)


def _by_size(n: np.ndarray, covered: dict[str, np.ndarray]) -> list[tuple[float, ...]]:
    """Coverage counts by cluster size: (n, clusters, then `_COUNTS`)."""
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


def _profile_bounds(stats: Any, fit: Any) -> dict[str, float]:
    """The variance components' profile intervals (NaN for a component the model lacks, or
    where profiling fails)."""
    from ..lmm import profile_intervals

    out = {f"{p}_{end}": math.nan for p in PROFILED for end in ("lower", "upper")}
    wanted = tuple(p for p in fit.spec.parameters() if p in PROFILED)
    try:
        cis = profile_intervals(stats, fit, parameters=wanted)
    except ShrinkError:
        return out
    for row in cis.rows:
        out[f"{row.parameter}_lower"] = row.lower
        out[f"{row.parameter}_upper"] = row.upper
    return out


def _joint_rmse(d_int: np.ndarray, d_slope: np.ndarray) -> float:
    """Root mean square error over clusters and both coefficients."""
    if d_int.shape[0] == 0:
        return math.nan
    return float(np.sqrt((np.mean(d_int**2) + np.mean(d_slope**2)) / 2.0))


Task = tuple[Scenario, "Bootstrap | None", int, int, "str | None"]


def _run_chunk(task: Task) -> list[dict[str, Any]]:
    scenario, boot, first, last, ci = task
    if ci is None:  # fitted together; the rows are `replicate`'s
        from .replications import replicate_batch

        return replicate_batch(scenario, range(first, last + 1), boot)
    return [replicate(scenario, k, boot, ci) for k in range(first, last + 1)]


def _chunks(
    scenarios: Sequence[Scenario],
    boots: dict[str, Bootstrap],
    reps: int,
    size: int,
    ci: str | None = None,
) -> list[Task]:
    tasks: list[Task] = []
    for s in scenarios:
        for first in range(1, reps + 1, size):
            tasks.append((s, boots.get(s.name), first, min(reps, first + size - 1), ci))
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


def run_study(
    scenarios: Sequence[Scenario],
    reps: int,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    bootstraps: Mapping[str, Bootstrap] | None = None,
    ci: str | None = None,
) -> StudyResult:
    """Fit `reps` replications of every scenario, over `jobs` processes (default: the cores),
    or on `executor` when one is given (any `concurrent.futures.Executor`).

    `seed` replaces every scenario's base seed. `progress(scenario_name, done)` is called in
    the calling process as chunks of replications finish. A data scenario's table is read and
    fitted here, once, unless `bootstraps` holds it by name. `ci="profile"` adds the variance
    components' profile intervals and their coverage ('wald' or None: the fixed effects' Wald
    intervals only, as always). Raises, before any work, for two
    scenarios with the same name, one this machine has not the memory for, or a data scenario
    whose table cannot be read or fitted.
    """
    if reps < 1:
        raise ValueError("reps must be at least 1")
    if ci not in (None, "wald", "profile"):
        raise ValueError(f"unknown interval method {ci!r}: use 'wald' or 'profile'")
    profile = "profile" if ci == "profile" else None
    from ..scenario import check_memory, check_names, with_overrides

    check_names(scenarios)
    for s in scenarios:
        check_memory(s)
    if seed is not None:
        scenarios = [with_overrides(s, seed=seed) for s in scenarios]
    scenarios = tuple(scenarios)
    boots = {
        s.name: (bootstraps or {}).get(s.name) or bootstrap_of(s) for s in scenarios if s.is_data
    }
    jobs = jobs or parallel.cores()
    # a chunk of replications is fitted as one batch: its size must not depend on the jobs
    size = BATCH if profile is None else max(1, min(50, math.ceil(reps / (4 * jobs))))
    tasks = _chunks(scenarios, boots, reps, size, profile)

    def done(i: int, chunk: list[dict[str, Any]]) -> None:
        if progress:
            progress(tasks[i][0].name, len(chunk))

    workers = min(jobs, len(tasks))
    with contextlib.nullcontext(executor) if executor is not None else parallel.pool(workers) as ex:
        rows = parallel.ordered_map(_run_chunk, tasks, executor=ex, on_result=done)
    flat = [r for chunk in rows for r in chunk]
    by_coef = coefficient_coverage(flat)
    by_size = [(r["scenario"], counts) for r in flat for counts in r.pop(_BY_SIZE, [])]
    columns = list(REPLICATION_COLUMNS)
    if profile:
        columns += [f"{p}_{end}" for p in PROFILED for end in ("lower", "upper")]
    table = pd.DataFrame(flat, columns=columns)
    truths = {s.name: truths_of(s, boots.get(s.name)) for s in scenarios}
    return StudyResult(
        table,
        summarize(table, scenarios, truths),
        scenarios,
        truths,
        coverage_by_size(by_size, scenarios),
        by_coef,
    )


def coefficient_coverage(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """`COEFFICIENT_COVERAGE_COLUMNS` from the replication rows' counts by cluster size
    (`_by_size`): the mixed intervals' coverage of the intercept and of the slope, each on
    its own, where `cluster_coverage_mixed` is the share of both together."""
    at = {name: 2 + i for i, name in enumerate(_COUNTS)}
    out = []
    for r in rows:
        counts = np.asarray(r.get(_BY_SIZE) or [], dtype=float).reshape(-1, 2 + len(_COUNTS))
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
    """`COVERAGE_COLUMNS` from every replication's counts by cluster size (`_by_size`)."""
    raw = pd.DataFrame(
        [(name, *c) for name, c in counts], columns=["scenario", "n", "clusters", *_COUNTS]
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


# -- what the coverage says -----------------------------------------------------------------------

#: Fewest intervals of a cluster size for it to be named as where coverage is poorest.
FINDING_MIN_INTERVALS = 100


def poor(share: float, count: float, level: float = LEVEL) -> bool:
    """Coverage below the nominal level by more than two percentage points and more than three
    Monte Carlo standard errors of `count` intervals."""
    if not (math.isfinite(share) and count > 0):
        return False
    return share < level - max(0.02, 3.0 * math.sqrt(level * (1.0 - level) / count))


def coverage_findings(result: StudyResult) -> list[str]:
    """Plain sentences on where the clusters' 95% intervals held the truth much less often than
    95% (overall, then the poorest cluster size), or that they held it about as often as
    promised everywhere."""
    table = result.cluster_coverage
    if table is None or table.empty:
        return []
    out: list[str] = []
    for s in result.scenarios:
        part = table[table["scenario"] == s.name]
        if part.empty:
            continue
        title = s.title or s.name
        counts = {
            "ols": part["ols_clusters"].to_numpy(float),
            "mixed": part["clusters"].to_numpy(float),
        }
        for coef in ("intercept", "slope"):
            share: dict[str, float] = {}
            total: dict[str, float] = {}
            for kind in ("ols", "mixed"):
                v = part[f"{kind}_{coef}"].to_numpy(float)
                ok = np.isfinite(v)
                total[kind] = float(counts[kind][ok].sum())
                share[kind] = (
                    float((v[ok] * counts[kind][ok]).sum() / total[kind])
                    if total[kind] > 0
                    else math.nan
                )
            for kind, other in (("mixed", "ols"), ("ols", "mixed")):
                if not poor(share[kind], total[kind]):
                    continue
                who = "mixed model's" if kind == "mixed" else "by-cluster"
                text = (
                    f"In {title}, the {who} 95% intervals held the true {coef} of only "
                    f"{percent(share[kind])} of the clusters"
                )
                if math.isfinite(share[other]):
                    text += (
                        f" (the {'by-cluster' if other == 'ols' else 'mixed'} ones: "
                        f"{percent(share[other])})"
                    )
                out.append(text + "." + _why(kind, coef, s, result))
        worst = _poorest_size(part)
        if worst is not None:
            n, kind, coef, lowest, count = worst
            who = "mixed" if kind == "mixed" else "by-cluster"
            out.append(
                f"In {title}, coverage was poorest for clusters of {n} observation"
                f"{'s' if n != 1 else ''}: {percent(lowest)} for the {who} {coef}s "
                f"({count:,} intervals)."
            )
    if not out:
        out.append(
            "In every scenario the clusters' 95% intervals, by-cluster and mixed, held "
            "the true coefficients about 95% of the time (within what chance allows)."
        )
    return out


def _why(kind: str, coef: str, scenario: Scenario, result: StudyResult) -> str:
    """What the study's own replications say about why the mixed intervals fall short: they
    take the estimated SD of the random effect as known, so they held the truth less often in
    the replications whose SD came out below the true one. The coverage compared is that of
    the coefficient named (`coefficient_coverage`), the measure the sentence before gives;
    without it there is nothing to say."""
    by_coef = result.coefficient_coverage
    if kind != "mixed" or by_coef is None:
        return ""
    sd = "sd_slope" if coef == "slope" else "sd_int"
    truth = scenario.sd_slope if coef == "slope" else scenario.sd_int
    table = result.replications
    mine = table[(table["scenario"] == scenario.name) & (table["error"] == "")]
    of_this = by_coef[by_coef["scenario"] == scenario.name].set_index("replication")
    cover_of = of_this.loc[~of_this.index.duplicated(), f"mixed_{coef}"]
    est = mine[sd].to_numpy(float)
    cover = cover_of.reindex(mine["replication"].to_numpy()).to_numpy(float)
    ok = np.isfinite(est) & np.isfinite(cover)
    low, high = ok & (est < truth), ok & (est >= truth)
    if not (low.any() and high.any()) or cover[low].mean() >= cover[high].mean():
        return ""
    what = "slope" if coef == "slope" else "intercept"
    return (
        f" These intervals take the estimated SDs as known: in the replications whose "
        f"{what} SD came out below the true {truth:g} ({percent(float(low.mean()))} of them) "
        f"they held the true {what} of {percent(float(cover[low].mean()))} of the clusters, in "
        f"the others {percent(float(cover[high].mean()))}."
    )


def _poorest_size(part: pd.DataFrame) -> tuple[int, str, str, float, int] | None:
    """The cluster size and kind of interval with the poorest coverage among those that are
    poor, with at least `FINDING_MIN_INTERVALS` intervals; None when the scenario has one
    cluster size or none is poor."""
    if len(part) < 2:
        return None
    best: tuple[int, str, str, float, int] | None = None
    for _, row in part.iterrows():
        for kind in ("mixed", "ols"):
            count = int(row["clusters"] if kind == "mixed" else row["ols_clusters"])
            for coef in ("intercept", "slope"):
                share = float(row[f"{kind}_{coef}"])
                if (
                    count >= FINDING_MIN_INTERVALS
                    and poor(share, count)
                    and (best is None or share < best[3])
                ):
                    best = (int(row["n"]), kind, coef, share, count)
    return best
