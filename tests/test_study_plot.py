"""The study's pictures keep what a reader needs: tick labels inside the picture."""

from __future__ import annotations

import pytest
from conftest import SCENARIO_DIR

from shrinkcli.pictures.study import estimates_figure
from shrinkcli.scenario import load_scenario
from shrinkcli.studies import run_study


@pytest.mark.parametrize("names", [["baseline"], ["baseline", "unbalanced", "few-observations"]])
def test_every_histogram_keeps_its_x_tick_labels_inside_the_picture(names: list[str]) -> None:
    scenarios = [load_scenario(SCENARIO_DIR / f"{n}.yaml") for n in names]
    fig = estimates_figure(run_study(scenarios, 5, jobs=1))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    axes = fig.get_axes()
    assert len(axes) == 6 * len(names)
    for ax in axes:
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert len(labels) >= 2
        for t in labels:
            extent = t.get_window_extent(renderer)
            assert extent.y0 >= box.y0 and extent.y1 <= box.y1, t.get_text()


def test_each_scenario_in_rmse_png_spans_its_own_axis() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from shrinkcli.pictures.study import rmse_figure

    rmse = {"sleep": (9.0, 6.0), "baseline": (0.24, 0.15)}  # 40-fold apart
    summary = pd.DataFrame(
        [
            {"scenario": name, "quantity": q, "mean": v}
            for name, (ols, mix) in rmse.items()
            for q, v in (("cluster_rmse_ols", ols), ("cluster_rmse_mixed", mix))
        ]
    )
    study = SimpleNamespace(scenarios=[SimpleNamespace(name=n) for n in rmse], summary=summary)
    fig = rmse_figure(study)  # type: ignore[arg-type]
    for name, (ols, mix) in rmse.items():
        ax = next(
            a
            for a in fig.get_axes()
            if [t.get_text() for t in a.get_yticklabels()] == [name]
            or name in [t.get_text() for t in a.get_yticklabels()]
        )
        lo, hi = ax.get_xlim()
        drawn = sorted(
            float(x) for line in ax.get_lines() for x in line.get_xdata() if float(x) in (ols, mix)
        )
        assert drawn == sorted((ols, mix)), name
        assert (max(ols, mix) - lo) / (hi - lo) > 0.5, name
        assert (max(ols, mix) - min(ols, mix)) / (hi - lo) > 0.2, name
