"""Pictures of single clusters: shrinkage against size, and clusters drawn with their rows, own
line, mixed line and population line; every cluster has a panel, a single row included."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from shrinkcli.io import read_table
from shrinkcli.lmm import fit, prepare_data
from shrinkcli.pictures.clusters import DPI, Panel, clusters_png, shrinkage_png, spread_ties
from shrinkcli.pictures.theme import BY_CLUSTER, MIXED
from shrinkcli.report.real import EVERY, panels, pictures

REAL = Path(__file__).resolve().parent / "data" / "real"


def image(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def has_color(pixels: np.ndarray, color: str, alpha: float = 1.0, tol: int = 30) -> bool:
    """Whether some pixel is `color` drawn with opacity `alpha` on white."""
    want = (alpha * np.array(to_rgb(color)) + (1 - alpha)) * 255
    return bool((np.abs(pixels - want).max(axis=2) < tol).any())


def dropout() -> tuple[object, object]:
    data = read_table(str(REAL / "sleepstudy_dropout.csv"), id_columns=["Subject"])
    result = fit(data, y="Reaction", x="Days", cluster="Subject")
    return result, prepare_data(data, y="Reaction", x="Days", cluster="Subject")


def test_ties_spread_sideways_and_deterministically() -> None:
    pos = np.array([10.0, 10.0, 10.0, 4.0])
    by = np.array([0.3, 0.1, 0.2, 0.5])
    out = spread_ties(pos, by, 0.2)
    assert out[3] == 4.0  # alone: stays
    assert sorted(out[:3]) == [9.9, 10.0, 10.1]
    assert out[1] == 10.0 and out[2] == 9.9 and out[0] == 10.1  # in the order of `by`
    assert np.array_equal(spread_ties(pos, by, 0.2), out)


def test_shrinkage_picture() -> None:
    n = np.array([2, 3, 10, 10, 10, 7])
    s = np.array([0.9, 0.7, 0.05, 0.1, 0.3, 0.2])
    png = shrinkage_png(n, s, labels=["A", "B"], marked=[0, 2], width=640, height=380)
    assert Image.open(io.BytesIO(png)).size == (640, 380)
    assert has_color(image(png), MIXED, alpha=0.75)  # the points
    assert shrinkage_png(n, s, labels=["A", "B"], marked=[0, 2]) == png
    wide = shrinkage_png(np.array([1, 5, 40, 300]), np.array([0.9, 0.5, 0.2, 0.05]))
    assert Image.open(io.BytesIO(wide)).size == (640, 380)  # a log axis over a wide range


def test_panels_show_each_cluster_with_its_rows_and_lines() -> None:
    result, prep = dropout()
    every = panels(result, prep, list(range(len(result.clusters))), "Subject")  # type: ignore[arg-type]
    assert len(every) == 18
    single = [p for p in every if p.x.shape[0] == 1]
    assert len(single) == 3 and all(p.ols is None for p in single)
    assert all("no own line" in p.title for p in single)
    assert sum(p.x.shape[0] for p in every) == 117
    first = every[0]
    assert first.title.startswith("Subject 308\nn = 10 · shrinkage ")


def test_cluster_picture_draws_own_mixed_and_population_lines() -> None:
    x = np.arange(5.0)
    p = Panel("c", x, 1 + 2 * x, ols=(1.0, 2.0), mixed=(1.5, 1.5))
    png = clusters_png(
        [p, Panel("d", x[:1], x[:1], None, (0.0, 1.0))],
        (0.0, 1.0),
        x_name="x",
        y_name="y",
        columns=2,
        title="Two clusters",
    )
    pixels = image(png)
    assert has_color(pixels, BY_CLUSTER) and has_color(pixels, MIXED)
    im = Image.open(io.BytesIO(png))
    assert im.size[0] > 2 * 200 and round(im.info["dpi"][0]) == DPI


def test_data_pictures_and_every_cluster_up_to_a_limit() -> None:
    result, prep = dropout()
    files = pictures(result, prep)  # type: ignore[arg-type]
    assert set(files) == {"shrinkage.png", "clusters.png", "every-cluster.png"}
    assert len(result.clusters) <= EVERY  # type: ignore[attr-defined]
    data = read_table(str(REAL / "chickweight.csv"), id_columns=["Chick"])
    chicks = fit(data, y="weight", x="Time", cluster="Chick")
    prep2 = prepare_data(data, y="weight", x="Time", cluster="Chick")
    assert len(chicks.clusters) == 50 and "every-cluster.png" in pictures(chicks, prep2)


def test_every_cluster_picture_lists_numeric_text_ids_by_value(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    import shrinkcli.pictures.clusters as cluster_plot

    rng = np.random.default_rng(3)
    ids = [str(i) for i in range(1, 13)]
    rows = [(str(c), float(x)) for c in ids for x in range(5)]
    frame = pd.DataFrame(
        {
            "cluster": [c for c, _ in rows],
            "x": [x for _, x in rows],
            "y": [0.5 * x + int(c) * 0.1 + rng.normal() for c, x in rows],
        }
    )
    result = fit(frame, y="y", x="x", cluster="cluster")
    prep = prepare_data(frame, y="y", x="x", cluster="cluster")
    assert result.clusters["cluster"].tolist() == sorted(ids)  # lme4's order stays in the fit
    drawn: list[list[str]] = []

    def record(panels, *args, **kwargs):  # type: ignore[no-untyped-def]
        drawn.append([p.title.split("\n")[0].split(" ")[-1] for p in panels])
        return b""

    monkeypatch.setattr(cluster_plot, "clusters_png", record)
    pictures(result, prep)  # type: ignore[arg-type]
    assert drawn[-1] == ids
