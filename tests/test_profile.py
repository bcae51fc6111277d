"""Confidence intervals against lme4 1.1-31's `confint()`: profile intervals within 1% of each
interval's width on the six scenarios and every other reference fit (ML, (x || cluster),
(1 | cluster), singular fits, intervals that end at a bound), Wald intervals, lme4's names, the
printed matrix byte for byte; and the profile's ends checked against an independent computation of
the deviance.

lme4 reads the ends off a spline through a grid of profile points; shrink solves ζ(v) = ±1.96
directly. The largest gap, 0.32% of the width (baseline, the correlation's upper end), is lme4's
interpolation: the deviance at lme4's end is 1.9711², not 1.96² (test_lme4s_end_is_interpolated).
"""

from __future__ import annotations

import json
import math
import warnings
from functools import cache
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, REFERENCE
from scipy.optimize import minimize

from shrinkcli.lmm import (
    Fit,
    Intervals,
    fit,
    prepare_data,
    profile_intervals,
    sufficient_stats,
    wald_intervals,
)
from shrinkcli.lmm.profile import Profiler
from shrinkcli.model import ModelSpec
from shrinkcli.summary import format_intervals, format_summary

UNCERTAINTY = REFERENCE.parent / "uncertainty"
CASES = ("singular-slope", "small-intercept", "singular-intercept")
Z = NormalDist().inv_cdf(0.975)
#: Largest gap between an end and lme4's, as a fraction of lme4's interval's width.
TOL_WIDTH = 0.01


@cache
def _data(name: str) -> pd.DataFrame:
    path = REFERENCE / name / "data.csv" if name in POST_SCENARIOS else UNCERTAINTY / f"{name}.csv"
    return pd.read_csv(path)


@cache
def _reference(name: str) -> dict[str, Any]:
    return json.loads((UNCERTAINTY / f"{name}.json").read_text())


@cache
def _fit(name: str, random: str, method: str, ci: str) -> Fit:
    return fit(_data(name), ModelSpec(random, method), intervals=ci)


def _worst_gap(ours: Intervals, ref_rows: list[dict[str, Any]]) -> float:
    """Largest |end − lme4's end| / lme4's width; the rows must be lme4's, in its order."""
    assert [r.name for r in ours.rows] == [r["parameter"] for r in ref_rows]
    worst = 0.0
    for row, ref in zip(ours.rows, ref_rows, strict=True):
        width = ref["upper"] - ref["lower"]
        assert width > 0
        worst = max(
            worst, abs(row.lower - ref["lower"]) / width, abs(row.upper - ref["upper"]) / width
        )
    return worst


@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_profile_of_the_six_scenarios(scenario: str) -> None:
    ref = json.loads((REFERENCE / scenario / "lme4-uncertainty.json").read_text())
    ours = _fit(scenario, "intercept-slope", "reml", "profile").intervals
    assert ours is not None and ours.method == "profile" and ours.level == 0.95
    assert _worst_gap(ours, ref["profile_ci"]) < TOL_WIDTH


@pytest.mark.parametrize("factor", [1e6, 1e-6])
@pytest.mark.parametrize("scenario", ["baseline", "few-observations"])
def test_profile_of_x_in_millions_or_millionths(scenario: str, factor: float) -> None:
    """x multiplied by 1e6 or 1e-6: the same model, the slope and its SD divided by the factor,
    everything else unchanged; lme4's intervals so transformed, within 1% of each width, and no
    warning from the searches (which, in x's own units, stepped where the system overflows and
    stopped at a degenerate interval)."""
    ref = json.loads((REFERENCE / scenario / "lme4-uncertainty.json").read_text())
    rows = []
    for r in ref["profile_ci"]:
        by = 1.0 / factor if r["parameter"] in ("x", "sd_x|cluster") else 1.0
        rows.append({**r, "lower": r["lower"] * by, "upper": r["upper"] * by})
    data = _data(scenario).assign(x=lambda d: d["x"] * factor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = fit(data, ModelSpec("intercept-slope", "reml"), intervals="profile").intervals
    assert ours is not None
    assert _worst_gap(ours, rows) < TOL_WIDTH


@pytest.mark.parametrize("model", ["ml", "uncorrelated", "intercept"])
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_profile_of_other_models(scenario: str, model: str) -> None:
    random = {"ml": "intercept-slope"}.get(model, model)
    method = "ml" if model == "ml" else "reml"
    ours = _fit(scenario, random, method, "profile").intervals
    assert ours is not None
    assert _worst_gap(ours, _reference(scenario)[model]["profile_ci"]) < TOL_WIDTH


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("case", CASES)
def test_profile_of_boundary_cases(case: str, method: str) -> None:
    ref = _reference(case)
    ours = _fit(case, ref["random"], method, "profile").intervals
    assert ours is not None
    assert _worst_gap(ours, ref[method]["profile_ci"]) < TOL_WIDTH


def test_bounds_are_said() -> None:
    """An end that is a parameter's bound says so (ζ never reached 1.96 before it)."""
    few = _fit("few-observations", "intercept-slope", "reml", "profile").intervals
    assert few is not None
    cor, sd_slope, sd_int = few.get("cor"), few.get("sd_slope"), few.get("sd_int")
    assert (cor.lower, cor.upper) == (-1.0, 1.0) and cor.lower_at_bound and cor.upper_at_bound
    assert sd_slope.lower == 0.0 and sd_slope.lower_at_bound and not sd_slope.upper_at_bound
    assert not sd_int.lower_at_bound and sd_int.lower > 0.3
    singular = _fit("singular-intercept", "intercept", "reml", "profile").intervals
    assert singular is not None and singular.get("sd_int").estimate == 0.0
    assert singular.get("sd_int").lower == 0.0 and singular.get("sd_int").lower_at_bound


def test_reml_and_ml_fits_profile_alike() -> None:
    """lme4 profiles the ML deviance for a REML fit too: the intervals are the same; only the
    estimate beside them is each fit's own."""
    reml = _fit("baseline", "intercept-slope", "reml", "profile").intervals
    ml = _fit("baseline", "intercept-slope", "ml", "profile").intervals
    assert reml is not None and ml is not None
    for a, b in zip(reml.rows, ml.rows, strict=True):
        assert a.lower == pytest.approx(b.lower, abs=1e-7)
        assert a.upper == pytest.approx(b.upper, abs=1e-7)
    assert reml.get("sd_int").estimate > ml.get("sd_int").estimate
    lme4_reml = json.loads((REFERENCE / "baseline" / "lme4-uncertainty.json").read_text())
    lme4_ml = _reference("baseline")["ml"]
    for a, b in zip(lme4_reml["profile_ci"], lme4_ml["profile_ci"], strict=True):
        assert abs(a["lower"] - b["lower"]) < 1e-4 * (a["upper"] - a["lower"])


def test_profile_ends_are_where_zeta_is_196() -> None:
    """At each end (off a bound), the deviance minimised over the other parameters is 1.96²
    above its minimum."""
    prep = prepare_data(_data("baseline"))
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    profiler = Profiler(st, ModelSpec())
    ours = _fit("baseline", "intercept-slope", "reml", "profile").intervals
    assert ours is not None
    for row in ours.rows:
        est = profiler.estimate(row.parameter)
        assert profiler.zeta(row.parameter, row.lower, est) == pytest.approx(-Z, abs=1e-3)
        assert profiler.zeta(row.parameter, row.upper, est) == pytest.approx(Z, abs=1e-3)


def test_lme4s_end_is_interpolated() -> None:
    """The largest gap: at lme4's upper end of the baseline's correlation ζ is 1.9711."""
    prep = prepare_data(_data("baseline"))
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    profiler = Profiler(st, ModelSpec())
    ref = json.loads((REFERENCE / "baseline" / "lme4-uncertainty.json").read_text())
    upper = next(r["upper"] for r in ref["profile_ci"] if r["parameter"].startswith("cor_"))
    assert profiler.zeta("cor", upper, profiler.estimate("cor")) == pytest.approx(1.9711, abs=1e-3)


# -- an independent computation of the deviance ---------------------------------------------------


@cache
def _blocks(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Z (= X) and y of a balanced data set, stacked by cluster: (K, n, 2) and (K, n)."""
    data = _data(name).sort_values("cluster", kind="stable")
    k = data["cluster"].nunique()
    x = data["x"].to_numpy().reshape(k, -1)
    return np.stack([np.ones_like(x), x], axis=2), data["y"].to_numpy().reshape(k, -1)


def _dense_ml_deviance(
    name: str, sd_int: float, cor: float, sd_slope: float, sigma: float, beta1: float | None = None
) -> float:
    """−2 log-likelihood of y ~ N(Xβ, ZΣZᵀ + σ²I) from dense per-cluster matrices, β by
    generalised least squares (the intercept alone when `beta1` is given)."""
    z, y = _blocks(name)
    c = cor * sd_int * sd_slope
    cov = np.array([[sd_int**2, c], [c, sd_slope**2]])
    n = y.shape[1]
    v = z @ cov @ z.transpose(0, 2, 1) + sigma**2 * np.eye(n)
    vi = np.linalg.inv(v)
    logdet = np.linalg.slogdet(v)[1].sum()
    ztv = z.transpose(0, 2, 1) @ vi  # (K, 2, n)
    if beta1 is None:
        beta = np.linalg.solve((ztv @ z).sum(axis=0), np.einsum("kij,kj->i", ztv, y))
    else:
        one_v = ztv[:, 0, :]  # 1ᵀV⁻¹ per cluster
        intercept = np.sum(one_v * (y - beta1 * z[:, :, 1])) / np.sum(one_v)
        beta = np.array([intercept, beta1])
    r = y - z @ beta
    quad = np.einsum("ki,kij,kj->", r, vi, r)
    return float(logdet + quad + y.size * math.log(2 * math.pi))


def _dense_min(name: str, fixed: str, value: float, start: dict[str, float]) -> float:
    """The dense deviance minimised (Nelder-Mead, several starts) with one parameter fixed."""
    free = [k for k in ("sd_int", "cor", "sd_slope", "sigma") if k != fixed]

    def dev(x: np.ndarray) -> float:
        p = dict(zip(free, x, strict=True))
        p[fixed] = value
        if not (-1 < p["cor"] < 1) or min(p["sd_int"], p["sd_slope"], p["sigma"]) < 0:
            return math.inf
        return _dense_ml_deviance(name, p["sd_int"], p["cor"], p["sd_slope"], p["sigma"])

    best = math.inf
    for shift in (-0.5, 0.0, 0.5):
        x0 = [start[k] if k != "cor" else max(-0.95, min(0.95, start[k] + shift)) for k in free]
        res = minimize(
            dev, x0, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000}
        )
        best = min(best, float(res.fun))
    return best


def test_profile_ends_against_a_dense_deviance() -> None:
    """The singular-slope case's profile (where a local minimum once misled the search): at each
    end of the SDs' and σ's intervals, the dense ML deviance, minimised from several starts,
    is 1.96² above the dense ML minimum."""
    name = "singular-slope"
    ours = _fit(name, "intercept-slope", "ml", "profile").intervals
    assert ours is not None
    est = {r.parameter: r.estimate for r in ours.rows}
    est["cor"] = 0.9 if not math.isfinite(est["cor"]) else min(est["cor"], 0.9)
    base = _dense_min(name, "sigma", est["sigma"], est)
    base = min(base, _dense_ml_deviance(name, est["sd_int"], 0.999, est["sd_slope"], est["sigma"]))
    for parameter in ("sd_slope", "sigma"):
        row = ours.get(parameter)
        for end in (row.lower, row.upper):
            if end == 0.0:
                continue
            rise = _dense_min(name, parameter, end, est) - base
            assert math.sqrt(max(rise, 0.0)) == pytest.approx(Z, abs=5e-3), (parameter, end)


def test_profile_of_a_fixed_effect_against_a_dense_deviance() -> None:
    """β's end: the dense deviance with β₁ fixed, at our ML variance parameters re-optimised."""
    ours = _fit("singular-slope", "intercept-slope", "ml", "profile").intervals
    assert ours is not None
    est = {r.parameter: r.estimate for r in ours.rows}

    def dev(x: np.ndarray, beta1: float | None) -> float:
        if not (-1 < x[1] < 1) or min(x[0], x[2], x[3]) < 0:
            return math.inf
        return _dense_ml_deviance("singular-slope", x[0], x[1], x[2], x[3], beta1)

    x0 = [est["sd_int"], 0.9, est["sd_slope"], est["sigma"]]
    opts = {"xatol": 1e-9, "fatol": 1e-10, "maxiter": 6000}
    base = minimize(dev, x0, args=(None,), method="Nelder-Mead", options=opts).fun
    for end in (ours.get("beta").lower, ours.get("beta").upper):
        at = min(
            minimize(
                dev, [x0[0], c, x0[2], x0[3]], args=(end,), method="Nelder-Mead", options=opts
            ).fun
            for c in (0.5, 0.9)
        )
        assert math.sqrt(at - base) == pytest.approx(Z, abs=5e-3)


# -- Wald, names, counts, printing ----------------------------------------------------------------


@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_wald_against_lme4(scenario: str) -> None:
    ref = json.loads((REFERENCE / scenario / "lme4-uncertainty.json").read_text())["wald_ci"]
    ours = _fit(scenario, "intercept-slope", "reml", "wald").intervals
    assert ours is not None and ours.method == "wald"
    rows = [r for r in ours.rows if math.isfinite(r.lower)]
    assert [r.name for r in rows] == [r["parameter"] for r in ref]
    for row, want in zip(rows, ref, strict=True):
        assert abs(row.lower - want["lower"]) < 1e-4 * (want["upper"] - want["lower"])
        assert abs(row.upper - want["upper"]) < 1e-4 * (want["upper"] - want["lower"])
    # lme4 gives no Wald interval of a variance parameter: NA rows, as here
    assert [r.parameter for r in ours.rows if not math.isfinite(r.lower)] == [
        "sd_int",
        "cor",
        "sd_slope",
        "sigma",
    ]


def test_wald_at_other_levels() -> None:
    result = _fit("baseline", "intercept-slope", "reml", "wald")
    for entry in json.loads((UNCERTAINTY / "levels.json").read_text()):
        ours = wald_intervals(result.model, entry["level"])
        want = [r for r in entry["wald_ci"] if r["lower"] is not None]
        got = [r for r in ours.rows if math.isfinite(r.lower)]
        for row, ref in zip(got, want, strict=True):
            assert row.lower == pytest.approx(ref["lower"], abs=1e-5)
        assert format_intervals(ours)[0].split() == entry["wald_text"][0].split()  # columns


def test_printed_like_r() -> None:
    """`print(confint(...))` byte for byte, from lme4's own numbers: every profile and Wald
    matrix of the references (NA rows, bounds of 0 and ±1, other levels)."""
    count = 0
    for path in sorted(UNCERTAINTY.glob("*.json")):
        doc = json.loads(path.read_text())
        entries = (
            doc
            if isinstance(doc, list)
            else [v for v in doc.values() if isinstance(v, dict) and "wald_text" in v]
        )
        for entry in entries:
            for method in ("profile", "wald"):
                if entry.get(f"{method}_text") is None:
                    continue
                rows = entry[f"{method}_ci"]
                intervals = _as_intervals(rows, method, entry.get("level", 0.95))
                assert format_intervals(intervals) == entry[f"{method}_text"], path.name
                count += 1
    assert count >= 30


def _as_intervals(rows: list[dict[str, Any]], method: str, level: float) -> Intervals:
    from shrinkcli.lmm import Interval

    def num(v: Any) -> float:
        return math.nan if v is None else float(v)

    return Intervals(
        method,
        level,
        tuple(Interval("p", r["parameter"], 0.0, num(r["lower"]), num(r["upper"])) for r in rows),
    )


def test_summary_gets_the_intervals() -> None:
    result = _fit("baseline", "intercept-slope", "reml", "profile")
    text = format_summary(result)
    plain = format_summary(fit(_data("baseline")))
    assert text.startswith(plain)
    tail = text[len(plain) :].splitlines()
    assert tail[0] == "" and tail[1].startswith("Profile confidence intervals")
    assert tail[2].split() == ["2.5", "%", "97.5", "%"]
    assert [line.split()[0] for line in tail[3:]] == [
        "sd_(Intercept)|cluster",
        "cor_x.(Intercept)|cluster",
        "sd_x|cluster",
        "sigma",
        "(Intercept)",
        "x",
    ]


def test_names_follow_the_columns() -> None:
    data = _data("baseline").rename(columns={"x": "dose", "cluster": "subject"})
    result = fit(data, ModelSpec("uncorrelated"), x="dose", cluster="subject", intervals="wald")
    assert result.intervals is not None
    assert [r.name for r in result.intervals.rows] == [
        "sd_(Intercept)|subject",
        "sd_dose|subject",
        "sigma",
        "(Intercept)",
        "dose",
    ]


def test_to_dict_has_the_intervals() -> None:
    result = _fit("few-observations", "intercept-slope", "reml", "profile")
    out = result.to_dict()
    json.dumps(out, allow_nan=False)
    rows = out["intervals"]["rows"]
    assert out["intervals"]["method"] == "profile" and out["intervals"]["level"] == 0.95
    cor = next(r for r in rows if r["key"] == "cor")
    assert (cor["lower"], cor["upper"], cor["lower_at_bound"]) == (-1.0, 1.0, True)
    assert "intervals" not in fit(_data("baseline")).to_dict()


@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_profiling_takes_hundreds_of_evaluations(scenario: str) -> None:
    """A count, not a time (the benchmark times it): each profile point is a short warm-started
    minimisation of the closed-form criterion."""
    prep = prepare_data(_data(scenario))
    st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
    result = fit(_data(scenario))
    ours = profile_intervals(st, result.model)
    assert 100 < ours.evaluations < 1000


def test_level_is_checked() -> None:
    result = fit(_data("baseline"))
    with pytest.raises(ValueError, match="level"):
        wald_intervals(result.model, 1.5)
