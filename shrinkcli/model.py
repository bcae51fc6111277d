"""ModelSpec: the one description of the mixed model that every module asks.

The model is always y ~ x + random effects of one grouping factor; what varies is the random
structure and the criterion:

| random            | lme4 formula             | θ               | Λ                   |
| ----------------- | ------------------------ | --------------- | ------------------- |
| `intercept-slope` | `y ~ x + (x | cluster)`  | (Λ₁₁, Λ₂₁, Λ₂₂) | [[θ₁, 0], [θ₂, θ₃]] |
| `uncorrelated`    | `y ~ x + (x || cluster)` | (Λ₁₁, Λ₂₂)      | [[θ₁, 0], [0, θ₂]]  |
| `intercept`       | `y ~ x + (1 | cluster)`  | (Λ₁₁)           | [θ₁]                |

Var(bᵢ) = σ²ΛΛᵀ. The engine works on the full 2×2 Λ = [[a, 0], [b, c]]; a spec says which of
(a, b, c) are free (`free`), how θ maps to them (`lambda_entries`) and back (`theta_of`), where
the search starts, which entries are the diagonal (lme4 bounds them below by 0; a fit is singular
when one is near 0), and how θ and σ² give the variance components. Adding a random structure
means adding a row to `_STRUCTURES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

Method = Literal["reml", "ml"]
RandomStructure = Literal["intercept-slope", "uncorrelated", "intercept"]

#: The choices, in the order help texts list them.
METHODS: tuple[str, ...] = get_args(Method)
RANDOM_STRUCTURES: tuple[str, ...] = get_args(RandomStructure)

#: lme4's tolerance for `isSingular()`: a diagonal element of Λ below it is on the boundary.
SINGULAR_TOL = 1e-4
#: Number of fixed effects (intercept and slope of x).
N_FIXED = 2


@dataclass(frozen=True)
class _Structure:
    free: tuple[int, ...]  # which of Λ's (a, b, c) are θ, in θ's order
    slope: bool  # a random slope
    correlated: bool  # the intercept and slope may correlate


_STRUCTURES: dict[str, _Structure] = {
    "intercept-slope": _Structure(free=(0, 1, 2), slope=True, correlated=True),
    "uncorrelated": _Structure(free=(0, 2), slope=True, correlated=False),
    "intercept": _Structure(free=(0,), slope=False, correlated=False),
}


@dataclass(frozen=True)
class VarianceComponents:
    """Variances, SDs and the correlation of the cluster random effects (slope fields None
    without a random slope, `corr` None unless the two may correlate; NaN when undefined)."""

    intercept_var: float
    slope_var: float | None
    intercept_sd: float
    slope_sd: float | None
    corr: float | None

    def covariance(self) -> np.ndarray:
        """Σ̂, the 2×2 covariance of (random intercept, random slope); zeros where the model
        has no slope or no correlation."""
        sv = self.slope_var or 0.0
        corr = self.corr if self.corr is not None and math.isfinite(self.corr) else 0.0
        c = corr * self.intercept_sd * (self.slope_sd or 0.0)
        return np.array([[self.intercept_var, c], [c, sv]])


@dataclass(frozen=True)
class ModelSpec:
    """The model to fit: its random structure and its criterion (REML or ML)."""

    random: str = "intercept-slope"
    method: str = "reml"

    def __post_init__(self) -> None:
        if self.random not in _STRUCTURES:
            raise ValueError(
                f"unknown random structure {self.random!r}: use {choices(RANDOM_STRUCTURES)}"
            )
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}: use {choices(METHODS)}")

    # -- the structure ----------------------------------------------------------------------

    @property
    def _s(self) -> _Structure:
        return _STRUCTURES[self.random]

    @property
    def reml(self) -> bool:
        return self.method == "reml"

    @property
    def has_random_slope(self) -> bool:
        return self._s.slope

    @property
    def correlated(self) -> bool:
        return self._s.correlated

    @property
    def random_per_cluster(self) -> int:
        """Random effects per cluster (for lme4's identifiability check)."""
        return 2 if self._s.slope else 1

    # -- θ ----------------------------------------------------------------------------------

    @property
    def free(self) -> tuple[int, ...]:
        """Which of Λ's entries (a, b, c) = (Λ₁₁, Λ₂₁, Λ₂₂) θ holds, in θ's order."""
        return self._s.free

    @property
    def n_theta(self) -> int:
        return len(self._s.free)

    @property
    def theta_start(self) -> tuple[float, ...]:
        """lme4's start: 1 on the diagonal of Λ, 0 below it."""
        return tuple(0.0 if i == 1 else 1.0 for i in self._s.free)

    @property
    def diagonal(self) -> tuple[int, ...]:
        """Positions in θ of Λ's diagonal entries (bounded below by 0; singular near 0)."""
        return tuple(k for k, i in enumerate(self._s.free) if i != 1)

    def lambda_entries(self, theta: Any) -> tuple[float, float, float]:
        """(a, b, c) of Λ = [[a, 0], [b, c]] for θ (entries θ does not hold are 0)."""
        abc = [0.0, 0.0, 0.0]
        for k, i in enumerate(self._s.free):
            abc[i] = float(theta[k])
        return abc[0], abc[1], abc[2]

    def theta_of(self, abc: Any) -> np.ndarray:
        """θ from Λ's (a, b, c), or a gradient with respect to θ from one with respect to
        (a, b, c)."""
        return np.array([float(abc[i]) for i in self._s.free])

    def canonical(self, theta: Any) -> np.ndarray:
        """The representative of θ with a non-negative diagonal: ΛΛᵀ is unchanged when a
        column of Λ changes sign."""
        a, b, c = self.lambda_entries(theta)
        if a < 0.0:
            a, b = -a, -b
        if c < 0.0:
            c = -c
        return self.theta_of((a, b, c))

    def is_singular(self, theta: Any) -> bool:
        """lme4's `isSingular()`: a diagonal entry of Λ below `SINGULAR_TOL`."""
        return any(float(theta[k]) < SINGULAR_TOL for k in self.diagonal)

    def lambda_matrix(self, theta: Any) -> np.ndarray:
        a, b, c = self.lambda_entries(theta)
        return np.array([[a, 0.0], [b, c]])

    # -- variance components ------------------------------------------------------------------

    def variance_components(self, theta: Any, sigma2: float) -> VarianceComponents:
        """Σ̂ = σ²ΛΛᵀ as variances, SDs and the correlation, as lme4's VarCorr."""
        cov = sigma2 * (self.lambda_matrix(theta) @ self.lambda_matrix(theta).T)
        iv = float(cov[0, 0])
        if not self._s.slope:
            return VarianceComponents(iv, None, math.sqrt(iv), None, None)
        sv = float(cov[1, 1])
        corr: float | None = None
        if self._s.correlated:
            denom = math.sqrt(iv * sv)
            corr = float(cov[0, 1] / denom) if denom > 0.0 else math.nan
        return VarianceComponents(iv, sv, math.sqrt(iv), math.sqrt(sv), corr)

    # -- names and formulas ---------------------------------------------------------------------

    def random_term(self, x: str = "x", cluster: str = "cluster") -> str:
        """The random term as written, e.g. '(x || cluster)'."""
        if not self._s.slope:
            return f"(1 | {cluster})"
        bar = "|" if self._s.correlated else "||"
        return f"({x} {bar} {cluster})"

    def formula(self, y: str = "y", x: str = "x", cluster: str = "cluster") -> str:
        """The formula as written, e.g. 'y ~ x + (x || cluster)'."""
        return f"{y} ~ {x} + {self.random_term(x, cluster)}"

    def lme4_formula(self, y: str = "y", x: str = "x", cluster: str = "cluster") -> str:
        """The formula as lme4's summary prints it (it expands the double bar)."""
        if self._s.slope and not self._s.correlated:
            return f"{y} ~ {x} + ((1 | {cluster}) + (0 + {x} | {cluster}))"
        return self.formula(y, x, cluster)

    def variance_rows(self, x: str = "x", cluster: str = "cluster") -> tuple[tuple[str, str], ...]:
        """(group, name) of each random-effect row of lme4's summary, in order: an uncorrelated
        slope is its own term, printed as group 'cluster.1'."""
        if not self._s.slope:
            return ((cluster, "(Intercept)"),)
        if self._s.correlated:
            return ((cluster, "(Intercept)"), ("", x))
        return ((cluster, "(Intercept)"), (f"{cluster}.1", x))

    # -- the parameters of confidence intervals -------------------------------------------------

    def parameters(self) -> tuple[str, ...]:
        """The model's parameters in the order of lme4's `confint()`: the random effects' SDs
        and correlation (as lme4's "sdcor" scale), σ, the fixed effects."""
        random: tuple[str, ...] = ("sd_int",)
        if self._s.slope:
            random = ("sd_int", "cor", "sd_slope") if self._s.correlated else ("sd_int", "sd_slope")
        return (*random, "sigma", "intercept", "beta")

    def parameter_name(self, parameter: str, x: str = "x", cluster: str = "cluster") -> str:
        """lme4's name of a parameter in `confint(mod, oldNames = FALSE)`, e.g.
        'sd_(Intercept)|cluster', 'cor_x.(Intercept)|cluster', 'sigma', 'x'."""
        names = {
            "sd_int": f"sd_(Intercept)|{cluster}",
            "cor": f"cor_{x}.(Intercept)|{cluster}",
            "sd_slope": f"sd_{x}|{cluster}",
            "sigma": "sigma",
            "intercept": "(Intercept)",
            "beta": x,
        }
        return names[parameter]


def choices(values: tuple[str, ...]) -> str:
    """'a', 'b' or 'c' — for messages."""
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
