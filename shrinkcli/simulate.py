"""Simulated data sets: the post's `create_data()`, exactly as R computes it (or with numpy's
generator), and its binomial and Poisson form `create_glmm_data()`, returning the data and the
true cluster coefficients. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import ScenarioError
from .rrng import RRandom
from .scenario import Scenario, expected_rows
from .table import Table

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SimulatedData:
    """A simulated data set (`y, x, cluster`, in the post's row order) and the truth
    (`cluster, true_intercept, true_slope`), with the scenario that made them: as tables
    (`table`, `truth_table`) and, made when first asked for, as data frames."""

    scenario: Scenario
    table: Table
    truth_table: Table

    @cached_property
    def data(self) -> pd.DataFrame:
        return self.table.to_pandas()

    @cached_property
    def truth(self) -> pd.DataFrame:
        return self.truth_table.to_pandas()


def random_effect_factor(sd_int: float, sd_slope: float, cor: float) -> np.ndarray:
    """mvtnorm's "eigen" square root R = V diag(√λ) Vᵀ of the random-effect covariance, so
    that rows of standard normals times R are draws of the random effects."""
    cov = cor * sd_int * sd_slope
    sigma = np.array([[sd_int**2, cov], [cov, sd_slope**2]])
    values, vectors = np.linalg.eigh(sigma)
    values, vectors = values[::-1], vectors[:, ::-1]  # R orders eigenvalues decreasingly
    return (vectors @ (vectors.T * np.sqrt(np.maximum(values, 0.0))[:, None])).T


#: Rows from which R's sample is drawn in a thread while the normals are computed (below, a
#: thread costs more than it saves).
OVERLAP_ROWS = 1 << 16


def simulate(scenario: Scenario) -> SimulatedData:
    """Draw the scenario's data set.

    With ``rng: r`` this is R's ``create_data()`` step for step: ``set.seed(seed)``,
    ``x = rnorm(N)``, the random effects by ``mvtnorm::rmvnorm`` (method "eigen", rows filled
    by row), ``y = (intercept + re0) + (beta + re1) * x + rnorm(N, sd = sigma)``, then
    ``dplyr::sample_frac(balanced)``, which keeps ``round(N * balanced)`` rows in the order
    ``sample.int`` draws them. With ``rng: numpy`` the same steps use numpy's
    ``Generator(PCG64(seed mod 2^32))``: statistically the same, not R's numbers.
    """
    s = scenario
    n_total = s.n_cluster * s.obs_per_cluster
    keep = expected_rows(s)
    cluster = np.repeat(np.arange(1, s.n_cluster + 1, dtype=np.int64), s.obs_per_cluster)
    factor = random_effect_factor(s.sd_int, s.sd_slope, s.cor)
    if s.rng == "r":
        r = RRandom(s.seed)
        normals = [
            r.rnorm_deferred(n_total),
            r.rnorm_deferred(2 * s.n_cluster),
            r.rnorm_deferred(n_total, 0.0, s.sigma),
        ]
        if n_total < OVERLAP_ROWS:
            rows = r.sample_int(n_total, keep) - 1
            x, re, noise = (normals.pop(0)() for _ in range(3))
        else:  # the sample drawn in a thread while this one computes the normals
            from .parallel import in_background

            sample = in_background(partial(r.sample_int, n_total, keep))
            x, re, noise = (normals.pop(0)() for _ in range(3))
            rows = sample() - 1
        re = re.reshape(s.n_cluster, 2) @ factor
    else:
        g = np.random.Generator(np.random.PCG64(s.seed % 2**32))
        x = g.standard_normal(n_total)
        re = g.standard_normal((s.n_cluster, 2)) @ factor
        noise = s.sigma * g.standard_normal(n_total)
        rows = g.permutation(n_total)[:keep]
    idx = cluster - 1
    y = (s.intercept + re[idx, 0]) + (s.beta + re[idx, 1]) * x + noise
    data = Table({"y": y[rows], "x": x[rows], "cluster": cluster[rows]})
    truth = Table(
        {
            "cluster": np.arange(1, s.n_cluster + 1, dtype=np.int64),
            "true_intercept": s.intercept + re[:, 0],
            "true_slope": s.beta + re[:, 1],
        }
    )
    return SimulatedData(scenario=s, table=data, truth_table=truth)


GlmmFamily = Literal["binomial", "poisson"]


@dataclass(frozen=True)
class SimulatedGlmm:
    """A simulated binomial or Poisson data set (`y, x, cluster`, and `trials` for a binomial
    outcome of more than one trial, in R's row order) and the truth (`cluster,
    true_intercept, true_slope`, on the link scale), as tables and, made when first asked
    for, as data frames."""

    family: GlmmFamily
    trials: int
    table: Table
    truth_table: Table

    @cached_property
    def data(self) -> pd.DataFrame:
        return self.table.to_pandas()

    @cached_property
    def truth(self) -> pd.DataFrame:
        return self.truth_table.to_pandas()


def simulate_glmm(
    *,
    obs_per_cluster: int = 10,
    n_cluster: int = 100,
    intercept: float = 1.0,
    beta: float = 0.5,
    sd_int: float = 0.5,
    sd_slope: float = 0.25,
    cor: float = 0.0,
    balanced: float = 1.0,
    family: GlmmFamily = "binomial",
    trials: int = 1,
    seed: int = 888,
) -> SimulatedGlmm:
    """R's ``create_glmm_data()`` (the issue's generator), number for number, with its
    defaults.

    The post's draws in the post's order: ``set.seed(seed)``, ``x = rnorm(N)``, the random
    effects by ``mvtnorm::rmvnorm`` (method "eigen", covariance ``cor · sd_int · sd_slope``),
    the linear predictor without a residual, η = (intercept + b₀) + (beta + b₁) x, then
    ``y = rbinom(N, trials, plogis(η))`` with plogis(η) = 1 / (1 + e^{−η}) as R computes it,
    or ``y = rpois(N, exp(η))``, and last ``dplyr::sample_frac(balanced)``, which keeps
    ``round(N · balanced)`` rows in the order ``sample.int`` draws them. A binomial outcome
    of more than one trial carries a `trials` column, as R's data frame does.
    """
    if family not in ("binomial", "poisson"):
        raise ScenarioError("must be binomial or poisson", field="family")
    if obs_per_cluster < 1 or n_cluster < 1:
        raise ScenarioError(
            "must be 1 or more", field="obs_per_cluster" if obs_per_cluster < 1 else "n_cluster"
        )
    if not 0.0 <= balanced <= 1.0:
        raise ScenarioError("must be a proportion to sample, between 0 and 1", field="balanced")
    if family == "binomial" and not 0 <= trials < 2**31 - 1:
        raise ScenarioError("must be a whole number 0 or more", field="trials")
    for name, value in (("sd_int", sd_int), ("sd_slope", sd_slope)):
        if not value >= 0.0:
            raise ScenarioError("must be 0 or more", field=name)
    if not -1.0 <= cor <= 1.0:
        raise ScenarioError("must be a correlation, between -1 and 1", field="cor")
    n_total = n_cluster * obs_per_cluster
    cluster = np.repeat(np.arange(1, n_cluster + 1, dtype=np.int64), obs_per_cluster)
    r = RRandom(seed)
    x = r.rnorm(n_total)
    re = r.rnorm(2 * n_cluster).reshape(n_cluster, 2) @ random_effect_factor(sd_int, sd_slope, cor)
    idx = cluster - 1
    eta = (intercept + re[idx, 0]) + (beta + re[idx, 1]) * x
    if family == "poisson":
        y = r.rpois(n_total, np.exp(eta))
    else:
        y = r.rbinom(n_total, float(trials), 1.0 / (1.0 + np.exp(-eta)))
    rows = r.sample_int(n_total, int(round(n_total * balanced))) - 1
    columns = {"y": y[rows], "x": x[rows], "cluster": cluster[rows]}
    if family == "binomial" and trials != 1:
        columns["trials"] = np.full(rows.shape[0], trials, dtype=np.int64)
    truth = Table(
        {
            "cluster": np.arange(1, n_cluster + 1, dtype=np.int64),
            "true_intercept": intercept + re[:, 0],
            "true_slope": beta + re[:, 1],
        }
    )
    return SimulatedGlmm(
        family=family,
        trials=trials if family == "binomial" else 1,
        table=Table(columns),
        truth_table=truth,
    )
