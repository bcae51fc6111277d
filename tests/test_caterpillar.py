"""The caterpillar plot: what it shows (pure numpy), the picture, and `shrink plot caterpillar`."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, SCENARIO_DIR
from PIL import Image
from scipy.stats import t as student_t
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.inputs import simulated_input
from shrinkcli.lmm import Fit, fit
from shrinkcli.model import ModelSpec
from shrinkcli.pictures.caterpillar import (
    MAX_ROWS,
    captions,
    caterpillar_panels,
    caterpillar_png,
    ols_degrees_of_freedom,
)
from shrinkcli.scenario import load_scenario


def _scenario_fit(name: str, **changes: object) -> Fit:
    s = load_scenario(SCENARIO_DIR / f"{name}.yaml").model_copy(update=changes)
    inp = simulated_input(s)
    return fit(inp.data, s.model.spec, truth=inp.truth)


def test_panels_hold_every_cluster_sorted_with_its_intervals() -> None:
    result = _scenario_fit("baseline")
    intercept, slope = caterpillar_panels(result)
    c = result.clusters.set_index(result.clusters["cluster"].astype(str))
    for panel, coef in ((intercept, "intercept"), (slope, "slope")):
        assert len(panel.ids) == 100 and not panel.thinned
        assert np.all(np.diff(panel.mixed) >= 0)  # sorted bottom to top
        rows = c.loc[list(panel.ids)]
        np.testing.assert_array_equal(panel.mixed, rows[f"mixed_{coef}"])
        np.testing.assert_allclose(
            panel.mixed_hi - panel.mixed, 1.959963984540054 * rows[f"mixed_{coef}_se"], rtol=1e-12
        )
        q = student_t.ppf(0.975, 800)
        np.testing.assert_allclose(panel.ols - panel.ols_lo, q * rows[f"ols_{coef}_se"], rtol=1e-12)
        assert panel.truth is not None
        np.testing.assert_array_equal(panel.truth, rows[f"true_{coef}"])
        assert panel.population == pytest.approx(result.model.beta[0 if coef == "intercept" else 1])
        assert panel.xlim[0] <= panel.mixed_lo.min() and panel.xlim[1] >= panel.mixed_hi.max()
    assert ols_degrees_of_freedom(result) == 800


def test_a_thousand_clusters_are_thinned_evenly_with_the_extremes() -> None:
    result = _scenario_fit("baseline", n_cluster=1000)
    intercept, slope = caterpillar_panels(result)
    for panel, coef in ((intercept, "intercept"), (slope, "slope")):
        assert len(panel.ids) == MAX_ROWS and panel.thinned and panel.n_clusters == 1000
        every = result.clusters[f"mixed_{coef}"]
        assert panel.mixed[0] == every.min() and panel.mixed[-1] == every.max()
    notes = captions((intercept, slope), True)
    assert any(n.startswith("100 of 1,000 clusters shown") for n in notes)
    png = caterpillar_png(result, title="t")
    assert Image.open(io.BytesIO(png)).size[1] < 1500  # as tall as 100 rows, not 1,000


def test_ten_clusters_get_more_room_per_row() -> None:
    small = Image.open(
        io.BytesIO(caterpillar_png(_scenario_fit("baseline", n_cluster=10), title="t"))
    )
    large = Image.open(io.BytesIO(caterpillar_png(_scenario_fit("baseline"), title="t")))
    assert small.size[0] == large.size[0] == 920
    assert small.size[1] < 400 < large.size[1]
    pixels = np.asarray(small.convert("RGB"))
    orange = np.all(np.abs(pixels.astype(int) - [213, 94, 0]) < 30, axis=2)
    blue = np.all(np.abs(pixels.astype(int) - [0, 114, 178]) < 30, axis=2)
    assert orange.sum() > 500 and blue.sum() > 500


def test_captions_say_what_is_left_out() -> None:
    few = caterpillar_panels(_scenario_fit("few-observations"))
    notes = captions(few, True)
    assert notes[0] == "each panel sorted by the mixed estimate"
    assert any("run past the edge" in n for n in notes)  # 3-point slopes: wide t intervals
    assert not any("clusters shown" in n for n in notes)
    data = pd.read_csv(REFERENCE / "unbalanced" / "data.csv")
    data = pd.concat([data, pd.DataFrame({"y": [1.0], "x": [0.3], "cluster": [999]})])
    one_row = fit(data, ModelSpec("intercept"))
    panels = caterpillar_panels(one_row)
    notes = captions(panels, False)
    assert "1 cluster without a slope of its own: no by-cluster estimate" in notes
    assert notes[-1].startswith("the slope is not random")
    assert not panels[1].mixed_has_intervals and panels[0].mixed_has_intervals
    assert panels[0].truth is None  # a data file has no truth
    assert math.isnan(panels[0].ols[list(panels[0].ids).index("999")])


def test_truth_can_be_left_out() -> None:
    result = _scenario_fit("baseline", n_cluster=10)
    assert caterpillar_panels(result, truth=False)[0].truth is None
    with pytest.raises(ValueError):
        caterpillar_panels(result, max_rows=1)


def test_cli_plot_caterpillar(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    res = runner.invoke(
        app,
        [
            "plot",
            "caterpillar",
            str(SCENARIO_DIR / "baseline.yaml"),
            "-o",
            str(out),
            "--max-clusters",
            "40",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "" and f"wrote {out}" in res.stderr
    image = Image.open(out)
    assert image.format == "PNG" and image.size[0] == 920
    again = tmp_path / "d.png"
    runner.invoke(
        app,
        [
            "plot",
            "caterpillar",
            str(SCENARIO_DIR / "baseline.yaml"),
            "-o",
            str(again),
            "--max-clusters",
            "40",
            "-q",
        ],
    )
    assert again.read_bytes() == out.read_bytes()  # reproducible


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.gif"], "-o/--output: x.gif: the picture is a PNG; name it *.png"),
        (["--max-clusters", "1"], "--max-clusters: must be at least 2"),
        (["--level", "1.5"], "--level"),
        (["--random", "nope"], "--random"),
    ],
)
def test_cli_plot_caterpillar_errors(runner: CliRunner, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["plot", "caterpillar", str(SCENARIO_DIR / "baseline.yaml"), *args])
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
