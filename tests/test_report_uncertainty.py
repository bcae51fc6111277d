"""The report's uncertainty part: per scenario the profile intervals, the caterpillar plot, the
pooling path's picture and the sentences that read them (each branch), and the study section's
cluster coverage."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, SCENARIO_DIR

from shrinkcli.errors import FitError
from shrinkcli.lmm import Fit, fit, profile_intervals
from shrinkcli.pictures.scene import build_scene
from shrinkcli.report import StudyOptions, build_report, load_scenarios
from shrinkcli.report.uncertainty import (
    ClusterWidth,
    Uncertainty,
    measure_uncertainty,
    uncertainty_reading,
)
from shrinkcli.scenario import AnimationOptions, load_scenario


@cache
def _scenario_fit(name: str) -> tuple[Fit, Any]:
    from shrinkcli.inputs import simulated_input

    s = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    inp = simulated_input(s)
    return fit(inp.data, s.model.spec, truth=inp.truth), s


@cache
def _measured(name: str) -> Uncertainty:
    result, s = _scenario_fit(name)
    cis = profile_intervals(result.stats, result.model)  # type: ignore[arg-type]
    scene = build_scene(result, AnimationOptions(path="pooling"))
    return measure_uncertainty(result, cis, s, scene)


def test_measures_follow_the_cluster_table() -> None:
    result, _ = _scenario_fit("unbalanced")
    u = _measured("unbalanced")
    c = result.clusters
    se = c["mixed_slope_se"].to_numpy()
    assert u.coefficient == "slope"
    assert u.widest is not None and u.narrowest is not None
    assert u.widest.cluster == str(c["cluster"].iloc[int(np.argmax(se))])
    assert u.widest.mixed == pytest.approx(1.959963984540054 * se.max())
    assert u.narrowest.n == int(c["n"].iloc[int(np.argmin(se))])
    z = 1.959963984540054
    both = c["ols_slope"].notna()
    held = (np.abs(c["mixed_slope"] - c["true_slope"]) <= z * c["mixed_slope_se"])[both]
    assert u.held_mixed == int(held.sum()) and u.compared == int(both.sum())
    assert [r["parameter"] for r in u.intervals] == [
        "sd_int",
        "cor",
        "sd_slope",
        "sigma",
        "intercept",
        "beta",
    ]
    assert u.intervals[0]["truth"] == 0.5 and u.intervals[0]["holds"] in (True, False)
    assert u.moving == 100 and u.own_lines


def _u(**changes: Any) -> Uncertainty:
    base = Uncertainty(
        intervals=[],
        coefficient="slope",
        widest=ClusterWidth("7", 3, 0.5, 0.6, 1.9),
        narrowest=ClusterWidth("9", 9, 0.9, 0.2, 0.5),
        mixed_width=0.3,
        ols_width=0.6,
        held_mixed=None,
        held_ols=None,
        compared=0,
        away=None,
        moving=0,
        own_lines=True,
    )
    return replace(base, **changes)


def _row(
    parameter: str,
    lower: float,
    upper: float,
    *,
    truth: float | None = None,
    lo_bound: bool = False,
    hi_bound: bool = False,
) -> dict[str, Any]:
    labels = {
        "cor": "their correlation",
        "sd_slope": "SD of the slopes",
        "sd_int": "SD of the intercepts",
        "sigma": "residual SD σ",
    }
    return {
        "parameter": parameter,
        "name": parameter,
        "label": labels.get(parameter, parameter),
        "estimate": (lower + upper) / 2,
        "lower": lower,
        "upper": upper,
        "lower_at_bound": lo_bound,
        "upper_at_bound": hi_bound,
        "truth": truth,
        "holds": None if truth is None else lower <= truth <= upper,
    }


def test_sentences_on_bounds_and_truth() -> None:
    rows = [
        _row("cor", -1.0, 1.0, truth=0.0, lo_bound=True, hi_bound=True),
        _row("sd_slope", 0.0, 0.445, truth=0.25, lo_bound=True),
        _row("sigma", 0.79, 0.998, truth=1.0),
    ]
    text = uncertainty_reading(_u(intervals=rows, widest=None))
    assert text[0] == (
        "The correlation's profile interval is the whole range from −1 to 1: "
        "these data say nothing about it."
    )
    assert text[1] == (
        "The profile interval of the SD of the slopes starts at 0 (up to 0.445): "
        "the data cannot rule out that every cluster has the same slope."
    )
    assert text[2] == (
        "The interval of the residual SD σ (0.79 to 0.998) misses the value the "
        "data were simulated with (1); one in twenty 95% intervals does."
    )
    good = uncertainty_reading(_u(intervals=[_row("sigma", 0.9, 1.1, truth=1.0)], widest=None))
    assert good[0] == "All 1 profile intervals contain the value the data were simulated with."
    none = uncertainty_reading(_u(intervals=[_row("sigma", 0.9, 1.1)], widest=None))
    assert not any("simulated with" in s for s in none)


def test_sentences_on_the_widest_interval() -> None:
    fewer = uncertainty_reading(_u())[0]
    assert fewer == (
        "The mixed model's interval of the slope is widest for cluster 7 (±0.60) and "
        "narrowest for cluster 9 (±0.20): 3 observations against 9. The less a "
        "cluster's own data say, the more its estimate rests on the population, and "
        "the wider its interval."
    )
    spread = uncertainty_reading(_u(widest=ClusterWidth("7", 9, 0.3, 0.6, 1.9)))[0]
    assert spread.endswith(
        "both have 9 observations, but the x values of cluster 7 spread less "
        "(SD 0.30 against 0.90), and a slope is only as well determined as the "
        "spread of x it is measured over."
    )
    neither = uncertainty_reading(_u(widest=ClusterWidth("7", 9, 0.95, 0.6, 1.9)))[0]
    assert neither.endswith("(±0.20).")


def test_sentences_comparing_widths() -> None:
    narrower = uncertainty_reading(_u(widest=None))
    assert narrower[0].startswith("On average the mixed intervals of the slope are 50% narrower")
    wider = uncertainty_reading(_u(widest=None, mixed_width=0.8))
    assert wider[0] == (
        "Here the mixed intervals of the slope are wider than the clusters' own "
        "(±0.80 against ±0.60)."
    )
    alike = uncertainty_reading(_u(widest=None, mixed_width=0.59))
    assert alike[0].startswith(
        "The mixed and the by-cluster intervals of the slope are about as wide"
    )
    assert uncertainty_reading(_u(widest=None, ols_width=math.nan)) == []


def test_sentences_on_this_data_set_and_the_path() -> None:
    held = uncertainty_reading(
        _u(widest=None, ols_width=math.nan, held_mixed=92, held_ols=94, compared=100)
    )
    assert held == [
        "In this data set the mixed model's intervals held the true slope of 92 of "
        "100 clusters, the by-cluster ones of 94."
    ]
    away = uncertainty_reading(_u(widest=None, ols_width=math.nan, away=17, moving=100))
    assert away[0].startswith("On the path pooling really takes, 17 of 100 clusters move away")
    steady = uncertainty_reading(_u(widest=None, ols_width=math.nan, away=0, moving=100))
    assert steady[0].startswith("On the path pooling really takes, every cluster moves steadily")
    limit = uncertainty_reading(_u(widest=None, ols_width=math.nan, away=3, own_lines=False))
    assert limit[0].startswith(
        "On the pooling path the clusters start at the model's no-pooling limit"
    )


def test_the_real_scenarios_read() -> None:
    few = uncertainty_reading(_measured("few-observations"))
    assert few[0].startswith("The correlation's profile interval is the whole range")
    starts = "The profile interval of the SD of the slopes starts at 0"
    assert any(s.startswith(starts) for s in few)
    base = uncertainty_reading(_measured("baseline"))
    assert any("move away from the population value" in s for s in base)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("unc") / "report"
    scenarios = load_scenarios(
        [SCENARIO_DIR / "few-observations.yaml", SCENARIO_DIR / "unbalanced.yaml"]
    )
    result = build_report(scenarios, out, jobs=1, study=StudyOptions(20))
    assert result.ok
    return out


def test_scenario_folder_and_page(report: Path) -> None:
    folder = report / "few-observations"
    assert (folder / "caterpillar.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "pooling.png").read_bytes().startswith(b"\x89PNG")
    table = pd.read_csv(folder / "intervals.csv")
    assert list(table.columns) == ["parameter", "estimate", "lower", "upper"]
    assert table["parameter"].iloc[1] == "cor_x.(Intercept)|cluster"
    fit_json = json.loads((folder / "fit.json").read_text())
    assert fit_json["intervals"]["method"] == "profile"
    # the summary stays lme4's text, without the intervals
    summary = (folder / "summary.txt").read_text()
    assert "confidence intervals" not in summary
    expected = (REFERENCE / "few-observations" / "lme4-summary.txt").read_text()
    assert summary.splitlines()[-1] == expected.splitlines()[-1]
    page = (folder / "index.html").read_text()
    assert 'id="uncertainty"' in page and 'src="caterpillar.png"' in page
    assert 'src="pooling.png"' in page
    assert "these data say nothing about it." in page
    assert "<sup>b</sup>" in page  # the correlation's ends are its bounds


def test_study_section_says_where_coverage_is_poor(report: Path) -> None:
    index = (report / "index.html").read_text()
    assert 'id="cluster-coverage"' in index
    assert "In Few observations per cluster, the mixed model&#39;s 95% intervals held" in index
    assert (report / "study" / "coverage.png").exists()
    assert (report / "study" / "cluster_coverage.csv").exists()
    assert "coverage.png" in (report / "report.md").read_text()


def test_a_profile_that_fails_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shrinkcli.lmm as lmm

    def fail(*args: object, **kwargs: object) -> None:
        raise FitError("the profile failed")

    monkeypatch.setattr(lmm, "profile_intervals", fail)
    out = tmp_path / "r"
    small = tmp_path / "small.yaml"
    small.write_text("n_cluster: 12\nanimation:\n  frames: 4\n")
    result = build_report(load_scenarios([small]), out, jobs=1)
    assert result.ok
    page = (out / "small" / "index.html").read_text()
    assert "The profile intervals could not be computed for this fit." in page
    assert not (out / "small" / "intervals.csv").exists()
