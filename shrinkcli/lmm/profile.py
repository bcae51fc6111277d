"""Profile-likelihood confidence intervals, as lme4's `confint(mod, method = "profile")`.

What lme4 profiles
------------------
lme4 (`profile.merMod` with `devfun2`) refits the model by maximum likelihood — a REML fit too
— and profiles the ML deviance over each parameter in turn, on its "sdcor" scale: the SD of the
random intercept, the correlation, the SD of the random slope, the residual σ, then the fixed
effects. For a value v of one parameter the others are re-optimised, and the signed square root
ζ(v) = sign(v − v̂)·√(D(v) − D̂) of the rise of the deviance is read where it crosses ±z
(z = 1.96 for 95%). So the profile intervals of a REML fit are those of its ML refit: they are
centred near the ML estimates, which are a little smaller than REML's for the SDs.

lme4 samples ζ on a grid of points and reads the crossings off an interpolating spline; here each
end of an interval is the root of ζ(v) = ±z itself (secant steps out from the estimate, then a
bracketing solve), to about 1e-7 of the parameter's scale. Each end is the first crossing of ±z
going outward from the estimate; where ζ stays below z all the way to a parameter's bound (an SD's
0, a correlation's ±1), the interval ends at the bound, as lme4's does, and the end says so
(`ProfileEnd.at_bound`): the data do not rule out any value up to the bound at this level.

The correlation's profile is not a valley. Where the slope row of Λ is 0 (no slope variance) or
Λ₁₁ = 0 (no intercept variance) the correlation has no effect, and both faces are reachable at
every correlation, so the profile is min(D_interior(r), D_flat): it rises and then goes flat at the
level D_flat of those faces (`Profiler.flat_deviance`), while a search warm-started on the interior
branch follows that branch above it. So D_flat is part of every point of the profile, and when
D_flat − D̂ < z² no correlation is excluded: the interval is [−1, 1], both ends at the bound.

The criterion
-------------
The ML deviance with σ given is D = Σᵢ log det Mᵢ + r²(θ, β)/σ² + N log(2πσ²), in closed form
with its gradient from `pls.penalized_residuals`; where σ is free it is profiled out (σ² = r²/N),
and β is always re-solved (with β_j fixed when β_j is profiled). Each point of a profile is a
small smooth minimisation (L-BFGS-B on the analytic gradient, started from the previous point's
optimum) over the other parameters, written without constraints where possible:

- SD of the intercept = v: Λ₁₁ = v/σ; over log σ and Λ's slope row (Λ₂₁, Λ₂₂);
- SD of the slope = v: Λ's slope row = (v/σ)(cos φ, sin φ); over log σ, Λ₁₁ and φ;
- correlation = r: slope row = ℓ(r, √(1 − r²)); over Λ₁₁ ≥ 0 and ℓ ≥ 0, σ profiled out;
- σ = v: over θ;  β_j = v: over θ, σ profiled out.

No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model import ModelSpec
from .optimize import optimize
from .pls import SufficientStats, penalized_residuals
from .uncertainty import z_quantile

#: Largest number of profile points taken on one side of an estimate.
_MAX_POINTS = 40
#: Tolerance on ζ at an interval's end.
_ZETA_TOL = 1e-4

_Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class ProfileEnd:
    """One end of a profile interval: the value, and whether it is the parameter's bound
    (ζ never reached ±z before it)."""

    value: float
    at_bound: bool


@dataclass(frozen=True)
class Profile:
    """The profile interval of one parameter: the ML estimate it is centred on, and its ends."""

    parameter: str  # a `ModelSpec.parameters()` name: sd_int, cor, sd_slope, sigma, intercept, beta
    estimate: float
    lower: ProfileEnd
    upper: ProfileEnd


@dataclass
class _State:
    """Λ's (a, b, c) and σ at the last profile point's optimum (warm starts)."""

    a: float
    b: float
    c: float
    sigma: float


class Profiler:
    """Profiles of the ML deviance of one data set and random structure (see the module
    docstring); `interval(parameter, level)` gives one parameter's interval."""

    def __init__(self, stats: SufficientStats, spec: ModelSpec) -> None:
        self.stats = stats
        self.spec = ModelSpec(spec.random, "ml")
        theta, sol, _ = optimize(stats, self.spec)
        self.n = float(stats.n_obs)
        a, b, c = self.spec.lambda_entries(theta)
        self.optimum = _State(a, b, c, math.sqrt(sol.rho2 / self.n))
        self.base = float(sol.criterion)
        self.beta = sol.beta.copy()  # on the centred y
        self.beta_se = np.sqrt(np.maximum(np.diag(sol.s_inv), 0.0) * sol.rho2 / self.n)
        self.evaluations = 0
        self._state = self._regular = self.optimum
        self._flat: float | None = None

    # -- the parameters on lme4's scale -----------------------------------------------------

    def estimate(self, parameter: str) -> float:
        """The ML estimate of a parameter (NaN for a correlation with an SD at 0)."""
        o = self.optimum
        slope = math.hypot(o.b, o.c)
        if parameter == "sd_int":
            return abs(o.a) * o.sigma
        if parameter == "sd_slope":
            return slope * o.sigma
        if parameter == "cor":  # Σ₁₂ = σ²·a·b, so the correlation is sign(a)·b/|(b, c)|
            return math.copysign(1.0, o.a) * o.b / slope if slope > 0 and o.a != 0 else math.nan
        if parameter == "sigma":
            return o.sigma
        if parameter == "intercept":
            return float(self.beta[0]) + self.stats.y_shift
        if parameter == "beta":
            return float(self.beta[1])
        raise ValueError(f"unknown parameter {parameter!r}")

    def _bounds(self, parameter: str) -> tuple[float, float]:
        if parameter in ("sd_int", "sd_slope", "sigma"):
            return 0.0, math.inf
        if parameter == "cor":
            return -1.0, 1.0
        return -math.inf, math.inf

    def _scale(self, parameter: str, estimate: float) -> float:
        """About the distance from the estimate to ζ = 1 (exact for a fixed effect whose
        profile is a parabola; a first guess for the others)."""
        o = self.optimum
        if parameter == "intercept":
            return float(self.beta_se[0])
        if parameter == "beta":
            return float(self.beta_se[1])
        if parameter == "sigma":
            return o.sigma / math.sqrt(2.0 * self.n)
        if parameter == "cor":
            return 0.05 * max(1.0 - abs(estimate), 0.05) if math.isfinite(estimate) else 0.25
        return 0.05 * estimate if estimate > 0 else 0.03 * o.sigma

    # -- the deviance ------------------------------------------------------------------------

    def _deviance(
        self, a: float, b: float, c: float, sigma: float | None, fixed: tuple[int, float] | None
    ) -> tuple[float, np.ndarray, float]:
        """D and its gradient in (a, b, c), and ∂D/∂σ (σ None: profiled out, derivative 0)."""
        self.evaluations += 1
        # The search may step where Λ is so large or small that the system overflows (x in
        # units a million times its spread): no deviance there, the same as a zero residual.
        with np.errstate(all="ignore"):
            pr = penalized_residuals(a, b, c, self.stats, fixed)
        r2 = pr.pwrss
        if not (r2 > 0.0 and math.isfinite(r2) and math.isfinite(pr.logdet_m)):
            return math.inf, np.zeros(3), 0.0
        if sigma is None:
            d = pr.logdet_m + self.n * (1.0 + math.log(2.0 * math.pi * r2 / self.n))
            return d, pr.logdet_gradient + (self.n / r2) * pr.pwrss_gradient, 0.0
        s2 = sigma * sigma
        d = pr.logdet_m + r2 / s2 + self.n * math.log(2.0 * math.pi * s2)
        grad = pr.logdet_gradient + pr.pwrss_gradient / s2
        return d, grad, -2.0 * r2 / (s2 * sigma) + 2.0 * self.n / sigma

    def _problem(
        self, parameter: str, v: float
    ) -> tuple[
        _Objective,
        np.ndarray,
        list[tuple[float | None, float | None]],
        Callable[[np.ndarray], _State],
    ]:
        """The minimisation at one profile point: objective, start (from the warm state), bounds
        and the map back to (a, b, c, σ)."""
        spec, st = self.spec, self._off_boundary(self._state)
        free = spec.free  # which of (a, b, c) the structure has

        def pick(g: np.ndarray, keep: tuple[int, ...]) -> list[float]:
            return [float(g[i]) for i in keep]

        if parameter == "sd_int":
            row = tuple(i for i in (1, 2) if i in free)

            def state_sd_int(x: np.ndarray) -> _State:
                sigma = math.exp(x[0])
                vals = {1: 0.0, 2: 0.0}
                vals.update({i: float(x[1 + k]) for k, i in enumerate(row)})
                return _State(v / sigma, vals[1], vals[2], sigma)

            def f_sd_int(x: np.ndarray) -> tuple[float, np.ndarray]:
                s = state_sd_int(x)
                d, g, ds = self._deviance(s.a, s.b, s.c, s.sigma, None)
                return d, np.array([-g[0] * s.a + ds * s.sigma, *pick(g, row)])

            x0 = np.array([math.log(st.sigma), *[(st.b, st.c)[i - 1] for i in row]])
            return f_sd_int, x0, [(None, None)] * len(x0), state_sd_int

        if parameter == "sd_slope":
            if spec.correlated:

                def state_slope(x: np.ndarray) -> _State:
                    sigma = math.exp(x[0])
                    ell = v / sigma
                    return _State(float(x[1]), ell * math.cos(x[2]), ell * math.sin(x[2]), sigma)

                def f_slope(x: np.ndarray) -> tuple[float, np.ndarray]:
                    s = state_slope(x)
                    d, g, ds = self._deviance(s.a, s.b, s.c, s.sigma, None)
                    d_tau = -g[1] * s.b - g[2] * s.c + ds * s.sigma
                    return d, np.array([d_tau, g[0], -g[1] * s.c + g[2] * s.b])

                phi = math.atan2(st.c, st.b) if (st.b or st.c) else math.pi / 2
                x0 = np.array([math.log(st.sigma), st.a, phi])
                return f_slope, x0, [(None, None)] * 3, state_slope

            def state_unc(x: np.ndarray) -> _State:
                sigma = math.exp(x[0])
                return _State(float(x[1]), 0.0, v / sigma, sigma)

            def f_unc(x: np.ndarray) -> tuple[float, np.ndarray]:
                s = state_unc(x)
                d, g, ds = self._deviance(s.a, s.b, s.c, s.sigma, None)
                return d, np.array([-g[2] * s.c + ds * s.sigma, g[0]])

            return f_unc, np.array([math.log(st.sigma), st.a]), [(None, None)] * 2, state_unc

        if parameter == "cor":
            w = math.sqrt(max(0.0, 1.0 - v * v))

            def state_cor(x: np.ndarray) -> _State:
                return _State(float(x[0]), v * float(x[1]), w * float(x[1]), math.nan)

            def f_cor(x: np.ndarray) -> tuple[float, np.ndarray]:
                s = state_cor(x)
                d, g, _ = self._deviance(s.a, s.b, s.c, None, None)
                return d, np.array([g[0], g[1] * v + g[2] * w])

            x0 = np.array([abs(st.a), math.hypot(st.b, st.c)])
            return f_cor, x0, [(0.0, None), (0.0, None)], state_cor

        # σ or a fixed effect: over θ
        def state_theta(x: np.ndarray, sigma: float) -> _State:
            a, b, c = spec.lambda_entries(x)
            return _State(a, b, c, sigma)

        theta0 = spec.theta_of((st.a, st.b, st.c))
        if parameter == "sigma":

            def f_sigma(x: np.ndarray) -> tuple[float, np.ndarray]:
                a, b, c = spec.lambda_entries(x)
                d, g, _ = self._deviance(a, b, c, v, None)
                return d, spec.theta_of(g)

            return f_sigma, theta0, [(None, None)] * len(theta0), lambda x: state_theta(x, v)
        j = 0 if parameter == "intercept" else 1
        fixed = (j, v - self.stats.y_shift if j == 0 else v)

        def f_beta(x: np.ndarray) -> tuple[float, np.ndarray]:
            a, b, c = spec.lambda_entries(x)
            d, g, _ = self._deviance(a, b, c, None, fixed)
            return d, spec.theta_of(g)

        return (
            f_beta,
            theta0,
            [(None, None)] * len(theta0),
            lambda x: state_theta(x, self.optimum.sigma),
        )

    def deviance_at(self, parameter: str, v: float) -> float:
        """The ML deviance minimised over the other parameters with `parameter` held at v.

        The search starts from the previous point's optimum. A search that ends on a boundary
        (an SD at 0, where the correlation no longer matters) may have been caught in a local
        minimum there, so it is repeated from the last point off the boundary and from the ML
        estimates, and the lowest result kept."""
        best, state = self._minimise(parameter, v)
        if parameter == "cor":
            best = min(best, self.flat_deviance())
        if self._degenerate(state):
            for start in (self._regular, self.optimum):
                if start is self._state:
                    continue
                self._state = start
                again, other = self._minimise(parameter, v)
                if again < best:
                    best, state = again, other
        if not math.isfinite(state.sigma):  # σ was profiled out: keep the last one's scale
            state = _State(state.a, state.b, state.c, self._state.sigma)
        self._state = state
        if not self._degenerate(state):
            self._regular = state
        return best

    def flat_deviance(self) -> float:
        """The ML deviance where the correlation has no effect: the lower of the minima over
        Λ₁₁ with the slope row at 0 (no slope variance: the (1 | cluster) fit) and over the
        slope row's length with Λ₁₁ = 0 (no intercept variance). Either face is reachable at
        every correlation, so the correlation's profile never rises above this level."""
        if self._flat is None:
            from scipy.optimize import minimize

            o = self.optimum
            faces = ((0, math.hypot(o.b, o.c)), (2, abs(o.a)))  # (free entry, its scale)
            best = math.inf
            for entry, scale in faces:

                def face(x: np.ndarray, entry: int = entry) -> tuple[float, np.ndarray]:
                    abc = [0.0, 0.0, 0.0]
                    abc[entry] = float(x[0])
                    d, g, _ = self._deviance(abc[0], abc[1], abc[2], None, None)
                    return d, np.array([g[entry]])

                for start in {max(abs(o.a), scale, 0.1), 0.1 * max(abs(o.a), scale, 0.1)}:
                    res = minimize(
                        face,
                        np.array([start]),
                        jac=True,
                        method="L-BFGS-B",
                        bounds=[(0.0, None)],
                        options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-8},
                    )
                    best = min(best, float(res.fun), face(np.zeros(1))[0])
            self._flat = best
        return self._flat

    def _off_boundary(self, st: _State) -> _State:
        """A start moved off Λ₁₁ = 0 and Λ₂₂ = 0: the deviance is even in each there (a column
        of Λ may change sign), so its derivative vanishes and a search started on such a
        saddle cannot leave it even where the profile is lower away from it."""
        a, b, c = st.a, st.b, st.c
        ell = math.hypot(b, c)
        if 2 in self.spec.free and abs(c) < 1e-3 * max(ell, 1e-3):
            c = 0.1 * max(ell, 0.1)
        if abs(a) < 1e-3 * max(abs(self.optimum.a), 1e-3):
            a = 0.1 * max(abs(self.optimum.a), 0.1)
        return _State(a, b, c, st.sigma)

    def _degenerate(self, st: _State) -> bool:
        """Λ₁₁ or the slope row (where the model has one) at 0."""
        tiny = 1e-6
        if abs(st.a) < tiny:
            return True
        return self.spec.has_random_slope and math.hypot(st.b, st.c) < tiny

    def _minimise(self, parameter: str, v: float) -> tuple[float, _State]:
        """One local minimisation from the current state: the value and where it was reached."""
        from scipy.optimize import minimize

        fun, x0, bounds, state = self._problem(parameter, v)
        if not len(x0):
            return fun(x0)[0], state(x0)
        start = fun(x0)[0]
        res = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7},
        )
        if not float(res.fun) <= start:
            return start, state(x0)
        return float(res.fun), state(np.asarray(res.x, dtype=float))

    def zeta(self, parameter: str, v: float, estimate: float) -> float:
        """ζ(v) = sign(v − v̂)·√(D(v) − D̂) (the rise is taken as 0 when slightly negative)."""
        rise = max(0.0, self.deviance_at(parameter, v) - self.base)
        return math.copysign(math.sqrt(rise), v - estimate)

    # -- the interval ------------------------------------------------------------------------

    def interval(self, parameter: str, level: float = 0.95) -> Profile:
        """The profile interval of `parameter` at `level`."""
        z = z_quantile(level)
        est = self.estimate(parameter)
        lo, hi = self._bounds(parameter)
        if not math.isfinite(est):  # a correlation with an SD at 0: flat where it is defined
            est = 0.0
        ends = []
        for direction, bound in ((-1.0, lo), (1.0, hi)):
            self._state = self._regular = self.optimum
            ends.append(self._side(parameter, est, direction, bound, z))
        return Profile(parameter, self.estimate(parameter), ends[0], ends[1])

    def _side(
        self, parameter: str, est: float, direction: float, bound: float, z: float
    ) -> ProfileEnd:
        """Walk from the estimate toward `bound` (secant steps on ζ) until ζ passes ±z, then
        close in on the crossing between the last two points (regula falsi, Illinois)."""
        if est == bound:
            return ProfileEnd(bound, True)
        if parameter == "cor" and self.flat_deviance() - self.base < z * z:
            return ProfileEnd(bound, True)  # ζ stays below z on the whole of [−1, 1]
        target = direction * z
        step = self._scale(parameter, est)
        prev_v, prev_z = est, 0.0
        v = est + direction * z * step  # ζ is about linear near the estimate
        for _ in range(_MAX_POINTS):
            if (v - bound) * direction >= 0.0:
                v = bound
            zv = self.zeta(parameter, v, est)
            if abs(zv - target) < _ZETA_TOL:
                return ProfileEnd(v, False)
            if (zv - target) * direction > 0.0:  # passed ±z: the end is between
                return ProfileEnd(
                    self._crossing(parameter, est, target, prev_v, prev_z, v, zv), False
                )
            if v == bound:
                return ProfileEnd(bound, True)
            slope = (zv - prev_z) / (v - prev_v)
            last = abs(v - prev_v)
            if slope * direction > 0.0:
                nxt = v + (target - zv) / slope
                # at most z/8 of ζ per step (lme4's profile step): a long secant jump could pass
                # over a stretch where ζ rises above z and falls back, and miss the first crossing
                move = min(max(abs(nxt - v) * 1.02, 0.1 * last), 8.0 * last)
                move = min(move, max(z / 8.0 / abs(slope), 0.1 * last))
            else:  # flat or turning: widen the step
                move = 2.0 * last
            prev_v, prev_z = v, zv
            v = v + direction * move
        return ProfileEnd(v, False)

    def _crossing(
        self,
        parameter: str,
        est: float,
        target: float,
        v0: float,
        z0: float,
        v1: float,
        z1: float,
    ) -> float:
        """The v between v0 and v1 (ζ on either side of `target`) where ζ(v) = target."""
        f0, f1 = z0 - target, z1 - target
        side = 0
        for _ in range(_MAX_POINTS):
            v = v1 - f1 * (v1 - v0) / (f1 - f0)
            if not min(v0, v1) < v < max(v0, v1):
                v = 0.5 * (v0 + v1)
            fv = self.zeta(parameter, v, est) - target
            if abs(fv) < _ZETA_TOL or abs(v1 - v0) < 1e-12 * max(1.0, abs(v)):
                return v
            if (fv > 0.0) == (f1 > 0.0):  # v replaces v1; v0 stays
                v1, f1 = v, fv
                if side == -1:
                    f0 *= 0.5
                side = -1
            else:
                v0, f0 = v, fv
                if side == 1:
                    f1 *= 0.5
                side = 1
        return v
