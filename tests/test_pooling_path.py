"""The pooling path: the exact solution of the penalized least squares at Λ = s·Λ̂, from no pooling
(the by-cluster fits) to the fit, and on to complete pooling; its timing in the scene, its
pictures, and the animation along it."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, REFERENCE, SCENARIO_DIR

from shrinkcli import Fit, fit, load_scenario, simulate
from shrinkcli.lmm.shrinkage import NO_POOLING_SCALE, pooling_path
from shrinkcli.model import ModelSpec
from shrinkcli.pictures.animate import frame_progress, render_animation
from shrinkcli.pictures.figure import ShrinkageFigure, captions, scale_label
from shrinkcli.pictures.scene import COMPLETE_POOLING_SCALE, build_scene
from shrinkcli.scenario import AnimationOptions


@cache
def _fit(scenario: str, random: str = "intercept-slope") -> Fit:
    data = pd.read_csv(REFERENCE / scenario / "data.csv")
    return fit(data, ModelSpec(random))


def _columns(result: Fit, a: str, b: str) -> np.ndarray:
    return result.clusters[[a, b]].to_numpy(dtype=float)


@pytest.mark.parametrize("random", ["intercept-slope", "uncorrelated"])
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_first_frame_is_the_by_cluster_fits_and_last_the_mixed_fit(
    scenario: str, random: str
) -> None:
    result = _fit(scenario, random)
    scene = build_scene(result, AnimationOptions(path="pooling"))
    progress = frame_progress(120, "pooling")
    ols = _columns(result, "ols_intercept", "ols_slope")[scene.rows]
    has = np.isfinite(ols).all(axis=1)
    first = scene.positions(float(progress[0]))
    assert np.abs(first[has] - ols[has]).max() < 1e-4
    assert scene.track is not None and scene.track.path.reaches_own_lines
    assert scene.track.path.start >= NO_POOLING_SCALE
    last = scene.positions(float(progress[-1]))
    mixed = _columns(result, "mixed_intercept", "mixed_slope")[scene.rows]
    assert np.abs(last - mixed).max() < 1e-8


def test_every_frame_is_the_exact_solution_at_its_scale() -> None:
    """An independent computation: at a frame's s, solve the penalized least squares for β and
    the uᵢ with dense matrices (one joint system) and compare the cluster coefficients."""
    result = _fit("unbalanced")
    data = pd.read_csv(REFERENCE / "unbalanced" / "data.csv").sort_values("cluster", kind="stable")
    scene = build_scene(result, AnimationOptions(path="pooling"))
    lam = result.spec.lambda_matrix(result.model.theta)
    ids = sorted(data["cluster"].unique())
    k = len(ids)
    x = data["x"].to_numpy()
    code = np.searchsorted(ids, data["cluster"].to_numpy())
    big_x = np.column_stack([np.ones_like(x), x])
    progress = frame_progress(120, "pooling")
    for t in progress[[30, 45, 60, 70]]:
        s = scene.scale(float(t))
        z = np.zeros((len(x), 2 * k))
        zl = big_x @ (s * lam)
        z[np.arange(len(x)), 2 * code] = zl[:, 0]
        z[np.arange(len(x)), 2 * code + 1] = zl[:, 1]
        a = np.column_stack([big_x, z])
        penalty = np.diag([0.0, 0.0] + [1.0] * (2 * k))
        coef = np.linalg.solve(a.T @ a + penalty, a.T @ data["y"].to_numpy())
        beta, u = coef[:2], coef[2:].reshape(k, 2)
        want = beta[None, :] + u @ (s * lam).T
        np.testing.assert_allclose(scene.positions(float(t)), want, rtol=1e-8, atol=1e-8)


def test_the_scale_falls_from_no_pooling_to_the_fit() -> None:
    scene = build_scene(_fit("baseline"), AnimationOptions(path="pooling"))
    scales = [scene.scale(float(t)) for t in frame_progress(120, "pooling")]
    assert scales[0] == scene.track.path.start and scales[-1] == 1.0  # type: ignore[union-attr]
    assert all(b <= a for a, b in zip(scales, scales[1:], strict=False))
    moving = [s for s in scales if 1.0 < s < scales[0]]
    assert len(moving) > 40
    # an even pace: no frame of the motion moves the points by more than a tenth of the way
    pos = np.stack([scene.positions(float(t)) for t in frame_progress(120, "pooling")])
    step = np.abs(np.diff(pos, axis=0)).sum(axis=(1, 2))
    assert step.max() < 0.1 * step.sum()


def test_paths_curve_and_some_clusters_move_away_from_the_mean_in_one_coordinate() -> None:
    result = _fit("baseline")
    scene = build_scene(result, AnimationOptions(path="pooling"))
    track = scene.track
    assert track is not None
    start, end = track.points[0], track.points[-1]
    chord = end - start
    length = np.hypot(*chord.T)
    rel = track.points - start
    # distance of every path point from its straight chord
    off = np.abs(rel[:, :, 0] * chord[:, 1] - rel[:, :, 1] * chord[:, 0]) / np.maximum(
        length, 1e-12
    )
    assert (off.max(axis=0) > 0.05 * length).sum() >= 10  # at least ten paths bend visibly
    beta = result.model.beta
    dist = np.abs(track.points - beta)  # per coordinate, from the population value
    away = (dist.max(axis=0) > np.maximum(dist[0], dist[-1]) + 1e-3).any(axis=1)
    assert away.sum() >= 1


def test_trails_follow_the_grid_and_end_where_the_point_is() -> None:
    scene = build_scene(_fit("baseline"), AnimationOptions(path="pooling"))
    track = scene.track
    assert track is not None
    t = 0.4
    k = track.passed(t)
    lines = scene.trails(t).reshape(len(scene.rows), k + 2, 2)
    np.testing.assert_array_equal(lines[:, :k], track.points[:k].transpose(1, 0, 2))
    np.testing.assert_array_equal(lines[:, k], scene.positions(t))
    assert np.isnan(lines[:, k + 1]).all()
    np.testing.assert_array_equal(scene.tails(t), track.points[max(k - 3, 0)])


def test_complete_pooling_ends_on_the_pooled_regression_line() -> None:
    result = _fit("baseline")
    data = pd.read_csv(REFERENCE / "baseline" / "data.csv")
    scene = build_scene(result, AnimationOptions(path="pooling-complete"))
    slope, intercept = np.polyfit(data["x"], data["y"], 1)
    end = scene.positions(1.0)
    assert scene.scale(1.0) == pytest.approx(COMPLETE_POOLING_SCALE)
    np.testing.assert_allclose(end, np.tile([intercept, slope], (len(end), 1)), atol=1e-4)
    mixed = _columns(result, "mixed_intercept", "mixed_slope")
    assert scene.scale(0.5) == 1.0
    assert np.abs(scene.positions(0.5) - mixed).max() < 1e-8
    progress = frame_progress(120, "pooling-complete")
    assert progress[0] == 0 and progress[-1] == 1 and (progress == 0.5).sum() >= 10
    assert np.all(np.diff(progress) >= 0)
    assert scene.color_progress(0.75) == 1.0 and scene.color_progress(0.25) == 0.5


def test_a_cluster_without_its_own_line_starts_at_no_pooling_and_is_said() -> None:
    data = pd.read_csv(REFERENCE / "unbalanced" / "data.csv")
    data = pd.concat([data, pd.DataFrame({"y": [1.2], "x": [0.4], "cluster": [500]})])
    result = fit(data)
    straight = build_scene(result, AnimationOptions())
    assert straight.n_left_out == 1 and 100 not in straight.rows
    scene = build_scene(result, AnimationOptions(path="pooling"))
    assert scene.n_left_out == 0 and scene.n_from_limit == 1 and 100 in scene.rows
    lone = list(scene.rows).index(100)
    path = scene.track.path  # type: ignore[union-attr]
    np.testing.assert_array_equal(scene.ols[lone], path.at(path.start)[100])
    assert math.isfinite(scene.ols[lone, 1])
    assert "1 cluster without a line of its own starts where no pooling puts it" in captions(scene)


@pytest.mark.parametrize(
    ("data", "random", "why"),
    [
        ("baseline", "intercept", "the slope is not random"),
        ("singular-slope", "intercept-slope", "the fit is singular"),
    ],
)
def test_a_model_that_cannot_reach_the_own_lines_says_so(data: str, random: str, why: str) -> None:
    path = (
        REFERENCE / data / "data.csv"
        if data == "baseline"
        else REFERENCE.parent / "uncertainty" / f"{data}.csv"
    )
    result = fit(pd.read_csv(path), ModelSpec(random))
    scene = build_scene(result, AnimationOptions(path="pooling"))
    assert scene.track is not None and not scene.track.path.reaches_own_lines
    assert any(
        n.startswith(why + ": the path starts at the model's no-pooling limit")
        for n in captions(scene)
    )
    mixed = _columns(result, "mixed_intercept", "mixed_slope")
    assert np.abs(scene.positions(1.0) - mixed).max() < 1e-8


def test_the_path_needs_the_fits_sums() -> None:
    from dataclasses import replace

    result = replace(_fit("baseline"), stats=None)
    with pytest.raises(ValueError, match="needs a fit"):
        build_scene(result, AnimationOptions(path="pooling"))


def test_pooling_path_directly() -> None:
    result = _fit("few-observations")
    path = pooling_path(result.stats, result.spec, result.model.theta)  # type: ignore[arg-type]
    assert path.start > NO_POOLING_SCALE  # three points per cluster need a larger s
    own = _columns(result, "ols_intercept", "ols_slope")
    assert np.abs(path.at(path.start) - own).max() < 1e-6


def test_scale_labels() -> None:
    assert scale_label(1.0) == "random-effect SDs × 1"
    assert scale_label(2.5138) == "random-effect SDs × 2.51"
    assert scale_label(100000.0) == "random-effect SDs × 100,000"
    assert scale_label(1e-4) == "random-effect SDs × 0.0001"


def test_pooling_animation_renders_and_its_picture_draws_curves() -> None:
    sim = simulate(load_scenario(str(SCENARIO_DIR / "baseline.yaml")))
    result = fit(sim.data)
    options = AnimationOptions(frames=12, path="pooling")
    gif, png = render_animation(result, options, title="t", subtitle="s", jobs=1)
    assert gif.startswith(b"GIF89a") and png.startswith(b"\x89PNG")
    straight, _ = render_animation(
        result, AnimationOptions(frames=12), title="t", subtitle="s", jobs=1
    )
    assert gif != straight
    figure = ShrinkageFigure.from_fit(result, options, title="t", subtitle="s")
    trail = figure.scene.trails(1.0)
    assert len(trail) > 100 * 200  # a polyline of many points per cluster, not one segment
    assert figure.scale_text.get_visible()
    figure.rgba(0.5)
    assert figure.scale_text.get_text().startswith("random-effect SDs × ")


@pytest.mark.parametrize("k", [201, 3000])
def test_a_crowded_pooling_picture_draws_its_arrowheads_on_the_paths_it_draws(k: int) -> None:
    """Above CROWD clusters a sample of the paths is drawn: the trails, the tails the arrowheads
    point from and the rings are all of that one sample, in one order."""
    sim = simulate(
        load_scenario(str(SCENARIO_DIR / "baseline.yaml")).model_copy(
            update={"n_cluster": k, "obs_per_cluster": 3}
        )
    )
    result = fit(sim.data)
    options = AnimationOptions(frames=4, path="pooling")
    figure = ShrinkageFigure.from_fit(result, options, title="t", subtitle="s")
    scene = figure.scene
    assert scene.crowded and scene.n_paths < len(scene.rows)
    for t in (0.3, 1.0):
        k_passed = scene.track.passed(t)  # type: ignore[union-attr]
        np.testing.assert_array_equal(
            scene.tails(t), scene.track.points[max(k_passed - 3, 0)][scene.path_mask]
        )  # type: ignore[union-attr]
        figure.rgba(t)
    assert len(figure.heads.get_path().vertices) > 0
    gif, png = render_animation(result, options, title="t", subtitle="s", jobs=1)
    assert gif.startswith(b"GIF89a") and png.startswith(b"\x89PNG")
