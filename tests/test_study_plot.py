"""The study's pictures keep what a reader needs: tick labels inside the picture."""

from __future__ import annotations

import pytest
from conftest import SCENARIO_DIR

from shrinkcli.scenario import load_scenario
from shrinkcli.study import run_study
from shrinkcli.study_plot import estimates_figure


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
