"""What a study's tables hold: the per-replication columns, the quantities summarised and the
summary's columns, the cluster-coverage tables' columns, and the nominal level of the intervals.

Constants only, shared by every module of the wing (the single fit, the batched path, the
summary, the findings) so that each table is described once.
"""

from __future__ import annotations

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

#: The key under which a replication row carries its coverage counts by cluster size (popped
#: before the rows become the replication table; kept in a resumed sweep's saved rows).
BY_SIZE = "_by_size"
