"""The parametric bootstrap of a data scenario: its table is fitted once, and every replication
draws new responses from the fitted model at the data's own x values and clusters, as lme4's
``simulate(mod, seed = seed + k - 1)`` does (with ``rng: r``, the same numbers); the fitted
values are the truth. No I/O but reading the scenario's table (through `inputs`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, FitError
from ..model import ModelSpec
from ..scenario import Scenario
from ..table import Table


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
