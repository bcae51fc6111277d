"""One replication, fitted alone: replication k of a scenario simulated (or, for a data
scenario, drawn from its bootstrap) with its seed, fitted, and judged against the true cluster
coefficients; one row of the replication table. With `ci="profile"` the row also holds the
variance components' profile intervals. The batched path (`batched.py`) falls back on this
single fit wherever its own is not accepted."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ShrinkError
from ..scenario import Scenario
from .bootstrap import Bootstrap, bootstrap_of
from .columns import BY_SIZE, PROFILED, REPLICATION_COLUMNS
from .coverage import cluster_coverage, counts_by_size, held_share
from .seeds import replication_seed


def replicate(
    scenario: Scenario, k: int, bootstrap: Bootstrap | None = None, ci: str | None = None
) -> dict[str, Any]:
    """Simulate (or, for a data scenario, draw from its `bootstrap`) and fit replication k of
    `scenario`; one row of the per-replication table (with its coverage counts by cluster size
    under `columns.BY_SIZE`, and with `ci="profile"` the variance components' profile intervals)."""
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
        "cluster_coverage_ols": held_share(covered["ols"]),
        "cluster_coverage_mixed": held_share(covered["mixed"]),
        "error": "",
        BY_SIZE: counts_by_size(cl.array("n"), covered),
    }
    if ci == "profile":
        out.update(_profile_bounds(st, res))
    return out


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
