"""The replications of one design, many at a time: simulated (or bootstrapped) in one batch,
fitted as one array program (`lmm/batch.py`), and turned into the study's rows together.

Replication k is drawn exactly as `replication.replicate` draws it — the same seed, the same
generator, the same numbers — and its row holds the same quantities. Where the batched fit is
not accepted (singular or nearly singular fits, failed searches, clusters left empty, data the
model cannot be fitted to; see `lmm.batch`), the replication is run by
`replication.replicate`, the single fit, so the two paths never give different answers for a
replication. No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ShrinkError
from ..lmm.batch import BatchFit, BatchStats, batch_stats, fit_batch
from ..scenario import Scenario, expected_rows
from .columns import BY_SIZE, LEVEL
from .coverage import counts_by_size
from .replication import replicate
from .seeds import replication_seed

if TYPE_CHECKING:
    from .bootstrap import Bootstrap


def simulate_batch(
    scenario: Scenario, seeds: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data sets `simulate` draws with each of `seeds`: y, x and 0-based cluster codes
    (R, rows), and the true coefficients (R, K, 2). The numbers are `simulate`'s; the rows of a
    fully balanced scenario are left in cluster order (the post's `sample_frac(1)` only shuffles
    them, and is the last draw)."""
    from ..simulate import random_effect_factor

    s = scenario
    k, m = s.n_cluster, s.obs_per_cluster
    n_total = k * m
    keep = expected_rows(s)
    factor = random_effect_factor(s.sd_int, s.sd_slope, s.cor)
    r_ = len(seeds)
    streams: list[Any] = []
    if s.rng == "r":
        from ..rrng import RRandom, inversion, scrambled_states

        states = scrambled_states(np.asarray(seeds))
        u = np.empty((r_, 2 * (2 * n_total + 2 * k)))
        shared = RRandom(int(seeds[0]), states[0]) if r_ else None
        for i, seed in enumerate(seeds):
            if keep < n_total:  # each stream goes on to sample its rows
                gen = RRandom(int(seed), states[i])
                streams.append(gen)
            else:
                assert shared is not None
                gen = shared
                gen.reset(int(seed), states[i])
            u[i] = gen.runif(u.shape[1])
        z = inversion(u.reshape(-1)).reshape(r_, -1)  # each row's pairs are its own
    else:
        z = np.empty((r_, 2 * n_total + 2 * k))
        for i, seed in enumerate(seeds):
            g = np.random.Generator(np.random.PCG64(int(seed) % 2**32))
            z[i] = np.concatenate(
                [g.standard_normal(n_total), g.standard_normal(2 * k), g.standard_normal(n_total)]
            )
            streams.append(g)
    x = z[:, :n_total]
    re = z[:, n_total : n_total + 2 * k].reshape(r_, k, 2) @ factor
    noise = s.sigma * z[:, n_total + 2 * k :]
    idx = np.repeat(np.arange(k), m)
    y = (s.intercept + re[:, idx, 0]) + (s.beta + re[:, idx, 1]) * x + noise
    codes = np.broadcast_to(idx, (r_, n_total))
    if keep < n_total:
        if s.rng == "r":
            rows = np.array([gen.sample_int(n_total, keep) - 1 for gen in streams])
        else:
            rows = np.array([g.permutation(n_total)[:keep] for g in streams])
        y = np.take_along_axis(y, rows, axis=1)
        x = np.take_along_axis(x, rows, axis=1)
        codes = idx[rows]
    truth = np.stack([s.intercept + re[:, :, 0], s.beta + re[:, :, 1]], axis=2)
    return y, x, codes, truth


#: Most rows (over all its data sets) one batch holds, to bound its memory (about 0.3 kB a row).
MAX_BATCH_ROWS = 2_000_000


def replicate_batch(
    scenario: Scenario, ks: Sequence[int], bootstrap: Bootstrap | None = None
) -> list[dict[str, Any]]:
    """The rows of replications `ks` of `scenario`, as `replication.replicate` gives them (without
    profile intervals), computed together, in batches of at most `MAX_BATCH_ROWS` rows."""
    rows = bootstrap.x.shape[0] if bootstrap is not None else expected_rows(scenario)
    step = max(1, MAX_BATCH_ROWS // max(rows, 1))
    ks = list(ks)
    out: list[dict[str, Any]] = []
    for first in range(0, len(ks), step):
        out += _replicate_batch(scenario, ks[first : first + step], bootstrap)
    return out


def _replicate_batch(
    scenario: Scenario, ks: Sequence[int], bootstrap: Bootstrap | None = None
) -> list[dict[str, Any]]:
    seeds = [replication_seed(scenario.seed, k) for k in ks]
    spec = scenario.model.spec
    if scenario.is_data:
        assert bootstrap is not None
        draws = [bootstrap.draw(seed, scenario.rng) for seed in seeds]
        y = np.array([d[0] for d in draws])
        x = np.broadcast_to(bootstrap.x, y.shape)
        codes: np.ndarray = np.broadcast_to(bootstrap.codes, y.shape)
        truth = np.array([d[1] for d in draws])
        k_ = bootstrap.n_groups
    else:
        y, x, codes, truth = simulate_batch(scenario, seeds)
        k_ = scenario.n_cluster
    st = batch_stats(y, x, codes, k_)
    usable = np.all(st.n > 0, axis=1) & (np.ptp(x, axis=1) > 0) & (np.ptp(y, axis=1) > 0)
    try:
        from ..lmm.prepare import check_identifiable

        check_identifiable(int(y.shape[1]), k_, spec)
    except ShrinkError:
        usable[:] = False
    rows: list[dict[str, Any] | None] = [None] * len(ks)
    idx = np.flatnonzero(usable).tolist()
    if idx:
        sub = st.take(np.asarray(idx))
        bf = fit_batch(sub, spec)
        made = _rows(
            scenario, [ks[i] for i in idx], [seeds[i] for i in idx], sub, bf, x[idx], truth[idx]
        )
        for j, i in enumerate(idx):
            rows[i] = made[j]
    return [
        row if row is not None else replicate(scenario, k, bootstrap)
        for row, k in zip(rows, ks, strict=True)
    ]


def _rows(
    scenario: Scenario,
    ks: Sequence[int],
    seeds: Sequence[int],
    st: BatchStats,
    bf: BatchFit,
    x: np.ndarray,
    truth: np.ndarray,
) -> list[dict[str, Any] | None]:
    """The study rows of the accepted fits (None for the others): the same quantities, by the
    same formulas, as `replication.py` on the single fit."""
    from ..lmm.uncertainty import t_quantile, z_quantile

    spec = bf.spec
    n = st.n
    sol = bf.solution
    assert sol.ranef is not None and sol.h is not None
    # each cluster's own line (lmList), as `shrinkage.ols_by_cluster`
    has = (n >= 2) & (st.sxx_c > 1e-14 * st.q) & (st.sxx_c > 0.0)
    xbar = st.s / n
    ybar = st.t / n + st.y_shift[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ols_s = np.where(has, st.sxy_c / st.sxx_c, np.nan)
    ols_i = np.where(has, ybar - np.nan_to_num(ols_s) * xbar, ybar)
    mix_i = bf.beta[:, :1] + sol.ranef[0]
    mix_s = bf.beta[:, 1:] + sol.ranef[1]
    true_i, true_s = truth[:, :, 0], truth[:, :, 1]
    count = has.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):

        def joint(di: np.ndarray, ds: np.ndarray) -> np.ndarray:
            mi = np.where(has, di * di, 0.0).sum(axis=1) / count
            ms = np.where(has, ds * ds, 0.0).sum(axis=1) / count
            return np.where(count > 0, np.sqrt((mi + ms) / 2.0), np.nan)

        rmse_ols = joint(ols_i - true_i, ols_s - true_s)
        rmse_mix = joint(mix_i - true_i, mix_s - true_s)
        # shrinkage, as `shrinkage.shrinkage` over the data's own x
        x_mean = x.mean(axis=1)[:, None]
        x_var = x.var(axis=1)[:, None]
        b0, b1 = bf.beta[:, :1], bf.beta[:, 1:]

        def dist(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
            return np.sqrt((d0 + d1 * x_mean) ** 2 + d1 * d1 * x_var)

        d_ols = dist(ols_i - b0, ols_s - b1)
        d_mix = dist(mix_i - b0, mix_s - b1)
        shrink = np.where(d_ols > 0.0, 1.0 - d_mix / d_ols, np.nan)
        # lmList's pooled standard errors, as `uncertainty.ols_standard_errors`
        rss = np.where(has, st.syy_c - st.sxy_c**2 / st.sxx_c, st.syy_c)
        dof = (n - np.where(has, 2.0, 1.0)).sum(axis=1).astype(np.int64)
        pooled = np.where(dof > 0, np.sqrt(np.maximum(rss.sum(axis=1), 0.0) / dof), np.nan)
        ols_se_s = np.where(has, pooled[:, None] / np.sqrt(st.sxx_c), np.nan)
        ols_se_i = np.where(
            has,
            pooled[:, None] * np.sqrt(1.0 / n + xbar**2 / st.sxx_c),
            pooled[:, None] / np.sqrt(n),
        )
        sig2 = bf.sigma2[:, None]
        mix_se_i = np.sqrt(sig2 * sol.h[0])
        mix_se_s = (
            np.sqrt(sig2 * sol.h[2]) if spec.has_random_slope else np.full_like(mix_se_i, np.nan)
        )
    # cluster coverage, as `coverage.cluster_coverage`
    z = z_quantile(LEVEL)
    tq = np.array([t_quantile(0.5 + LEVEL / 2.0, int(d)) for d in dof])[:, None, None]
    tru = np.stack([true_i, true_s], axis=2)
    covered: dict[str, np.ndarray] = {}
    for kind, est, se, mult in (
        (
            "ols",
            np.stack([np.where(has, ols_i, np.nan), ols_s], axis=2),
            np.stack([ols_se_i, ols_se_s], axis=2),
            tq,
        ),
        ("mixed", np.stack([mix_i, mix_s], axis=2), np.stack([mix_se_i, mix_se_s], axis=2), z),
    ):
        with np.errstate(invalid="ignore"):
            hit = (np.abs(est - tru) <= mult * se).astype(float)
        hit[~(np.isfinite(est) & np.isfinite(se) & np.isfinite(tru))] = np.nan
        covered[kind] = hit

    def share(hits: np.ndarray) -> np.ndarray:
        ok = np.isfinite(hits)
        many = ok.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(many > 0, np.where(ok, hits, 0.0).sum(axis=(1, 2)) / many, np.nan)

    cov_ols, cov_mix = share(covered["ols"]), share(covered["mixed"])
    # variance components, as `ModelSpec.variance_components`
    from ..lmm.batch import lambda_entries

    a, b, c = lambda_entries(spec, bf.theta)
    s2 = bf.sigma2
    iv = s2 * (a * a)
    sv = s2 * (b * b + c * c)
    with np.errstate(invalid="ignore", divide="ignore"):
        cor = s2 * (a * b) / np.sqrt(iv * sv)
    nan = math.nan
    finite_shrink = np.isfinite(shrink)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_shrink = np.where(finite_shrink, shrink, 0.0).sum(axis=1) / finite_shrink.sum(axis=1)
    out: list[dict[str, Any] | None] = []
    for r, (k, seed) in enumerate(zip(ks, seeds, strict=True)):
        if not bf.accepted[r]:
            out.append(None)
            continue
        out.append(
            {
                "scenario": scenario.name,
                "replication": k,
                "seed": seed,
                "intercept": float(bf.beta[r, 0]),
                "intercept_se": float(bf.std_errors[r, 0]),
                "beta": float(bf.beta[r, 1]),
                "beta_se": float(bf.std_errors[r, 1]),
                "sd_int": math.sqrt(float(iv[r])),
                "sd_slope": math.sqrt(float(sv[r])) if spec.has_random_slope else nan,
                "cor": float(cor[r]) if spec.correlated else nan,
                "sigma": math.sqrt(float(s2[r])),
                "singular": False,  # accepted fits are interior (`lmm.batch.INTERIOR`)
                "converged": True,  # and passed the convergence check
                "mean_shrinkage": float(mean_shrink[r]) if finite_shrink[r].any() else nan,
                "cluster_rmse_ols": float(rmse_ols[r]),
                "cluster_rmse_mixed": float(rmse_mix[r]),
                "cluster_coverage_ols": float(cov_ols[r]),
                "cluster_coverage_mixed": float(cov_mix[r]),
                "error": "",
                BY_SIZE: counts_by_size(
                    n[r], {"ols": covered["ols"][r], "mixed": covered["mixed"][r]}
                ),
            }
        )
    return out
