"""What a data scenario's page measures without a truth (ICC, sizes, the extremes), checked
against an independent computation from lme4's numbers, and every branch of the sentences that
read those numbers, each triggered by numbers made for it."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shrinkcli.io import read_table
from shrinkcli.lmm import fit, prepare_data
from shrinkcli.model import ModelSpec
from shrinkcli.report.real import (
    DataMetrics,
    data_reading,
    extreme_rows,
    extremes_reading,
    icc_at,
    icc_reading,
    measure_data,
    size_reading,
)

REAL = Path(__file__).resolve().parent / "data" / "real"


def metrics(**changes: object) -> DataMetrics:
    base = DataMetrics(
        y="Reaction",
        x="Days",
        cluster="Subject",
        n_obs=180,
        n_groups=18,
        size_min=10,
        size_median=10.0,
        size_max=10,
        single=0,
        no_slope=0,
        x_mean=4.5,
        x_min=0.0,
        x_max=9.0,
        icc=0.3,
        icc_at_min=0.3,
        icc_at_max=0.35,
        slopes=True,
        rho=math.nan,
        mean_shrinkage=0.2,
        most={"cluster": "335", "n": 10, "shrinkage": 0.5},
        least={"cluster": "308", "n": 10, "shrinkage": 0.05},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sleep_metrics(name: str = "sleepstudy", spec: ModelSpec | None = None) -> DataMetrics:
    data = read_table(str(REAL / f"{name}.csv"), id_columns=["Subject"])
    spec = spec or ModelSpec()
    result = fit(data, spec, y="Reaction", x="Days", cluster="Subject")
    prep = prepare_data(data, y="Reaction", x="Days", cluster="Subject", spec=spec)
    return measure_data(result, prep)


def test_icc_of_sleepstudy_from_lme4s_variance_components() -> None:
    ref = json.loads((REAL / "sleepstudy-lme4.json").read_text())["reml_tight"]
    v = ref["random_effects"]
    cov01 = v["corr"] * math.sqrt(v["intercept_var"] * v["slope_var"])
    s2 = ref["residual"]["variance"]

    def icc(x: float) -> float:
        between = v["intercept_var"] + 2 * x * cov01 + x * x * v["slope_var"]
        return between / (between + s2)

    d = sleep_metrics()
    assert (d.x_mean, d.x_min, d.x_max) == (4.5, 0.0, 9.0)
    assert d.icc == pytest.approx(icc(4.5), rel=1e-6)
    assert d.icc_at_min == pytest.approx(icc(0.0), rel=1e-6)
    assert d.icc_at_max == pytest.approx(icc(9.0), rel=1e-6)
    assert (d.size_min, d.size_max, d.single, d.no_slope) == (10, 10, 0, 0)
    assert math.isnan(d.rho)  # equal sizes: no correlation to speak of


def test_random_intercept_icc_is_constant_along_x() -> None:
    d = sleep_metrics(spec=ModelSpec(random="intercept"))
    assert not d.slopes
    assert d.icc == d.icc_at_min == d.icc_at_max
    assert icc_at(np.array([[4.0, 0.0], [0.0, 0.0]]), 1.0, 123.0) == pytest.approx(0.8)


def test_drop_outs_measure_sizes_single_rows_and_a_size_relationship() -> None:
    d = sleep_metrics("sleepstudy_dropout")
    assert (d.size_min, d.size_max, d.single, d.no_slope) == (1, 10, 3, 3)
    assert d.rho < -0.3  # smaller clusters were shrunk more
    assert d.most["cluster"] == "351" and d.most["n"] == 2  # an integer id, not 351.0
    sentences = data_reading(d)
    assert any("Smaller clusters were shrunk more" in s for s in sentences)
    assert any(s.startswith("3 clusters have a single row") for s in sentences)
    assert any(s.startswith("Subject 351 (2 rows) was pulled furthest") for s in sentences)


def test_both_pages_sentences_on_size_read_one_correlation() -> None:
    """The page's reading (`metrics.reading`) and the data section's (`size_reading`) take
    the same rank correlation of size and shrinkage, so they cannot disagree."""
    from shrinkcli.report.metrics import measure, reading

    for name in ("sleepstudy_dropout", "sleepstudy"):
        data = read_table(str(REAL / f"{name}.csv"), id_columns=["Subject"])
        result = fit(data, y="Reaction", x="Days", cluster="Subject")
        prep = prepare_data(data, y="Reaction", x="Days", cluster="Subject", spec=ModelSpec())
        d = measure_data(result, prep)
        m = measure(result, prep.x)
        assert m.size_rho == pytest.approx(d.rho, nan_ok=True)
        said_smaller = any("observations on average" in s for s in reading(m, d.n_groups))
        assert said_smaller == any(
            "Smaller clusters were shrunk more" in s for s in size_reading(d)
        )


def test_the_extremes_are_the_most_and_least_shrunk() -> None:
    data = read_table(str(REAL / "chickweight.csv"), id_columns=["Chick"])
    result = fit(data, y="weight", x="Time", cluster="Chick")
    most, least = extreme_rows(result)
    s = result.clusters["shrinkage"].to_numpy()
    assert len(most) == len(least) == 4 and not set(most) & set(least)
    assert s[most[0]] == np.nanmax(s) and s[least[0]] == np.nanmin(s)
    assert list(s[most]) == sorted(s[most], reverse=True) and list(s[least]) == sorted(s[least])


# -- every branch of the sentences -------------------------------------------------------------


def test_icc_bands() -> None:
    low = icc_reading(metrics(icc=0.05, icc_at_min=0.05, icc_at_max=0.06))
    assert low[0].startswith("The intraclass correlation at Days = 4.5 (its mean) is 0.05: ")
    assert "5% lies between clusters (Subject) and 95% within" in low[0]
    assert any("Clusters differ little" in s for s in low)
    high = icc_reading(metrics(icc=0.7, icc_at_min=0.68, icc_at_max=0.7))
    assert any("Clusters differ more than the observations" in s for s in high)
    middle = icc_reading(metrics(icc=0.3))
    assert any("a real compromise" in s for s in middle)
    for sentences in (low, high, middle):
        assert not any("changes along" in s for s in sentences)


def test_icc_changing_along_x_is_said() -> None:
    out = icc_reading(metrics(icc=0.5, icc_at_min=0.46, icc_at_max=0.86))
    assert (
        "Because the slopes differ between clusters, this share changes along Days: 0.46 "
        "at Days = 0 and 0.86 at Days = 9."
    ) in out


def test_icc_of_a_random_intercept_model_has_no_place_on_x() -> None:
    out = icc_reading(metrics(slopes=False, icc=0.4, icc_at_min=0.4, icc_at_max=0.4))
    assert out[0].startswith("The intraclass correlation is 0.40:")
    assert "at Days" not in " ".join(out)


def test_the_median_cluster_weight_follows_the_formula() -> None:
    d = metrics(icc=0.2, size_median=10.0)
    w = 10 * 0.2 / (1 + 9 * 0.2)  # 0.714...
    assert d.median_weight == pytest.approx(w)
    assert any(
        f"keeps {round(100 * w)}% of its own mean" in s
        and f"borrows {100 - round(100 * w)}% from the population" in s
        for s in icc_reading(d)
    )
    assert icc_reading(metrics(icc=math.nan)) == []


def test_size_branches() -> None:
    equal = size_reading(metrics())
    assert equal[0].startswith("Every cluster has 10 rows, so size explains none")
    smaller = size_reading(metrics(size_min=2, size_max=12, rho=-0.6))
    assert smaller[0].startswith(
        "Smaller clusters were shrunk more (Spearman correlation of size and shrinkage −0.60)"
    )
    larger = size_reading(metrics(size_min=2, size_max=12, rho=0.45))
    assert larger[0].startswith("Here larger clusters were shrunk more")
    assert "+0.45" in larger[0]
    none = size_reading(metrics(size_min=2, size_max=12, rho=0.1))
    assert none[0].startswith("Cluster size has little to do with shrinkage here")
    assert size_reading(metrics(size_min=2, size_max=12, rho=math.nan)) == []


def test_clusters_without_a_line_are_counted() -> None:
    one = size_reading(metrics(size_min=1, size_max=12, rho=0.1, single=1, no_slope=1))
    assert one[-1] == (
        "1 cluster has a single row: with no line of its own it has no shrinkage "
        "to show here, yet the mixed model gives it a line, borrowed mostly from "
        "the population."
    )
    both = size_reading(metrics(size_min=1, size_max=12, rho=0.1, single=2, no_slope=3))
    assert both[-1].startswith("2 clusters have a single row and 1 has a single value of Days")
    flat = size_reading(metrics(size_min=2, size_max=12, rho=0.1, single=0, no_slope=2))
    assert flat[-1].startswith("2 clusters have a single value of Days")


def test_extremes_branches() -> None:
    out = extremes_reading(metrics())
    assert out == [
        "Subject 335 (10 rows) was pulled furthest toward the population line: shrinkage 0.50.",
        "Subject 308 (10 rows) kept most of its own line: shrinkage 0.05.",
    ]
    away = extremes_reading(metrics(least={"cluster": "x-1", "n": 4, "shrinkage": -0.04}))
    assert away[1].startswith(
        "Subject x-1 (4 rows) ended a little further from the population "
        "line than its own line (shrinkage −0.04)"
    )
    assert extremes_reading(metrics(most={"cluster": "", "n": 0, "shrinkage": math.nan})) == []
    same = {"cluster": "7", "n": 3, "shrinkage": 0.2}
    assert extremes_reading(metrics(most=same, least=same)) == []
