"""Binomial (logit) and Poisson (log) mixed models by the Laplace approximation, as lme4's glmer.

The model and the criterion are lme4's for `glmer(..., nAGQ = 1)` (Bates, Mächler, Bolker &
Walker 2015, JSS 67(1), section 5 of the package's "Computational methods" vignette; the
penalized iteratively reweighted least squares is Bates's PIRLS). There is one grouping factor,
so the random effects of different clusters do not interact and every linear system below is
one 1×1 or 2×2 block per cluster, solved in closed form and vectorized over clusters.

Model
-----
For row j of cluster i, with fixed-effects row Xⱼ = (1, xⱼ) (or (1) for y ~ 1), random-effects
row Zⱼ = (1, xⱼ) ((x | cluster), (x || cluster)) or (1) ((1 | cluster)), Λ = [[a, 0], [b, c]] as
in `pls.py` (θ holds the entries the `ModelSpec` frees) and spherical random effects uᵢ ~ N(0, I):

    ηⱼ = Xⱼβ + ZⱼΛuᵢ,   yⱼ | uᵢ ~ Binomial(mⱼ, logit⁻¹ ηⱼ)   or   Poisson(exp ηⱼ)

(mⱼ the trials; 1 for a 0/1 outcome). The random effects on the data's scale are bᵢ = Λuᵢ.

The Laplace deviance
--------------------
The likelihood is L(θ, β) = Πᵢ ∫ p(yᵢ | uᵢ) φ(uᵢ) duᵢ. With fᵢ(u) = −2 log p(yᵢ | u) + ‖u‖² (the
full log density: lme4 adds the family's `aic()`, −2 Σ log dbinom(y, m, μ) or −2 Σ log dpois(y, μ),
so that −2 logLik is the full one), its mode ûᵢ and Hᵢ = ½∇²fᵢ(ûᵢ) = ΛᵀZᵢᵀWᵢZᵢΛ + I
(Wᵢ = diag(mⱼμⱼ(1 − μⱼ)) or diag(μⱼ), the canonical links' working weights), Laplace's method gives

    −2 log L(θ, β) ≈ Σᵢ [fᵢ(ûᵢ) + log det Hᵢ]

— lme4's `ldL2 + sqrL + aic` with L Lᵀ = block-diag(Hᵢ). This is the function glmer's second stage
minimises over (θ, β) jointly (its `devfun` of c(θ, β)); it equals adaptive Gauss–Hermite
quadrature with one node. Its minimum is reported as −2 logLik. For a scalar random intercept,
`nagq` > 1 replaces it by adaptive Gauss–Hermite quadrature on the same modes and curvatures
(`quadrature.py`; glmer's nAGQ), whose value lme4 reports less the saturated model's −2 log
likelihood (`agq`).

PIRLS
-----
ûᵢ at given (θ, β) by Newton's method on fᵢ: with Aⱼ = ZⱼΛ, the step solves
Hᵢ Δ = Σⱼ Aⱼᵀ(yⱼ − mⱼμⱼ) − uᵢ (canonical link: the score is the residual), halved for a cluster
whose fᵢ would rise. It runs until every step is below 1e-12 (relative), far tighter than lme4's
`tolPwrss` (1e-7), so the deviance is a smooth function of (θ, β) to rounding; the previous
modes are the next evaluation's start, as in lme4.

The optimizer
-------------
The deviance depends on Λ only through ΛΛᵀ (a column of Λ and the matching component of u may
change sign), so the search over (θ, β) runs unbounded and the diagonal's signs are folded back
afterwards, as in `optimize.py`. It starts from the pooled GLM's β and lme4's θ start, runs BFGS
(scipy) on central-difference gradients, then Newton steps on a central-difference Hessian until
the Newton decrement is below 1e-12; a diagonal entry of Λ that ends below 1e-4 is also tried at
0 (lme4's singular fit). The convergence check is lme4's `checkConv`: the gradient scaled by the
Hessian, solve(chol(H), g), below 2e-3 and no eigenvalue of H below −1e-6.

Standard errors
---------------
As `vcov()` / `summary()` of a glmer fit (lme4 1.1-31's `vcov.merMod`, `use.hessian` defaulting
to TRUE when glmer computed its finite-difference Hessian over (θ, β)): Cov(β̂) is the β block of
2 H⁻¹ for H the Hessian of the Laplace deviance over (θ, β) at the optimum (the θ uncertainty is
included). `std_errors_rx` are those of `vcov(use.hessian = FALSE)`: the inverse of the Schur
complement XᵀWX − Σᵢ XᵢᵀWᵢZᵢΛHᵢ⁻¹ΛᵀZᵢᵀWᵢXᵢ (lme4's RX from the final PIRLS), β uncertainty at
fixed θ.

Conditional modes and variances
-------------------------------
`ranef(condVar = TRUE)`: b̂ᵢ = Λûᵢ and Var(bᵢ | y) ≈ ΛHᵢ⁻¹Λᵀ (σ = 1 for these families).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize as sciopt
from scipy.special import expit, gammaln, xlogy

from ..errors import DataError, FitError
from ..model import SINGULAR_TOL, ModelSpec
from .optimize import GRADIENT_TOL, HESSIAN_TOL
from .quadrature import MAX_NODES, adaptive_correction, gauss_hermite

#: The families, each with its canonical link.
FAMILIES: dict[str, str] = {"binomial": "logit", "poisson": "log"}

#: PIRLS: relative size of the last Newton step at which the modes count as converged.
PIRLS_TOL = 1e-12
_PIRLS_MAX_ITERATIONS = 200
_MAX_HALVINGS = 40
#: Newton decrement (gᵀH⁻¹g) of the outer polish below which the optimum is accepted.
_NEWTON_TOL = 1e-12
_NEWTON_MAX_ITERATIONS = 20


@dataclass(frozen=True)
class GlmmData:
    """Prepared arrays: y (successes or counts), trials m (1 for 0/1 and Poisson), the fixed
    design X (N, p), the random-effects covariate x (or None: (1 | cluster) needs none) and cluster
    codes in 0..n_groups−1, with −2 Σ log of the density's constant (binomial coefficient,
    1/y!) and the saturated model's −2 log-likelihood."""

    family: str
    y: np.ndarray
    trials: np.ndarray
    design: np.ndarray
    x: np.ndarray | None
    codes: np.ndarray
    n_groups: int
    constant: float
    saturated: float = 0.0  # −2 log p(y | μ = y), the saturated model's, with the constant


@dataclass
class Laplace:
    """The Laplace deviance at (θ, β), and the PIRLS solution it came from: the modes u (K, q),
    the blocks Hᵢ as (h11, h12, h22) (h12, h22 zero for q = 1) and η, μ, the working weights."""

    deviance: float
    u: np.ndarray
    h: tuple[np.ndarray, np.ndarray, np.ndarray]
    eta: np.ndarray
    weights: np.ndarray
    iterations: int


@dataclass(frozen=True)
class GlmmFit:
    """A glmer-exact Laplace fit (nAGQ = 1) as values (module docstring for each quantity).

    `deviance` is −2 logLik as lme4 reports it (for nAGQ > 1 relative to the saturated model,
    `agq`; `full_deviance` is the full one either way); `beta`, `std_errors` (`vcov()`'s, from
    the Hessian over (θ, β)), `std_errors_rx` (from RX), `vcov`; `theta` canonical (diagonal of
    Λ ≥ 0); `modes` (K, q) the conditional modes b̂ᵢ = Λûᵢ and `condvar` (K, q, q) their
    conditional covariances, q = 1 for (1 | cluster), else 2, in the order (intercept, slope);
    `converged` is lme4's check."""

    family: str
    link: str
    random: str
    deviance: float
    beta: np.ndarray
    std_errors: np.ndarray
    std_errors_rx: np.ndarray
    vcov: np.ndarray
    theta: np.ndarray
    modes: np.ndarray
    condvar: np.ndarray
    singular: bool
    converged: bool
    max_scaled_gradient: float
    hessian_min_eigenvalue: float
    evaluations: int
    n_obs: int
    n_groups: int
    nagq: int = 1
    full_deviance: float = math.nan  # the full −2 log-likelihood (differs from lme4's for nAGQ > 1)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance


def glmm_data(
    y: np.ndarray,
    x: np.ndarray | None,
    codes: np.ndarray,
    n_groups: int,
    family: str,
    *,
    trials: np.ndarray | None = None,
    intercept_only: bool = False,
) -> GlmmData:
    """Checks and prepares the arrays: y non-negative whole numbers (at most the trials for a
    binomial outcome), trials whole numbers ≥ 1 (binomial only), codes in 0..n_groups−1 with no
    cluster empty. `intercept_only` fits y ~ 1 (x, if given, is still the random slope's)."""
    if family not in FAMILIES:
        raise FitError(f"unknown family {family!r}: use binomial or poisson", field="model.family")
    y = np.asarray(y, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.intp)
    n = y.shape[0]
    if y.ndim != 1 or n == 0 or codes.shape != (n,):
        raise DataError("y and the cluster codes must be 1-D arrays of one length", field="y")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.round(y)):
        raise DataError("the outcome must be non-negative whole numbers", field="y")
    if codes.min() < 0 or codes.max() >= n_groups or np.bincount(codes).size < n_groups:
        raise DataError("cluster codes must be 0..n_groups-1", field="cluster")
    if np.any(np.bincount(codes, minlength=n_groups) == 0):
        raise DataError("every cluster needs a row", field="cluster")
    if family == "binomial":
        m = np.ones(n) if trials is None else np.asarray(trials, dtype=np.float64)
        if m.shape != (n,) or not np.all(np.isfinite(m)) or np.any(m < 1):
            raise DataError("trials must be whole numbers of at least 1", field="data.trials")
        if np.any(m != np.round(m)) or np.any(y > m):
            raise DataError("successes must be whole numbers at most the trials", field="y")
        constant = -2.0 * float(np.sum(gammaln(m + 1) - gammaln(y + 1) - gammaln(m - y + 1)))
        p_sat = y / m
        saturated = constant - 2.0 * float(np.sum(xlogy(y, p_sat) + xlogy(m - y, 1.0 - p_sat)))
    else:
        if trials is not None:
            raise DataError("trials are for a binomial outcome only", field="data.trials")
        m = np.ones(n)
        constant = 2.0 * float(np.sum(gammaln(y + 1)))
        saturated = constant - 2.0 * float(np.sum(xlogy(y, y) - y))
    xa = None if x is None else np.asarray(x, dtype=np.float64)
    if xa is not None and (xa.shape != (n,) or not np.all(np.isfinite(xa))):
        raise DataError("x must be finite, one value a row", field="x")
    fixed = [np.ones(n)] if xa is None or intercept_only else [np.ones(n), xa]
    design = np.column_stack(fixed)
    return GlmmData(family, y, m, design, xa, codes, int(n_groups), constant, saturated)


def design_rows(
    data: GlmmData, spec: ModelSpec, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Aⱼ = ZⱼΛ for every row: (a + b xⱼ, c xⱼ), or (a, 0) without a random slope."""
    a, b, c = spec.lambda_entries(theta)
    n = data.y.shape[0]
    if not spec.has_random_slope:
        return np.full(n, a), np.zeros(n)
    x = data.x
    assert x is not None
    return a + b * x, c * x


def _row_terms(data: GlmmData, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """−2 log p(yⱼ | ηⱼ) without the constant, the residual yⱼ − E yⱼ and the working weight."""
    y, m = data.y, data.trials
    if data.family == "binomial":
        p = expit(eta)
        dev = -2.0 * (y * eta - m * np.logaddexp(0.0, eta))
        return dev, y - m * p, m * p * (1.0 - p)
    mu = np.exp(eta)
    return -2.0 * (y * eta - mu), y - mu, mu


def cluster_objective(
    data: GlmmData, eta: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fᵢ(u) = −2 log p(yᵢ | u) + ‖uᵢ‖² per cluster (without the constant), with every row's
    residual and working weight at η."""
    dev, resid, w = _row_terms(data, eta)
    f = np.bincount(data.codes, weights=dev, minlength=data.n_groups) + np.sum(u * u, axis=1)
    return f, resid, w


def laplace(
    data: GlmmData,
    spec: ModelSpec,
    theta: np.ndarray,
    beta: np.ndarray,
    u0: np.ndarray | None = None,
) -> Laplace:
    """The Laplace deviance at (θ, β) (lme4's devfun of glmer's second stage) by PIRLS."""
    k, codes = data.n_groups, data.codes
    q = 2 if spec.has_random_slope else 1
    a1, a2 = design_rows(data, spec, np.asarray(theta, dtype=np.float64))
    offset = data.design @ np.asarray(beta, dtype=np.float64)
    u = np.zeros((k, 2)) if u0 is None else np.array(u0, dtype=np.float64).reshape(k, q)
    if q == 1:
        u = np.column_stack([u[:, 0], np.zeros(k)])

    def eta_of(uu: np.ndarray) -> np.ndarray:
        return offset + a1 * uu[codes, 0] + a2 * uu[codes, 1]

    eta = eta_of(u)
    f, resid, w = cluster_objective(data, eta, u)
    iterations = 0
    while iterations < _PIRLS_MAX_ITERATIONS:
        iterations += 1
        g1 = np.bincount(codes, weights=a1 * resid, minlength=k) - u[:, 0]
        h11 = np.bincount(codes, weights=a1 * a1 * w, minlength=k) + 1.0
        if q == 2:
            g2 = np.bincount(codes, weights=a2 * resid, minlength=k) - u[:, 1]
            h12 = np.bincount(codes, weights=a1 * a2 * w, minlength=k)
            h22 = np.bincount(codes, weights=a2 * a2 * w, minlength=k) + 1.0
            det = h11 * h22 - h12 * h12
            step = np.column_stack([(h22 * g1 - h12 * g2) / det, (h11 * g2 - h12 * g1) / det])
        else:
            step = np.column_stack([g1 / h11, np.zeros(k)])
        scale = np.ones(k)
        for _ in range(_MAX_HALVINGS):
            trial = u + scale[:, None] * step
            eta_t = eta_of(trial)
            f_t, resid_t, w_t = cluster_objective(data, eta_t, trial)
            worse = ~(f_t <= f + 1e-12 * np.abs(f))
            if not worse.any():
                break
            scale = np.where(worse, scale * 0.5, scale)
        u, eta, f, resid, w = trial, eta_t, f_t, resid_t, w_t
        if np.max(np.abs(scale[:, None] * step)) <= PIRLS_TOL * (1.0 + np.max(np.abs(u))):
            break
    if iterations == _PIRLS_MAX_ITERATIONS:
        raise FitError("PIRLS did not converge (the conditional modes)", field="model.family")
    h11 = np.bincount(codes, weights=a1 * a1 * w, minlength=k) + 1.0
    h12 = np.bincount(codes, weights=a1 * a2 * w, minlength=k)
    h22 = np.bincount(codes, weights=a2 * a2 * w, minlength=k) + 1.0
    logdet = np.log(h11 * h22 - h12 * h12)
    deviance = float(np.sum(f) + np.sum(logdet)) + data.constant
    return Laplace(deviance, u[:, :q].copy(), (h11, h12, h22), eta, w, iterations)


def agq(
    data: GlmmData,
    spec: ModelSpec,
    theta: np.ndarray,
    beta: np.ndarray,
    n_nodes: int,
    u0: np.ndarray | None = None,
) -> Laplace:
    """The deviance by adaptive Gauss–Hermite quadrature with `n_nodes` nodes (`quadrature.py`)
    for a scalar random intercept, on PIRLS's modes and curvatures; one node is `laplace`.

    For n_nodes > 1 the value is lme4 1.1-31's (its devfun and −2 logLik): the deviance
    residuals' sum in place of the full −2 log p(y | u), i.e. the full −2 log-likelihood less
    the saturated model's (`GlmmData.saturated`), a constant in (θ, β) that the Laplace value
    (nAGQ = 1) keeps."""
    sol = laplace(data, spec, theta, beta, u0)
    if n_nodes == 1:
        return sol
    z, w = gauss_hermite(n_nodes)
    a = spec.lambda_entries(np.asarray(theta, dtype=np.float64))[0]
    u = sol.u[:, 0]
    zero = np.zeros((data.n_groups, 1))
    f_mode = cluster_objective(data, sol.eta, sol.u)[0]
    sd = 1.0 / np.sqrt(sol.h[0])
    f_nodes = np.empty((z.size, data.n_groups))
    for k, zk in enumerate(z):
        shift = zk * sd
        eta = sol.eta + a * shift[data.codes]
        f_nodes[k] = cluster_objective(data, eta, zero)[0] + (u + shift) ** 2
    correction = adaptive_correction(f_mode, f_nodes, z, w)
    # lme4's glmerAGQ sums deviance residuals: its value is relative to the saturated model
    deviance = sol.deviance + float(np.sum(correction)) - data.saturated
    return Laplace(deviance, sol.u, sol.h, sol.eta, sol.weights, sol.iterations)


def _pooled_glm(data: GlmmData) -> np.ndarray:
    """β of the GLM without random effects (IRLS / Newton on the canonical link): the start."""
    x = data.design
    if data.family == "binomial":
        p0 = np.clip((data.y + 0.5) / (data.trials + 1.0), 1e-6, 1 - 1e-6)
        eta = np.log(p0 / (1 - p0))
    else:
        eta = np.log(data.y + 0.5)
    beta = np.linalg.lstsq(x, eta, rcond=None)[0]
    for _ in range(100):
        eta = x @ beta
        _, resid, w = _row_terms(data, eta)
        step = np.linalg.solve(x.T @ (w[:, None] * x), x.T @ resid)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
            break
    return np.asarray(beta)


class _Deviance:
    """The deviance as a function of φ = (θ, β), warm-starting PIRLS from the last modes."""

    def __init__(self, data: GlmmData, spec: ModelSpec, n_nodes: int = 1) -> None:
        self.data, self.spec, self.n_nodes = data, spec, n_nodes
        self.nt = spec.n_theta
        self.u: np.ndarray | None = None
        self.evaluations = 0

    def __call__(self, phi: np.ndarray) -> float:
        self.evaluations += 1
        sol = agq(self.data, self.spec, phi[: self.nt], phi[self.nt :], self.n_nodes, self.u)
        if np.all(np.isfinite(sol.u)):
            self.u = sol.u
        return sol.deviance if math.isfinite(sol.deviance) else math.inf

    def steps(self, phi: np.ndarray) -> np.ndarray:
        return 1e-4 * np.maximum(1.0, np.abs(phi))

    def gradient(self, phi: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
        h = self.steps(phi) * 0.1 if h is None else h
        g = np.empty_like(phi)
        for i in range(phi.size):
            e = np.zeros_like(phi)
            e[i] = h[i]
            g[i] = (self(phi + e) - self(phi - e)) / (2 * h[i])
        return g

    def hessian(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Central-difference gradient and Hessian (the Hessian as lme4's deriv12, δ = 1e-4)."""
        h = self.steps(phi)
        n = phi.size
        f0 = self(phi)
        fp, fm = np.empty(n), np.empty(n)
        hess = np.empty((n, n))
        for i in range(n):
            e = np.zeros(n)
            e[i] = h[i]
            fp[i], fm[i] = self(phi + e), self(phi - e)
            hess[i, i] = (fp[i] - 2 * f0 + fm[i]) / h[i] ** 2
        for i in range(n):
            for j in range(i):
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                v = (
                    self(phi + ei + ej)
                    - self(phi + ei - ej)
                    - self(phi - ei + ej)
                    + self(phi - ei - ej)
                ) / (4 * h[i] * h[j])
                hess[i, j] = hess[j, i] = v
        return (fp - fm) / (2 * h), hess


def _canonical(spec: ModelSpec, phi: np.ndarray) -> np.ndarray:
    nt = spec.n_theta
    return np.concatenate([spec.canonical(phi[:nt]), phi[nt:]])


def _boundary_candidates(spec: ModelSpec, phi: np.ndarray) -> list[np.ndarray]:
    """φ with each small diagonal entry of Λ set to 0 (for a = 0 with a slope, also the
    equivalent (0, ±√(b² + c²), 0) as the column (b, c) is then one direction)."""
    out = []
    for k in spec.diagonal:
        if abs(phi[k]) < SINGULAR_TOL:
            cand = phi.copy()
            cand[k] = 0.0
            out.append(cand)
    return out


def fit_glmm(
    y: np.ndarray,
    x: np.ndarray | None,
    codes: np.ndarray,
    n_groups: int,
    family: str,
    random: str = "intercept-slope",
    *,
    trials: np.ndarray | None = None,
    intercept_only: bool = False,
    nagq: int = 1,
) -> GlmmFit:
    """Fits y ~ x + (random term | cluster) (or y ~ 1 with `intercept_only` or x None) for a
    binomial (y successes of `trials`, default 1) or Poisson outcome by glmer's Laplace
    approximation; `random` is a `ModelSpec` structure ("intercept-slope", "uncorrelated",
    "intercept"); `nagq` > 1 (up to 25, a random intercept only) uses adaptive Gauss–Hermite
    quadrature with that many nodes instead of the Laplace approximation, as glmer's nAGQ."""
    spec = ModelSpec(random=random, method="ml")
    if not (isinstance(nagq, int) and 1 <= nagq <= MAX_NODES):
        raise FitError(f"nAGQ must be a whole number from 1 to {MAX_NODES}", field="model.nagq")
    if nagq > 1 and spec.has_random_slope:
        raise FitError(
            "nAGQ > 1 is only available for a scalar random intercept, (1 | cluster)",
            field="model.nagq",
        )
    if spec.has_random_slope and x is None:
        raise FitError("a random slope needs x", field="model.random")
    data = glmm_data(y, x, codes, n_groups, family, trials=trials, intercept_only=intercept_only)
    n_rows = data.design.shape[0]
    dev = _Deviance(data, spec, nagq)
    phi = np.concatenate([np.asarray(spec.theta_start, dtype=np.float64), _pooled_glm(data)])
    res = sciopt.minimize(dev, phi, jac=dev.gradient, method="BFGS", options={"gtol": 1e-7})
    phi = np.asarray(res.x)
    f = dev(phi)
    notes: list[str] = []
    for _ in range(_NEWTON_MAX_ITERATIONS):
        g, hess = dev.hessian(phi)
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        if not float(g @ step) > 0:
            break
        t = 1.0
        while t > 1e-6:
            f_new = dev(phi - t * step)
            if f_new <= f:
                break
            t *= 0.5
        else:
            break
        phi, f = phi - t * step, f_new
        if float(g @ step) < _NEWTON_TOL:
            break
    for cand in _boundary_candidates(spec, phi):
        fc = dev(cand)
        if fc <= f:
            phi, f = cand, fc
    phi = _canonical(spec, phi)
    nt = spec.n_theta
    theta, beta = phi[:nt], phi[nt:]
    sol = agq(data, spec, theta, beta, nagq, dev.u)
    g, hess = dev.hessian(phi)
    # lme4's checkConv over the parameters off the boundary
    singular = spec.is_singular(theta)
    keep = [i for i in range(phi.size) if not (i in spec.diagonal and abs(phi[i]) < SINGULAR_TOL)]
    hk = hess[np.ix_(keep, keep)]
    eig = np.linalg.eigvalsh(hk)
    try:
        scaled = float(np.max(np.abs(np.linalg.solve(np.linalg.cholesky(hk), g[keep]))))
    except np.linalg.LinAlgError:
        scaled = float(np.max(np.abs(g[keep])))
        notes.append("the Hessian is not positive definite")
    converged = scaled < GRADIENT_TOL and float(eig.min()) > -HESSIAN_TOL
    vcov_rx = _vcov_rx(data, spec, theta, sol)
    try:
        vfull = 2.0 * np.linalg.inv(hess)
        vcov = vfull[nt:, nt:]
        vcov = 0.5 * (vcov + vcov.T)
        if not np.all(np.linalg.eigvalsh(vcov) > 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        vcov = vcov_rx
        notes.append("the Hessian's covariance is not positive definite: RX's is used")
    modes, condvar = _conditional(spec, theta, sol)
    return GlmmFit(
        family=family,
        link=FAMILIES[family],
        random=random,
        deviance=sol.deviance,
        beta=beta,
        std_errors=np.sqrt(np.diag(vcov)),
        std_errors_rx=np.sqrt(np.diag(vcov_rx)),
        vcov=vcov,
        theta=theta,
        modes=modes,
        condvar=condvar,
        singular=singular,
        converged=bool(converged),
        max_scaled_gradient=scaled,
        hessian_min_eigenvalue=float(eig.min()),
        evaluations=dev.evaluations,
        n_obs=n_rows,
        n_groups=int(n_groups),
        nagq=nagq,
        full_deviance=sol.deviance + (data.saturated if nagq > 1 else 0.0),
        notes=tuple(notes),
    )


def _vcov_rx(data: GlmmData, spec: ModelSpec, theta: np.ndarray, sol: Laplace) -> np.ndarray:
    """(XᵀWX − Σᵢ XᵢᵀWᵢAᵢ Hᵢ⁻¹ AᵢᵀWᵢXᵢ)⁻¹: lme4's RX-based Cov(β̂) at fixed θ."""
    k, codes = data.n_groups, data.codes
    a1, a2 = design_rows(data, spec, theta)
    w, xd = sol.weights, data.design
    p = xd.shape[1]
    info = xd.T @ (w[:, None] * xd)
    c1 = np.stack([np.bincount(codes, weights=w * a1 * xd[:, j], minlength=k) for j in range(p)])
    c2 = np.stack([np.bincount(codes, weights=w * a2 * xd[:, j], minlength=k) for j in range(p)])
    h11, h12, h22 = sol.h
    det = h11 * h22 - h12 * h12
    # Σᵢ cᵢ Hᵢ⁻¹ cᵢᵀ with cᵢ = (c1ᵢ, c2ᵢ) per fixed effect
    i11, i12, i22 = h22 / det, -h12 / det, h11 / det
    corr = (c1 * i11) @ c1.T + (c1 * i12) @ c2.T + (c2 * i12) @ c1.T + (c2 * i22) @ c2.T
    return np.asarray(np.linalg.inv(info - corr))


def _conditional(spec: ModelSpec, theta: np.ndarray, sol: Laplace) -> tuple[np.ndarray, np.ndarray]:
    """b̂ᵢ = Λûᵢ and ΛHᵢ⁻¹Λᵀ per cluster, (K, q) and (K, q, q)."""
    a, b, c = spec.lambda_entries(theta)
    h11, h12, h22 = sol.h
    if not spec.has_random_slope:
        return a * sol.u[:, :1], (a * a / h11)[:, None, None]
    lam = np.array([[a, 0.0], [b, c]])
    det = h11 * h22 - h12 * h12
    hinv = np.stack([np.stack([h22, -h12], -1), np.stack([-h12, h11], -1)], -2) / det[:, None, None]
    modes = sol.u @ lam.T
    condvar = lam @ hinv @ lam.T
    return modes, condvar
