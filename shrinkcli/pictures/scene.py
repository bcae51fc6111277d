"""What the shrinkage picture holds, in data coordinates: each cluster's by-cluster estimate and
mixed-model coefficients, where it is along the motion, the contours of the fitted random-effect
distribution, the view, the marker sizes and opacities, and what the caption counts.

The motion is the post's straight line from each cluster's own estimate to its mixed estimate
(`animation.path: straight`), or the path pooling really takes (`pooling`: the exact solution of
the penalized least squares with the random effects scaled by s, from no pooling to the fit, see
`lmm.shrinkage`; `pooling-complete`: on to complete pooling). A `PathTrack` times that path: the
scale s falls on a log scale, its steps chosen so that the points move at an even pace (by the
length of the paths travelled, sampled on a fine grid of s); every frame is solved exactly.

Pure numpy: a scene is computed and tested without matplotlib; `figure.py` draws it.
`build_scene` is the only place the pictures read the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..lmm import Fit
    from ..lmm.shrinkage import PoolingPath
    from ..scenario import AnimationOptions

#: The post's view: fixed effects ± 3 × the baseline random-effect SDs (0.5 and 0.25).
BASELINE_HALF_WIDTH = (1.5, 0.75)
#: Contour levels of the fitted random-effect distribution.
ELLIPSE_LEVELS = (0.5, 0.9)
#: Reference size (points²) of a point of a median-sized cluster; pixels at 600×450.
POINT_AREA = 34.0
#: Clusters a picture draws at full size and opacity, each with its path. Beyond, the points
#: shrink and fade with the square root of the crowd, and the paths drawn thin out likewise: a
#: sample of the clusters inside the view, from those that barely move to those that move most.
CROWD = 200
#: Fewest paths a crowded picture draws.
MIN_PATHS = 40
#: Smallest marker area (points²) and opacity of a crowded picture.
MIN_AREA, MIN_ALPHA = 4.0, 0.08
#: Share of the by-cluster estimates the automatic view may leave outside.
AUTO_OUTSIDE = 0.05
#: The scale at which `pooling-complete` ends: every cluster on the population line.
COMPLETE_POOLING_SCALE = 1e-4
#: Points of the grid of s that times the path and draws its trails, per leg.
TRACK_POINTS = 241


@dataclass(frozen=True)
class PathTrack:
    """The pooling path of the clusters that move, timed: progress t ∈ [0, 1] maps to a scale
    s (t = 0 the start, t = 1 the fit, or with `complete` t = 0.5 the fit and t = 1 complete
    pooling), through a grid of s on which the paths' length is measured and their trails
    drawn."""

    path: PoolingPath
    rows: np.ndarray  # (m,) rows of fit.clusters that move
    complete: bool
    log_s: np.ndarray  # (G,) the grid of log s, falling
    u: np.ndarray  # (G,) the progress at each grid point, rising from 0 to 1
    points: np.ndarray  # (G, m, 2) positions on the grid

    def scale(self, t: float) -> float:
        """The scale s at progress t (exact at the grid's ends: the start, 1, the end)."""
        t = min(max(float(t), 0.0), 1.0)
        for anchor in (0, len(self.u) - 1, *((len(self.u) // 2,) if self.complete else ())):
            if t == self.u[anchor]:
                return float(math.exp(self.log_s[anchor])) if anchor else self.path.start
        return float(math.exp(np.interp(t, self.u, self.log_s)))

    def positions(self, t: float) -> np.ndarray:
        """The exact solution at the scale of progress t, for the clusters that move."""
        return self.path.at(self.scale(t))[self.rows]

    def passed(self, t: float) -> int:
        """Grid points strictly before progress t."""
        return int(np.searchsorted(self.u, float(t), side="left"))


def path_track(
    path: PoolingPath, rows: np.ndarray, complete: bool, points: int = TRACK_POINTS
) -> PathTrack:
    """Time the path of the clusters in `rows`: s on a log grid from the start to 1 (and on to
    `COMPLETE_POOLING_SCALE`), progress proportional to the length travelled (see `_progress`);
    the fit at progress 1 (with `complete`, at 0.5)."""
    from ..lmm.shrinkage import log_scales

    legs = [log_scales(path.start, 1.0, points)]
    if complete:
        legs.append(log_scales(1.0, COMPLETE_POOLING_SCALE, points))
    positions = [np.stack([path.at(s)[rows] for s in leg]) for leg in legs]
    spread = np.concatenate(positions).reshape(-1, 2).std(axis=0)
    spread[~(spread > 0)] = 1.0
    fractions = [_progress(pos, spread) for pos in positions]
    if not complete:
        return PathTrack(path, rows, False, np.log(legs[0]), fractions[0], positions[0])
    u = np.concatenate([0.5 * fractions[0], 0.5 + 0.5 * fractions[1][1:]])
    log_s = np.log(np.concatenate([legs[0], legs[1][1:]]))
    return PathTrack(path, rows, True, log_s, u, np.concatenate([positions[0], positions[1][1:]]))


def _progress(positions: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """From 0 to 1 along a leg of the grid: the length travelled so far (summed over the
    clusters, each axis in units of its spread) as a fraction of the whole, with a fiftieth of
    plain grid steps so that it rises everywhere."""
    step = np.sqrt(((np.diff(positions, axis=0) / spread) ** 2).sum(axis=2)).sum(axis=1)
    arc = np.concatenate([[0.0], np.cumsum(step)])
    total = arc[-1] if arc[-1] > 0 else 1.0
    frac = 0.98 * arc / total + 0.02 * np.linspace(0.0, 1.0, len(arc))
    frac[0], frac[-1] = 0.0, 1.0
    return frac


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
    #: Which moving clusters have their path (trail, arrowhead, ring) drawn: all of them, or in
    #: a crowded picture the CROWD that move furthest.
    paths: np.ndarray | None = None
    #: Marker areas and opacities are this fraction of an uncrowded picture's (1: not crowded).
    crowd_scale: float = 1.0

    @property
    def path_mask(self) -> np.ndarray:
        return np.ones(len(self.ols), dtype=bool) if self.paths is None else self.paths

    @property
    def n_paths(self) -> int:
        return int(self.path_mask.sum())

    @property
    def crowded(self) -> bool:
        return self.crowd_scale < 1.0

    track: PathTrack | None = None  # the pooling path (None: the straight line)
    n_from_limit: int = 0  # clusters without a line of their own, moving from the start's limit

    @property
    def path(self) -> str:
        """'straight', 'pooling' or 'pooling-complete'."""
        if self.track is None:
            return "straight"
        return "pooling-complete" if self.track.complete else "pooling"

    def positions(self, t: float) -> np.ndarray:
        """Data coordinates of the moving points at progress t (0: by-cluster, 1: mixed)."""
        if self.track is not None:
            return self.track.positions(t)
        return self.ols + float(t) * (self.mixed - self.ols)

    def trails(self, t: float) -> np.ndarray:
        """The paths travelled by progress t as one polyline, a NaN row between clusters (the
        clusters whose paths are drawn)."""
        keep = self.path_mask
        pos = self.positions(t)[keep]
        if self.track is not None:
            done = self.track.points[: self.track.passed(t)][:, keep]
            lines = np.concatenate([done, pos[None], np.full_like(pos, np.nan)[None]])
            return lines.transpose(1, 0, 2).reshape(-1, 2)
        return np.stack([self.ols[keep], pos, np.full_like(pos, np.nan)], axis=1).reshape(-1, 2)

    def tails(self, t: float) -> np.ndarray:
        """Where each point whose path is drawn came from just before progress t (arrowheads
        point away from it): the start of the straight line, or a few grid points back along
        the path. The same clusters, in the same order, as `trails` and `path_mask`."""
        keep = self.path_mask
        if self.track is None:
            return self.ols[keep]
        return self.track.points[max(self.track.passed(t) - 3, 0)][keep]

    def color_progress(self, t: float) -> float:
        """How far from the by-cluster colour to the mixed one at progress t (the fit's colour
        from the fit on, on the way to complete pooling)."""
        if self.track is not None and self.track.complete:
            return min(2.0 * float(t), 1.0)
        return t

    def scale(self, t: float) -> float | None:
        """The random effects' scale s at progress t (None on the straight line)."""
        return None if self.track is None else self.track.scale(t)

    def legend_areas(self) -> tuple[float, ...]:
        """Marker areas (points², at the base size) of the cluster sizes in the size legend."""
        ref = float(np.median(self.n))
        return tuple(
            max(POINT_AREA * self.crowd_scale * k / ref, MIN_AREA) for k in self.size_legend
        )


def build_scene(fit: Fit, options: AnimationOptions) -> Scene:
    """Compute points, opacities, sizes, the contours, the view and the caption counts."""
    c = fit.table

    def pair(a: str, b: str) -> np.ndarray:
        return np.column_stack((c.array(a), c.array(b))).astype(float)

    ols_all = pair("ols_intercept", "ols_slope")
    mixed_all = pair("mixed_intercept", "mixed_slope")
    track: PathTrack | None = None
    n_from_limit = 0
    if options.path == "straight":
        keep = np.isfinite(ols_all).all(axis=1) & np.isfinite(mixed_all).all(axis=1)
    else:  # every cluster moves, from where the path starts
        keep = np.isfinite(mixed_all).all(axis=1)
        n_from_limit = int((keep & ~np.isfinite(ols_all).all(axis=1)).sum())
        track = path_track(
            _pooling_path(fit), np.flatnonzero(keep), options.path == "pooling-complete"
        )
        ols_all = np.full_like(ols_all, np.nan)
        ols_all[keep] = track.points[0]
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
    scale = 1.0
    if len(ols) > CROWD:
        scale = math.sqrt(CROWD / len(ols))
        sizes = np.maximum(sizes * scale, MIN_AREA)
        alpha = np.maximum(alpha * scale, MIN_ALPHA)
    ellipses = (
        tuple(ellipse_points(center, cov, level) for level in ELLIPSE_LEVELS)
        if options.ellipses
        else ()
    )
    travelled = mixed if track is None else track.points.reshape(-1, 2)
    if options.zoom == "baseline":
        xlim, ylim = _baseline_view(center)
    elif options.zoom == "data":
        xlim, ylim = _data_view(ols, travelled, truth, center, sizes)
    else:
        xlim, ylim = _auto_view(ols, travelled, truth, center, sizes, ellipses)
    inside = _inside(ols, xlim, ylim) & _inside(mixed, xlim, ylim)
    paths = None
    if scale < 1.0:
        paths = path_sample(ols, mixed, inside, max(MIN_PATHS, round(CROWD * scale)))
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
        paths=paths,
        crowd_scale=scale,
        track=track,
        n_from_limit=n_from_limit,
    )


def path_sample(ols: np.ndarray, mixed: np.ndarray, inside: np.ndarray, k: int) -> np.ndarray:
    """k clusters whose paths a crowded picture draws: clusters inside the view, evenly spread
    over the order of how far they move (each coordinate in units of its spread), so that the
    paths show short moves and long ones alike."""
    spread = ols.std(axis=0)
    spread[~(spread > 0)] = 1.0
    travel = np.hypot(*((mixed - ols) / spread).T)
    pool = np.flatnonzero(inside) if inside.sum() >= k else np.arange(len(ols))
    order = pool[np.argsort(travel[pool], kind="stable")]
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, min(k, len(order)))).astype(int))
    mask = np.zeros(len(ols), dtype=bool)
    mask[order[picks]] = True
    return mask


def _pooling_path(fit: Fit) -> PoolingPath:
    """The fit's pooling path; it needs the per-cluster sums the fit was computed from."""
    from ..lmm.shrinkage import pooling_path

    if fit.stats is None:
        raise ValueError("the pooling path needs a fit made by shrinkcli.lmm.fit (Fit.stats)")
    return pooling_path(fit.stats, fit.spec, fit.model.theta)


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


def _auto_view(
    ols: np.ndarray,
    mixed: np.ndarray,
    truth: np.ndarray | None,
    center: np.ndarray,
    sizes: np.ndarray,
    ellipses: tuple[np.ndarray, ...],
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The smallest view that holds every mixed estimate, the population average, the
    ellipses, the truth shown and all but at most AUTO_OUTSIDE of the by-cluster estimates
    (the furthest out are left out one by one, each time the one whose leaving shrinks the
    view most)."""
    fixed = [mixed, center[None, :], *ellipses]
    if truth is not None:
        fixed.append(truth[np.isfinite(truth).all(axis=1)])
    must = np.vstack(fixed)
    keep = trim_outliers(
        ols, must.min(axis=0), must.max(axis=0), int(math.floor(AUTO_OUTSIDE * len(ols)))
    )
    return _data_view(ols[keep], must, None, center, sizes)


def trim_outliers(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, allowed: int) -> np.ndarray:
    """Which of `points` stay in a box that must hold [lo, hi], after leaving out at most
    `allowed` of them: greedily, the point whose leaving shrinks the box's area most (in units
    of the full box), while leaving one out shrinks it at all."""
    m = len(points)
    keep = np.ones(m, dtype=bool)
    if m == 0 or allowed <= 0:
        return keep
    orders = [np.argsort(points[:, d], kind="stable") for d in (0, 1)]
    full = np.maximum(
        np.maximum(points.max(axis=0), hi) - np.minimum(points.min(axis=0), lo), 1e-300
    )
    ptr = {(d, end): 0 for d in (0, 1) for end in (0, 1)}

    def extremes(skip: int = -1) -> dict[tuple[int, int], int]:
        """The outermost kept point at each end of each axis (skipping `skip`)."""
        out: dict[tuple[int, int], int] = {}
        for (d, end), start in ptr.items():
            order = orders[d] if end == 0 else orders[d][::-1]
            i = start
            while i < m and (not keep[order[i]] or order[i] == skip):
                i += 1
            if skip < 0:  # kept points only ever leave: start the next search here
                ptr[(d, end)] = i
            out[(d, end)] = int(order[i]) if i < m else -1
        return out

    def log_area(ext: dict[tuple[int, int], int]) -> float:
        total = 0.0
        for d in (0, 1):
            a, b = ext[(d, 0)], ext[(d, 1)]
            low = min(points[a, d], lo[d]) if a >= 0 else lo[d]
            high = max(points[b, d], hi[d]) if b >= 0 else hi[d]
            total += math.log(max((high - low) / full[d], 1e-12))
        return total

    for _ in range(allowed):
        ext = extremes()
        now = log_area(ext)
        best, gain = -1, 0.0
        for i in sorted({i for i in ext.values() if i >= 0}):
            g = now - log_area(extremes(skip=i))
            if g > gain + 1e-12:
                best, gain = i, g
        if best < 0:
            break
        keep[best] = False
    return keep


def ellipse_points(center: np.ndarray, cov: np.ndarray, level: float, k: int = 180) -> np.ndarray:
    """Points on the contour of N(center, cov) that holds `level` of its mass."""
    r = math.sqrt(-2.0 * math.log(1.0 - level))  # chi-square with 2 df
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 0.0, None)
    a = np.linspace(0.0, 2.0 * math.pi, k)
    circle = np.stack([np.cos(a), np.sin(a)], axis=1)
    return center + r * (circle * np.sqrt(vals)) @ vecs.T
