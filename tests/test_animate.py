"""The shrinkage picture and animation: GIF structure, where the points are in the first and
last frames, determinism, the view, the clusters left out, the PNG."""

from __future__ import annotations

import io
import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, fit_from_lme4
from matplotlib.colors import to_rgb
from PIL import GifImagePlugin, Image

from shrinkcli.lmm import CLUSTER_COLUMNS, Fit
from shrinkcli.model import ModelSpec
from shrinkcli.pictures.animate import frame_delays, frame_progress, render_animation, render_gif
from shrinkcli.pictures.figure import ShrinkageFigure, pixel_positions, render_png
from shrinkcli.pictures.scene import build_scene
from shrinkcli.pictures.theme import BY_CLUSTER, MIXED
from shrinkcli.scenario import AnimationOptions
from shrinkcli.table import Table


@cache
def reference_fit(scenario: str) -> Fit:
    """A Fit holding lme4's REML numbers for one of the post's scenarios, with the truth."""
    d = json.loads((REFERENCE / scenario / "lme4.json").read_text())["reml"]
    truth = pd.read_csv(REFERENCE / scenario / "truth.csv", dtype={"cluster": str})
    rows = pd.DataFrame(d["clusters"]).astype({"cluster": str}).merge(truth, on="cluster")
    rows["shrinkage"] = np.nan
    rows = rows.reindex(columns=list(CLUSTER_COLUMNS))
    rows = rows.astype({c: float for c in CLUSTER_COLUMNS[2:]}).astype({"n": int})
    return fit_from_lme4(d, clusters=rows)


def with_clusters(fit: Fit, clusters: pd.DataFrame) -> Fit:
    from dataclasses import replace

    return replace(fit, table=Table.from_pandas(clusters))


def open_gif(gif: bytes) -> GifImagePlugin.GifImageFile:
    im = Image.open(io.BytesIO(gif))
    assert isinstance(im, GifImagePlugin.GifImageFile)
    return im


def frames_of(gif: bytes) -> list[np.ndarray]:
    im = open_gif(gif)
    out = []
    for i in range(im.n_frames):
        im.seek(i)
        out.append(np.asarray(im.convert("RGB")).astype(int))
    return out


def isolated_movers(
    fit: Fit, options: AnimationOptions, k: int = 3, move: float = 30
) -> list[tuple[int, float]]:
    """Rows of clusters that move far, are inside the view at both ends, are mostly opaque,
    and have no other point (start or end), nor the population average, near either end."""
    scene = build_scene(fit, options)
    start = pixel_positions(fit, options, 0.0)
    end = pixel_positions(fit, options, 1.0)
    fig = ShrinkageFigure.from_fit(fit, options, title="", subtitle="")
    hole = fig.pixels(scene.center[None, :])[0]
    x0, y0, x1, y1 = fig.plot_box()
    others = np.vstack([start, end])
    chosen = []
    for j, row in enumerate(scene.rows):
        a, b = start[row], end[row]
        if np.hypot(*(a - b)) < move or scene.alpha[j] < 0.7:
            continue
        ok = True
        for p in (a, b):
            if not (x0 + 8 < p[0] < x1 - 8 and y0 + 8 < p[1] < y1 - 8):
                ok = False
            d = np.hypot(*(others - p).T)
            d[[row, row + len(start)]] = np.inf
            if np.nanmin(d) < 10 or np.hypot(*(p - hole)) < 25:
                ok = False
        if ok:
            chosen.append((int(row), float(scene.alpha[j])))
    assert len(chosen) >= k, "the test needs a few isolated clusters"
    return chosen[:k]


def color_at(frame: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The median color of the 3×3 pixels around a point's center."""
    c, r = int(p[0]), int(p[1])
    return np.median(frame[r - 1 : r + 2, c - 1 : c + 2].reshape(-1, 3), axis=0)


def rgb255(color: str, alpha: float = 1.0) -> np.ndarray:
    """A color drawn with opacity alpha on white, in 0-255."""
    return (alpha * np.array(to_rgb(color)) + (1 - alpha)) * 255


@pytest.fixture(scope="module")
def baseline_gif() -> bytes:
    return render_gif(
        reference_fit("baseline"), AnimationOptions(), title="Baseline", subtitle="x", jobs=1
    )


def test_gif_has_the_requested_frames_size_timing_and_loop(baseline_gif: bytes) -> None:
    im = open_gif(baseline_gif)
    assert im.format == "GIF"
    assert im.size == (600, 450)
    assert im.n_frames == 120
    assert im.info["loop"] == 0
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info["duration"])
        assert im.size == (600, 450)
    assert durations == [100] * 120


def test_first_frame_shows_by_cluster_and_last_frame_mixed_estimates(baseline_gif: bytes) -> None:
    fit, options = reference_fit("baseline"), AnimationOptions()
    frames = frames_of(baseline_gif)
    first, last = frames[0], frames[-1]
    start, end = pixel_positions(fit, options, 0.0), pixel_positions(fit, options, 1.0)
    for row, alpha in isolated_movers(fit, options):
        by, mixed = rgb255(BY_CLUSTER, alpha), rgb255(MIXED, alpha)
        assert np.abs(color_at(first, start[row]) - by).max() < 25
        assert np.abs(color_at(first, end[row]) - mixed).max() > 60
        assert np.abs(color_at(last, end[row]) - mixed).max() < 25
        # at the start of the path only a hollow ring is left
        assert np.abs(color_at(last, start[row]) - by).max() > 60


def test_unbalanced_points_start_and_end_in_place() -> None:
    fit, options = reference_fit("unbalanced"), AnimationOptions(frames=6)
    frames = frames_of(render_gif(fit, options, title="U", subtitle="", jobs=1))
    start, end = pixel_positions(fit, options, 0.0), pixel_positions(fit, options, 1.0)
    for row, alpha in isolated_movers(fit, options, k=2, move=16):
        assert np.abs(color_at(frames[0], start[row]) - rgb255(BY_CLUSTER, alpha)).max() < 25
        assert np.abs(color_at(frames[-1], end[row]) - rgb255(MIXED, alpha)).max() < 25


def test_same_inputs_give_identical_bytes_for_any_jobs(baseline_gif: bytes) -> None:
    fit, options = reference_fit("baseline"), AnimationOptions()
    again = render_gif(fit, options, title="Baseline", subtitle="x", jobs=1)
    assert again == baseline_gif
    assert render_gif(fit, options, title="Baseline", subtitle="x", jobs=2) == baseline_gif
    png = render_png(fit, options, title="Baseline", subtitle="x")
    assert render_png(fit, options, title="Baseline", subtitle="x") == png


def test_jobs_do_not_change_a_short_unbalanced_gif() -> None:
    fit, options = reference_fit("unbalanced"), AnimationOptions(frames=7, fps=7)
    one = render_gif(fit, options, title="U", subtitle="s", jobs=1)
    assert render_gif(fit, options, title="U", subtitle="s", jobs=3) == one


def test_two_frames_are_the_two_ends() -> None:
    fit, options = reference_fit("baseline"), AnimationOptions(frames=2)
    gif = render_gif(fit, options, title="t", subtitle="", jobs=2)
    im = open_gif(gif)
    assert im.n_frames == 2
    first, last = frames_of(gif)
    start, end = pixel_positions(fit, options, 0.0), pixel_positions(fit, options, 1.0)
    row, alpha = isolated_movers(fit, options, k=1)[0]
    assert np.abs(color_at(first, start[row]) - rgb255(BY_CLUSTER, alpha)).max() < 25
    assert np.abs(color_at(last, end[row]) - rgb255(MIXED, alpha)).max() < 25


def test_frame_progress_holds_eases_and_holds() -> None:
    t = frame_progress(120)
    assert t[0] == 0 and t[-1] == 1
    assert np.all(np.diff(t) >= 0)
    assert (t == 0).sum() >= 20  # a hold on the by-cluster estimates
    assert (t == 1).sum() >= 40  # a longer hold on the mixed-model estimates
    moving = np.diff(t)[(t[:-1] > 0) & (t[1:] < 1)]
    assert moving.max() < 0.1  # smooth
    assert list(frame_progress(2)) == [0.0, 1.0]
    with pytest.raises(ValueError):
        frame_progress(1)


def test_frame_delays_add_up_to_the_duration() -> None:
    assert frame_delays(120, 10) == [10] * 120
    d = frame_delays(90, 30)
    assert sum(d) == 300 and set(d) <= {3, 4}


def test_odd_fps_timing_is_read_back() -> None:
    fit, options = reference_fit("baseline"), AnimationOptions(frames=3, fps=4)
    im = open_gif(render_gif(fit, options, title="t", subtitle="", jobs=1))
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info["duration"])
    assert durations == [250, 250, 250]


def test_a_cluster_without_a_slope_is_left_out_and_counted() -> None:
    fit = reference_fit("baseline")
    clusters = fit.clusters.copy()
    clusters.loc[4, ["ols_slope"]] = np.nan
    clusters.loc[4, ["n"]] = 1
    odd = with_clusters(fit, clusters)
    options = AnimationOptions(frames=3)
    scene = build_scene(odd, options)
    assert scene.n_left_out == 1
    assert len(scene.ols) == len(clusters) - 1
    assert 4 not in scene.rows
    positions = pixel_positions(odd, options, 0.5)
    assert np.isnan(positions[4]).all()
    assert np.isfinite(np.delete(positions, 4, axis=0)).all()
    assert "without a by-cluster slope" in " ".join(
        ShrinkageFigure.from_fit(odd, options, title="", subtitle="").notes
    )
    gif = render_gif(odd, options, title="t", subtitle="", jobs=1)
    assert open_gif(gif).n_frames == 3


def test_baseline_zoom_counts_the_clusters_outside_the_view() -> None:
    fit = reference_fit("more-subject-variance")
    scene = build_scene(fit, AnimationOptions(zoom="baseline"))
    b = fit.model.beta
    assert scene.xlim == pytest.approx((b[0] - 1.5, b[0] + 1.5))
    assert scene.ylim == pytest.approx((b[1] - 0.75, b[1] + 0.75))
    pts = [
        fit.clusters[["ols_intercept", "ols_slope"]].to_numpy(),
        fit.clusters[["mixed_intercept", "mixed_slope"]].to_numpy(),
    ]
    outside = np.zeros(len(fit.clusters), dtype=bool)
    for p in pts:
        outside |= (np.abs(p[:, 0] - b[0]) > 1.5) | (np.abs(p[:, 1] - b[1]) > 0.75)
    assert scene.n_outside == outside.sum() > 0
    fig = ShrinkageFigure.from_fit(fit, AnimationOptions(zoom="baseline"), title="", subtitle="")
    assert f"{outside.sum()} clusters outside the view" in fig.notes


@pytest.mark.parametrize("scenario", ["more-subject-variance", "unbalanced", "few-observations"])
def test_data_zoom_contains_every_point(scenario: str) -> None:
    fit = reference_fit(scenario)
    options = AnimationOptions(zoom="data", truth=True)
    assert build_scene(fit, options).n_outside == 0
    x0, y0, x1, y1 = ShrinkageFigure.from_fit(fit, options, title="", subtitle="").plot_box()
    for t in (0.0, 0.5, 1.0):
        p = pixel_positions(fit, options, t)
        assert np.all((p[:, 0] > x0 + 3) & (p[:, 0] < x1 - 3))
        assert np.all((p[:, 1] > y0 + 3) & (p[:, 1] < y1 - 3))


def test_png_decodes_with_the_requested_size() -> None:
    fit = reference_fit("unbalanced")
    for w, h in ((600, 450), (800, 500), (300, 300)):
        png = render_png(fit, AnimationOptions(width=w, height=h), title="U", subtitle="s")
        im = Image.open(io.BytesIO(png))
        assert im.format == "PNG" and im.size == (w, h)


def test_gif_and_png_come_from_one_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    import shrinkcli.pictures.figure as plot

    fit, options = reference_fit("unbalanced"), AnimationOptions(frames=4)
    gif = render_gif(fit, options, title="U", subtitle="s", jobs=1)
    png = render_png(fit, options, title="U", subtitle="s")
    laid_out = []
    init = plot.ShrinkageFigure.__init__

    def counted(self: plot.ShrinkageFigure, *args: object, **kwargs: object) -> None:
        laid_out.append(1)
        init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plot.ShrinkageFigure, "__init__", counted)
    for jobs in (1, 2):
        laid_out.clear()
        assert render_animation(fit, options, title="U", subtitle="s", jobs=jobs) == (gif, png)
        assert len(laid_out) == 1
    assert render_animation(fit, options, title="U", subtitle="s", jobs=1, png=False) == (
        gif,
        None,
    )


def test_png_is_the_last_frame_with_the_paths() -> None:
    fit, options = reference_fit("baseline"), AnimationOptions(frames=2)
    png = np.asarray(
        Image.open(io.BytesIO(render_png(fit, options, title="t", subtitle=""))).convert("RGB")
    ).astype(int)
    last = frames_of(render_gif(fit, options, title="t", subtitle="", jobs=1))[-1]
    assert np.abs(png - last).mean() < 2  # the GIF's palette is close to the PNG's colors


def test_other_sizes_and_overlays_render() -> None:
    fit = reference_fit("unbalanced")
    options = AnimationOptions(frames=4, width=900, height=500, truth=True, ellipses=False)
    im = open_gif(render_gif(fit, options, title="t", subtitle="s", jobs=1))
    assert im.size == (900, 500) and im.n_frames == 4


def test_a_model_without_random_slope_renders() -> None:
    from dataclasses import replace

    fit = reference_fit("baseline")
    clusters = fit.clusters.copy()
    clusters["mixed_slope"] = fit.model.beta[1]
    model = replace(fit.model, spec=ModelSpec("intercept"), theta=(0.54,))
    flat = replace(fit, model=model, table=Table.from_pandas(clusters))
    gif = render_gif(flat, AnimationOptions(frames=3), title="t", subtitle="", jobs=1)
    assert open_gif(gif).n_frames == 3


def test_spawned_workers_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    import shrinkcli.parallel as parallel

    fit, options = reference_fit("unbalanced"), AnimationOptions(frames=4)
    one = render_gif(fit, options, title="U", subtitle="s", jobs=1)
    monkeypatch.setattr(parallel, "mp_context", lambda: multiprocessing.get_context("spawn"))
    assert render_gif(fit, options, title="U", subtitle="s", jobs=2) == one


def test_a_pool_worker_renders_in_process() -> None:
    import multiprocessing

    fit, options = reference_fit("unbalanced"), AnimationOptions(frames=3)
    one = render_gif(fit, options, title="U", subtitle="s", jobs=1)
    with multiprocessing.Pool(1) as pool:  # daemonic workers may not start processes
        kwargs = {"title": "U", "subtitle": "s", "jobs": 2}
        gif = pool.apply(render_gif, (fit, options), kwargs)
    assert gif == one


def test_a_crowded_picture_keeps_the_ellipses_and_the_mixed_points_in_sight(tmp_path) -> None:
    """At 20,000 clusters the final frame still shows the 50% contour in the ellipse colour and
    the mixed points in the mixed colour: the crowd's points neither paint white edges over
    everything nor cover the contours, which are drawn over them."""
    from shrinkcli import fit, load_scenario, simulate
    from shrinkcli.pictures.scene import ELLIPSE_LEVELS
    from shrinkcli.pictures.theme import ELLIPSE

    path = tmp_path / "crowd.yaml"
    path.write_text("name: crowd\nn_cluster: 20000\n")
    sim = simulate(load_scenario(str(path)))
    result = fit(sim.data, truth=sim.truth)
    options = AnimationOptions(ellipses=True)
    figure = ShrinkageFigure.from_fit(result, options, title="", subtitle="")
    scene = figure.scene
    assert scene.crowded and ELLIPSE_LEVELS[0] == 0.5
    image = figure.rgba(1.0)[:, :, :3].astype(float) / 255.0
    # the pixels on the 50% contour: most of them close to the ellipse colour
    ring = np.round(figure.pixels(scene.ellipses[0])).astype(int)
    on_ring = image[ring[:, 1], ring[:, 0]]
    near = np.abs(on_ring - np.asarray(to_rgb(ELLIPSE))).max(axis=1) < 0.2
    assert near.mean() > 0.5
    # inside the 50% contour the crowd of mixed points is seen in the mixed colour's hue:
    # blue clearly above red (white edges would leave it near white or grey)
    inner = np.round(figure.pixels(scene.center + 0.5 * (scene.ellipses[0] - scene.center)))
    inner = inner.astype(int)
    seen = image[inner[:, 1], inner[:, 0]]
    mixed = np.asarray(to_rgb(MIXED))
    assert mixed[2] - mixed[0] > 0.5
    assert np.median(seen[:, 2] - seen[:, 0]) > 0.25
