"""What the shrinkage picture holds, in data coordinates: each cluster's by-cluster estimate and
mixed-model coefficients, where it is along the motion, the contours of the fitted random-effect
distribution, the view, the marker sizes and opacities, and what the caption counts.

Pure numpy: a scene is computed and tested without matplotlib; `plot.py` draws it.
`build_scene` is the only place the pictures read the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .lmm import Fit
    from .scenario import AnimationOptions

#: The post's view: fixed effects ± 3 × the baseline random-effect SDs (0.5 and 0.25).
BASELINE_HALF_WIDTH = (1.5, 0.75)
#: Contour levels of the fitted random-effect distribution.
ELLIPSE_LEVELS = (0.5, 0.9)
#: Reference size (points²) of a point of a median-sized cluster; pixels at 600×450.
POINT_AREA = 34.0


@dataclass(frozen=True)
class Scene:
    """The geometry of the picture in data coordinates, independent of any drawing."""

    ols: np.ndarray  # (m, 2) by-cluster estimates of the clusters that move
    mixed: np.ndarray  # (m, 2) mixed-model coefficients
    truth: np.ndarray | None  # (m, 2) true coefficients, or None when unknown or not shown
    rows: np.ndarray  # (m,) row numbers in fit.clusters of the clusters that move
    n: np.ndarray  # (m,) cluster sizes
    sizes: np.ndarray  # (m,) marker areas in points² (at the base size)
    alpha: np.ndarray  # (m,) opacity: further from the center is more opaque
    center: np.ndarray  # (2,) fixed effects
    covariance: np.ndarray  # (2, 2) Σ̂
    ellipses: tuple[np.ndarray, ...]  # contours at ELLIPSE_LEVELS; empty when not shown
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    x_name: str  # the predictor, named in the slope's axis label
    n_clusters: int
    n_left_out: int  # clusters without a by-cluster slope
    n_outside: int  # clusters with the by-cluster or mixed point outside the view
    size_legend: tuple[int, ...]  # cluster sizes shown in the size legend (empty: equal sizes)

    def positions(self, t: float) -> np.ndarray:
        """Data coordinates of the moving points at progress t (0: by-cluster, 1: mixed)."""
        return self.ols + float(t) * (self.mixed - self.ols)

    def trails(self, t: float) -> np.ndarray:
        """The paths travelled by progress t as one polyline, a NaN row between clusters."""
        pos = self.positions(t)
        return np.stack([self.ols, pos, np.full_like(pos, np.nan)], axis=1).reshape(-1, 2)

    def legend_areas(self) -> tuple[float, ...]:
        """Marker areas (points², at the base size) of the cluster sizes in the size legend."""
        return tuple(POINT_AREA * k / float(np.median(self.n)) for k in self.size_legend)


def build_scene(fit: Fit, options: AnimationOptions) -> Scene:
    """Compute points, opacities, sizes, the contours, the view and the caption counts."""
    c = fit.table

    def pair(a: str, b: str) -> np.ndarray:
        return np.column_stack((c.array(a), c.array(b))).astype(float)

    ols_all = pair("ols_intercept", "ols_slope")
    mixed_all = pair("mixed_intercept", "mixed_slope")
    keep = np.isfinite(ols_all).all(axis=1) & np.isfinite(mixed_all).all(axis=1)
    rows = np.flatnonzero(keep)
    ols, mixed = ols_all[keep], mixed_all[keep]
    n = np.asarray(c.array("n"), dtype=float)[keep]
    truth: np.ndarray | None = None
    if options.truth:
        t = pair("true_intercept", "true_slope")[keep]
        if np.isfinite(t).all(axis=1).any():
            truth = t
    center = np.asarray(fit.model.beta, dtype=float)
    cov = np.asarray(fit.model.variance.covariance(), dtype=float)

    alpha = _opacity(ols, center, cov)
    sizes, legend = _sizes(n)
    if options.zoom == "baseline":
        xlim, ylim = _baseline_view(center)
    else:
        xlim, ylim = _data_view(ols, mixed, truth, center, sizes)
    inside = _inside(ols, xlim, ylim) & _inside(mixed, xlim, ylim)
    ellipses = (
        tuple(ellipse_points(center, cov, level) for level in ELLIPSE_LEVELS)
        if options.ellipses
        else ()
    )
    return Scene(
        ols=ols,
        mixed=mixed,
        truth=truth,
        rows=rows,
        n=n,
        sizes=sizes,
        alpha=alpha,
        center=center,
        covariance=cov,
        ellipses=ellipses,
        xlim=xlim,
        ylim=ylim,
        x_name=fit.names.get("x", "x"),
        n_clusters=len(c),
        n_left_out=int((~keep).sum()),
        n_outside=int((~inside).sum()),
        size_legend=legend,
    )


def _inside(p: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float]) -> np.ndarray:
    """Which points lie in the view (edges included)."""
    return (p[:, 0] >= xlim[0]) & (p[:, 0] <= xlim[1]) & (p[:, 1] >= ylim[0]) & (p[:, 1] <= ylim[1])


def _opacity(ols: np.ndarray, center: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Opacity from each by-cluster estimate's standardized (Mahalanobis) distance to the
    center, as in the post: the extreme estimates, which shrink most, stand out."""
    if len(ols) == 0:
        return np.zeros(0)
    d = ols - center
    scale = np.sqrt(np.diag(cov))
    if np.all(scale > 0) and np.linalg.cond(cov) < 1e8:
        dist = np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d))
    else:  # no random slope (or a degenerate Σ̂): scale each axis by the spread of the estimates
        spread = ols.std(axis=0)
        spread[spread <= 0] = 1.0
        dist = np.sqrt(((d / spread) ** 2).sum(axis=1))
    top = float(np.quantile(dist, 0.9)) if len(dist) > 1 else float(dist[0])
    top = top if top > 0 else 1.0
    return 0.35 + 0.65 * np.clip(dist / top, 0.0, 1.0)


def _sizes(n: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Marker areas: equal when the clusters have equal sizes, else proportional to n."""
    if len(n) == 0 or n.min() == n.max():
        return np.full(len(n), POINT_AREA), ()
    ref = float(np.median(n))
    sizes = POINT_AREA * n / ref
    lo, hi = int(n.min()), int(n.max())
    mid = int(round(ref))
    legend = tuple(sorted({lo, mid, hi}))
    return sizes, legend


def _baseline_view(center: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """The post's fixed view around the fixed effects: the same in every scenario."""
    hx, hy = BASELINE_HALF_WIDTH
    return (center[0] - hx, center[0] + hx), (center[1] - hy, center[1] + hy)


def _data_view(
    ols: np.ndarray,
    mixed: np.ndarray,
    truth: np.ndarray | None,
    center: np.ndarray,
    sizes: np.ndarray,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """A view that fits every point, with a margin for the markers."""
    parts = [ols, mixed, center[None, :]]
    if truth is not None:
        parts.append(truth[np.isfinite(truth).all(axis=1)])
    p = np.vstack(parts)
    lo, hi = p.min(axis=0), p.max(axis=0)
    span = hi - lo
    span = np.where(span > 0, span, np.array(BASELINE_HALF_WIDTH))
    # a margin of 6% of the span, plus room for the largest marker
    pad = span * (0.06 + 0.004 * math.sqrt(float(sizes.max()) if len(sizes) else POINT_AREA))
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    )


def ellipse_points(center: np.ndarray, cov: np.ndarray, level: float, k: int = 180) -> np.ndarray:
    """Points on the contour of N(center, cov) that holds `level` of its mass."""
    r = math.sqrt(-2.0 * math.log(1.0 - level))  # chi-square with 2 df
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 0.0, None)
    a = np.linspace(0.0, 2.0 * math.pi, k)
    circle = np.stack([np.cos(a), np.sin(a)], axis=1)
    return center + r * (circle * np.sqrt(vals)) @ vecs.T
