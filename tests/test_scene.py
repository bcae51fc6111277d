"""The picture's geometry without matplotlib: where the points are along the motion, the view,
the contours of N(β̂, Σ̂), the marker sizes, the clusters left out."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from conftest import SCENARIO_DIR
from scipy.stats import chi2

from shrinkcli import Fit, fit, load_scenario, simulate
from shrinkcli.pictures.scene import BASELINE_HALF_WIDTH, ELLIPSE_LEVELS, POINT_AREA, build_scene
from shrinkcli.scenario import AnimationOptions
from shrinkcli.table import Table


@cache
def fitted(scenario: str) -> Fit:
    """A scenario simulated and fitted through the library API (with the truth)."""
    sim = simulate(load_scenario(str(SCENARIO_DIR / f"{scenario}.yaml")))
    return fit(sim.data, truth=sim.truth)


def columns(result: Fit, a: str, b: str) -> np.ndarray:
    return result.clusters[[a, b]].to_numpy(dtype=float)


def test_positions_run_from_the_by_cluster_to_the_mixed_estimates() -> None:
    result = fitted("baseline")
    scene = build_scene(result, AnimationOptions())
    ols = columns(result, "ols_intercept", "ols_slope")
    mixed = columns(result, "mixed_intercept", "mixed_slope")
    assert list(scene.rows) == list(range(len(result.clusters)))
    np.testing.assert_array_equal(scene.positions(0.0), ols)
    np.testing.assert_allclose(scene.positions(1.0), mixed, rtol=0, atol=1e-15)  # to rounding
    np.testing.assert_allclose(scene.positions(0.25), 0.75 * ols + 0.25 * mixed)


def test_trails_join_each_start_to_where_the_point_is() -> None:
    scene = build_scene(fitted("baseline"), AnimationOptions())
    trail = scene.trails(0.5).reshape(-1, 3, 2)
    np.testing.assert_array_equal(trail[:, 0], scene.ols)
    np.testing.assert_array_equal(trail[:, 1], scene.positions(0.5))
    assert np.isnan(trail[:, 2]).all()  # a break between clusters


def test_baseline_view_is_the_posts_and_counts_what_falls_outside() -> None:
    result = fitted("more-subject-variance")
    scene = build_scene(result, AnimationOptions(zoom="baseline"))
    b = np.asarray(result.model.beta)
    hx, hy = BASELINE_HALF_WIDTH
    assert scene.xlim == pytest.approx((b[0] - hx, b[0] + hx))
    assert scene.ylim == pytest.approx((b[1] - hy, b[1] + hy))
    outside = np.zeros(len(result.clusters), dtype=bool)
    for p in (scene.ols, scene.mixed):
        outside |= (np.abs(p[:, 0] - b[0]) > hx) | (np.abs(p[:, 1] - b[1]) > hy)
    assert scene.n_outside == outside.sum() > 0


@pytest.mark.parametrize("scenario", ["more-subject-variance", "unbalanced", "few-observations"])
def test_data_view_holds_every_point_the_average_and_the_truth(scenario: str) -> None:
    scene = build_scene(fitted(scenario), AnimationOptions(zoom="data", truth=True))
    assert scene.truth is not None
    points = np.vstack([scene.ols, scene.mixed, scene.truth, scene.center[None, :]])
    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    assert (points[:, 0] > x0).all() and (points[:, 0] < x1).all()
    assert (points[:, 1] > y0).all() and (points[:, 1] < y1).all()
    assert scene.n_outside == 0


def test_ellipse_points_lie_on_the_chi_square_contour() -> None:
    result = fitted("baseline")
    scene = build_scene(result, AnimationOptions())
    np.testing.assert_allclose(scene.covariance, result.model.variance.covariance())
    inverse = np.linalg.inv(scene.covariance)
    assert len(scene.ellipses) == len(ELLIPSE_LEVELS)
    for level, points in zip(ELLIPSE_LEVELS, scene.ellipses, strict=True):
        d = points - scene.center
        q = np.einsum("ij,jk,ik->i", d, inverse, d)
        np.testing.assert_allclose(q, chi2.ppf(level, df=2), rtol=1e-9)
    assert build_scene(result, AnimationOptions(ellipses=False)).ellipses == ()


def test_marker_sizes_follow_the_cluster_sizes_and_opacity_the_distance() -> None:
    balanced = build_scene(fitted("baseline"), AnimationOptions())
    assert (balanced.sizes == POINT_AREA).all() and balanced.size_legend == ()
    scene = build_scene(fitted("unbalanced"), AnimationOptions())
    np.testing.assert_allclose(scene.sizes / scene.n, POINT_AREA / np.median(scene.n))
    assert scene.size_legend[0] == scene.n.min() and scene.size_legend[-1] == scene.n.max()
    assert len(scene.legend_areas()) == len(scene.size_legend)
    assert (scene.alpha >= 0.35).all() and (scene.alpha <= 1).all()
    far = np.hypot(*(scene.ols - scene.center).T).argmax()
    assert scene.alpha[far] == scene.alpha.max()


def test_a_cluster_without_a_slope_is_left_out_and_counted() -> None:
    result = fitted("baseline")
    clusters = result.clusters.copy()
    clusters.loc[4, "ols_slope"] = np.nan
    scene = build_scene(replace(result, table=Table.from_pandas(clusters)), AnimationOptions())
    assert scene.n_left_out == 1 and scene.n_clusters == len(clusters)
    assert 4 not in scene.rows and len(scene.ols) == len(clusters) - 1
    assert np.isfinite(scene.positions(0.5)).all()


def test_building_a_scene_needs_no_matplotlib() -> None:
    code = (
        "import sys\n"
        "from shrinkcli import fit, load_scenario, simulate\n"
        "from shrinkcli.scenario import AnimationOptions\n"
        "from shrinkcli.pictures.scene import build_scene\n"
        "import shrinkcli.pictures.theme\n"
        f"sim = simulate(load_scenario({str(SCENARIO_DIR / 'unbalanced.yaml')!r}))\n"
        "scene = build_scene(fit(sim.data, truth=sim.truth), AnimationOptions(truth=True))\n"
        "scene.positions(0.5), scene.trails(0.5)\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
